"""RLE frames decoded straight from the checked bytes (``pixels._decode_rle_direct``) equal pydicom's decode."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from hsg_workstation.dicom_io import pixels, reader
from hsg_workstation.errors import DicomReadError

RLE_FILES = [
    "MR_small_RLE.dcm",  # signed 16-bit, Bits Stored 16
    "emri_small_RLE.dcm",  # unsigned 16-bit, 10 frames
    "OBXXXX1A_rle.dcm",  # 8-bit
    "SC_rgb_rle.dcm",  # colour: pydicom's path
    "SC_rgb_rle_16bit.dcm",
    "rtdose_rle.dcm",  # 32-bit: pydicom's path
]


@pytest.mark.parametrize("name", RLE_FILES)
def test_every_frame_equals_pydicom(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    shutil.copy(get_testdata_file(name), path)
    header = reader.read_header(path)
    frames = reader.number_of_frames(header)
    for i in range(frames):
        ours = pixels.decode_frame(path, i, header=header)
        theirs = pydicom.pixels.pixel_array(str(path), index=i, decoding_plugin="pylibjpeg")
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.array_equal(ours, theirs)


def test_the_direct_path_is_taken_for_greyscale_16_bit(tmp_path: Path, monkeypatch) -> None:
    """Guards the speed-up itself: a greyscale 16-bit frame must not go back to pydicom's path-based reader."""
    path = tmp_path / "emri.dcm"
    shutil.copy(get_testdata_file("emri_small_RLE.dcm"), path)
    header = reader.read_header(path)

    def fail(*args, **kwargs):
        raise AssertionError("pydicom's pixel_array was called")

    monkeypatch.setattr(pixels.pydicom.pixels, "pixel_array", fail)
    assert pixels.decode_frame(path, 3, header=header).shape == (64, 64)


def test_a_corrupt_segment_is_a_message_naming_the_frame(tmp_path: Path) -> None:
    """Damaged run data (the header table intact) reaches the user as a DicomReadError, not a Rust panic."""
    src = get_testdata_file("emri_small_RLE.dcm")
    ds = pydicom.dcmread(src)
    frames = pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=int(ds.NumberOfFrames))
    raw = [bytearray(f) for f in frames]
    # a literal-run header at the end of segment 1 that asks for 128 bytes past the segment's end
    seg2 = int.from_bytes(raw[0][8:12], "little")
    raw[0][seg2 - 2] = 0x7F
    ds.PixelData = pydicom.encaps.encapsulate([bytes(f) for f in raw])
    path = tmp_path / "bad.dcm"
    ds.save_as(path)
    header = reader.read_header(path)
    with pytest.raises(DicomReadError, match=r"bad\.dcm: frame 1 cannot be decoded \(RLE Lossless"):
        pixels.decode_frame(path, 0, header=header)
