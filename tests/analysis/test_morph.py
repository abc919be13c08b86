"""The shift-based morphology used for speed gives exactly scipy's / scikit-image's results."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.filters import apply_hysteresis_threshold
from skimage.morphology import disk

from hsg_workstation.analysis.morph import dilate_cross, hysteresis, label_means, label_sizes, open_cross


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (5, 9), (64, 80)])
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8, 0.95])
def test_open_and_dilate_match_scipy(shape: tuple[int, int], p: float) -> None:
    m = np.random.default_rng(int(p * 100) + shape[1]).random(shape) < p
    assert (open_cross(m) == ndi.binary_opening(m, structure=disk(1))).all()
    for n in (0, 1, 3):
        expected = m if n == 0 else ndi.binary_dilation(m, iterations=n)
        assert (dilate_cross(m, n) == expected).all()


def test_hysteresis_and_label_stats_match() -> None:
    rng = np.random.default_rng(3)
    img = ndi.gaussian_filter(rng.normal(size=(96, 96)), 2.0) * 10
    for low, high in ((0.5, 1.0), (1.0, 0.5), (-5.0, 100.0)):
        assert (hysteresis(img, low, high) == apply_hysteresis_threshold(img, low, high)).all()
    lab, n = ndi.label(img > 0.3)
    idx = np.arange(1, n + 1)
    assert np.allclose(label_means(img, lab, n), ndi.mean(img, lab, index=idx))
    assert (label_sizes(lab, n) == ndi.sum_labels(np.ones_like(lab), lab, index=idx)).all()
