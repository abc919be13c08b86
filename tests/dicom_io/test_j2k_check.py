"""JPEG 2000 frames whose codestream declares another size than the DICOM header are refused before a decoder
allocates that size (the fuzz campaign, issue 16: one flipped bit in a 3 KB file's SIZ marker made a 1.07 G-element
array, ~50 s and > 1 GB, before the mismatch was noticed)."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file, get_testdata_files

from hsg_workstation.dicom_io import jpeg_check, pixels, reader
from hsg_workstation.errors import DicomReadError


def _patched(tmp_path: Path, **fields: int) -> Path:
    """pydicom's JPEG2000.dcm (1024 × 256) with SIZ fields (xsiz, ysiz, xtsiz, ytsiz) rewritten."""
    data = bytearray(Path(get_testdata_file("JPEG2000.dcm")).read_bytes())
    siz = data.find(b"\xff\x4f\xff\x51") + 4
    offsets = {"xsiz": 4, "ysiz": 8, "xtsiz": 20, "ytsiz": 24}
    for name, value in fields.items():
        struct.pack_into(">I", data, siz + offsets[name], value)
    path = tmp_path / "j2k.dcm"
    path.write_bytes(bytes(data))
    return path


@pytest.fixture
def no_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    def decoder(*args: object, **kwargs: object) -> None:
        raise AssertionError("the decoder was reached")

    monkeypatch.setattr(pixels.pydicom.pixels, "pixel_array", decoder)


@pytest.mark.parametrize("fields", [{"ysiz": 1024 * 16384}, {"xsiz": 256 * 64}, {"xsiz": 255}])
def test_a_siz_that_disagrees_with_rows_and_columns_is_refused_before_decoding(
    tmp_path: Path, no_decoder: None, fields: dict[str, int]
) -> None:
    path = _patched(tmp_path, **fields)
    with pytest.raises(DicomReadError, match=r"j2k\.dcm: frame 1: JPEG 2000 frame is \d+ × \d+ pixels \(SIZ"):
        pixels.FrameSource(path).decode(0)


def test_more_tiles_than_a_codestream_can_number_is_refused(tmp_path: Path, no_decoder: None) -> None:
    path = _patched(tmp_path, xtsiz=1, ytsiz=1)  # 262 144 tiles of 1 pixel
    with pytest.raises(DicomReadError, match=r"262,144 tiles declared"):
        pixels.FrameSource(path).decode(0)


def test_every_decodable_jpeg_2000_test_file_passes_the_check() -> None:
    checked = 0
    for f in get_testdata_files("*"):
        try:
            meta = pydicom.dcmread(f, stop_before_pixels=True)
            if str(meta.file_meta.TransferSyntaxUID) not in jpeg_check.JPEG_2000_SYNTAXES:
                continue
            expected = pydicom.dcmread(f).pixel_array
        except Exception:  # noqa: BLE001 - not decodable by pydicom either: nothing to compare
            continue
        header = reader.read_header(f)
        frames = reader.number_of_frames(header)
        last = pixels.FrameSource(f, header).decode(frames - 1)  # every frame is checked on its way
        assert (
            last.shape[:2]
            == (int(meta.Rows), int(meta.Columns))
            == expected.shape[-3 + (last.ndim == 2) :][:2]
        )
        checked += 1
    assert checked >= 10
