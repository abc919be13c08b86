"""Header reading and validation: the one gate every file passes before it enters the local database.

Only headers are parsed (``stop_before_pixels``) so that indexing a 200 MB fluoroscopy loop costs the same as
indexing a 2 kB SR. What the header cannot tell — whether the Pixel Data element is really there and complete —
is checked by looking at the element's *framing* only (its tag and length, and for encapsulated data the item
headers), never by reading the pixel bytes. That catches truncated copies and interrupted transfers up front,
instead of as a crash when the viewer later asks for frame 57.

Every rejection raises :class:`~hsg_workstation.errors.DicomReadError` whose message names the file and the
reason; callers (import, PACS receive) turn it into a "skipped" result and go on with the next file.

Why this module is long (~930 lines): it is the one gate, and its two halves must agree value for value — the
pydicom path (``read_header``: parse, locate and frame the Pixel Data, validate against the limits) and the fast
scanner (``scan_header``: the same values and the same refusals from a direct walk of the element headers, falling
back to the pydicom path whenever it is not certain). They share the tag table, the value helpers, the framing
walk and ``validate_header``; split apart, the scanner would import most of the other half's privates (it falls
back to ``read_header`` and frames the Pixel Data with its walk), so the split would be by line count, not subject.
"""

from __future__ import annotations

import math
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pydicom
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from hsg_workstation import config
from hsg_workstation.dicom_io import limits
from hsg_workstation.dicom_io.model import Instance, SopKind
from hsg_workstation.errors import DicomReadError

#: Default cap on the decoded size of one instance's pixel data (Rows × Columns × Frames × samples × bytes).
#: 4 GiB is far above any real fluoroscopy loop (60 frames of 1024² uint16 = 120 MiB) and well below what
#: would exhaust a workstation, so only corrupt or hostile headers hit it.
DEFAULT_MAX_PIXEL_BYTES = 4 * 1024**3
#: Environment variable (MiB) that lowers or raises the cap for every part of the app (GUI, import, PACS
#: receive, export-image) — e.g. on a small laptop — without a code change; the import CLI has an option too.
#: Parsed and validated in ``config.py`` (the one settings object).
MAX_IMAGE_MB_ENV = config.MAX_IMAGE_MB_ENV


def configured_max_pixel_bytes(max_image_mb: float | None = None) -> int:
    """The pixel-size cap in bytes: ``max_image_mb`` if given, else ``$HSG_WORKSTATION_MAX_IMAGE_MB``
    (``config.settings.max_image_mb``), else :data:`DEFAULT_MAX_PIXEL_BYTES`. A value that is not a positive
    number raises :class:`ConfigError` naming where it came from (a typo must not silently disable the protection)."""
    if max_image_mb is not None:
        mb = config.image_cap_mib(max_image_mb, "--max-image-mb")
    else:
        mb = config.settings.max_image_mb
    return DEFAULT_MAX_PIXEL_BYTES if mb is None else int(mb * 1024**2)


PIXEL_DATA_TAGS = frozenset(
    {0x7FE00010, 0x7FE00008, 0x7FE00009}
)  # Pixel Data, Float / Double Float Pixel Data

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
KEY_OBJECT_SELECTION_STORAGE = "1.2.840.10008.5.1.4.1.1.88.59"
MEDIA_STORAGE_DIRECTORY_STORAGE = "1.2.840.10008.1.3.10"  # DICOMDIR
_SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
_PRESENTATION_STATE_PREFIX = "1.2.840.10008.5.1.4.1.1.11."
_DEFLATED_SYNTAXES = frozenset({"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1"})

#: MPEG-2 / MPEG-4 / HEVC (1.2.840.10008.1.2.4.100–.108): one video stream for all frames, so fragments need not
#: outnumber frames there (PS3.5 8.2.5); they are refused later as undecodable, with the package to install.
_VIDEO_SYNTAX_PREFIX = "1.2.840.10008.1.2.4.10"
_LONG_LENGTH_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"})
_ITEM_TAG = (0xFFFE, 0xE000)
_SEQUENCE_DELIMITER_TAG = (0xFFFE, 0xE0DD)
_UNDEFINED_LENGTH = 0xFFFFFFFF


# -- fast header values ------------------------------------------------------------------------------------------
# Indexing touches ~30 attributes per file. pydicom converts a raw element on first attribute access through a
# generic (and, per file, costly) path; decoding the few plain VRs used here straight from the raw bytes keeps
# header indexing as fast as a bare ``dcmread`` loop. Anything unusual (a character set other than ASCII,
# sequences, unknown VRs) falls back to pydicom's own conversion, so values are always pydicom's values.
_ASCII_VRS = frozenset({"UI", "CS", "DA", "TM", "DT", "IS", "DS", "AS", "AE"})
_TEXT_VRS = frozenset({"LO", "SH", "PN", "LT", "ST", "UT", "UC"})
_INT_VRS = {"US": "H", "SS": "h", "UL": "L", "SL": "l"}


def header_value(ds: Dataset, tag: int) -> object:
    """The value of a top-level element (None if absent), decoded from raw bytes when that is safe.

    Strings come back stripped of DICOM padding; multi-valued strings and integers as lists.
    """
    if type(ds) is ScannedHeader:
        return ds.values.get(tag)
    try:
        elem = ds._dict.get(tag)  # the element store itself: get_item() would rebuild a Tag for every call
    except AttributeError:
        elem = ds.get_item(tag)
    if elem is None:
        return None
    if not getattr(elem, "is_raw", False):
        return elem.value
    raw = elem.value
    if raw is None:
        return None
    vr = elem.VR or dictionary_vr_or_none(tag)
    if vr in _ASCII_VRS or (vr in _TEXT_VRS and raw.isascii() and _plain_charset(ds)):
        text = raw.decode("ascii").strip(" \0")
        if vr in _ASCII_VRS and "\\" in text:
            return [part.strip(" \0") for part in text.split("\\")]
        return text
    if vr in _INT_VRS and len(raw) % struct.calcsize(_INT_VRS[vr]) == 0:
        fmt = ("<" if elem.is_little_endian else ">") + _INT_VRS[vr]
        values = [v[0] for v in struct.iter_unpack(fmt, raw)]
        return values[0] if len(values) == 1 else values
    return ds[tag].value


def dictionary_vr_or_none(tag: int) -> str | None:
    try:
        return dictionary_VR(tag)
    except KeyError:
        return None


def _plain_charset(ds: Dataset) -> bool:
    charset = ds._dict.get(0x00080005) if hasattr(ds, "_dict") else ds.get_item(0x00080005)
    if charset is None:
        return True
    raw = charset.value
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
    return text.strip(" \0") in (
        "",
        "ISO_IR 6",
        "ISO_IR 100",
        "ISO_IR 192",
    )  # ASCII bytes mean ASCII in these


def header_text(ds: Dataset, tag: int) -> str:
    """A string value ('' if absent); PN values as their DICOM string (``Family^Given``)."""
    value = header_value(ds, tag)
    if value is None:
        return ""
    if isinstance(value, list):
        return "\\".join(str(v) for v in value)
    return str(value)


def positive_number(value: object) -> float | None:
    """``value`` (a DS / IS value, text or number) as a finite number above zero; None otherwise."""
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and f > 0 else None


def header_int(ds: Dataset, tag: int) -> int | None:
    """An integer value (first of several), None when absent or not a number."""
    value = header_value(ds, tag)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or value == "":
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        try:
            return int(float(value))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):  # OverflowError: "inf"
            return None


#: The range PS3.5 Table 6.2-1 allows an IS (Integer String) value: a signed 32-bit integer.
IS_MIN, IS_MAX = -(2**31), 2**31 - 1


def header_is_number(ds: Dataset, tag: int) -> int | None:
    """An integer value within the IS range (a signed 32-bit integer), None when absent, not a number or out of
    range. For what the index stores — Instance / Series Number only order images, Rows / Columns of a non-image
    mean nothing: a damaged one (20 digits — past what SQLite stores — or ``1e308``) is dropped like a missing
    one instead of failing the import of an otherwise good file."""
    value = header_int(ds, tag)
    return value if value is not None and IS_MIN <= value <= IS_MAX else None


# Tags used by indexing (named here once so the hot path does no keyword lookups).
TAG_SOP_CLASS_UID = 0x00080016
TAG_SOP_INSTANCE_UID = 0x00080018
TAG_STUDY_INSTANCE_UID = 0x0020000D
TAG_SERIES_INSTANCE_UID = 0x0020000E
TAG_INSTANCE_NUMBER = 0x00200013
TAG_NUMBER_OF_FRAMES = 0x00280008
TAG_ROWS = 0x00280010
TAG_COLUMNS = 0x00280011
TAG_SAMPLES_PER_PIXEL = 0x00280002
TAG_PHOTOMETRIC_INTERPRETATION = 0x00280004
TAG_BITS_ALLOCATED = 0x00280100
TAG_BITS_STORED = 0x00280101
TAG_ACQUISITION_DATETIME = 0x0008002A
TAG_ACQUISITION_DATE = 0x00080022
TAG_ACQUISITION_TIME = 0x00080032
TAG_CONTENT_DATE = 0x00080023
TAG_CONTENT_TIME = 0x00080033
TAG_DIRECTORY_RECORD_SEQUENCE = 0x00041220


def classify_sop_class(uid: str) -> SopKind:
    """Map a SOP Class UID to what this workstation does with it (image, SR, PDF, KO, presentation state)."""
    uid = str(uid or "")
    if uid == ENCAPSULATED_PDF_STORAGE:
        return SopKind.ENCAPSULATED_PDF
    if uid == KEY_OBJECT_SELECTION_STORAGE:
        return SopKind.KEY_OBJECT_SELECTION
    if uid.startswith(_SR_PREFIX):
        return SopKind.STRUCTURED_REPORT
    if uid.startswith(_PRESENTATION_STATE_PREFIX):
        return SopKind.PRESENTATION_STATE
    name = UID(uid).name if uid else ""
    # pydicom names every storage class from the registry; all pixel-bearing ones are "... Image Storage"
    # (including "Enhanced XA/XRF Image Storage", "Multi-frame ... Secondary Capture Image Storage").
    if "Image Storage" in name:
        return SopKind.IMAGE
    return SopKind.OTHER


@dataclass(frozen=True, slots=True)
class PixelDataFraming:
    """Where the Pixel Data element sits and how it is framed, found without reading the pixel bytes."""

    present: bool
    encapsulated: bool = False
    value_offset: int | None = None
    value_length: int | None = None  # None when encapsulated (undefined length)
    fragment_count: int = 0
    tag: int = 0x7FE00010  # Pixel Data, or Float / Double Float Pixel Data


def read_header(
    path: str | os.PathLike[str],
    *,
    max_pixel_bytes: int = DEFAULT_MAX_PIXEL_BYTES,
    require_pixel_data: bool = True,
) -> Dataset:
    """Read and validate one DICOM Part 10 file's header (no pixel bytes are read).

    Raises :class:`DicomReadError` naming the file and the reason when the file is not DICOM, is truncated, has
    no SOP Instance UID, is an image without Rows/Columns or (with ``require_pixel_data``) without Pixel Data,
    or declares more pixel bytes than ``max_pixel_bytes``. A DICOMDIR is returned as is (it has no SOP
    Instance UID of its own): callers check :func:`is_dicomdir`.

    The returned dataset carries ``file_meta``; the attribute ``hsg_pixel_framing`` is set on it to the
    :class:`PixelDataFraming` found, so pixel code does not have to look again.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except OSError as exc:
        raise DicomReadError(f"{p}: cannot be read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise DicomReadError(f"{p}: not a regular file")
    try:
        fp = open(p, "rb")  # noqa: SIM115 - closed in finally; the position after the header is needed
    except OSError as exc:
        raise DicomReadError(f"{p}: cannot be read: {exc.strerror or exc}") from exc
    try:
        ds = _parse_header(fp, p)
        framing = _locate_pixel_data(fp, ds, p, st.st_size)
    finally:
        fp.close()
    _validate_guarded(ds, p, framing, max_pixel_bytes=max_pixel_bytes, require_pixel_data=require_pixel_data)
    ds.hsg_pixel_framing = framing  # type: ignore[attr-defined]
    return ds


def _validate_guarded(
    ds: Dataset, name: str | os.PathLike[str], framing: PixelDataFraming, **kw: object
) -> None:
    """:func:`validate_header`, with a malformed value (e.g. a 3-byte US) reported as a :class:`DicomReadError`
    naming the file — pydicom converts values lazily and raises its own exception types when it does."""
    try:
        # Every value the index reads, decoded once now: a corrupt one (non-ASCII bytes in a UID, an unknown
        # VR) must skip this file with its name, not raise later from instance_from_header mid-import.
        for tag in sorted(_WANTED):
            try:
                header_value(ds, tag)
            except Exception as exc:  # noqa: BLE001
                keyword = keyword_for_tag(tag) or "element"
                raise DicomReadError(
                    f"{name}: malformed {keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X}) value "
                    f"({type(exc).__name__}: {_first_line(exc)[:120]})"
                ) from exc
        for elem in ds._dict.values():  # top-level text values (the scanner checks them as it walks)
            length = getattr(elem, "length", 0) or 0
            if elem.VR in ("LT", "ST", "UT", "UC") and length > limits.MAX_TEXT_BYTES:
                limits.check_text(name, int(elem.tag), length)
        validate_header(ds, name, framing, **kw)  # type: ignore[arg-type]
    except DicomReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any pydicom conversion error on bad input
        raise DicomReadError(
            f"{name}: malformed DICOM header ({type(exc).__name__}: {_first_line(exc)})"
        ) from exc


def convert_attributes(ds: Dataset, name: str | os.PathLike[str], keywords: tuple[str, ...]) -> None:
    """Convert the named top-level attributes now (pydicom converts lazily), so a corrupt one — an unknown VR,
    a 3-byte US — is a :class:`DicomReadError` naming the file and the attribute instead of a pydicom exception
    raised wherever the value is first used. Absent attributes are fine."""
    if not isinstance(ds, Dataset):
        return  # a ScannedHeader holds decoded values only
    for keyword in keywords:
        try:
            ds.get(keyword)
        except Exception as exc:  # noqa: BLE001 - pydicom raises many types for corrupt values
            tag = tag_for_keyword(keyword)
            where = f" ({tag >> 16:04X},{tag & 0xFFFF:04X})" if tag is not None else ""
            raise DicomReadError(
                f"{name}: malformed {keyword}{where} value ({type(exc).__name__}: {_first_line(exc)[:120]})"
            ) from exc


def read_header_bytes(
    data: bytes,
    *,
    name: str = "<network>",
    max_pixel_bytes: int = DEFAULT_MAX_PIXEL_BYTES,
    require_pixel_data: bool = True,
) -> Dataset:
    """Like :func:`read_header` for DICOM file-format bytes held in memory (e.g. a received C-STORE)."""
    import io

    fp = io.BytesIO(data)
    ds = _parse_header(fp, name)
    framing = _locate_pixel_data(fp, ds, name, len(data))
    _validate_guarded(
        ds, name, framing, max_pixel_bytes=max_pixel_bytes, require_pixel_data=require_pixel_data
    )
    ds.hsg_pixel_framing = framing  # type: ignore[attr-defined]
    return ds


def is_dicomdir(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    if meta is not None and header_text(meta, 0x00020002) == MEDIA_STORAGE_DIRECTORY_STORAGE:
        return True
    return TAG_DIRECTORY_RECORD_SEQUENCE in ds


def _parse_header(fp: BinaryIO, name: str | os.PathLike[str]) -> Dataset:
    try:
        ds = pydicom.dcmread(fp, stop_before_pixels=True)
    except InvalidDicomError as exc:
        raise DicomReadError(
            f"{name}: not a DICOM Part 10 file (no 'DICM' prefix and File Meta Information after the preamble)"
        ) from exc
    except (EOFError, struct.error) as exc:
        raise DicomReadError(
            f"{name}: truncated DICOM header ({_first_line(exc) or 'unexpected end of file'})"
        ) from exc
    except RecursionError:  # pydicom parses nested sequences recursively
        raise limits.sequence_too_deep(name) from None
    except Exception as exc:  # pydicom raises many types on malformed input; none may stop an import
        raise DicomReadError(
            f"{name}: unreadable DICOM header ({type(exc).__name__}: {_first_line(exc)})"
        ) from exc
    if len(ds) == 0 and not getattr(ds, "file_meta", None):
        raise DicomReadError(f"{name}: not a DICOM Part 10 file (no data elements)")
    short = _short_element(ds)
    if short is not None:
        tag, have, declared = short
        raise DicomReadError(
            f"{name}: truncated DICOM header: element ({tag >> 16:04X},{tag & 0xFFFF:04X}) declares {declared} "
            f"bytes but the file ends after {have}"
        )
    return ds


def _short_element(ds: Dataset) -> tuple[int, int, int] | None:
    """``(tag, bytes present, bytes declared)`` of the element whose value the file cut short, else None.

    Why: pydicom stops quietly at the end of a file cut inside an element's value and keeps the partial bytes;
    without this check such a file would be reported as missing some later attribute (misleading), or would
    fail with a conversion error when that value is read.
    """
    for group in (getattr(ds, "file_meta", None), ds):
        if not group:
            continue
        # Only the element read last can be cut short (parsing is sequential and the dict keeps read order),
        # so one look suffices — this runs on every header the viewer opens.
        tag, elem = next(reversed(group._dict.items()))
        length = getattr(elem, "length", None)
        value = getattr(elem, "value", None)
        if (
            isinstance(value, bytes | bytearray)
            and isinstance(length, int)
            and length != 0xFFFFFFFF
            and len(value) < length
        ):
            return int(tag), len(value), length
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _transfer_syntax(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    return header_text(meta, 0x00020010) if meta is not None else ""


def _locate_pixel_data(
    fp: BinaryIO, ds: Dataset, name: str | os.PathLike[str], size: int
) -> PixelDataFraming:
    """Inspect the framing of the Pixel Data element at the current position (where dcmread stopped)."""
    if _transfer_syntax(ds) in _DEFLATED_SYNTAXES:
        # The header parser inflated the stream into memory; file positions do not apply. Deflate is rare
        # (and small files), so look for the element with a full parse instead.
        fp.seek(0)
        try:
            full = pydicom.dcmread(fp)
        except Exception as exc:
            raise DicomReadError(
                f"{name}: truncated or corrupt deflated data set ({_first_line(exc)})"
            ) from exc
        present = any(int(tag) in PIXEL_DATA_TAGS for tag in full.keys())
        return PixelDataFraming(present=present)
    start = fp.tell()
    head = fp.read(8)
    if len(head) == 0:
        return PixelDataFraming(present=False)
    if len(head) < 8:
        raise DicomReadError(f"{name}: truncated at the Pixel Data element header")
    little = ds.original_encoding[1] if ds.original_encoding[1] is not None else True
    implicit = bool(ds.original_encoding[0])  # (is_implicit_VR, is_little_endian)
    end = "<" if little else ">"
    group, elem = struct.unpack(f"{end}HH", head[:4])
    if (group << 16 | elem) not in PIXEL_DATA_TAGS:
        return PixelDataFraming(present=False)
    if implicit:
        (length,) = struct.unpack(f"{end}L", head[4:8])
        value_offset = start + 8
    else:
        vr = head[4:6]
        if not (vr.isalpha() and vr.isupper()):
            # No VR where explicit VR is declared: some writers put Pixel Data implicitly; pydicom reads it that
            # way too, so accept a 4-byte length.
            (length,) = struct.unpack(f"{end}L", head[4:8])
            value_offset = start + 8
        elif vr in _LONG_LENGTH_VRS:
            rest = fp.read(4)
            if len(rest) < 4:
                raise DicomReadError(f"{name}: truncated at the Pixel Data element header")
            (length,) = struct.unpack(f"{end}L", rest)
            value_offset = start + 12
        else:
            (length,) = struct.unpack(f"{end}H", head[6:8])
            value_offset = start + 8
    if length != _UNDEFINED_LENGTH:
        if value_offset + length > size:
            raise DicomReadError(
                f"{name}: truncated: Pixel Data declares {length} bytes but only {max(size - value_offset, 0)} follow"
            )
        return PixelDataFraming(True, False, value_offset, length, tag=group << 16 | elem)
    fragments = _walk_fragments(fp, end, name, size)
    return PixelDataFraming(True, True, value_offset, None, fragments, tag=group << 16 | elem)


def _walk_fragments(fp: BinaryIO, end: str, name: str | os.PathLike[str], size: int) -> int:
    """Follow the item headers of encapsulated Pixel Data (seeking over the data) up to the delimiter."""
    fragments = 0
    while True:
        pos = fp.tell()
        head = fp.read(8)
        if len(head) < 8:
            raise DicomReadError(
                f"{name}: truncated: encapsulated Pixel Data ends after {max(fragments - 1, 0)} fragments "
                "without a sequence delimiter"
            )
        group, elem, length = struct.unpack(f"{end}HHL", head)
        if (group, elem) == _SEQUENCE_DELIMITER_TAG:
            return max(fragments - 1, 0)  # the first item is the Basic Offset Table
        if (group, elem) != _ITEM_TAG or length == _UNDEFINED_LENGTH:
            raise DicomReadError(f"{name}: corrupt encapsulated Pixel Data (unexpected tag at byte {pos})")
        if pos + 8 + length > size:
            raise DicomReadError(f"{name}: truncated: a Pixel Data fragment runs past the end of the file")
        fp.seek(length, os.SEEK_CUR)
        fragments += 1


def expected_pixel_bytes(ds: Dataset) -> int:
    """Decoded size of all frames in bytes, from Rows × Columns × Frames × Samples × Bits Allocated."""
    rows = header_int(ds, TAG_ROWS) or 0
    cols = header_int(ds, TAG_COLUMNS) or 0
    samples = header_int(ds, TAG_SAMPLES_PER_PIXEL) or 1
    if samples == 3 and header_text(ds, TAG_PHOTOMETRIC_INTERPRETATION) == "YBR_FULL_422":
        samples = 2  # native 4:2:2 stores two chroma samples per pixel pair: 2 values per pixel on average
    bits = header_int(ds, TAG_BITS_ALLOCATED) or 8
    total_bits = rows * cols * number_of_frames(ds) * samples * bits
    return (total_bits + 7) // 8


def number_of_frames(ds: Dataset) -> int:
    return max(header_int(ds, TAG_NUMBER_OF_FRAMES) or 1, 1)


def _mib(n: int) -> str:
    """Bytes as MiB for messages: whole MiB for big values, 3 significant digits for small caps."""
    v = n / 1024**2
    return f"{v:,.0f} MiB" if v >= 10 else f"{v:.3g} MiB"


def validate_header(
    ds: Dataset,
    name: str | os.PathLike[str],
    framing: PixelDataFraming,
    *,
    max_pixel_bytes: int = DEFAULT_MAX_PIXEL_BYTES,
    require_pixel_data: bool = True,
) -> None:
    """Apply the workstation's acceptance rules to a parsed header; raise :class:`DicomReadError` if broken."""
    if is_dicomdir(ds):
        return
    if not header_text(ds, TAG_SOP_INSTANCE_UID):
        raise DicomReadError(f"{name}: no SOP Instance UID (0008,0018)")
    for tag, keyword, tag_text in (
        (TAG_STUDY_INSTANCE_UID, "StudyInstanceUID", "(0020,000D)"),
        (TAG_SERIES_INSTANCE_UID, "SeriesInstanceUID", "(0020,000E)"),
    ):
        if not header_text(ds, tag):
            raise DicomReadError(f"{name}: no {keyword} {tag_text}")
    kind = classify_sop_class(header_text(ds, TAG_SOP_CLASS_UID))
    if kind is not SopKind.IMAGE and not (kind is SopKind.OTHER and framing.present):
        return
    rows, columns = header_int(ds, TAG_ROWS), header_int(ds, TAG_COLUMNS)
    for value, keyword, tag_text in ((rows, "Rows", "(0028,0010)"), (columns, "Columns", "(0028,0011)")):
        if value is None or value <= 0:
            raise DicomReadError(f"{name}: image without {keyword} {tag_text}")
    bits_allocated = header_int(ds, TAG_BITS_ALLOCATED)
    if not bits_allocated:
        raise DicomReadError(f"{name}: image without Bits Allocated (0028,0100)")
    # Impossible bit depths or sample counts come from corrupt headers; some native decoders (gdcm) crash the
    # whole process on them instead of raising, so they are refused here, before any decoder sees the file.
    if bits_allocated != 1 and (bits_allocated % 8 or bits_allocated > 64):
        raise DicomReadError(f"{name}: invalid Bits Allocated (0028,0100) {bits_allocated}")
    bits_stored = header_int(ds, TAG_BITS_STORED)
    if bits_stored is not None and not 1 <= bits_stored <= bits_allocated:
        raise DicomReadError(
            f"{name}: invalid Bits Stored (0028,0101) {bits_stored} for Bits Allocated {bits_allocated}"
        )
    samples = header_int(ds, TAG_SAMPLES_PER_PIXEL)
    if samples is not None and not 1 <= samples <= 4:
        raise DicomReadError(f"{name}: invalid Samples per Pixel (0028,0002) {samples}")
    declared_frames = header_value(ds, TAG_NUMBER_OF_FRAMES)
    if declared_frames not in (None, "", []) and header_int(ds, TAG_NUMBER_OF_FRAMES) is None:
        # "inf", "NaN", "abc": not one frame by default — the header is damaged where the frame count is
        raise DicomReadError(f"{name}: Number of Frames (0028,0008) {declared_frames!r} is not a number")
    needed = expected_pixel_bytes(ds)
    if needed > max_pixel_bytes:
        raise DicomReadError(
            f"{name}: image too large: Rows × Columns × Frames ({rows} × {columns} × {number_of_frames(ds)}) "
            f"needs {_mib(needed)}, above the cap of {_mib(max_pixel_bytes)}"
        )
    frames = number_of_frames(ds)
    limits.check_image(name, limits.ImageGeometry(rows, columns, frames))  # type: ignore[arg-type]
    if framing.present and framing.encapsulated and not _transfer_syntax(ds).startswith(_VIDEO_SYNTAX_PREFIX):
        limits.check_fragments(name, frames, framing.fragment_count)
    if require_pixel_data and not framing.present:
        raise DicomReadError(f"{name}: image without Pixel Data (7FE0,0010)")
    if framing.present and not framing.encapsulated and framing.value_length is not None:
        # Native pixel data: the value must hold every frame (an odd byte of padding may follow).
        if framing.value_length < needed:
            raise DicomReadError(
                f"{name}: truncated: Pixel Data has {framing.value_length} bytes, "
                f"Rows × Columns × Frames needs {needed}"
            )


def acquisition_datetime(ds: Dataset) -> str | None:
    """A sortable DT string (YYYYMMDDHHMMSS.ffffff, no offset) for ordering spot images in a stack.

    Acquisition DateTime, else Acquisition Date + Time, else Content Date + Time; None when nothing is known.
    Time is padded to seconds so that strings of different precision still sort correctly.
    """
    dt = header_text(ds, TAG_ACQUISITION_DATETIME)
    if not dt:
        for date_tag, time_tag in (
            (TAG_ACQUISITION_DATE, TAG_ACQUISITION_TIME),
            (TAG_CONTENT_DATE, TAG_CONTENT_TIME),
        ):
            date = header_text(ds, date_tag)
            if date:
                dt = date + header_text(ds, time_tag)
                break
    if not dt:
        return None
    for sign in ("+", "-"):
        if sign in dt[8:]:
            dt = dt[: 8 + dt[8:].index(sign)]
    dt = dt.strip()
    date, rest = dt[:8], dt[8:]
    whole, dot, frac = rest.partition(".")
    whole = (whole + "000000")[:6]
    return f"{date}{whole}{dot}{frac}" if frac else f"{date}{whole}"


def instance_from_header(ds: Dataset, path: str | os.PathLike[str]) -> Instance:
    """Build the :class:`Instance` row for a validated header (``path`` is where the file lives)."""
    sop_class = header_text(ds, TAG_SOP_CLASS_UID)
    return Instance(
        sop_instance_uid=header_text(ds, TAG_SOP_INSTANCE_UID),
        sop_class_uid=sop_class,
        series_instance_uid=header_text(ds, TAG_SERIES_INSTANCE_UID),
        study_instance_uid=header_text(ds, TAG_STUDY_INSTANCE_UID),
        path=Path(path),
        kind=classify_sop_class(sop_class),
        instance_number=header_is_number(ds, TAG_INSTANCE_NUMBER),
        # Images past the frame / pixel limits were refused by validate_header; on other objects (an SR, a PDF)
        # these values mean nothing, and a damaged one must not reach SQLite (64-bit integers only).
        number_of_frames=frames if (frames := number_of_frames(ds)) <= IS_MAX else 1,
        rows=header_is_number(ds, TAG_ROWS),
        columns=header_is_number(ds, TAG_COLUMNS),
        acquisition_datetime=acquisition_datetime(ds),
        transfer_syntax_uid=_transfer_syntax(ds) or None,
    )


# -- fast scanner --------------------------------------------------------------------------------------------------
# The index needs ~30 top-level values per file. ``dcmread`` builds a whole Dataset (every element, the meta
# group, a file object wrapper) to provide them; for the by far most common encodings — Part 10 files in explicit
# VR little endian (native or encapsulated) or implicit VR little endian — a direct walk over the element headers
# that keeps only the wanted values is several times cheaper. Whatever the walk does not recognise with certainty
# (big-endian or deflated syntaxes, odd VRs, tags out of order, non-ASCII text, other character sets, truncation,
# DICOMDIRs) raises _Unsupported and the caller uses :func:`read_header`, so pydicom stays the authority for
# everything unusual and for every error message. The results of both paths are compared on pydicom's own test files by the tests.
_FAST_SYNTAXES_PREFIXES = ("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5")
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_IMPLICIT_LE = "1.2.840.10008.1.2"
_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_DELIMITER = 0xFFFEE00D
_SEQUENCE_DELIMITER = 0xFFFEE0DD
_WANTED: frozenset[int] = frozenset()  # filled below, once every tag constant exists
_PLAIN_CHARSETS = frozenset({"", "ISO_IR 6", "ISO_IR 100", "ISO_IR 192"})


_LIMITED_TEXT_VRS = frozenset({b"LT", b"ST", b"UT", b"UC"})


class _Unsupported(Exception):
    """The fast scanner is not certain; fall back to pydicom."""


class ScannedHeader:
    """Top-level values of a file read by the fast scanner; quacks like the few Dataset features used here."""

    __slots__ = ("values", "present", "hsg_pixel_framing", "original_encoding")

    def __init__(self, values: dict[int, object], present: set[int], implicit: bool = False) -> None:
        self.values = values
        self.present = present
        self.hsg_pixel_framing: PixelDataFraming | None = None
        self.original_encoding = (implicit, True)  # (is_implicit_VR, is_little_endian) as pydicom names it

    @property
    def file_meta(self) -> ScannedHeader:
        return self  # group 0002 values live in the same dict

    def __contains__(self, tag: object) -> bool:
        return tag in self.present


class _Cursor:
    """A forward reader over a file object that buffers headers and seeks over large values."""

    __slots__ = ("fp", "buf", "base", "pos", "size", "implicit")

    def __init__(self, fp: BinaryIO, start: int, size: int) -> None:
        self.fp, self.base, self.pos, self.size = fp, start, 0, size
        self.implicit = False  # group 0002 is always explicit; switched after the meta group if needed
        fp.seek(start)
        self.buf = fp.read(65536)

    def tell(self) -> int:
        return self.base + self.pos

    def at_end(self) -> bool:
        return self.tell() >= self.size

    def need(self, n: int) -> None:
        if self.pos + n > len(self.buf):
            self.buf = self.buf[self.pos :] + self.fp.read(max(65536, n))
            self.base += self.pos
            self.pos = 0
            if n > len(self.buf):
                raise _Unsupported("truncated")

    def take(self, n: int) -> bytes:
        self.need(n)
        data = self.buf[self.pos : self.pos + n]
        self.pos += n
        return data

    def skip(self, n: int) -> None:
        if self.tell() + n > self.size:
            raise _Unsupported("truncated")
        if self.pos + n <= len(self.buf):
            self.pos += n
        else:
            self.base = self.tell() + n
            self.pos = 0
            self.fp.seek(self.base)
            self.buf = self.fp.read(65536)


def _element_header(cur: _Cursor) -> tuple[int, bytes, int]:
    cur.need(8)
    buf, pos = cur.buf, cur.pos
    group, elem = struct.unpack_from("<HH", buf, pos)
    tag = group << 16 | elem
    if group == 0xFFFE:
        (length,) = struct.unpack_from("<L", buf, pos + 4)
        cur.pos += 8
        return tag, b"", length
    if cur.implicit:  # tag + 4-byte length; the VR comes from the data dictionary when a value is kept
        (length,) = struct.unpack_from("<L", buf, pos + 4)
        cur.pos += 8
        return tag, _IMPLICIT_SQ if length == _UNDEFINED else b"", length
    vr = buf[pos + 4 : pos + 6]
    if not (vr.isalpha() and vr.isupper()):
        raise _Unsupported("not explicit VR")
    if vr in _LONG_LENGTH_VRS:
        cur.need(12)
        (length,) = struct.unpack_from("<L", cur.buf, cur.pos + 8)
        cur.pos += 12
    else:
        (length,) = struct.unpack_from("<H", buf, pos + 6)
        cur.pos += 8
    return tag, vr, length


_IMPLICIT_SQ = b"SQ"  # in implicit VR only a sequence (or a delimiter) may have an undefined length


def _skip_sequence(cur: _Cursor, name: str | os.PathLike[str] = "<file>") -> None:
    """Skip an undefined-length SQ (items in the data set's encoding), following nested undefined lengths.

    Iterative with an explicit depth count: a file nesting sequences 1 000 deep made the recursive version
    raise RecursionError (a 26-line traceback on stderr); past :data:`limits.MAX_SEQUENCE_DEPTH` the file is
    refused with a one-line reason instead.
    """
    depth = 1  # open sequences; inside_item[d] says whether level d is inside an undefined-length item
    inside_item = [False]
    while depth:
        tag, vr, length = _element_header(cur)
        if not inside_item[-1]:  # between items of the innermost sequence
            if tag == _SEQUENCE_DELIMITER:
                depth -= 1
                inside_item.pop()
                continue
            if tag != _ITEM:
                raise _Unsupported("unexpected tag in sequence")
            if length != _UNDEFINED:
                cur.skip(length)
            else:
                inside_item[-1] = True
            continue
        if tag == _ITEM_DELIMITER:  # end of the item: back to the sequence's item list
            inside_item[-1] = False
            continue
        if length == _UNDEFINED:
            if vr != b"SQ":
                raise _Unsupported("undefined length outside SQ")
            depth += 1
            if depth > limits.MAX_SEQUENCE_DEPTH:
                raise limits.sequence_too_deep(name)
            inside_item.append(False)
        else:
            cur.skip(length)


def _decode_value(vr: bytes, raw: bytes) -> object:
    if vr in _FAST_ASCII or vr in _FAST_TEXT:
        if not raw.isascii():
            raise _Unsupported("non-ASCII text")
        text = raw.decode("ascii").strip(" \0")
        if vr in _FAST_ASCII and "\\" in text:
            return [part.strip(" \0") for part in text.split("\\")]
        return text
    fmt = _INT_VRS.get(vr.decode("ascii"))
    if fmt is None or len(raw) % struct.calcsize(fmt):
        raise _Unsupported("unexpected VR")
    values = [v[0] for v in struct.iter_unpack("<" + fmt, raw)]
    return values[0] if len(values) == 1 else values


_FAST_ASCII = frozenset(v.encode() for v in _ASCII_VRS)
_FAST_TEXT = frozenset(v.encode() for v in _TEXT_VRS)


def _scan(fp: BinaryIO, size: int, name: str | os.PathLike[str]) -> ScannedHeader:
    head = fp.read(132)
    if len(head) < 132 or head[128:132] != b"DICM":
        raise _Unsupported("no preamble")
    cur = _Cursor(fp, 132, size)
    values: dict[int, object] = {}
    present: set[int] = set()
    checked_syntax = False
    last_tag = -1
    while not cur.at_end():
        start = cur.tell()
        if not checked_syntax:
            cur.need(2)
            if struct.unpack_from("<H", cur.buf, cur.pos)[0] != 0x0002:  # first element after the meta group
                syntax = values.get(0x00020010)
                if syntax == _IMPLICIT_LE:
                    cur.implicit = True
                elif not isinstance(syntax, str) or not (
                    syntax == _EXPLICIT_LE or syntax.startswith(_FAST_SYNTAXES_PREFIXES)
                ):
                    raise _Unsupported("transfer syntax")
                checked_syntax = True
        tag, vr, length = _element_header(cur)
        if tag <= last_tag:
            raise _Unsupported("tags out of order")  # DICOM requires ascending tags; a misparse would not be
        last_tag = tag
        if tag in PIXEL_DATA_TAGS:
            fp.seek(start)
            break
        if tag >> 16 == 0xFFFE:
            raise _Unsupported("delimiter at top level")
        present.add(tag)
        if vr in _LIMITED_TEXT_VRS and length > limits.MAX_TEXT_BYTES:
            limits.check_text(name, tag, length)
        if length == _UNDEFINED:
            if vr != b"SQ":
                raise _Unsupported("undefined length outside SQ")
            _skip_sequence(cur, name)
        elif tag in _WANTED:
            if cur.implicit:
                vr = _WANTED_VR[tag]
            values[tag] = _decode_value(vr, cur.take(length))
        else:
            cur.skip(length)
    else:
        fp.seek(size)
    if not checked_syntax:
        raise _Unsupported("no data set")
    charset = values.get(0x00080005)
    if charset is not None and (isinstance(charset, list) or charset not in _PLAIN_CHARSETS):
        raise _Unsupported("character set")
    if values.get(0x00020002) == MEDIA_STORAGE_DIRECTORY_STORAGE or TAG_DIRECTORY_RECORD_SEQUENCE in present:
        raise _Unsupported("DICOMDIR")
    header = ScannedHeader(values, present, cur.implicit)
    header.hsg_pixel_framing = _locate_pixel_data(fp, header, name, size)  # type: ignore[arg-type]
    return header


def scan_header(
    path: str | os.PathLike[str], *, max_pixel_bytes: int = DEFAULT_MAX_PIXEL_BYTES
) -> ScannedHeader | Dataset:
    """What the index needs from one file, validated like :func:`read_header` — fast for common files.

    Returns a :class:`ScannedHeader` (usable with :func:`header_text`, :func:`header_int`,
    :func:`validate_header`, :func:`instance_from_header`) or, for anything unusual, the Dataset of
    :func:`read_header`. Raises :class:`DicomReadError` exactly where :func:`read_header` would.
    """
    p = Path(path)
    try:
        st = os.stat(p)  # before open(): opening a FIFO would block
        if not stat.S_ISREG(st.st_mode):
            raise OSError("not a regular file")
        fp = open(p, "rb")  # noqa: SIM115
    except OSError:
        return read_header(p, max_pixel_bytes=max_pixel_bytes)  # it words the error
    try:
        header = _scan(fp, st.st_size, p)
    except limits.LimitExceeded:
        raise
    except (_Unsupported, struct.error, UnicodeDecodeError, DicomReadError):
        return read_header(p, max_pixel_bytes=max_pixel_bytes)
    finally:
        fp.close()
    validate_header(header, p, header.hsg_pixel_framing, max_pixel_bytes=max_pixel_bytes)  # type: ignore[arg-type]
    return header


def scan_header_bytes(
    data: bytes, *, name: str = "<network>", max_pixel_bytes: int = DEFAULT_MAX_PIXEL_BYTES
) -> ScannedHeader | Dataset:
    """:func:`scan_header` for DICOM file-format bytes in memory."""
    import io

    try:
        header = _scan(io.BytesIO(data), len(data), name)
    except limits.LimitExceeded:
        raise
    except (_Unsupported, struct.error, UnicodeDecodeError, DicomReadError):
        return read_header_bytes(data, name=name, max_pixel_bytes=max_pixel_bytes)
    validate_header(header, name, header.hsg_pixel_framing, max_pixel_bytes=max_pixel_bytes)  # type: ignore[arg-type]
    return header


_WANTED = frozenset(
    {
        0x00020002,  # Media Storage SOP Class UID
        0x00020010,  # Transfer Syntax UID
        0x00080005,  # Specific Character Set
        0x00080020,  # Study Date
        0x00080030,  # Study Time
        0x00080050,  # Accession Number
        0x00080060,  # Modality
        0x00081030,  # Study Description
        0x0008103E,  # Series Description
        0x00100010,  # Patient's Name
        0x00100020,  # Patient ID
        0x00100030,  # Patient's Birth Date
        0x00200011,  # Series Number
        TAG_SOP_CLASS_UID,
        TAG_SOP_INSTANCE_UID,
        TAG_STUDY_INSTANCE_UID,
        TAG_SERIES_INSTANCE_UID,
        TAG_INSTANCE_NUMBER,
        TAG_NUMBER_OF_FRAMES,
        TAG_ROWS,
        TAG_COLUMNS,
        TAG_SAMPLES_PER_PIXEL,
        TAG_PHOTOMETRIC_INTERPRETATION,
        TAG_BITS_ALLOCATED,
        TAG_BITS_STORED,
        TAG_ACQUISITION_DATETIME,
        TAG_ACQUISITION_DATE,
        TAG_ACQUISITION_TIME,
        TAG_CONTENT_DATE,
        TAG_CONTENT_TIME,
    }
)
_WANTED_VR = {tag: dictionary_VR(tag).split(" or ")[0].encode() for tag in _WANTED}
