"""Structural checks of compressed frames before a native decoder sees them (JPEG Lossless for python-gdcm;
RLE and JPEG 2000 headers against the DICOM header, since their decoders allocate from them).

Why this exists: JPEG Lossless (1.2.840.10008.1.2.4.57 / .70) has no decoder here but python-gdcm, and gdcm
*aborts the whole process* (an uncaught C++ exception → ``std::terminate``) on some corrupt streams — found by
fuzzing: one flipped byte in a Huffman-table segment length was enough. The viewer must show an error instead.
A damaged *entropy-coded* segment is handled by gdcm itself (it warns and returns pixels); what kills it is a
broken marker structure. So this walks the marker segments up to Start of Scan — SOI, segment lengths that
chain to the next marker, SOF3 / SOF7 / SOF11 / SOF15 geometry equal to the DICOM header, well-formed DHT and
SOS segments. It reads only the frame's own bytes (which the decoder
reads anyway); it is not a JPEG decoder and accepts every valid stream (tested on pydicom's files).
"""

from __future__ import annotations

import os
import struct

import pydicom.encaps

from hsg_workstation.dicom_io.limits import RLE_MAX_EXPANSION
from hsg_workstation.errors import DicomReadError

JPEG_LOSSLESS_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"})
_LOSSLESS_SOF = frozenset({0xC3, 0xC7, 0xCB, 0xCF})  # lossless frames: Huffman / differential / arithmetic
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RSTn: markers without a length


_ITEM = b"\xfe\xff\x00\xe0"  # (FFFE,E000) Item, little endian
_SEQUENCE_DELIMITER = b"\xfe\xff\xdd\xe0"  # (FFFE,E0DD)


def read_frame_bytes(path: str | os.PathLike[str], value_offset: int, index: int, frames: int) -> bytes:
    """The encapsulated bytes of frame ``index`` (0-based), read from the Pixel Data value at ``value_offset``."""
    with open(path, "rb") as fp:
        fp.seek(value_offset)
        data = _read_single_fragment_frame(fp, value_offset, index, frames)
        if data is not None:
            return data
        fp.seek(value_offset)
        return pydicom.encaps.get_frame(fp, index, number_of_frames=frames)


def _read_single_fragment_frame(fp, value_offset: int, index: int, frames: int) -> bytes | None:
    """The frame read straight at its Basic Offset Table offset when it is one fragment, else None.

    Why: pydicom's ``get_frame`` copies every fragment through a BytesIO; for a 2 MB frame that copy and the
    read cost as much as decoding it with RLE (issue 15, measured 7 ms → 2 ms a frame). Only the plain case is
    taken — a Basic Offset Table with one entry per frame, starting at 0, and exactly one Item of defined length
    between two offsets (or before the Sequence Delimiter for the last frame); anything else returns None and
    pydicom reads it as before."""
    head = fp.read(8)
    if len(head) != 8 or head[:4] != _ITEM:
        return None
    table_length = struct.unpack("<L", head[4:])[0]
    if table_length != 4 * frames or frames < 1 or not 0 <= index < frames:
        return None
    table = fp.read(table_length)
    if len(table) != table_length:
        return None
    offsets = struct.unpack(f"<{frames}L", table)
    if offsets[0] != 0 or any(b <= a for a, b in zip(offsets, offsets[1:], strict=False)):
        return None
    first_item = value_offset + 8 + table_length
    fp.seek(first_item + offsets[index])
    item = fp.read(8)
    if len(item) != 8 or item[:4] != _ITEM:
        return None
    length = struct.unpack("<L", item[4:])[0]
    if length == 0xFFFFFFFF:
        return None
    if index + 1 < frames and offsets[index + 1] - offsets[index] != 8 + length:
        return None  # several fragments make this frame
    data = fp.read(length)
    if len(data) != length:
        return None  # truncated: pydicom's reader says so in its own words
    if index + 1 == frames and fp.read(4) != _SEQUENCE_DELIMITER:
        return None
    return data


def check_lossless_frame(
    data: bytes, *, rows: int, columns: int, samples: int, name: str, bits_allocated: int = 16
) -> None:
    """Raise :class:`DicomReadError` naming ``name`` if the frame's marker structure is broken.

    Also refuses a Bits Allocated other than 8 or 16 (PS3.5 8.2.1; JPEG samples have at most 16 bits) or below
    the stream's sample precision: python-gdcm aborted the process on Bits Allocated 64 (found by fuzzing)."""

    def bad(why: str) -> DicomReadError:
        return DicomReadError(f"{name}: corrupt JPEG Lossless stream ({why})")

    if bits_allocated not in (8, 16):
        raise DicomReadError(
            f"{name}: Bits Allocated (0028,0100) {bits_allocated} is not possible with JPEG Lossless (8 or 16)"
        )

    if data[:2] != b"\xff\xd8":
        raise bad("no Start of Image marker")
    pos, seen_sof, n = 2, False, len(data)
    while True:
        while pos < n and data[pos] == 0xFF and pos + 1 < n and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes before a marker are allowed
        if pos + 4 > n or data[pos] != 0xFF:
            raise bad(f"expected a marker at byte {pos}")
        marker = data[pos + 1]
        if marker in _STANDALONE:
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        seg_start, seg_end = pos + 4, pos + 2 + length
        if length < 2 or seg_end > n:
            raise bad(f"segment FF{marker:02X} at byte {pos} has length {length} beyond the frame")
        segment = data[seg_start:seg_end]
        if marker in _LOSSLESS_SOF:
            if len(segment) < 6:
                raise bad("short frame header")
            precision, height, width, components = struct.unpack_from(">BHHB", segment)
            if len(segment) != 6 + 3 * components:
                raise bad("frame header length does not match its component count")
            if (
                not 2 <= precision <= 16
                or precision > bits_allocated
                or width != columns
                or height not in (0, rows)
                or components != samples
            ):
                raise bad(
                    f"frame header {width}×{height}×{components} at {precision} bits does not match "
                    f"the DICOM header {columns}×{rows}×{samples}"
                )
            seen_sof = True
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            raise bad(f"not a lossless frame (SOF marker FF{marker:02X})")
        elif marker == 0xC4:  # DHT: one or more tables, each 1 + 16 counts + sum(counts) symbols
            p = 0
            while p < len(segment):
                if p + 17 > len(segment):
                    raise bad("Huffman table header runs past its segment")
                p += 17 + sum(segment[p + 1 : p + 17])
            if p != len(segment):
                raise bad("Huffman table sizes do not add up to the segment length")
        elif marker == 0xDA:  # SOS: then entropy-coded data up to EOI
            if not seen_sof:
                raise bad("scan before the frame header")
            if not segment or len(segment) != 4 + 2 * segment[0]:
                raise bad("scan header length does not match its component count")
            # The entropy-coded data is gdcm's business (it copes with damage there), and a missing or padded
            # End of Image is common in real files (pydicom's JPEG-LL.dcm ends FF D9 FF): not checked.
            return
        elif marker == 0xD9:
            raise bad("End of Image before any scan")
        pos = seg_end


RLE_LOSSLESS = "1.2.840.10008.1.2.5"


def check_rle_frame(
    data: bytes, *, rows: int, columns: int, samples: int, bits_allocated: int, name: str
) -> None:
    """Raise :class:`DicomReadError` if an RLE frame's header (PS3.5 G.4) does not fit its data.

    Why: the RLE decoders size their output from the DICOM header and the segment table before looking at the
    data — a 2 KB frame declaring a large matrix made one allocate 1.6 GB first. The segment count must be
    Samples per Pixel × bytes per sample, the offsets must start at 64, ascend and stay inside the frame, and
    every segment must be long enough to expand (PackBits: at most 64× — 2 bytes give 128) to one byte plane of
    Rows × Columns.
    """

    def bad(why: str) -> DicomReadError:
        return DicomReadError(f"{name}: corrupt RLE frame ({why})")

    if len(data) < 64:
        raise bad(f"{len(data)} bytes, shorter than the 64-byte RLE header")
    header = struct.unpack_from("<16L", data, 0)
    count = header[0]
    expected = samples * max(bits_allocated // 8, 1)
    if count != expected:
        raise bad(
            f"{count} segments, Samples per Pixel {samples} × Bits Allocated {bits_allocated} needs {expected}"
        )
    offsets = list(header[1 : 1 + count]) + [len(data)]
    if offsets[0] != 64:
        raise bad(f"first segment at byte {offsets[0]}, not 64")
    plane = rows * columns
    for i in range(count):
        start, end = offsets[i], offsets[i + 1]
        if not start < end <= len(data):
            raise bad(f"segment {i + 1} offsets {start}..{end} outside the {len(data)}-byte frame")
        if (end - start) * RLE_MAX_EXPANSION < plane:
            raise bad(
                f"segment {i + 1} has {end - start} bytes, too few to hold {rows} × {columns} pixels "
                "(truncated, or the header's matrix is wrong)"
            )


JPEG_2000_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201",  # High-Throughput JPEG 2000: the same codestream main header
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    }
)
_SOC_SIZ = b"\xff\x4f\xff\x51"
_MAX_TILES = 65535  # Isot, the tile index of a tile-part header, is 16 bits (ITU-T T.800 A.4.2)


def check_j2k_frame(data: bytes, *, rows: int, columns: int, name: str) -> None:
    """Raise :class:`DicomReadError` if a JPEG 2000 frame's image size (its SIZ marker segment) is not the DICOM
    header's Rows × Columns, or it declares more tiles than the standard can number.

    Why: the decoders allocate the image the *codestream* declares before decoding a byte of it — one bit flipped
    in a 3 KB file's SIZ made a 1.07 G-element array (~50 s and > 1 GB) before the size mismatch was noticed.
    Only the main header's first segment is read (T.800 A.5.1: SIZ follows SOC); a codestream wrapped in JP2
    boxes, which DICOM does not allow but some writers produce, is left to the decoder."""
    if not data.startswith(b"\xff\x4f"):
        return
    if len(data) < 4 + 38 or not data.startswith(_SOC_SIZ):
        raise DicomReadError(
            f"{name}: corrupt JPEG 2000 frame (no image size segment SIZ after the start marker)"
        )
    _, _, xsiz, ysiz, xosiz, yosiz, xtsiz, ytsiz, xtosiz, ytosiz = struct.unpack_from(">HHIIIIIIII", data, 4)
    width, height = xsiz - xosiz, ysiz - yosiz
    if (width, height) != (columns, rows):
        raise DicomReadError(
            f"{name}: JPEG 2000 frame is {max(width, 0)} × {max(height, 0)} pixels (SIZ marker) but the header's "
            f"Columns × Rows is {columns} × {rows}"
        )
    if xtsiz == 0 or ytsiz == 0 or xtosiz > xosiz or ytosiz > yosiz:
        raise DicomReadError(f"{name}: corrupt JPEG 2000 frame (impossible tile grid in the SIZ marker)")
    tiles = -(-(xsiz - xtosiz) // xtsiz) * -(-(ysiz - ytosiz) // ytsiz)
    if tiles > _MAX_TILES:
        raise DicomReadError(
            f"{name}: corrupt JPEG 2000 frame ({tiles:,} tiles declared; a codestream can number {_MAX_TILES:,})"
        )
