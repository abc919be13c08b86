"""Hostile files of issue 16 (tiny files whose headers lie), built with pydicom; no patient data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.encaps import encapsulate
from pydicom.uid import RLELossless

from tests.dicom_io.dicomfactory import RF_STORAGE, base_dataset


def encapsulated_frames_bomb(path: Path, frames: int = 100_000_000, fragments: int = 2) -> Path:
    """A ~5 KB RLE file declaring 1×1 pixels and ``frames`` frames, with only ``fragments`` fragments."""
    ds = base_dataset(RF_STORAGE)
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.Rows = ds.Columns = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = frames
    one = rle_frame(b"\x07", segments=1)
    ds.PixelData = encapsulate([one + b"\0" * 2000] * fragments)
    ds["PixelData"].VR = "OB"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def native_frames_loop(path: Path, frames: int = 1_000_000) -> Path:
    """A native 1×1 8-bit loop of ``frames`` frames (1 MB of honest pixel data, absurd frame count)."""
    ds = base_dataset(RF_STORAGE)
    ds.Rows = ds.Columns = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.NumberOfFrames = frames
    ds.PixelData = np.zeros(frames, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def rle_frame(segment: bytes, segments: int = 1, offsets: list[int] | None = None) -> bytes:
    """An RLE frame: the 64-byte header (segment count + offsets) then ``segments`` copies of ``segment``
    (PackBits data). ``offsets`` overrides the header's offsets (to lie)."""
    if offsets is None:
        offsets = [64 + i * len(segment) for i in range(segments)]
    header = np.zeros(16, dtype="<u4")
    header[0] = segments
    header[1 : 1 + len(offsets)] = offsets
    data = header.tobytes() + segment * segments
    return data + b"\0" * (len(data) % 2)


def rle_image(path: Path, rows: int, columns: int, frame: bytes) -> Path:
    """A one-frame RLE 8-bit image whose single fragment is ``frame`` (no pixel check by the writer)."""
    ds = base_dataset(RF_STORAGE)
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def deep_sequence_file(path: Path, depth: int = 1000) -> Path:
    """A native image whose header nests ``depth`` undefined-length sequences (explicit VR little endian),
    written by hand: pydicom's writer recurses too."""
    import struct

    src = native_frames_loop(path.with_suffix(".base"), frames=1)
    data = src.read_bytes()
    src.unlink()
    # insert a private-free standard SQ (0008,1115 Referenced Series Sequence) just before (0008,0016)... simpler:
    # put it right before Pixel Data, as (0040,0275) Request Attributes Sequence, nesting itself.
    nested = b""
    for _ in range(depth):
        nested = (
            struct.pack("<HH2sHL", 0x0040, 0x0275, b"SQ", 0, 0xFFFFFFFF)
            + struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
            + nested
            + struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
            + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
        )
    pixel_tag = struct.pack("<HH", 0x7FE0, 0x0010)
    at = data.rindex(pixel_tag)
    path.write_bytes(data[:at] + nested + data[at:])
    return path
