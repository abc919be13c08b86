"""The side signals written plainly — whole frames, one frame at a time, scipy / scikit-image filters only — as
the oracle for the boxed, batched and threaded :func:`hsg_workstation.analysis.tubes.side_signals`.

Kept in the tests on purpose: it is the specification the fast version must reproduce exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import apply_hysteresis_threshold
from skimage.morphology import convex_hull_image

from hsg_workstation.analysis.retained_sac import closed_sac_peak, sac_glow
from hsg_workstation.analysis.spill_origin import readable_frames
from hsg_workstation.analysis.tubes import (
    CAVITY_RIM,
    CORE_FRACTION,
    DIPOLE_MM,
    DIPOLE_SHARE,
    LOCULATED_SHARPNESS,
    NEGATIVE_SNR,
    RETAINED_DENSITY,
    RIM_REACH_MM,
    TUBE_SEARCH_MM,
    _odd,
    _sharpness,
    cervical_zone,
)


def _grow(mask: np.ndarray, radius: int) -> np.ndarray:
    return ndi.maximum_filter(mask.astype(np.uint8), size=2 * radius + 1).astype(bool)


def _opening(mask: np.ndarray, radius: int) -> np.ndarray:
    m = mask.astype(np.uint8)
    size = 2 * radius + 1
    return ndi.maximum_filter(ndi.minimum_filter(m, size=size), size=size).astype(bool)


def reference_side_signals(
    opacity: np.ndarray,
    masks: np.ndarray,
    ref_mask: np.ndarray,
    valid: np.ndarray,
    level: float,
    noise_map: np.ndarray,
    mm_per_px: float,
    first_index: int,
    cath: np.ndarray,
) -> tuple[dict[str, np.ndarray], dict[str, float], np.ndarray, np.ndarray]:
    """(per side: (T, 4) counts connected/faint/collection/dense collection, per side end sharpness, extra
    masks, overlay labels) — with the catheter mask given, so that only the side logic is compared."""
    t, h, w = opacity.shape
    cx = float(np.nonzero(ref_mask)[1].mean())
    lateral = np.arange(w)[None, :] - cx
    left, right = np.broadcast_to(lateral < 0, (h, w)), np.broadcast_to(lateral >= 0, (h, w))
    px = 1.0 / mm_per_px
    win = _odd(8.0 * px)
    halo_it = max(1, int(round(3.5 * px)))
    coll_r = max(2, int(round(3.0 * px)))
    thin_gap = max(1, int(round(2.0 * px)))
    min_faint = max(3, int(round(4.0 * px * px)))
    cav_gap = max(1, int(round(2.0 * px)))
    counts = {"left": np.zeros((t, 4)), "right": np.zeros((t, 4))}
    sharpness = {"left": 0.0, "right": 0.0}
    extra_all = np.zeros((t, h, w), bool)
    labels = np.zeros((t, h, w), np.uint8)
    sacs = np.zeros((t, h, w), bool)
    near_cavity = ndi.distance_transform_edt(~ref_mask) * mm_per_px <= TUBE_SEARCH_MM
    near_cavity &= ~cervical_zone(ref_mask, mm_per_px)  # the same zone (a plain mask, nothing to speed up)
    hull = _grow(convex_hull_image(ref_mask), cav_gap)
    for i in range(first_index, t):
        cav = masks[i]
        if not cav.any():
            continue
        o = opacity[i]
        rim_lab, _ = ndi.label(o > CAVITY_RIM * level)
        rim_ids = np.unique(rim_lab[cav])
        rim = np.isin(rim_lab, rim_ids[rim_ids > 0]) & _grow(cav, max(1, int(round(RIM_REACH_MM * px))))
        cav_d = _grow(rim | cav, cav_gap) | hull
        snr = o / noise_map
        e = apply_hysteresis_threshold(snr, 2.5, 5.0) & valid & ~cath
        extra = e & ~cav_d
        neg = (snr < -NEGATIVE_SNR) & valid
        if neg.any() and extra.any():
            near_neg = _grow(neg, max(1, int(round(DIPOLE_MM * px))))
            xlab, xn = ndi.label(extra)
            for k in range(1, xn + 1):
                comp = xlab == k
                if (comp & near_neg).sum() >= DIPOLE_SHARE * comp.sum():
                    extra &= ~comp
        extra_all[i] = extra
        connected = extra & near_cavity
        core = extra & (o >= CORE_FRACTION * ndi.maximum_filter(o, size=win)) & (snr > 5.0)
        halo = _grow(core | cav_d, halo_it)
        faint = extra & ~halo
        flab, fn = ndi.label(faint)
        if fn:
            idx = np.arange(1, fn + 1)
            sizes = ndi.sum_labels(np.ones_like(flab), flab, index=idx)
            peaks = ndi.maximum(snr, flab, index=idx)
            faint = np.isin(flab, idx[(sizes >= min_faint) & (peaks >= 6.0)])
        wide = _opening(core, coll_r)
        dense_wide = np.zeros_like(wide)
        glow = np.zeros_like(wide)
        wlab, wn = ndi.label(wide)
        if wn:
            idx = np.arange(1, wn + 1)
            dens = np.asarray(ndi.mean(o, wlab, index=idx)) / level
            hydro_like = dens >= RETAINED_DENSITY
            for k in np.flatnonzero(hydro_like):
                comp = wlab == k + 1
                region = comp | (extra & ndi.binary_dilation(comp, iterations=thin_gap))
                peak = 0.0
                if _sharpness(o, region) >= LOCULATED_SHARPNESS:
                    peak = closed_sac_peak(o, comp, extra, coll_r + 1, mm_per_px)
                hydro_like[k] = peak > 0.0
                if peak > 0.0:
                    glow |= sac_glow(o, comp, extra, peak)
            dense_wide = np.isin(wlab, idx[hydro_like])
        collection = wide & ~dense_wide
        closed = ndi.minimum_filter(_grow(extra, 1).astype(np.uint8), size=3).astype(bool)
        cloud = _opening(closed, max(coll_r + 1, int(round(4.5 * px)))) & extra
        cloud &= ~_grow(dense_wide, coll_r + thin_gap)
        faint = faint | (cloud & ~collection)
        spill = (faint | collection) & ~glow
        labels[i][extra] = 1
        labels[i][spill] = 2
        sacs[i] = dense_wide
        for name, side in (("left", left), ("right", right)):
            counts[name][i] = [float((m & side).sum()) for m in (connected, faint, collection, dense_wide)]
            if i == t - 1:
                sharpness[name] = _sharpness(o, spill & side)
    # a closed sac under spill on the last readable frame was a young pocket: spill on every frame
    readable = readable_frames(labels, valid & ~hull)
    if readable.any():
        labels[sacs & (labels[np.flatnonzero(readable)[-1]] == 2)[None]] = 2
    return counts, sharpness, extra_all, labels
