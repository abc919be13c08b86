"""blockmean.downsample's one-word sum of a block's 16-bit column sums (session 8) gives the same integers as adding
the columns one by one: checked against an exact integer reference at the carry boundaries (every value at the
largest stored value, where a block sums to 65520 / 65532) and on random frames with ragged edges."""

from __future__ import annotations

import numpy as np
import pytest

from hsg_workstation.analysis import blockmean
from hsg_workstation.analysis.blockmean import downsample


def _reference(img: np.ndarray, factor: int) -> np.ndarray:
    """Exact block sums in 64-bit integers, scaled as downsample does (float32 times a power-of-two reciprocal)."""
    r, c = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    sums = img[:r, :c].astype(np.int64).reshape(r // factor, factor, c // factor, factor).sum(axis=(1, 3))
    out = sums.astype(np.float32)
    out *= 1.0 / (factor * factor)
    return out


@pytest.mark.parametrize("factor,bits", [(2, 14), (4, 12), (4, 10), (2, 8)])
@pytest.mark.parametrize("shape", [(64, 64), (67, 130), (1024, 1024), (9, 13)])
def test_one_word_block_sums_equal_the_exact_sums(factor: int, bits: int, shape: tuple[int, int]) -> None:
    top = (1 << bits) - 1
    assert top * factor * factor <= 65535  # the case the one-word sum is for
    rng = np.random.default_rng(factor * 100 + bits)
    for img in (
        rng.integers(0, top + 1, shape).astype(np.uint16),
        np.full(shape, top, np.uint16),  # every block at the largest sum: no carry may cross a lane
        np.where(rng.random(shape) < 0.5, top, 0).astype(np.uint16),
    ):
        assert np.array_equal(downsample(img, factor, top), _reference(img, factor))
        assert np.array_equal(downsample(img, factor), _reference(img, factor))  # the 32-bit path


def test_one_word_sum_is_taken_on_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's case (1024², 12 bits stored, factor 4) goes through the one-word sum: with its table
    emptied, the column-by-column path gives the same frame."""
    img = np.random.default_rng(3).integers(0, 4096, (1024, 1024)).astype(np.uint16)
    fast = downsample(img, 4, 4095)
    assert blockmean._LITTLE_ENDIAN and 4 in blockmean._SWAR_WORD
    monkeypatch.setattr(blockmean, "_SWAR_WORD", {})
    assert np.array_equal(downsample(img, 4, 4095), fast)
