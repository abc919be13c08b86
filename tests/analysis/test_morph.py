"""The shift-based morphology used for speed gives exactly scipy's / scikit-image's results."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.filters import apply_hysteresis_threshold
from skimage.morphology import disk

from hsg_workstation.analysis.morph import (
    dilate_cross,
    erode_cross,
    fill_holes,
    hysteresis,
    hysteresis_near_seeds,
    label_frames,
    label_means,
    label_sizes,
    median3,
    open_cross,
    square_max,
    square_min,
)


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


@pytest.mark.parametrize("shape", [(1, 1), (2, 7), (5, 9), (64, 80), (97, 33)])
@pytest.mark.parametrize("radius", [0, 1, 2, 3, 4, 5, 7])
def test_square_max_min_match_scipy(shape: tuple[int, int], radius: int) -> None:
    rng = np.random.default_rng(shape[0] * 100 + radius)
    size = 2 * radius + 1
    img = rng.normal(size=shape).astype(np.float32)
    assert np.array_equal(square_max(img, radius), ndi.maximum_filter(img, size=size))
    assert np.array_equal(square_min(img, radius), ndi.minimum_filter(img, size=size))
    for p in (0.05, 0.5, 0.97):
        m = rng.random(shape) < p
        u8 = m.view(np.uint8)
        assert np.array_equal(square_max(m, radius), ndi.maximum_filter(u8, size=size).view(bool))
        assert np.array_equal(square_min(m, radius), ndi.minimum_filter(u8, size=size).view(bool))
        expected = m if radius == 0 else ndi.binary_erosion(m, iterations=radius)
        assert np.array_equal(erode_cross(m, radius), expected)
    # a changed pixel changes the result: the comparison above is not vacuous
    if radius and shape[0] * shape[1] > 1:
        assert not np.array_equal(square_max(img, radius), img)


def test_stack_versions_work_frame_by_frame() -> None:
    rng = np.random.default_rng(11)
    stack = ndi.gaussian_filter(rng.normal(size=(4, 40, 50)), (0, 2, 2)).astype(np.float32)
    for radius in (1, 3):
        assert np.array_equal(square_max(stack, radius), np.stack([square_max(f, radius) for f in stack]))
        m = stack > 0.1
        assert np.array_equal(square_min(m, radius), np.stack([square_min(f, radius) for f in m]))
    hyst = hysteresis(stack, 0.05, 0.2)
    assert np.array_equal(hyst, np.stack([apply_hysteresis_threshold(f, 0.05, 0.2) for f in stack]))
    lab, n = label_frames(stack > 0.1)
    assert n == sum(ndi.label(f > 0.1)[1] for f in stack)
    rings = stack > 0.05
    assert np.array_equal(fill_holes(rings), np.stack([ndi.binary_fill_holes(f) for f in rings]))
    assert np.array_equal(
        erode_cross(rings, 2), np.stack([ndi.binary_erosion(f, iterations=2) for f in rings])
    )


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 5), (64, 80)])
def test_fill_holes_and_median3_match_scipy(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    img = rng.normal(size=shape).astype(np.float32)
    assert np.array_equal(median3(img), ndi.median_filter(img, size=3))
    for p in (0.2, 0.5, 0.7, 0.9):
        m = rng.random(shape) < p
        assert np.array_equal(fill_holes(m), ndi.binary_fill_holes(m))
    ring = np.zeros((9, 9), bool)
    ring[2:7, 2:7] = True
    ring[4, 4] = False  # a hole: filled
    assert fill_holes(ring)[4, 4] and not ring[4, 4]


@pytest.mark.parametrize("seed", range(6))
def test_hysteresis_near_seeds_equals_whole_frame(seed: int) -> None:
    rng = np.random.default_rng(seed)
    stack = rng.normal(size=(3, 70, 90)).astype(np.float32)
    stack[:, 30:40, 40:60] += 6.0  # a structure: seeds inside, a low tail around it
    if seed % 2:
        stack[1, 35, :] = 3.0  # a low-threshold bridge to the frame edge: the box must fall back
    for low, high in ((2.5, 5.0), (1.0, 4.0), (3.0, 100.0)):
        expected = np.stack([apply_hysteresis_threshold(f, low, high) for f in stack])
        assert np.array_equal(hysteresis_near_seeds(stack, low, high, margin=3), expected)
        assert np.array_equal(hysteresis_near_seeds(stack[0], low, high, margin=3), expected[0])


@pytest.mark.parametrize("n", [1, 2, 3, 10, 11, 2000, 2001])
def test_row_medians_and_robust_sigmas_match_numpy(n: int) -> None:
    from hsg_workstation.analysis.blockmean import row_medians_inplace as _row_medians_inplace
    from hsg_workstation.analysis.opacity import robust_sigma, robust_sigma_rows

    rng = np.random.default_rng(n)
    for rows in (rng.normal(size=(5, n)), rng.integers(0, 4, (5, n))):  # ties included
        a = rows.astype(np.float32)
        assert np.array_equal(_row_medians_inplace(a.copy()), np.median(a, axis=1))
        assert np.array_equal(robust_sigma_rows(a), [robust_sigma(r) for r in a])


@pytest.mark.parametrize("seed", range(8))
def test_label_frames_equals_scipy_3d_labelling(seed: int) -> None:
    """The stacked 2-D labelling gives the very numbers of scipy's 3-D one with per-frame connectivity."""
    from hsg_workstation.analysis.morph import FRAME_CROSS

    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 7)), int(rng.integers(1, 40)), int(rng.integers(1, 40)))
    m = rng.random(shape) < (0.2 + 0.1 * seed)
    m[:, -1, :] = m[:, 0, :] = True  # components touching the top and bottom rows must not join across frames
    expected, n_expected = ndi.label(m, structure=FRAME_CROSS)
    lab, n = label_frames(m)
    assert n == n_expected and lab.dtype == expected.dtype
    assert np.array_equal(lab, expected)
    if shape[0] > 1:
        assert lab[0].max() < lab[1][lab[1] > 0].min()  # each frame its own labels


def test_median_below_equals_the_median_comparison() -> None:
    from hsg_workstation.analysis.blockmean import median_below

    rng = np.random.default_rng(4)
    for _ in range(3000):
        n = int(rng.integers(1, 9)) if rng.random() < 0.5 else int(rng.integers(1, 300))
        v = (rng.integers(0, 5, n) * 0.25).astype(np.float32) if rng.random() < 0.3 else rng.normal(size=n)
        med = np.median(v)
        for thr in (float(med), float(np.nextafter(med, np.inf)), float(np.nextafter(med, -np.inf)), 0.1):
            assert median_below(v, thr) == bool(np.median(v) < thr)
    even = np.array([1.0, 2.0, 3.0, 4.0], np.float32)  # median 2.5, the bar between the middle two
    assert median_below(even, 2.6) and not median_below(even, 2.5)
