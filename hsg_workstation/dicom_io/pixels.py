"""The pixel pipeline, one frame at a time: decode → modality LUT → VOI → (inversion) → display.

Contract (the viewer, export-image, analysis and the report code rely on it):

* :func:`decode_frame(path, index) <decode_frame>` decodes ONE frame (0-based) with
  ``pydicom.pixels.pixel_array(path, index=i)`` — or, for native little-endian greyscale data whose header was
  already read, straight from the frame's byte offset; a 60-frame loop is never decoded to show one frame. A syntax no
  installed plugin decodes raises :class:`~hsg_workstation.errors.UnsupportedTransferSyntax` naming the syntax
  (UID and name) and the package to install; other failures raise ``DicomReadError`` naming file and frame.
* :class:`FrameSource` reads and validates the header ONCE per file, then:

  - ``modality_frame(index)`` → stored values through the Modality LUT (Rescale Slope/Intercept or Modality LUT
    Sequence), numerically equal to ``pydicom.pixels.apply_modality_lut``. Integer rescales keep an integer
    dtype (identity rescale returns the decoded array itself) so the fast uint16 display path stays available.
  - ``voi_presets()`` → every Window Center/Width pair (named by Window Center & Width Explanation), then every
    VOI LUT Sequence item (named by LUT Explanation); ``default_voi(frame)`` → first window, else first VOI LUT,
    else the full range of the given frame (else of the stored bit range).
  - ``display_image(arr, voi)`` → ``(image, levels)``. For LINEAR / LINEAR_EXACT windows: the modality array
    unchanged and ``levels=(black, white)`` such that a linear map ``levels → 0..255`` with clipping equals
    DICOM's windowing (PS3.3 C.11.2.1.2) — hand it to pyqtgraph ``ImageItem.setImage(img, levels=levels,
    autoLevels=False)`` and only ``setLevels`` during W/L drags. For SIGMOID and VOI LUT presets: a uint8 image
    (via ``np.take`` on a cached table for integer data) and ``levels=None``. Inversion is NOT applied here.
  - ``invert`` → True for MONOCHROME1 or Presentation LUT Shape INVERSE: the viewer shows the result of
    ``display_image`` inverted (e.g. a reversed grey lookup table). Both mean the same inversion; it is never
    applied twice.
  - ``render_uint8(index, voi=None)`` → the final uint8 image (VOI + inversion), for export and thumbnails.

* :func:`render_uint8(path, index, window=None) <render_uint8>` is the one-call form used by ``export-image``.
* :func:`apply_levels` is the reference linear map (levels → uint8) the viewer's levels must match.

Colour images (RGB, YBR — converted to RGB by pydicom — and PALETTE COLOR) get no VOI: ``display_image``
returns them as uint8 RGB with ``levels=None``.

Why this module is long (~830 lines): it is the whole pipeline the contract above describes — decode (with the
pre-decoder checks and the decoder choice), the Modality LUT, VOI (windows, VOI LUT tables, sigmoid) and
``FrameSource`` tying them to one header. Each stage is small; they share the header helpers and the frame
validation, and every consumer (viewer, export, analysis, report) uses the stages through ``FrameSource``, so a
split by stage would mostly move private helpers across module boundaries. The byte-level checks of compressed
frames already live apart (``jpeg_check.py``), as does crash-proof decoding (``isolated.py``).
"""

from __future__ import annotations

import functools
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, get_decoder
from pydicom.sequence import Sequence
from pydicom.uid import UID
from rle.utils import decode_pixel_data as rle_decode_pixel_data

from hsg_workstation.dicom_io import jpeg_check, jpegls_direct, reader
from hsg_workstation.errors import DicomReadError, UnsupportedTransferSyntax

LINEAR = "LINEAR"
LINEAR_EXACT = "LINEAR_EXACT"
SIGMOID = "SIGMOID"
LUT = "LUT"  # a VOI LUT Sequence item
_DEFLATED = reader._DEFLATED_SYNTAXES

#: What to install when a compressed syntax can't be decoded. Non-GPL choices first; the GPL decoder only as the
#: optional extra (``pip install hsg-workstation[gpl-codecs]``).
_GPL_EXTRA = "pylibjpeg-libjpeg (GPLv3; pip install hsg-workstation[gpl-codecs])"
DECODER_PACKAGES: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "pillow or python-gdcm",
    "1.2.840.10008.1.2.4.51": _GPL_EXTRA,
    "1.2.840.10008.1.2.4.57": f"python-gdcm, or {_GPL_EXTRA}",
    "1.2.840.10008.1.2.4.70": f"python-gdcm, or {_GPL_EXTRA}",
    "1.2.840.10008.1.2.4.80": "pyjpegls or python-gdcm",
    "1.2.840.10008.1.2.4.81": "pyjpegls or python-gdcm",
    "1.2.840.10008.1.2.4.90": "pylibjpeg-openjpeg or python-gdcm",
    "1.2.840.10008.1.2.4.91": "pylibjpeg-openjpeg or python-gdcm",
    "1.2.840.10008.1.2.4.201": "pylibjpeg-openjpeg (HTJ2K)",
    "1.2.840.10008.1.2.4.202": "pylibjpeg-openjpeg (HTJ2K)",
    "1.2.840.10008.1.2.4.203": "pylibjpeg-openjpeg (HTJ2K)",
    "1.2.840.10008.1.2.5": "pylibjpeg-rle (or pydicom's own RLE decoder)",
}
JPEG_EXTENDED_12BIT = "1.2.840.10008.1.2.4.51"


# ---------------------------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------------------------
def _syntax_text(uid: str) -> str:
    name = UID(uid).name if uid else ""
    return f"{name} ({uid})" if name and name != uid else uid or "unknown transfer syntax"


def unsupported_syntax_error(
    path: str | os.PathLike[str], uid: str, detail: str = ""
) -> UnsupportedTransferSyntax:
    package = DECODER_PACKAGES.get(
        uid, "a pydicom pixel-data plugin for it (python-gdcm decodes most syntaxes)"
    )
    msg = f"{path}: cannot decode pixel data in {_syntax_text(uid)}; install {package}"
    if detail:
        msg += f" [{detail}]"
    return UnsupportedTransferSyntax(msg)


def check_decodable(header: object, name: str | os.PathLike[str]) -> None:
    """Raise :class:`UnsupportedTransferSyntax` if no installed plugin can decode this image's pixel data.

    ``header`` is a Dataset or a ``reader.ScannedHeader``. Native (uncompressed) data always passes. Used by the
    import so an undecodable file is skipped with a reason naming the syntax and the package to install.
    """
    uid = reader._transfer_syntax(header)  # type: ignore[arg-type]
    if uid and _needs_missing_decoder(uid, reader.header_int(header, reader.TAG_BITS_STORED) or 0):  # type: ignore[arg-type]
        raise unsupported_syntax_error(name, uid)


@functools.lru_cache(maxsize=64)
def _needs_missing_decoder(uid: str, bits_stored: int) -> bool:
    if not uid:
        return False
    try:
        decoder = get_decoder(UID(uid))
    except NotImplementedError:
        try:
            return UID(uid).is_compressed
        except (
            ValueError
        ):  # not a transfer syntax pydicom knows (private or corrupt): nothing here decodes it
            return True
    except Exception:  # noqa: BLE001 - unknown syntax; let the decode error speak
        return False
    if not decoder.is_available:
        return True
    # Pillow and gdcm are "available" for JPEG Extended but decode 8-bit only; 12-bit needs pylibjpeg-libjpeg.
    return uid == JPEG_EXTENDED_12BIT and bits_stored > 8 and "pylibjpeg" not in decoder.available_plugins


def decode_frame(
    path: str | os.PathLike[str], index: int = 0, *, header: Dataset | None = None
) -> np.ndarray:
    """Decode ONE frame (0-based) of a file: stored values, colour converted to RGB, no LUTs applied.

    Without ``header`` this is ``pydicom.pixels.pixel_array(path, index=index)`` (which reads only that frame's
    bytes). With the ``header`` from :func:`reader.read_header`, frame range and decoder availability are checked
    first, and native little-endian greyscale frames are read directly at their offset (same values as pydicom).
    """
    if header is not None:
        n = reader.number_of_frames(header)
        if not 0 <= index < n:
            raise IndexError(f"{path}: frame index {index} out of range (the file has {n} frames)")
        uid = reader._transfer_syntax(header)
        if uid in _DEFLATED:
            return _decode_deflated(path, index)
        if _needs_missing_decoder(uid, reader.header_int(header, 0x00280101) or 0):
            raise unsupported_syntax_error(path, uid)
        if uid in jpeg_check.JPEG_LOSSLESS_SYNTAXES:
            _check_lossless(path, index, header, n)
        elif uid == jpeg_check.RLE_LOSSLESS:
            data = _check_rle(path, index, header, n)
            if data is not None:
                direct = _decode_rle_direct(path, index, header, data)
                if direct is not None:
                    return direct
        elif uid in jpeg_check.JPEG_2000_SYNTAXES:
            _check_j2k(path, index, header, n)
        elif uid in jpegls_direct.JPEG_LS_SYNTAXES:
            direct = _decode_jpegls_direct(path, index, header, n)
            if direct is not None:
                return direct
        native = _decode_native(path, index, header)
        if native is not None:
            return native
    plugin = _preferred_plugin(reader._transfer_syntax(header) if header is not None else "")
    try:
        return pydicom.pixels.pixel_array(os.fspath(path), index=index, **plugin)
    except (UnsupportedTransferSyntax, IndexError):
        raise
    except _NEVER_SWALLOW:
        raise
    # Decoders raise RuntimeError, ValueError, OSError ... and the Rust ones (pylibjpeg-rle, -openjpeg) *panic*
    # on corrupt data: pyo3's PanicException derives from BaseException, so catching Exception is not enough.
    except BaseException as exc:  # noqa: BLE001
        failure = _decode_failure(path, index, exc)
        if isinstance(failure, UnsupportedTransferSyntax):
            raise failure from exc
        # pydicom's path-based reader is stricter than its Dataset reader about odd encodings (e.g. Pixel Data
        # written without a VR); a file pydicom can display must display here too, at the cost of a full read.
        try:
            return pydicom.pixels.pixel_array(pydicom.dcmread(os.fspath(path)), index=index, **plugin)
        except _NEVER_SWALLOW:
            raise
        except BaseException:  # noqa: BLE001 - report the first, more specific error
            raise failure from exc


_NEVER_SWALLOW = (KeyboardInterrupt, SystemExit, GeneratorExit)


def _encapsulated_frame(
    path: str | os.PathLike[str], index: int, header: Dataset, frames: int
) -> bytes | None:
    """The stored bytes of one encapsulated frame (None when the header has no framing to read it by), for the
    checks run before a native decoder sees them; a corrupt offset table or fragment is a DicomReadError."""
    framing = getattr(header, "hsg_pixel_framing", None)
    if framing is None or not framing.encapsulated or framing.value_offset is None:
        return None
    try:
        return jpeg_check.read_frame_bytes(path, framing.value_offset, index, frames)
    except (DicomReadError, IndexError):
        raise
    except Exception as exc:  # noqa: BLE001 - corrupt offset table / fragments
        raise DicomReadError(f"{path}: frame {index + 1}: corrupt encapsulated Pixel Data ({exc})") from exc


def _check_lossless(path: str | os.PathLike[str], index: int, header: Dataset, frames: int) -> None:
    """JPEG Lossless goes to python-gdcm, which can abort the process on a broken stream: look first."""
    data = _encapsulated_frame(path, index, header, frames)
    if data is None:
        return
    jpeg_check.check_lossless_frame(
        data,
        rows=reader.header_int(header, reader.TAG_ROWS) or 0,
        columns=reader.header_int(header, reader.TAG_COLUMNS) or 0,
        samples=reader.header_int(header, reader.TAG_SAMPLES_PER_PIXEL) or 1,
        name=f"{path}: frame {index + 1}",
        bits_allocated=reader.header_int(header, reader.TAG_BITS_ALLOCATED) or 16,
    )


def _check_rle(path: str | os.PathLike[str], index: int, header: Dataset, frames: int) -> bytes | None:
    """RLE decoders allocate from the header before reading the data: check the header against the data.
    Returns the frame's bytes (checked), or None when the header has no framing to read them by."""
    data = _encapsulated_frame(path, index, header, frames)
    if data is None:
        return None
    jpeg_check.check_rle_frame(
        data,
        rows=reader.header_int(header, reader.TAG_ROWS) or 0,
        columns=reader.header_int(header, reader.TAG_COLUMNS) or 0,
        samples=reader.header_int(header, reader.TAG_SAMPLES_PER_PIXEL) or 1,
        bits_allocated=reader.header_int(header, reader.TAG_BITS_ALLOCATED) or 8,
        name=f"{path}: frame {index + 1}",
    )
    return data


def _decode_rle_direct(
    path: str | os.PathLike[str], index: int, header: Dataset, data: bytes
) -> np.ndarray | None:
    """Decode a checked greyscale RLE frame straight from ``data`` with pylibjpeg-rle, or None (then pydicom does).

    Why: ``_check_rle`` has already read the frame's bytes; handing the path to pydicom made it open and parse the
    file and walk the fragments a second time — 2–7 ms of a 5–13 ms frame (1024², measured in
    ``benchmarks/viewer.py``). Only the cases where pydicom's result is exactly the decoded bytes are taken here
    (one sample, 8 or 16 bits allocated, unsigned or Bits Stored = Bits Allocated, so no sign extension), and
    only when pylibjpeg-rle is pydicom's chosen plugin: same decoder, same values
    (``tests/dicom_io/test_rle_direct.py`` compares them on pydicom's RLE files). pylibjpeg-rle is Rust: it cannot
    corrupt memory, so the viewer may decode a loop's first frame with it inline (``frame_cache.cheap_in_process``);
    it holds the GIL, so decode-ahead of the other frames runs in the worker processes.
    """
    if _preferred_plugin(jpeg_check.RLE_LOSSLESS).get("decoding_plugin") != "pylibjpeg":
        return None
    rows = reader.header_int(header, reader.TAG_ROWS) or 0
    columns = reader.header_int(header, reader.TAG_COLUMNS) or 0
    samples = reader.header_int(header, reader.TAG_SAMPLES_PER_PIXEL) or 1
    bits_allocated = reader.header_int(header, reader.TAG_BITS_ALLOCATED) or 0
    bits_stored = reader.header_int(header, 0x00280101) or bits_allocated
    signed = (reader.header_int(header, 0x00280103) or 0) == 1
    if samples != 1 or bits_allocated not in (8, 16) or (signed and bits_stored != bits_allocated):
        return None
    try:
        decoded = rle_decode_pixel_data(
            data,
            version=2,
            rows=rows,
            columns=columns,
            samples_per_pixel=1,
            bits_allocated=bits_allocated,
            byteorder="<",
        )
        dtype = np.dtype(f"<{'i' if signed else 'u'}{bits_allocated // 8}")
        return np.frombuffer(decoded, dtype=dtype).reshape(rows, columns)
    except _NEVER_SWALLOW:
        raise
    # pyo3's PanicException derives from BaseException (see decode_frame)
    except BaseException as exc:  # noqa: BLE001
        raise _decode_failure(path, index, exc) from exc


def _decode_jpegls_direct(
    path: str | os.PathLike[str], index: int, header: Dataset, frames: int
) -> np.ndarray | None:
    """A greyscale unsigned JPEG-LS frame decoded by CharLS straight from its bytes (``jpegls_direct``), or None
    (then pydicom decodes it). Only when pyjpegls is pydicom's chosen plugin: same decoder, same values."""
    if _preferred_plugin(reader._transfer_syntax(header)).get("decoding_plugin") != "pyjpegls":
        return None
    bits_allocated = reader.header_int(header, reader.TAG_BITS_ALLOCATED) or 0
    signed = (reader.header_int(header, 0x00280103) or 0) == 1
    samples = reader.header_int(header, reader.TAG_SAMPLES_PER_PIXEL) or 1
    if not jpegls_direct.takes(samples, bits_allocated, signed):
        return None
    data = _encapsulated_frame(path, index, header, frames)
    if data is None:
        return None
    try:
        return jpegls_direct.decode(
            data,
            rows=reader.header_int(header, reader.TAG_ROWS) or 0,
            columns=reader.header_int(header, reader.TAG_COLUMNS) or 0,
            bits_allocated=bits_allocated,
        )
    except _NEVER_SWALLOW:
        raise
    except BaseException as exc:  # noqa: BLE001 - CharLS reports a corrupt stream as an exception
        raise _decode_failure(path, index, exc) from exc


def _check_j2k(path: str | os.PathLike[str], index: int, header: Dataset, frames: int) -> None:
    """JPEG 2000 decoders allocate the image size the codestream declares: check it against the header first."""
    data = _encapsulated_frame(path, index, header, frames)
    if data is None:
        return
    jpeg_check.check_j2k_frame(
        data,
        rows=reader.header_int(header, reader.TAG_ROWS) or 0,
        columns=reader.header_int(header, reader.TAG_COLUMNS) or 0,
        name=f"{path}: frame {index + 1}",
    )


#: Decoder plugin to use per transfer syntax when it is installed, instead of letting pydicom try every plugin.
#: Why: python-gdcm *aborts the whole process* (an uncaught C++ exception → std::terminate) on some corrupt
#: JPEG streams, and pydicom falls through to it when the first plugin rejects the data. With a pure decoder
#: pinned, a corrupt frame is an error message; gdcm is used only where it is the sole decoder (JPEG Lossless).
_PREFERRED_PLUGINS: dict[str, tuple[str, ...]] = {
    "1.2.840.10008.1.2.4.50": ("pillow", "pylibjpeg"),
    "1.2.840.10008.1.2.4.51": ("pylibjpeg", "pillow"),
    "1.2.840.10008.1.2.4.80": ("pyjpegls", "pylibjpeg"),
    "1.2.840.10008.1.2.4.81": ("pyjpegls", "pylibjpeg"),
    "1.2.840.10008.1.2.4.90": ("pylibjpeg", "pillow"),
    "1.2.840.10008.1.2.4.91": ("pylibjpeg", "pillow"),
    "1.2.840.10008.1.2.4.201": ("pylibjpeg",),
    "1.2.840.10008.1.2.4.202": ("pylibjpeg",),
    "1.2.840.10008.1.2.4.203": ("pylibjpeg",),
    "1.2.840.10008.1.2.5": ("pylibjpeg", "pydicom"),
}


@functools.lru_cache(maxsize=64)
def _preferred_plugin(uid: str) -> dict[str, str]:
    """``{"decoding_plugin": name}`` for :func:`pydicom.pixels.pixel_array`, or ``{}`` (pydicom's choice)."""
    try:
        available = get_decoder(UID(uid)).available_plugins
    except Exception:  # noqa: BLE001 - native, unknown or undecodable syntax: nothing to pin
        return {}
    for name in _PREFERRED_PLUGINS.get(uid, ()):
        if name in available:
            return {"decoding_plugin": name}
    return {}


_NATIVE_LITTLE_ENDIAN = frozenset({"1.2.840.10008.1.2.1", "1.2.840.10008.1.2"})


def frames_decode_independently(header: Dataset) -> bool:
    """True when :func:`decode_frame` reads this file's frames straight from their byte offsets (native little
    endian): every call opens its own file handle and touches no shared decoder state, so several threads may
    decode frames of it at once. Compressed syntaxes go through decoder libraries that are not all known to be
    thread-safe (python-gdcm in particular) and answer False."""
    return reader._transfer_syntax(header) in _NATIVE_LITTLE_ENDIAN


def _decode_native(path: str | os.PathLike[str], index: int, header: Dataset) -> np.ndarray | None:
    """Read one frame of native little-endian greyscale data straight from its byte offset; None if not plain.

    The header has already located the Pixel Data value (``hsg_pixel_framing``), so this skips the second header
    parse ``pixel_array(path)`` would do — it halves the time to the first frame of a loop. The result equals
    pydicom's: bits above Bits Stored are masked off (unsigned) or sign-extended (signed). Anything else —
    colour, 1-bit, big endian, float, encapsulated — goes through pydicom.
    """
    framing = getattr(header, "hsg_pixel_framing", None)
    if (
        framing is None
        or not framing.present
        or framing.encapsulated
        or framing.tag != 0x7FE00010
        or framing.value_offset is None
        or framing.value_length is None
        or reader._transfer_syntax(header) not in _NATIVE_LITTLE_ENDIAN
    ):
        return None
    rows = reader.header_int(header, reader.TAG_ROWS) or 0
    columns = reader.header_int(header, reader.TAG_COLUMNS) or 0
    allocated = reader.header_int(header, reader.TAG_BITS_ALLOCATED) or 0
    stored = reader.header_int(header, 0x00280101) or allocated
    signed = reader.header_int(header, 0x00280103) == 1
    if (reader.header_int(header, reader.TAG_SAMPLES_PER_PIXEL) or 1) != 1 or allocated not in (8, 16, 32):
        return None
    if not (1 <= stored <= allocated) or rows <= 0 or columns <= 0:
        return None
    count = rows * columns
    frame_bytes = count * allocated // 8
    offset = framing.value_offset + index * frame_bytes
    if offset + frame_bytes > framing.value_offset + framing.value_length:
        return None
    dtype = np.dtype(f"<{'i' if signed else 'u'}{allocated // 8}")
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            arr = np.fromfile(fh, dtype=dtype, count=count)
    except OSError:
        return None  # let pydicom produce the error
    if arr.size != count:
        return None
    arr = arr.reshape(rows, columns)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if stored < allocated:
        if signed:
            shift = allocated - stored
            arr <<= shift
            arr >>= shift  # arithmetic shift: sign-extends from the Bits Stored high bit
        else:
            arr &= (1 << stored) - 1
    return arr


def _decode_deflated(path: str | os.PathLike[str], index: int) -> np.ndarray:
    """Deflated files must be inflated whole before any element can be read; they are rare and small."""
    try:
        ds = pydicom.dcmread(os.fspath(path))
        return pydicom.pixels.pixel_array(ds, index=index)
    except Exception as exc:
        raise _decode_failure(path, index, exc) from exc


def _decode_failure(path: str | os.PathLike[str], index: int, exc: BaseException) -> DicomReadError:
    try:
        header = pydicom.dcmread(os.fspath(path), stop_before_pixels=True)
        uid = reader._transfer_syntax(header)
        bits = int(header.get("BitsStored") or 0)
    except Exception:  # noqa: BLE001 - the header itself is broken; report the decode error
        uid, bits = "", 0
    detail = str(exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    if uid and (
        _needs_missing_decoder(uid, bits)
        or "missing dependencies" in str(exc)
        or "does not support" in str(exc)
    ):
        return unsupported_syntax_error(path, uid, " ".join(line.strip() for line in detail[1:3]))
    if uid in _DEFLATED and "no 'Pixel Data'" in str(exc):
        return DicomReadError(f"{path}: no Pixel Data to decode")
    return DicomReadError(f"{path}: frame {index + 1} cannot be decoded ({_syntax_text(uid)}): {first}")


# ---------------------------------------------------------------------------------------------------------------
# VOI
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VoiPreset:
    """One Value-of-Interest choice: a window (center/width + function) or a VOI LUT Sequence item.

    For LUT presets ``center``/``width`` describe the LUT's input range (so a W/L drag that starts from a LUT has
    a sensible linear window to start from) and ``lut_index`` selects the item.
    """

    name: str
    center: float
    width: float
    function: str = LINEAR  # LINEAR | LINEAR_EXACT | SIGMOID | LUT
    explanation: str = ""
    lut_index: int | None = None

    def with_window(self, center: float, width: float) -> VoiPreset:
        """A user-adjusted window (a LUT preset becomes LINEAR)."""
        function = LINEAR if self.function == LUT else self.function
        return VoiPreset("Custom", float(center), float(width), function, "adjusted by the user")


def window_levels(center: float, width: float, function: str = LINEAR) -> tuple[float, float]:
    """The (black, white) input values between which DICOM's linear windowing ramps (PS3.3 C.11.2.1.2/3.2)."""
    if function == LINEAR_EXACT:
        return center - width / 2.0, center + width / 2.0
    c, w = center - 0.5, max(width - 1.0, 0.0)
    return c - w / 2.0, c + w / 2.0


def apply_levels(arr: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """Linear map ``levels[0] → 0``, ``levels[1] → 255`` with clipping, to uint8 (the viewer's levels semantics).

    Values at or below the black level are 0, above the white level 255 (as DICOM LINEAR). A zero-width window is a
    threshold.
    """
    lo, hi = float(levels[0]), float(levels[1])
    if hi <= lo:
        return np.where(arr > lo, np.uint8(255), np.uint8(0))
    out = (arr.astype(np.float32, copy=False) - np.float32(lo)) * np.float32(255.0 / (hi - lo))
    np.clip(out, 0, 255, out=out)
    return np.rint(out, out=out).astype(np.uint8)


def sigmoid_uint8(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """DICOM SIGMOID (PS3.3 C.11.2.1.3.1) scaled to 0..255."""
    x = values.astype(np.float64, copy=False)
    exponent = np.clip(-4.0 * (x - center) / max(width, 1e-12), -700.0, 700.0)  # no overflow far from centre
    out = 255.0 / (1.0 + np.exp(exponent))
    return np.rint(out).astype(np.uint8)


@dataclass(frozen=True, slots=True)
class _VoiLut:
    first_mapped: int
    data: np.ndarray  # LUT output values (uint16)
    output_max: int  # 2**bits - 1 (or the data max if a vendor exceeded the declared depth)


def _parse_voi_lut(ds: Dataset, item: Dataset) -> _VoiLut | None:
    descriptor = item.get("LUTDescriptor")
    if descriptor is None or item.get("LUTData") is None or len(descriptor) != 3:
        return None
    n, first, bits = int(descriptor[0]) or 65536, int(descriptor[1]), int(descriptor[2])
    raw = item["LUTData"]
    if raw.VR == "OW" or isinstance(raw.value, bytes):
        little = ds.original_encoding[1] if ds.original_encoding[1] is not None else True
        data = np.frombuffer(raw.value, dtype="<u2" if little else ">u2")[:n].astype(np.uint16)
    else:
        values = (
            raw.value if isinstance(raw.value, list | tuple) or hasattr(raw.value, "__len__") else [raw.value]
        )
        data = np.asarray(list(values), dtype=np.uint16)[:n]
    if data.size == 0:
        return None
    output_max = max(2**bits - 1, int(data.max()))
    return _VoiLut(first, data, output_max)


# ---------------------------------------------------------------------------------------------------------------
# FrameSource
# ---------------------------------------------------------------------------------------------------------------
def _fg_item(ds: Dataset, index: int, sequence: str) -> Dataset | None:
    """The item of a functional-group macro for a frame: per-frame first, then shared (enhanced multi-frame)."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and index < len(per_frame):
        seq = per_frame[index].get(sequence)
        if seq:
            return seq[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(sequence)
        if seq:
            return seq[0]
    return None


#: VOI attributes are converted (and a corrupt one named) on the first ``voi_presets`` call; everything else a
#: FrameSource reads is covered by :func:`_reports_bad_values` at no cost on the happy path — showing a loop's
#: first frame is timed against plain pydicom.
_VOI_KEYWORDS = (
    "WindowCenter",
    "WindowWidth",
    "WindowCenterWidthExplanation",
    "VOILUTFunction",
    "VOILUTSequence",
)


def _tags(keywords: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    return tuple((int(tag_for_keyword(k)), k) for k in keywords)  # type: ignore[arg-type]


_VOI_TAGS = _tags(_VOI_KEYWORDS)


def _convert_pixel_attributes(ds: Dataset, path: Path, tags: tuple[tuple[int, str], ...]) -> None:
    if not isinstance(ds, Dataset):
        return  # a reader.ScannedHeader holds already-decoded values
    elements = ds._dict
    for tag, keyword in tags:
        if tag not in elements:  # the common case: cheap, no keyword lookups (first frame is timed)
            continue
        try:
            value = ds[tag].value
            if isinstance(value, Sequence):
                for item in value:
                    for _ in item.iterall():  # converts every nested element
                        pass
        except Exception as exc:  # noqa: BLE001 - pydicom raises many types for corrupt values
            raise DicomReadError(
                f"{path}: malformed {keyword} value ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
            ) from exc


_T = TypeVar("_T")


def _reports_bad_values(method: Callable[..., _T]) -> Callable[..., _T]:
    """Turn pydicom's assorted exceptions on corrupt values (an unknown VR, a 3-byte US, a broken LUT item)
    into a :class:`DicomReadError` naming the file, so callers (viewer, CLI, analysis) handle one type.
    ``IndexError`` (frame out of range) and our own errors pass through unchanged."""

    @functools.wraps(method)
    def wrapper(self: FrameSource, *args: object, **kwargs: object) -> _T:
        try:
            return method(self, *args, **kwargs)
        except (DicomReadError, IndexError):
            raise
        except Exception as exc:  # noqa: BLE001
            where = getattr(self, "path", "<image>")
            detail = str(exc).strip().splitlines()
            what = f"{type(exc).__name__}: {detail[0][:160]}" if detail else type(exc).__name__
            raise DicomReadError(f"{where}: malformed image attributes ({what})") from exc

    return wrapper


class FrameSource:
    """One image file: header read once, frames decoded on demand. See the module docstring for the contract.

    Safe to share between threads for reading (each decode opens the file itself; caches are lock-protected).
    """

    @_reports_bad_values
    def __init__(self, path: str | os.PathLike[str], header: Dataset | None = None) -> None:
        self.path = Path(path)
        self.header = header if header is not None else reader.read_header(self.path)
        ds = self.header
        framing = getattr(ds, "hsg_pixel_framing", None)
        if "Rows" not in ds or "Columns" not in ds or (framing is not None and not framing.present):
            kind = reader.classify_sop_class(str(ds.get("SOPClassUID", "")))
            raise DicomReadError(f"{self.path}: not an image ({kind.value}): no Pixel Data to show")
        self.number_of_frames = reader.number_of_frames(ds)
        self.rows = int(ds.Rows)
        self.columns = int(ds.Columns)
        self.photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2") or "MONOCHROME2").strip()
        self.samples_per_pixel = int(ds.get("SamplesPerPixel") or 1)
        self.bits_stored = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 16)
        self.signed = int(ds.get("PixelRepresentation") or 0) == 1
        self.is_color = self.samples_per_pixel > 1 or self.photometric == "PALETTE COLOR"
        plut = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
        self.invert = not self.is_color and (self.photometric == "MONOCHROME1" or plut == "INVERSE")
        self._enhanced = "SharedFunctionalGroupsSequence" in ds or "PerFrameFunctionalGroupsSequence" in ds
        self._lock = threading.Lock()
        self._tables: dict[tuple, tuple[np.ndarray, int]] = {}
        self._luts: dict[int, _VoiLut | None] = {}

    # -- modality ----------------------------------------------------------------------------------------------
    @_reports_bad_values
    def decode(self, index: int = 0) -> np.ndarray:
        """Stored values of one frame (no LUTs); colour converted to RGB (palette colour expanded)."""
        arr = decode_frame(self.path, index, header=self.header)
        if self.photometric == "PALETTE COLOR":
            arr = apply_color_lut(arr, self.header)
        return arr

    def _rescale(self, index: int) -> tuple[float, float] | None:
        ds = self.header
        if self._enhanced:
            item = _fg_item(ds, index, "PixelValueTransformationSequence")
            if item is not None and "RescaleSlope" in item and "RescaleIntercept" in item:
                return float(item.RescaleSlope), float(item.RescaleIntercept)
        if "RescaleSlope" in ds and "RescaleIntercept" in ds:
            try:
                return float(ds.RescaleSlope), float(ds.RescaleIntercept)
            except (TypeError, ValueError):
                return None
        return None

    @_reports_bad_values
    def apply_modality(self, arr: np.ndarray, index: int = 0) -> np.ndarray:
        """Modality LUT of one frame's stored values (equal to pydicom's ``apply_modality_lut``)."""
        if self.is_color:
            return arr
        ds = self.header
        if ds.get("ModalityLUTSequence"):
            try:
                return apply_modality_lut(arr, ds)
            except Exception as exc:  # noqa: BLE001 - a corrupt LUT item (missing LUT Data, bad descriptor)
                raise DicomReadError(
                    f"{self.path}: malformed Modality LUT Sequence ({type(exc).__name__}: {exc})"
                ) from exc
        rescale = self._rescale(index)
        if rescale is None:
            return arr
        slope, intercept = rescale
        if slope == 1.0 and intercept == 0.0:
            return arr
        if slope.is_integer() and intercept.is_integer() and arr.dtype.kind in "ui":
            # Exact in integers (DICOM rescale of CT-like data); keeps the fast integer display path.
            lo, hi = self._stored_range()
            corners = (lo * slope + intercept, hi * slope + intercept)
            dtype = np.int32 if max(map(abs, corners)) < 2**31 - 1 else np.int64
            out = arr.astype(dtype)
            if slope != 1.0:
                out *= int(slope)
            out += int(intercept)
            return out
        out = arr.astype(np.float64)
        out *= slope
        out += intercept
        return out

    def modality_frame(self, index: int = 0) -> np.ndarray:
        """Decode one frame and apply the Modality LUT."""
        return self.apply_modality(self.decode(index), index)

    def _stored_range(self) -> tuple[int, int]:
        bits = max(1, min(self.bits_stored, 32))
        if self.signed:
            return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        return 0, 2**bits - 1

    @_reports_bad_values
    def modality_range(self, index: int = 0) -> tuple[float, float]:
        """The possible range of modality values (for a full-range window without looking at pixels)."""
        lo, hi = self._stored_range()
        ds = self.header
        if ds.get("ModalityLUTSequence"):
            item = ds.ModalityLUTSequence[0]
            return 0.0, float(2 ** int(item.LUTDescriptor[2]) - 1)
        rescale = self._rescale(index)
        if rescale:
            a, b = lo * rescale[0] + rescale[1], hi * rescale[0] + rescale[1]
            return float(min(a, b)), float(max(a, b))
        return float(lo), float(hi)

    # -- VOI ---------------------------------------------------------------------------------------------------
    def _voi_module(self, index: int = 0) -> Dataset:
        """The dataset holding the VOI LUT module for a frame (Frame VOI LUT functional group if enhanced)."""
        if self._enhanced:
            item = _fg_item(self.header, index, "FrameVOILUTSequence")
            if item is not None and "WindowCenter" in item:
                return item
        return self.header

    @_reports_bad_values
    def voi_presets(self, index: int = 0) -> list[VoiPreset]:
        """Every window pair, then every VOI LUT item, from the file (nothing invented)."""
        if self.is_color:
            return []
        _convert_pixel_attributes(self.header, self.path, _VOI_TAGS)  # converted values stay: cheap next time
        module = self._voi_module(index)
        presets: list[VoiPreset] = []
        centers = _as_list(module.get("WindowCenter"))
        widths = _as_list(module.get("WindowWidth"))
        explanations = [str(e) for e in _as_list(module.get("WindowCenterWidthExplanation"))]
        function = str(module.get("VOILUTFunction", "") or self.header.get("VOILUTFunction", "") or LINEAR)
        function = function.strip().upper() or LINEAR
        if function not in (LINEAR, LINEAR_EXACT, SIGMOID):
            function = LINEAR
        for i, (c, w) in enumerate(zip(centers, widths, strict=False)):
            try:
                center, width = float(c), float(w)
            except (TypeError, ValueError):
                continue
            if (
                not (math.isfinite(center) and math.isfinite(width))
                or width <= 0
                or (function == LINEAR and width < 1)
            ):
                continue
            expl = explanations[i] if i < len(explanations) else ""
            name = expl or f"Window {i + 1}"
            presets.append(VoiPreset(name, center, width, function, expl))
        for j, item in enumerate(self.header.get("VOILUTSequence") or []):
            lut = self._lut(j)
            if lut is None:
                continue
            expl = str(item.get("LUTExplanation", "") or "")
            n = lut.data.size
            presets.append(
                VoiPreset(expl or f"VOI LUT {j + 1}", lut.first_mapped + n / 2.0, float(n), LUT, expl, j)
            )
        return presets

    @_reports_bad_values
    def full_range_voi(self, frame: np.ndarray | None = None) -> VoiPreset:
        """A LINEAR_EXACT window spanning the frame's min..max (or the possible modality range)."""
        if frame is not None and frame.size:
            lo, hi = float(np.min(frame)), float(np.max(frame))
        else:
            lo, hi = self.modality_range()
        if hi <= lo:
            hi = lo + 1.0
        return VoiPreset(
            "Full range", (lo + hi) / 2.0, hi - lo, LINEAR_EXACT, "minimum to maximum pixel value"
        )

    @_reports_bad_values
    def default_voi(self, frame: np.ndarray | None = None, index: int = 0) -> VoiPreset | None:
        """First window, else first VOI LUT, else the full range; None for colour images."""
        if self.is_color:
            return None
        presets = self.voi_presets(index)
        windows = [p for p in presets if p.function != LUT]
        if windows:
            return windows[0]
        if presets:
            return presets[0]
        return self.full_range_voi(frame)

    def _lut(self, j: int) -> _VoiLut | None:
        with self._lock:
            if j not in self._luts:
                seq = self.header.get("VOILUTSequence") or []
                self._luts[j] = _parse_voi_lut(self.header, seq[j]) if j < len(seq) else None
            return self._luts[j]

    def _table_for(self, voi: VoiPreset, arr: np.ndarray) -> tuple[np.ndarray, int] | None:
        """A uint8 lookup table over every value the integer array's dtype can hold (offset, table), cached."""
        if arr.dtype.kind not in "ui" or arr.dtype.itemsize > 2:
            return None
        key = (voi.function, voi.center, voi.width, voi.lut_index, arr.dtype.str)
        with self._lock:
            cached = self._tables.get(key)
        if cached is not None:
            return cached
        info = np.iinfo(arr.dtype)
        values = np.arange(info.min, info.max + 1, dtype=np.int64)
        table = self._voi_uint8(values, voi)
        result = (table, int(info.min))
        with self._lock:
            self._tables[key] = result
        return result

    def _voi_uint8(self, values: np.ndarray, voi: VoiPreset) -> np.ndarray:
        if voi.function == LUT:
            lut = self._lut(voi.lut_index or 0)
            if lut is None:
                raise ValueError(f"{self.path}: VOI LUT item {voi.lut_index} is not usable")
            idx = np.clip(values.astype(np.int64) - lut.first_mapped, 0, lut.data.size - 1)
            return np.rint(lut.data[idx].astype(np.float64) * (255.0 / lut.output_max)).astype(np.uint8)
        if voi.function == SIGMOID:
            return sigmoid_uint8(values, voi.center, voi.width)
        return apply_levels(values, window_levels(voi.center, voi.width, voi.function))

    @_reports_bad_values
    def display_image(
        self, arr: np.ndarray, voi: VoiPreset | None
    ) -> tuple[np.ndarray, tuple[float, float] | None]:
        """``(image, levels)`` for display; see the module docstring. Inversion is left to the viewer."""
        if self.is_color:
            return _rgb_uint8(arr), None
        if voi is None:
            voi = self.full_range_voi(arr)
        if voi.function in (LINEAR, LINEAR_EXACT):
            return arr, window_levels(voi.center, voi.width, voi.function)
        table = self._table_for(voi, arr)
        if table is not None:
            lut, offset = table
            idx = arr if offset == 0 else arr.astype(np.int32) - offset
            return np.take(lut, idx), None
        return self._voi_uint8(np.asarray(arr), voi), None

    @_reports_bad_values
    def render_uint8(self, index: int = 0, voi: VoiPreset | None = None) -> np.ndarray:
        """One frame as final uint8 (grey: rows × columns; colour: rows × columns × 3), VOI and inversion applied."""
        frame = self.modality_frame(index)
        if voi is None and not self.is_color:
            voi = self.default_voi(frame, index)
        image, levels = self.display_image(frame, voi)
        out = apply_levels(image, levels) if levels is not None else image
        if self.invert:
            out = 255 - out
        return np.ascontiguousarray(out)


def _as_list(value: object) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, str | bytes | int | float):
        return [value]
    try:
        return list(value)  # type: ignore[call-overload]
    except TypeError:
        return [value]


def _rgb_uint8(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    top = float(np.max(arr)) if arr.size else 0.0
    bits = max(8, int(math.ceil(math.log2(top + 1)))) if top > 0 else 8
    return np.rint(arr.astype(np.float32) * (255.0 / (2**bits - 1))).astype(np.uint8)


def render_uint8(
    path: str | os.PathLike[str], index: int = 0, window: tuple[float, float] | None = None
) -> np.ndarray:
    """One frame of a file as uint8 with the file's default VOI, or ``window=(center, width)``, and inversion.

    A user window uses the file's VOI LUT Function when it names LINEAR_EXACT or SIGMOID, else LINEAR.
    """
    source = FrameSource(path)
    voi = None
    if window is not None and not source.is_color:
        center, width = float(window[0]), float(window[1])
        if width <= 0:
            raise ValueError(f"window width must be > 0 (got {width:g})")
        presets = [p for p in source.voi_presets(index) if p.function != LUT]
        function = presets[0].function if presets else LINEAR
        if function == LINEAR and width < 1:
            function = LINEAR_EXACT
        voi = VoiPreset("Custom", center, width, function, "given on the command line")
    return source.render_uint8(index, voi)
