"""First tubal filling from the thin line that leaves the cornu (analysis/tubal_fill.py, issue 10).

A small opacity phantom (working resolution, 0.8 mm per pixel) built so that the session-4 rule — all contrast
above the per-pixel noise within 40 mm of the cavity — fails on it in both directions, the ways seen on the
independent renderer's tuning loops: a smooth scatter halo around the dense cavity and a gas-like blob above the
fundus are "contrast near the cavity" from the first frames (too early), while the tube itself, a line about
2 px wide at 2.5 noise sigmas on its centre, never passes the per-pixel hysteresis (too late / never). The cornual ridge signal must find
the tube when it leaves the cornu, and nothing on the side whose tube never fills.
"""

from __future__ import annotations

import numpy as np
from skimage.draw import line, polygon

from hsg_workstation.analysis.tubal_fill import cornua, cornual_tube_px
from hsg_workstation.analysis.tubes import CORNUAL_FILL_MM2, _first_fill, raw_contrast

MM = 0.8  # mm per working pixel
T, N = 30, 160
CAVITY_FROM, TUBE_FROM, BLOB_FROM = 3, 15, 6
NOISE = 1.0
TUBE_PEAK = 2.5  # the tube's centre line, in noise sigmas per pixel


def _phantom(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    cavity = np.zeros((N, N), bool)
    rr, cc = polygon([60, 60, 110, 110], [55, 105, 88, 72], (N, N))  # fundus up, narrowing to the os
    cavity[rr, cc] = True
    from scipy import ndimage as ndi

    dist_mm = ndi.distance_transform_edt(~cavity) * MM
    halo = 4.0 * np.exp(-dist_mm / 4.0) * ~cavity  # smooth scatter veil, several sigma next to the cavity
    yy, xx = np.mgrid[:N, :N]
    blob = ((yy - 45) ** 2 + (xx - 80) ** 2 <= 5**2) * 6.0  # gas-like blob above the middle of the fundus
    left_cornu = cornua(cavity)["left"]
    r0, c0 = int(left_cornu[0]), int(left_cornu[1])
    # the left tube: a one-pixel line leaving the cornu laterally and a little upwards, 5 px (4 mm) longer per frame
    tube_r, tube_c = line(r0, c0 - 1, r0 - 12, c0 - 45)
    path = list(zip(tube_r.tolist(), tube_c.tolist(), strict=True))
    opacity = rng.normal(0.0, NOISE, (T, N, N)).astype(np.float32)
    masks = np.zeros((T, N, N), bool)
    for i in range(CAVITY_FROM, T):
        opacity[i] += 40.0 * cavity + halo
        masks[i] = cavity
    for i in range(BLOB_FROM, T):
        opacity[i] += blob
    for i in range(TUBE_FROM, T):
        for r, c in path[: 5 * (i - TUBE_FROM + 1)]:
            opacity[i, r, c] += TUBE_PEAK * NOISE
            opacity[i, r - 1, c] += 0.6 * TUBE_PEAK * NOISE  # a blurred tube about 2 px (1.6 mm) wide
            opacity[i, r + 1, c] += 0.6 * TUBE_PEAK * NOISE
    return opacity, masks, cavity, path


def test_tube_found_where_it_leaves_the_cornu_not_the_halo_or_blob() -> None:
    opacity, masks, cavity, path = _phantom()
    # the phantom does what it is for: the per-pixel hysteresis of the spill features misses the tube ...
    contrast = raw_contrast(opacity, NOISE)
    beyond_halo = [(r, c) for r, c in path if np.hypot(r - path[0][0], c - path[0][1]) * MM > 10.0]
    assert np.mean([contrast[T - 1, r, c] for r, c in beyond_halo]) < 0.2
    # ... and sees the halo and the blob near the cavity from the first frames on
    assert contrast[BLOB_FROM + 1][~cavity].sum() * MM * MM > 50.0
    series = cornual_tube_px(opacity, masks, cavity, MM, CAVITY_FROM)
    thr = CORNUAL_FILL_MM2 / (MM * MM)
    left = _first_fill(series["left"], thr, T)
    assert left is not None and TUBE_FROM <= left <= TUBE_FROM + 2, (left, series["left"])
    assert _first_fill(series["right"], thr, T) is None, series["right"]


def test_settled_series_gives_the_same_first_filling() -> None:
    opacity, masks, cavity, _ = _phantom(seed=1)
    thr = CORNUAL_FILL_MM2 / (MM * MM)
    full = cornual_tube_px(opacity, masks, cavity, MM, CAVITY_FROM)
    early = cornual_tube_px(opacity, masks, cavity, MM, CAVITY_FROM, settled_px=thr)
    for side in ("left", "right"):
        assert _first_fill(full[side], thr, T) == _first_fill(early[side], thr, T)


def test_median_and_edge_padding_helpers_equal_numpy() -> None:
    """tubal_fill's _median / _edge_padded replace np.median / np.pad(mode="edge") for speed: same values."""
    from hsg_workstation.analysis.tubal_fill import _edge_padded, _median

    rng = np.random.default_rng(5)
    for n in [*range(1, 30), 50, 51, 1000]:
        for trial in range(6):
            v = rng.normal(size=n).astype(np.float32)
            if trial % 2:
                v = np.round(v * 2)  # ties
            assert _median(v) == float(np.median(v))
    v[3] = np.nan
    assert np.isnan(_median(v))
    for shape in [(9, 13), (3, 7, 5), (2, 1, 1)]:
        a = rng.normal(size=shape).astype(np.float32)
        for pad in (1, 4):
            spatial = [(0, 0)] * (a.ndim - 2) + [(pad, pad), (pad, pad)]
            np.testing.assert_array_equal(_edge_padded(a, pad), np.pad(a, spatial, mode="edge"))
