"""The real-FFT masked registration equals skimage's masked ``phase_cross_correlation`` it replaces."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.registration import phase_cross_correlation
from skimage.registration._masked_phase_cross_correlation import cross_correlate_masked

from hsg_workstation.analysis.masked_correlation import _cross_correlate_masked, masked_shift


def _anatomy(rng: np.random.Generator, n: int, dtype: type) -> np.ndarray:
    return ndi.gaussian_filter(rng.normal(size=(n + 40, n + 40)), 3).astype(dtype)


@pytest.mark.parametrize(("n", "dtype"), [(96, np.float32), (131, np.float64), (200, np.float32)])
@pytest.mark.parametrize("move", [(0, 0), (3, -5), (-7, 2)])
def test_same_shift_and_correlation_map_as_skimage(n: int, dtype: type, move: tuple[int, int]) -> None:
    rng = np.random.default_rng(n)
    base = _anatomy(rng, n, dtype)
    ref = base[20 : 20 + n, 20 : 20 + n]
    mov = base[20 + move[0] : 20 + move[0] + n, 20 + move[1] : 20 + move[1] + n].copy()
    mov += rng.normal(scale=0.02, size=mov.shape).astype(dtype)
    mask = np.ones((n, n), bool)
    mask[n // 4 : n // 2, n // 3 : 2 * n // 3] = False  # contrast masked out, as the registration does
    mask[:, :6] = False  # and a shutter edge
    ours = masked_shift(ref, mov, mask)
    theirs = phase_cross_correlation(ref, mov, reference_mask=mask, moving_mask=mask)[0]
    assert np.array_equal(ours, theirs)
    assert np.allclose(ours, move)  # the moving image is the anatomy displaced by -move
    a = _cross_correlate_masked(mov, ref, mask, mask)
    b = cross_correlate_masked(mov, ref, mask, mask, axes=(0, 1), mode="full")
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.max(np.abs(a - b)) < (1e-5 if dtype == np.float32 else 1e-12)


def test_mismatched_shapes_are_a_value_error_as_in_skimage() -> None:
    a = np.zeros((10, 10), np.float32)
    with pytest.raises(ValueError, match="one shape"):
        masked_shift(a, np.zeros((10, 12), np.float32), np.ones((10, 10), bool))
