"""Issue 16 part A, point 5: a decoder that dies on a frame costs that frame and a message, not the process."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from hsg_workstation.dicom_io import isolated, pixels, reader
from hsg_workstation.errors import DicomReadError

pytestmark = pytest.mark.timeout(120)

COMPRESSED = [
    "MR_small_RLE.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "MR_small_jp2klossless.dcm",
    "JPGLosslessP14SV1_1s_1f_8b.dcm",
]


def _abort_on_frame_one(path: str, index: int) -> np.ndarray:
    """A decoder that kills its process the way python-gdcm did on a corrupt JPEG Lossless stream."""
    if index == 1:
        os.abort()
    return np.full((2, 2), index, dtype=np.uint16)


def _hang(path: str, index: int) -> np.ndarray:
    time.sleep(60)
    raise AssertionError("unreachable")


@pytest.fixture
def decoder() -> Iterator[isolated.IsolatedDecoder]:
    d = isolated.IsolatedDecoder(target=_abort_on_frame_one)
    yield d
    d.close()


def test_a_decoder_crash_costs_one_frame_and_a_message(decoder: isolated.IsolatedDecoder) -> None:
    assert decoder.decode("loop.dcm", 0)[0, 0] == 0
    with pytest.raises(DicomReadError) as info:
        decoder.decode("loop.dcm", 1)
    assert str(info.value) == (
        "loop.dcm: frame 2: the decoder crashed on this frame (killed by SIGABRT); the frame cannot be shown, "
        "the rest of the study is not affected"
    )
    assert decoder.decode("loop.dcm", 2)[0, 0] == 2  # a new worker serves the next frame


def test_a_hung_decoder_is_stopped() -> None:
    d = isolated.IsolatedDecoder(target=_hang, timeout=1.0)
    try:
        with pytest.raises(DicomReadError, match=r"frame 1: the decoder did not finish within 1 s; stopped"):
            d.decode("loop.dcm", 0)
    finally:
        d.close()


@pytest.mark.parametrize("name", COMPRESSED)
def test_isolated_frames_equal_in_process_frames(name: str) -> None:
    path = get_testdata_file(name)
    header = reader.read_header(path)
    assert isolated.needs_isolation(header)
    for i in range(reader.number_of_frames(header)):
        np.testing.assert_array_equal(
            isolated.decode_frame_safe(path, i, header), pixels.decode_frame(path, i, header=header)
        )


def test_errors_of_the_pipeline_come_back_as_they_are(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.dicom_io import hostile

    frame = hostile.rle_frame(b"\x00\x07", offsets=[80])
    path = hostile.rle_image(tmp_path / "rle.dcm", 1, 1, frame)
    with pytest.raises(DicomReadError, match="corrupt RLE frame"):
        isolated.decode_frame_safe(path, 0, reader.read_header(path))
    with pytest.raises(IndexError):
        isolated.decode_frame_safe(path, 5, reader.read_header(path))


def test_native_frames_are_decoded_in_process(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tests.dicom_io.dicomfactory import make_image

    path = make_image(tmp_path / "n.dcm", frames=2)
    monkeypatch.setattr(
        isolated, "decode_frame_isolated", lambda *a: pytest.fail("no worker for native data")
    )
    header = reader.read_header(path)
    np.testing.assert_array_equal(
        isolated.decode_frame_safe(path, 1, header), pixels.decode_frame(path, 1, header=header)
    )
