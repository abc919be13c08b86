"""The workstation's limits on what it accepts, stated once (issue 16: "limits as policy").

Every number here is far above anything a real HSG study (or any projection-radiography study) holds, and far
below what would let a 5 KB hostile file freeze the viewer, exhaust memory or lock the network listener. They
are checked at three gates, each refusal naming the limit and the file/field:

* **import** (``reader.scan_header`` / ``read_header`` → ``LocalDatabase.import_paths``, ``rebuild_index``),
* **the storage SCP** (``LocalDatabase.add_encoded`` before anything is written; association limits in
  ``pacs/scp.py``),
* **open** (``reader.read_header`` for ``FrameSource`` and the analysis; ``LocalDatabase.display_sets`` for rows
  indexed by older versions).

Why these values:

* ``MAX_FRAMES`` — an HSG fill loop has 10–300 frames; the longest real X-ray runs (cardiac cine at 30 /s for a
  minute) stay under 2 000. 10 000 leaves room for anything clinical; 10⁸ frames declared by a 5 KB file made
  the study view build one entry per frame (50–90 s, ~4 GB, MemoryError).
* ``MAX_FRAME_PIXELS`` — 16 384² pixels per frame; the largest detectors are ~4 300².
* Encapsulated frames vs fragments — PS3.5 A.4: every frame is at least one fragment (a fragment never holds two
  frames), so fewer fragments than frames means the header lies about the data.
* ``MAX_SEQUENCE_DEPTH`` — real headers nest sequences 3–6 deep (SR content trees ~10); 1 000-deep nesting is
  only ever an attack on recursive parsers.
* ``MAX_TEXT_BYTES`` — a text value (UT, LT) of 1 MiB is a thousand pages; SR text items are short.
* ``MAX_SR_FILE_BYTES`` — an HSG report SR is 5-50 KB; 64 MiB is room for any SR with a thousand-page text,
  and bounds what ``report import`` reads into memory (it parses from memory, see ``sr_import._file_bytes``).
* Association limits — a silent TCP connection costs the listener a thread and a slot; these keep a scanner or a
  misbehaving peer from taking the slots legitimate senders need (see ``pacs/scp.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hsg_workstation.errors import DicomReadError

#: Frames per instance.
MAX_FRAMES = 10_000
#: Rows × Columns of one frame.
MAX_FRAME_PIXELS = 16_384 * 16_384
#: Nesting depth of sequences in a header (a sequence inside an item inside a sequence … counts one per SQ).
MAX_SEQUENCE_DEPTH = 64
#: Bytes of one text value (UT / LT / ST / UC).
MAX_TEXT_BYTES = 1024 * 1024
#: Bytes of a file read as a structured report (``report import``): the whole file is read into memory.
MAX_SR_FILE_BYTES = 64 * 1024 * 1024
#: RLE: one byte of a PackBits run can expand to at most 128 bytes / 2 bytes of input → ratio 64 (PS3.5 G.3.1).
RLE_MAX_EXPANSION = 64

# -- network (storage SCP) -----------------------------------------------------------------------------------
#: Open associations (and not-yet-associated connections) at once, all peers together.
MAX_ASSOCIATIONS = 32
#: Open connections from one peer address at once. A modality sends on 1–4 associations in parallel.
MAX_ASSOCIATIONS_PER_PEER = 8
#: Seconds a new connection may take to send its A-ASSOCIATE-RQ (DICOM's ARTIM timer) before it is closed.
ASSOCIATION_REQUEST_SECONDS = 5.0
#: Seconds an association may stay silent between PDUs before it is aborted (frees the slot).
ASSOCIATION_IDLE_SECONDS = 15.0


class LimitExceeded(DicomReadError):
    """A file is past one of the limits above: refused as is (no fallback parser gets a second try)."""


@dataclass(frozen=True, slots=True)
class ImageGeometry:
    """What the limits need from an image header (all already decoded integers)."""

    rows: int
    columns: int
    frames: int


def check_image(name: str | os.PathLike[str], geometry: ImageGeometry) -> None:
    """Refuse an image whose frame count or frame size is past the limits (raises :class:`DicomReadError`)."""
    if geometry.frames > MAX_FRAMES:
        raise LimitExceeded(
            f"{name}: Number of Frames (0028,0008) {geometry.frames:,} is above the limit of {MAX_FRAMES:,} "
            "frames per instance"
        )
    if geometry.rows * geometry.columns > MAX_FRAME_PIXELS:
        raise LimitExceeded(
            f"{name}: Rows × Columns {geometry.rows} × {geometry.columns} is above the limit of "
            f"{MAX_FRAME_PIXELS:,} pixels per frame"
        )


def check_fragments(name: str | os.PathLike[str], frames: int, fragments: int) -> None:
    """Encapsulated Pixel Data: at least one fragment per frame (PS3.5 A.4), else the header lies."""
    if fragments < frames:
        raise LimitExceeded(
            f"{name}: Number of Frames (0028,0008) {frames:,} but the encapsulated Pixel Data holds only "
            f"{fragments:,} fragment(s) (each frame needs at least one)"
        )


def check_text(name: str | os.PathLike[str], tag: int, length: int) -> None:
    """Refuse a text value (LT / ST / UT / UC) longer than :data:`MAX_TEXT_BYTES`."""
    if length > MAX_TEXT_BYTES:
        raise LimitExceeded(
            f"{name}: text element ({tag >> 16:04X},{tag & 0xFFFF:04X}) of {length:,} bytes is above the limit of "
            f"{MAX_TEXT_BYTES:,} bytes"
        )


def sequence_too_deep(name: str | os.PathLike[str]) -> LimitExceeded:
    return LimitExceeded(
        f"{name}: sequences nested more than {MAX_SEQUENCE_DEPTH} levels deep (limit of the workstation)"
    )
