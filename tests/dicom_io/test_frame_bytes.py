"""``jpeg_check.read_frame_bytes``: the direct read at the Basic Offset Table gives pydicom's bytes, and every
other layout (no table, several fragments per frame, a lying table) still goes through pydicom."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate, generate_frames

from hsg_workstation.dicom_io import jpeg_check, reader


def _frames_of(path: Path) -> list[bytes]:
    ds = pydicom.dcmread(path)
    n = int(getattr(ds, "NumberOfFrames", 1) or 1)
    return list(generate_frames(ds.PixelData, number_of_frames=n))


def _read_all(path: Path) -> list[bytes]:
    header = reader.read_header(path)
    n = reader.number_of_frames(header)
    return [jpeg_check.read_frame_bytes(path, header.hsg_pixel_framing.value_offset, i, n) for i in range(n)]


def _rewrite(tmp_path: Path, name: str, pixel_data: bytes) -> Path:
    ds = pydicom.dcmread(get_testdata_file("emri_small_RLE.dcm"))
    ds.PixelData = pixel_data
    out = tmp_path / name
    ds.save_as(out)
    return out


@pytest.mark.parametrize(
    "name", ["emri_small_RLE.dcm", "SC_rgb_rle_2frame.dcm", "JPEG2000.dcm", "emri_small_jpeg_2k_lossless.dcm"]
)
def test_pydicoms_files_read_the_same(name: str) -> None:
    path = Path(get_testdata_file(name))
    assert _read_all(path) == _frames_of(path)


def test_with_and_without_offset_table_and_with_split_fragments(tmp_path: Path) -> None:
    frames = _frames_of(Path(get_testdata_file("emri_small_RLE.dcm")))
    with_table = _rewrite(tmp_path, "bot.dcm", encapsulate(frames, has_bot=True))
    without = _rewrite(tmp_path, "nobot.dcm", encapsulate(frames, has_bot=False))
    split = _rewrite(tmp_path, "split.dcm", encapsulate(frames, fragments_per_frame=3, has_bot=True))
    for path in (with_table, without, split):
        assert _read_all(path) == frames, path.name
    header = reader.read_header(with_table)  # the plain layout is read directly (the speed-up of issue 15)
    offset = header.hsg_pixel_framing.value_offset
    with open(with_table, "rb") as fp:
        fp.seek(offset)
        assert jpeg_check._read_single_fragment_frame(fp, offset, 9, len(frames)) == frames[9]


def test_a_lying_offset_table_is_left_to_pydicom(tmp_path: Path) -> None:
    """An offset that does not land on an Item is not trusted: pydicom's reader decides (and names the fault)."""
    frames = _frames_of(Path(get_testdata_file("emri_small_RLE.dcm")))
    data = bytearray(encapsulate(frames, has_bot=True))
    data[8 + 4 : 8 + 8] = (3).to_bytes(4, "little")  # frame 2 "starts" 3 bytes into the data
    path = _rewrite(tmp_path, "lying.dcm", bytes(data))
    header = reader.read_header(path)
    n = reader.number_of_frames(header)
    offset = header.hsg_pixel_framing.value_offset
    with open(path, "rb") as fp:
        fp.seek(offset)
        assert jpeg_check._read_single_fragment_frame(fp, offset, 1, n) is None
    with pytest.raises(Exception):  # noqa: B017, PT011 - pydicom's own error, whatever its class
        jpeg_check.read_frame_bytes(path, offset, 1, n)
