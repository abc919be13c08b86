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
from hsg_workstation.analysis.tubes import CORNUAL_FILL_MM2, SideSignals, _first_fill, call_side, raw_contrast

MM = 0.8  # mm per working pixel
T, N = 30, 160
CAVITY_FROM, TUBE_FROM, BLOB_FROM = 3, 15, 6
NOISE = 1.0
TUBE_PEAK = 2.5  # the tube's centre line, in noise sigmas per pixel


def _phantom(
    seed: int = 0, tube_from: int = TUBE_FROM, tube_peak: float = TUBE_PEAK
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int]]]:
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
    for i in range(tube_from, T):
        for r, c in path[: 5 * (i - tube_from + 1)]:
            opacity[i, r, c] += tube_peak * NOISE
            opacity[i, r - 1, c] += 0.6 * tube_peak * NOISE  # a blurred tube about 2 px (1.6 mm) wide
            opacity[i, r + 1, c] += 0.6 * tube_peak * NOISE
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


def _with_device_line(opacity: np.ndarray, side: str, cavity: np.ndarray, peak: float) -> np.ndarray:
    """A straight, bright line (a cannula shaft, a tenaculum blade's edge, the gap between two gas bubbles) that
    crosses the ``side`` cornual disc and reaches beyond the cavity, present on every frame from the first."""
    r0, c0 = (int(v) for v in cornua(cavity)[side])
    step = -1 if side == "left" else 1
    rr, cc = line(r0 - 6, c0 + 2 * step, r0 - 30, c0 + 22 * step)
    out = opacity.copy()
    out[:, rr, cc] += peak * NOISE
    out[:, rr, cc + step] += 0.6 * peak * NOISE
    return out


def test_line_at_the_cornu_from_the_first_frame_is_not_a_filling() -> None:
    """Contrast that already lies across the cornual disc on the loop's first frames (session 7: seeds 12, 27,
    66 of the independent renderer, first filling reported at frame 1-2 against 7-13) is background: the side
    whose tube never fills reports none, and the side whose tube fills over such a line reports the rise."""
    opacity, masks, cavity, _ = _phantom(seed=2)
    thr = CORNUAL_FILL_MM2 / (MM * MM)
    lined = _with_device_line(_with_device_line(opacity, "right", cavity, 4.0), "left", cavity, 4.0)
    series = cornual_tube_px(lined, masks, cavity, MM, CAVITY_FROM)
    assert _first_fill(series["right"], thr, T) is None, series["right"]
    # the left tube fills over a line of ~60 mm² that flickers by ±10 mm² with the noise: it is found when it
    # has added half of that (BACKGROUND_RISE), a few frames after it leaves the cornu (this faint tube: 2.5
    # noise sigmas) — never on the loop's first frames, as before
    left = _first_fill(series["left"], thr, T)
    assert left is not None and TUBE_FROM <= left <= TUBE_FROM + 6, (left, series["left"])
    # the early stop reads the same background
    early = cornual_tube_px(lined, masks, cavity, MM, CAVITY_FROM, settled_px=thr)
    for side in ("left", "right"):
        assert _first_fill(early[side], thr, T) == _first_fill(series[side], thr, T)


def test_background_level_only_over_half_the_threshold() -> None:
    from hsg_workstation.analysis.tubal_fill import background_level

    assert background_level(np.array([0.0, 3.0, 4.0]), 10.0) == 0.0  # noise at the cornu: nothing subtracted
    assert background_level(np.array([6.0, 8.0, 7.0]), 10.0) == 7.0
    # over a large background a filling must add half of it: 40 + (20 - 10)
    assert background_level(np.array([40.0, 35.0, 60.0]), 10.0) == 50.0
    assert background_level(np.array([]), 10.0) == 0.0


def _side_signals(cornual_from: int | None, spill_from: int, t: int = 40) -> SideSignals:
    """One side's signals, in pixels of 1 mm²: spill (faint contrast) of 100 mm² from ``spill_from`` to the end,
    and the cornual line of 30 mm² from ``cornual_from`` (None: no series, the older ``connected_px`` rule)."""
    z = np.zeros(t)
    faint = z.copy()
    faint[spill_from:] = 100.0
    connected = z.copy()
    connected[cornual_from or spill_from :] = 30.0
    cornual = None
    if cornual_from is not None:
        cornual = z.copy()
        cornual[cornual_from:] = 30.0
    return SideSignals(connected, faint, z.copy(), z.copy(), cornual_px=cornual)


def test_seen_line_is_not_moved_back_to_an_earlier_raw_spill_onset() -> None:
    """Session 7: a raw spill onset before the line leaves the cornu was an early spill call (gas, devices, a
    venous lace) on the independent renderer's tuning loops, while the line rose at the true filling."""
    call = call_side(_side_signals(cornual_from=25, spill_from=10), 1.0)
    assert call.spill_onset_index == 10
    assert call.first_fill_index == 25
    # no line seen: the onset is still the latest the tube can have filled
    silent = _side_signals(cornual_from=25, spill_from=10)
    silent.cornual_px = np.zeros(40)
    assert call_side(silent, 1.0).first_fill_index == 10
    # the older rule (no cornual series) keeps the clamp
    assert call_side(_side_signals(cornual_from=None, spill_from=10), 1.0).first_fill_index == 10
    # a line before the onset is the filling, as before
    assert call_side(_side_signals(cornual_from=5, spill_from=10), 1.0).first_fill_index == 5


LACE = (7, 12)  # the frames (0-based, inclusive) of a venous lace in the phantom below


def _with_lace(
    opacity: np.ndarray, cavity: np.ndarray, peak: float = 5.0, frames: tuple[int, int] = LACE
) -> np.ndarray:
    """A venous lace on frames ``LACE``: thin vessels that leave each cornu upwards and sideways and fork, crossing
    the cornual disc and reaching well beyond the cavity; gone (washed out) after the lace's last frame."""
    out = opacity.copy()
    for side, step in (("left", -1), ("right", 1)):
        r0, c0 = (int(v) for v in cornua(cavity)[side])
        trunk = line(r0 - 2, c0, r0 - 22, c0 + 6 * step)  # up, a little outwards
        fork_a = line(r0 - 12, c0 + 3 * step, r0 - 20, c0 + 20 * step)  # a branch outwards
        fork_b = line(r0 - 22, c0 + 6 * step, r0 - 32, c0 - 4 * step)  # and one back over the fundus
        for rr, cc in (trunk, fork_a, fork_b):
            for i in range(frames[0], frames[1] + 1):
                out[i, rr, cc] += peak * NOISE
                out[i, rr, cc + 1] += 0.5 * peak * NOISE
    return out


def test_venous_lace_at_the_cornu_is_not_a_filling() -> None:
    """Session 8 (independent renderer, tuning seeds 17, 18, 77): a venous lace reaches the cornua as thin
    forking lines that the ridge reads like a tube, and was reported as both tubes' first filling. Given the
    lace's frames (intravasation.Intravasation.lace_frames), only what is still there after it counts: the tube
    that fills after the lace is found where it leaves the cornu, and the side whose tube never fills reports
    none. Without the lace's frames (the code before) the lace itself is the filling on both sides."""
    opacity, masks, cavity, _ = _phantom(seed=3)
    laced = _with_lace(opacity, cavity)
    thr = CORNUAL_FILL_MM2 / (MM * MM)
    blind = cornual_tube_px(laced, masks, cavity, MM, CAVITY_FROM)
    for side in ("left", "right"):  # what the lace does to the rule without its frames
        fill = _first_fill(blind[side], thr, T)
        assert fill is not None and LACE[0] <= fill <= LACE[1], (side, fill, blind[side])
    series = cornual_tube_px(laced, masks, cavity, MM, CAVITY_FROM, lace=LACE)
    left = _first_fill(series["left"], thr, T)
    assert left is not None and TUBE_FROM <= left <= TUBE_FROM + 2, (left, series["left"])
    assert _first_fill(series["right"], thr, T) is None, series["right"]
    # the early stop waits for the frames after the lace and gives the same first filling
    early = cornual_tube_px(laced, masks, cavity, MM, CAVITY_FROM, settled_px=thr, lace=LACE)
    for side in ("left", "right"):
        assert _first_fill(early[side], thr, T) == _first_fill(series[side], thr, T)


def test_tube_that_fills_during_the_lace_is_kept() -> None:
    """A tube that fills while the lace stands is still there after it (a filled tube stays filled): its
    first filling is not moved to the lace's end."""
    tube_from = LACE[0] + 2
    opacity, masks, cavity, _ = _phantom(seed=4, tube_from=tube_from)
    laced = _with_lace(opacity, cavity)
    thr = CORNUAL_FILL_MM2 / (MM * MM)
    series = cornual_tube_px(laced, masks, cavity, MM, CAVITY_FROM, lace=LACE)
    left = _first_fill(series["left"], thr, T)
    assert left is not None and tube_from <= left <= tube_from + 2, (left, series["left"])
    assert _first_fill(series["right"], thr, T) is None, series["right"]


def test_tube_that_filled_just_before_the_lace_is_kept() -> None:
    """A tube that filled a frame or two before the lace appeared, and is no longer seen after it (drained, or
    covered by the growing cavity; tuning seed 159): what was there before the lace appeared counts too."""
    tube_from = 12
    lace = (tube_from + 3, tube_from + 9)
    filled, masks, cavity, _ = _phantom(seed=5, tube_from=tube_from, tube_peak=5.0)
    empty, _, _, _ = _phantom(seed=5, tube_from=T)  # the same noise, no tube
    drained = filled.copy()
    drained[lace[1] + 1 :] = empty[lace[1] + 1 :]
    laced = _with_lace(drained, cavity, frames=lace)
    thr = CORNUAL_FILL_MM2 / (MM * MM)
    series = cornual_tube_px(laced, masks, cavity, MM, CAVITY_FROM, lace=lace)
    left = _first_fill(series["left"], thr, T)
    assert left is not None and tube_from <= left <= tube_from + 2, (left, series["left"])
    assert _first_fill(series["right"], thr, T) is None, series["right"]


GAS_FROM = (
    8  # the frame from which the gas that lay at the left cornu on the background frames has moved away
)


def _gas_moved_away(
    opacity: np.ndarray, cavity: np.ndarray, peak: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """A lucent line at the left cornu (a gap of bowel gas, the edge of a bubble) on the contrast-free frames,
    gone from ``GAS_FROM`` on: the background holds a valley there, the opacity (frame minus background) a
    positive line of the same shape that stands still. Returns (opacity, background)."""
    r0, c0 = (int(v) for v in cornua(cavity)["left"])
    rr, cc = line(r0 - 3, c0 - 1, r0 - 14, c0 - 6)  # up and a little outwards: ~12 mm from the cornu
    # the background is the mean of the contrast-free frames: its own (smaller) noise, and the valley
    background = np.random.default_rng(7).normal(0.0, 0.4 * NOISE, opacity.shape[1:]).astype(np.float32)
    for dc in (-1, 0, 1):  # a gap about 2.5 mm wide
        background[rr, cc + dc] -= peak
    out = opacity.copy()
    for dc in (-1, 0, 1):  # where the gas was, tissue now: the valley comes back as a line
        out[GAS_FROM:, rr, cc + dc] += peak
    return out, background


def test_line_left_by_gas_that_moved_away_is_not_the_filling() -> None:
    """Session 8 (independent renderer, tuning seeds 3, 24, 119, 151): a line that appears at the cornu while the
    cavity fills, where the contrast-free background had a lucent valley, and stays put, was the first filling
    7-20 frames before the tube. With the background given, it stands and is passed over while the tube — which
    fills outwards from the cornu — holds later; without it (the code before) the gas line is the filling."""
    opacity, masks, cavity, _ = _phantom(seed=6)
    moved, background = _gas_moved_away(opacity, cavity)
    thr = CORNUAL_FILL_MM2 / (MM * MM)
    blind = cornual_tube_px(moved, masks, cavity, MM, CAVITY_FROM)
    before = _first_fill(blind["left"], thr, T)
    assert before is not None and GAS_FROM <= before < TUBE_FROM, (before, blind["left"])
    standing: dict[str, np.ndarray] = {}
    series = cornual_tube_px(moved, masks, cavity, MM, CAVITY_FROM, background=background, standing=standing)
    assert standing["left"][GAS_FROM : TUBE_FROM - 1].mean() > 0.5, standing[
        "left"
    ]  # the gas line stands ...
    left = _first_fill(series["left"], thr, T, standing["left"])
    assert left is not None and TUBE_FROM <= left <= TUBE_FROM + 2, (left, series["left"])
    assert _first_fill(series["right"], thr, T, standing["right"]) is None
    # the early stop waits for a frame that does not stand, and gives the same first filling
    early_standing: dict[str, np.ndarray] = {}
    early = cornual_tube_px(
        moved, masks, cavity, MM, CAVITY_FROM, settled_px=thr, background=background, standing=early_standing
    )
    assert _first_fill(early["left"], thr, T, early_standing["left"]) == left


def test_standing_candidate_is_taken_when_nothing_later_holds() -> None:
    """A standing line is passed over only in favour of a later one: alone, it is still the first filling."""
    s = np.zeros(30)
    s[8:] = 20.0
    standing = np.zeros(30, bool)
    standing[8:12] = True
    assert _first_fill(s, 10.0, 30, standing) == 12  # the first frame that does not stand
    standing[:] = True
    assert _first_fill(s, 10.0, 30, standing) == 8  # nothing else holds: as before
    assert _first_fill(s, 10.0, 30) == 8


def test_sides_on_the_pool_and_given_regions_give_the_same_series(monkeypatch) -> None:
    """Session 8 (speed): the two sides' ridge work runs side by side on the pool, and the pipeline hands in the
    tube search region and the cavity hull it computed for the side signals. Neither changes a value: with one
    and two threads, with and without ``regions``, the series and the standing frames are the same, through a
    lace and a moved gas line (the per-side state these read and write)."""
    from hsg_workstation.analysis.tubal_fill import hull_gap
    from hsg_workstation.analysis.tubes import cavity_region, tube_search_region

    opacity, masks, cavity, _ = _phantom(seed=8)
    moved, background = _gas_moved_away(_with_lace(opacity, cavity), cavity)
    regions = tube_search_region(cavity, MM), cavity_region(cavity, hull_gap(MM))
    results = []
    for threads in ("1", "2"):
        monkeypatch.setenv("HSG_ANALYSIS_THREADS", threads)
        for given in (None, regions):
            standing: dict[str, np.ndarray] = {}
            series = cornual_tube_px(
                moved, masks, cavity, MM, CAVITY_FROM, lace=LACE, background=background, standing=standing,
                regions=given,
            )  # fmt: skip
            results.append((series, standing))
    first_series, first_standing = results[0]
    assert any(first_series[s].any() for s in first_series)  # not vacuous: lines are counted
    for series, standing in results[1:]:
        for side in ("left", "right"):
            assert np.array_equal(series[side], first_series[side]), side
            assert np.array_equal(standing[side], first_standing[side]), side
