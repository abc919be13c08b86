"""A retained sac (hydrosalpinx) against a pocket or a cloud at the tube's end (analysis/retained_sac.py), on
small drawn phantoms run through the real side signals: a closed sac at the end of a normal-calibre tube, with
the scatter glow around it, is retained (no spill); the same tube ending in a pocket with more contrast of its
order around it, or in a free cloud, spills."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.retained_sac import SAC_NECK_MM, neck_width_mm, sac_glow
from hsg_workstation.analysis.tubes import SPILL_MIN_MM2, call_side, side_signals

H, W, T = 160, 200, 14
MM = 0.5  # mm per pixel
LEVEL, NOISE = 1000.0, 10.0
ROW = 62.0  # the tube's row; the cavity's cornu is at column ~84


def _disc(row: float, col: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (yy - row) ** 2 + (xx - col) ** 2 <= r * r


def _ball(row: float, col: float, r: float, peak: float) -> np.ndarray:
    """Projected thickness of a sphere: a dense centre falling to a sharp wall."""
    yy, xx = np.mgrid[:H, :W]
    q = 1.0 - ((yy - row) ** 2 + (xx - col) ** 2) / (r * r)
    return peak * np.sqrt(np.clip(q, 0.0, None))


def _loop(body: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Opacity stack: a cavity in the middle from frame 0, the left tube (1.5 mm, 0.1 of the cavity level) from
    frame 2, ``body`` at the tube's end growing in over frames 4-6 and staying; noise 1 % of the level."""
    rng = np.random.default_rng(seed)
    cavity = _disc(80, 100, 16)
    tube = np.zeros((H, W))
    tube[int(ROW) - 1 : int(ROW) + 2, 40:86] = 0.1 * LEVEL
    op = np.zeros((T, H, W), np.float32)
    masks = np.zeros((T, H, W), bool)
    for i in range(T):
        frame = np.where(cavity, LEVEL, 0.0)
        if i >= 2:
            frame = np.maximum(frame, tube)
        if i >= 4:
            frame = frame + body * min(1.0, (i - 3) / 3.0)
        op[i] = frame + rng.normal(0.0, NOISE, (H, W))
        masks[i] = cavity
    return op, masks


def _sac(peak: float = 0.6) -> np.ndarray:
    """A closed sac at the tube's end (9 mm radius) with the scatter glow of its own signal around it."""
    sac = _ball(ROW, 24, 18, peak * LEVEL)
    return sac + 0.6 * ndi.gaussian_filter(
        sac, 20.0
    )  # glow: ~0.16 of the sac beside it, 10 noise sigma, 10 mm wide


def _run(body: np.ndarray):
    op, masks = _loop(body)
    sides, _extra, _cath, labels = side_signals(
        op, masks, masks[-1], np.ones((H, W), bool), LEVEL, NOISE, MM, 0, 0
    )
    return sides["left"], call_side(sides["left"], MM), labels


def test_a_closed_sac_at_the_end_of_a_normal_tube_is_retained_and_its_glow_is_not_spill() -> None:
    sig, call, labels = _run(_sac())
    assert call.spill == "none" and call.hydrosalpinx_like
    assert sig.dense_collection_px[-1] > 0
    assert sig.spill_px is not None and sig.spill_px[-1] * MM * MM < SPILL_MIN_MM2
    # the glow is real extra-cavitary contrast on the frame, just not counted as spill
    assert (labels[-1][:, :60] == 1).sum() > (_disc(ROW, 24, 18)).sum()


def test_the_same_tube_ending_in_a_pocket_with_contrast_around_it_spills() -> None:
    # a lobed pocket: the body and two lobes of the same order beside it (moulded by adhesions / bowel)
    pocket = _ball(ROW, 24, 14, 0.6 * LEVEL)
    pocket = np.maximum(pocket, _ball(ROW + 20, 20, 9, 0.45 * LEVEL))
    pocket = np.maximum(pocket, _ball(ROW - 18, 30, 8, 0.4 * LEVEL))
    sig, call, _labels = _run(pocket)
    assert call.spill in ("loculated", "free")
    assert not call.hydrosalpinx_like


def test_the_same_tube_ending_in_a_free_cloud_spills() -> None:
    yy, xx = np.mgrid[:H, :W]
    cloud = 0.4 * LEVEL * np.exp(-((yy - ROW - 10) ** 2 + (xx - 26) ** 2) / (2 * 14.0**2))
    _sig, call, _labels = _run(cloud)
    assert call.spill == "free"


def test_a_young_pocket_that_contrast_later_spreads_around_spills_from_its_first_frame() -> None:
    # frames 4-6: one dense ball at the tube's end (closed, like a sac); from frame 8 lobes and a cloud around it
    ball = _ball(ROW, 24, 14, 0.6 * LEVEL)
    yy, xx = np.mgrid[:H, :W]
    around = np.maximum(_ball(ROW + 20, 20, 9, 0.45 * LEVEL), _ball(ROW - 18, 30, 8, 0.4 * LEVEL))
    around = np.maximum(around, 0.3 * LEVEL * np.exp(-((yy - ROW) ** 2 + (xx - 24) ** 2) / (2 * 24.0**2)))
    op, masks = _loop(ball)
    op[8:] += around.astype(np.float32)
    sides, _extra, _cath, labels = side_signals(
        op, masks, masks[-1], np.ones((H, W), bool), LEVEL, NOISE, MM, 0, 0
    )
    call = call_side(sides["left"], MM)
    assert call.spill != "none"
    # the onset is the ball's first full frames, not the frame the contrast around it arrived (8)
    assert call.spill_onset_index is not None and call.spill_onset_index <= 6
    assert (labels[5][_disc(ROW, 24, 10)] == 2).all()


def test_neck_width_counts_what_leaves_the_body() -> None:
    body = _ball(ROW, 24, 18, 600.0)
    comp = _disc(ROW, 24, 14)
    contrast = body > 20
    tube = np.zeros((H, W), bool)
    tube[int(ROW) - 1 : int(ROW) + 2, 40:86] = True
    alone = np.maximum(body, np.where(tube, 100.0, 0.0))  # a tube at a sixth of the body's density
    width, peak = neck_width_mm(alone, comp, contrast | tube, 3, MM)
    assert width == 0.0 and peak > 500
    # a lobe of the body's order beside it crosses the band: several mm
    lobe = _ball(ROW + 24, 24, 8, 400.0)
    width, _ = neck_width_mm(np.maximum(alone, lobe), comp, contrast | tube | (lobe > 20), 3, MM)
    assert width > SAC_NECK_MM
    # the glow: the faint contrast joined to the sac (here its tube), not the sac; not faint contrast apart from it
    apart = _disc(120, 150, 5)
    glow = sac_glow(alone, comp, contrast | tube | apart, peak)
    assert not (glow & comp).any() and glow[int(ROW), 60] and not glow[apart].any()
