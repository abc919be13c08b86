"""``analyze`` decodes compressed loops in a decoder process (issue 16): a native decoder that aborts on a damaged
stream (python-gdcm did, on JPEG Lossless) costs a message, not the ``analyze`` process — or the viewer, whose
fill dock reads frames the same way when it cannot share the viewer's decoded frames."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import RLELossless

from hsg_workstation.__main__ import main
from hsg_workstation.analysis import source
from hsg_workstation.dicom_io import isolated, pixels, reader
from tests.analysis.conftest import generated

pytestmark = pytest.mark.timeout(300)


def _abort(path: str, index: int) -> np.ndarray:
    """A decoder that kills its process the way python-gdcm did on a corrupt JPEG Lossless stream."""
    os.abort()


@pytest.fixture(scope="module")
def rle_loop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ds = generated("normal", 0, frames=8).datasets[1].copy()
    ds.compress(RLELossless)
    path = tmp_path_factory.mktemp("rle") / "loop_rle.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def aborting_decoder(monkeypatch: pytest.MonkeyPatch) -> Iterator[isolated.IsolatedDecoder]:
    d = isolated.IsolatedDecoder(target=_abort)
    monkeypatch.setattr(isolated, "_default", d)
    yield d
    d.close()


def test_compressed_frames_are_decoded_out_of_process(
    rle_loop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = pydicom.dcmread(rle_loop).pixel_array
    header = reader.read_header(rle_loop)

    def in_process(*args: object, **kwargs: object) -> np.ndarray:
        raise AssertionError("a compressed frame was decoded in the analysing process")

    monkeypatch.setattr(pixels, "decode_frame", in_process)
    for index in (0, 7):
        assert np.array_equal(source.decode_frame(rle_loop, index, header), expected[index])


def test_a_decoder_abort_during_analyze_is_a_message(
    rle_loop: Path, aborting_decoder: isolated.IsolatedDecoder, capsys: pytest.CaptureFixture
) -> None:
    assert main(["analyze", str(rle_loop)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "loop_rle.dcm" in err and "the decoder crashed on this frame" in err
