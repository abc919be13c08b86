"""Header reading and validation: the one gate every file passes before it enters the local database.

Only headers are parsed (``stop_before_pixels``) so that indexing a 200 MB fluoroscopy loop costs the same as
indexing a 2 kB SR. What the header cannot tell — whether the Pixel Data element is really there and complete —
is checked by looking at the element's *framing* only (its tag and length, and for encapsulated data the item
headers), never by reading the pixel bytes. That catches truncated copies and interrupted transfers up front,
instead of as a crash when the viewer later asks for frame 57.

Every rejection raises :class:`~hsg_workstation.errors.DicomReadError` whose message names the file and the
reason; callers (import, PACS receive) turn it into a "skipped" result and go on with the next file.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from hsg_workstation.dicom_io.model import Instance, SopKind
from hsg_workstation.errors import DicomReadError

#: Default cap on the decoded size of one instance's pixel data (Rows × Columns × Frames × samples × bytes).
#: 4 GiB is far above any real fluoroscopy loop (60 frames of 1024² uint16 = 120 MiB) and well below what
#: would exhaust a workstation, so only corrupt or hostile headers hit it.
DEFAULT_MAX_PIXEL_BYTES = 4 * 1024**3

PIXEL_DATA_TAGS = frozenset(
    {0x7FE00010, 0x7FE00008, 0x7FE00009}
)  # Pixel Data, Float / Double Float Pixel Data

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
KEY_OBJECT_SELECTION_STORAGE = "1.2.840.10008.5.1.4.1.1.88.59"
MEDIA_STORAGE_DIRECTORY_STORAGE = "1.2.840.10008.1.3.10"  # DICOMDIR
_SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
_PRESENTATION_STATE_PREFIX = "1.2.840.10008.5.1.4.1.1.11."
_DEFLATED_SYNTAXES = frozenset({"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.8.1"})

_LONG_LENGTH_VRS = frozenset({b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"})
_ITEM_TAG = (0xFFFE, 0xE000)
_SEQUENCE_DELIMITER_TAG = (0xFFFE, 0xE0DD)
_UNDEFINED_LENGTH = 0xFFFFFFFF


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
    validate_header(ds, p, framing, max_pixel_bytes=max_pixel_bytes, require_pixel_data=require_pixel_data)
    ds.hsg_pixel_framing = framing  # type: ignore[attr-defined]
    return ds


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
    validate_header(ds, name, framing, max_pixel_bytes=max_pixel_bytes, require_pixel_data=require_pixel_data)
    ds.hsg_pixel_framing = framing  # type: ignore[attr-defined]
    return ds


def is_dicomdir(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    return bool(
        meta is not None and meta.get("MediaStorageSOPClassUID") == MEDIA_STORAGE_DIRECTORY_STORAGE
    ) or ("DirectoryRecordSequence" in ds)


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
    except Exception as exc:  # pydicom raises many types on malformed input; none may stop an import
        raise DicomReadError(
            f"{name}: unreadable DICOM header ({type(exc).__name__}: {_first_line(exc)})"
        ) from exc
    if len(ds) == 0 and not getattr(ds, "file_meta", None):
        raise DicomReadError(f"{name}: not a DICOM Part 10 file (no data elements)")
    return ds


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _transfer_syntax(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    return str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""


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
        if vr in _LONG_LENGTH_VRS:
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
        return PixelDataFraming(True, False, value_offset, length)
    fragments = _walk_fragments(fp, end, name, size)
    return PixelDataFraming(True, True, value_offset, None, fragments)


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
    rows = int(ds.get("Rows") or 0)
    cols = int(ds.get("Columns") or 0)
    frames = number_of_frames(ds)
    samples = int(ds.get("SamplesPerPixel") or 1)
    bits = int(ds.get("BitsAllocated") or 8)
    total_bits = rows * cols * frames * samples * bits
    return (total_bits + 7) // 8


def number_of_frames(ds: Dataset) -> int:
    try:
        value = int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError):
        return 1
    return max(value, 1)


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
    sop_uid = str(ds.get("SOPInstanceUID", "") or "")
    if not sop_uid:
        raise DicomReadError(f"{name}: no SOP Instance UID (0008,0018)")
    for keyword, tag in (("StudyInstanceUID", "(0020,000D)"), ("SeriesInstanceUID", "(0020,000E)")):
        if not str(ds.get(keyword, "") or ""):
            raise DicomReadError(f"{name}: no {keyword} {tag}")
    sop_class = str(ds.get("SOPClassUID", "") or "")
    kind = classify_sop_class(sop_class)
    if kind is not SopKind.IMAGE and not (kind is SopKind.OTHER and framing.present):
        return
    for keyword, tag in (("Rows", "(0028,0010)"), ("Columns", "(0028,0011)")):
        value = ds.get(keyword)
        if value is None or value == "" or int(value) <= 0:
            raise DicomReadError(f"{name}: image without {keyword} {tag}")
    if not ds.get("BitsAllocated"):
        raise DicomReadError(f"{name}: image without Bits Allocated (0028,0100)")
    needed = expected_pixel_bytes(ds)
    if needed > max_pixel_bytes:
        raise DicomReadError(
            f"{name}: image too large: Rows × Columns × Frames ({ds.Rows} × {ds.Columns} × {number_of_frames(ds)}) "
            f"needs {needed / 1024**2:.0f} MiB, above the cap of {max_pixel_bytes / 1024**2:.0f} MiB"
        )
    if require_pixel_data and not framing.present:
        raise DicomReadError(f"{name}: image without Pixel Data (7FE0,0010)")
    if framing.present and not framing.encapsulated and framing.value_length is not None:
        # Native pixel data: the value must hold every frame (an odd byte of padding may follow).
        if framing.value_length < needed:
            raise DicomReadError(
                f"{name}: truncated: Pixel Data has {framing.value_length} bytes, "
                f"Rows × Columns × Frames needs {needed}"
            )


def _int_or_none(value: object) -> int | None:
    try:
        return int(value) if value not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def acquisition_datetime(ds: Dataset) -> str | None:
    """A sortable DT string (YYYYMMDDHHMMSS.ffffff, no offset) for ordering spot images in a stack.

    Acquisition DateTime, else Acquisition Date + Time, else Content Date + Time; None when nothing is known.
    Time is padded to seconds so that strings of different precision still sort correctly.
    """
    dt = str(ds.get("AcquisitionDateTime", "") or "")
    if not dt:
        for date_kw, time_kw in (("AcquisitionDate", "AcquisitionTime"), ("ContentDate", "ContentTime")):
            date = str(ds.get(date_kw, "") or "")
            if date:
                dt = date + str(ds.get(time_kw, "") or "")
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
    sop_class = str(ds.get("SOPClassUID", "") or "")
    return Instance(
        sop_instance_uid=str(ds.SOPInstanceUID),
        sop_class_uid=sop_class,
        series_instance_uid=str(ds.get("SeriesInstanceUID", "") or ""),
        study_instance_uid=str(ds.get("StudyInstanceUID", "") or ""),
        path=Path(path),
        kind=classify_sop_class(sop_class),
        instance_number=_int_or_none(ds.get("InstanceNumber")),
        number_of_frames=number_of_frames(ds),
        rows=_int_or_none(ds.get("Rows")),
        columns=_int_or_none(ds.get("Columns")),
        acquisition_datetime=acquisition_datetime(ds),
        transfer_syntax_uid=_transfer_syntax(ds) or None,
    )
