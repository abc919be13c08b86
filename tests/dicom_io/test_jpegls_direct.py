"""JPEG-LS frames decoded straight from their bytes (``pixels._decode_jpegls_direct``) equal pydicom's decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from hsg_workstation.dicom_io import pixels, reader
from hsg_workstation.errors import DicomReadError
from tests.dicom_io.test_frame_cache import jpegls_copy, write_loop

JPEG_LS_FILES = [
    "emri_small_jpeg_ls_lossless.dcm",  # unsigned 16 / 12 bits stored, 10 frames: the direct path
    "JPEGLSNearLossless_08.dcm",  # 8-bit near-lossless (.81)
    "JPEGLSNearLossless_16.dcm",
    "MR_small_jpeg_ls_lossless.dcm",  # signed: pydicom's path
    "SC_rgb_jls_lossy_sample.dcm",  # colour: pydicom's path
]


def _every_frame_equals_pydicom(path: Path) -> None:
    header = reader.read_header(path)
    for i in range(reader.number_of_frames(header)):
        ours = pixels.decode_frame(path, i, header=header)
        theirs = pydicom.pixels.pixel_array(str(path), index=i, decoding_plugin="pyjpegls")
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.array_equal(ours, theirs)


def _copy(name: str, tmp_path: Path) -> Path:
    """pydicom's test file, with the study / series UIDs the workstation requires added where they are missing."""
    ds = pydicom.dcmread(get_testdata_file(name))
    ds.StudyInstanceUID = ds.get("StudyInstanceUID") or pydicom.uid.generate_uid()
    ds.SeriesInstanceUID = ds.get("SeriesInstanceUID") or pydicom.uid.generate_uid()
    path = tmp_path / name
    ds.save_as(path)
    return path


@pytest.mark.parametrize("name", JPEG_LS_FILES)
def test_every_frame_equals_pydicom(name: str, tmp_path: Path) -> None:
    _every_frame_equals_pydicom(_copy(name, tmp_path))


def test_a_dcmtk_encoded_loop_equals_pydicom_and_the_source(tmp_path: Path) -> None:
    native = write_loop(tmp_path / "native.dcm", frames=5, size=64)
    path = jpegls_copy(native, tmp_path / "jls.dcm")
    _every_frame_equals_pydicom(path)
    header = reader.read_header(path)
    source = pydicom.dcmread(native).pixel_array
    assert np.array_equal(pixels.decode_frame(path, 4, header=header), source[4])


def _no_pydicom(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("pydicom's pixel_array was called")

    monkeypatch.setattr(pixels.pydicom.pixels, "pixel_array", fail)


def test_the_direct_path_is_taken_for_unsigned_greyscale(tmp_path: Path, monkeypatch) -> None:
    """Guards the speed-up itself: an unsigned greyscale frame must not go back to pydicom's path-based reader."""
    path = _copy("emri_small_jpeg_ls_lossless.dcm", tmp_path)
    header = reader.read_header(path)
    _no_pydicom(monkeypatch)
    assert pixels.decode_frame(path, 7, header=header).shape == (64, 64)


def test_a_signed_file_goes_through_pydicom(tmp_path: Path, monkeypatch) -> None:
    """Signed data is sign-extended by pydicom: the direct path leaves it to pydicom."""
    path = _copy("MR_small_jpeg_ls_lossless.dcm", tmp_path)
    header = reader.read_header(path)
    calls = []
    original = pixels.pydicom.pixels.pixel_array

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(pixels.pydicom.pixels, "pixel_array", counting)
    pixels.decode_frame(path, 0, header=header)
    assert calls


def test_a_corrupt_stream_is_a_message_naming_the_file_and_frame(tmp_path: Path) -> None:
    """A damaged codestream reaches the user as a DicomReadError naming file, frame and syntax."""
    native = write_loop(tmp_path / "native.dcm", frames=3, size=64)
    good = pydicom.dcmread(jpegls_copy(native, tmp_path / "jls.dcm"))
    frames = [bytearray(f) for f in pydicom.encaps.generate_frames(good.PixelData, number_of_frames=3)]
    frames[1] = frames[1][:40]  # cut off after the headers: the scan data is missing
    good.PixelData = pydicom.encaps.encapsulate([bytes(f) for f in frames])
    path = tmp_path / "bad.dcm"
    good.save_as(path)
    header = reader.read_header(path)
    assert pixels.decode_frame(path, 0, header=header).shape == (64, 64)
    with pytest.raises(DicomReadError, match=r"bad\.dcm: frame 2 cannot be decoded \(JPEG-LS"):
        pixels.decode_frame(path, 1, header=header)
