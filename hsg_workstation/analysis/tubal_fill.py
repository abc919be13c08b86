"""First tubal filling: extra-cavitary contrast that leaves the cornu.

Why a separate signal from the spill features in :mod:`tubes`: a tube leaves the cavity at the cornu (its
supero-lateral corner) and fills from there outwards, so the first tubal contrast is contrast *at the cornu*.
Counting every extra-cavitary pixel within 40 mm of the cavity on a side (session 4) also counted what merely
lies near the cavity — bowel gas and anatomy edges under motion above the fundus, a scatter halo or a venous lace
around the cavity, a fragment of a T-shaped cavity's fundal part — and called the tube filled frames too early
(tuning seeds: first renderer 6 of 73 sides, independent renderer most of its early calls). Here only the
extra-cavitary components (per frame, 8-connected) that reach into a disc of ``CORNU_REACH_MM`` around the
cornu count, with all their pixels on that side within the 40 mm search distance.

The cornua are the most supero-lateral points of the cavity at maximal distension (lateral offset plus height
above the centroid; the shape metrics' definition, fundus up).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.tubes import tube_search_region

CORNU_REACH_MM = 8.0  # the first tubal contrast lies within this distance of the cornu
_FRAME_8 = np.zeros((3, 3, 3), bool)
_FRAME_8[1] = True  # 8-connectivity within each frame, none across frames


def cornua(ref_mask: np.ndarray) -> dict[str, tuple[float, float]]:
    """Image-left and image-right cornu (row, column): the most supero-lateral cavity points."""
    rows, cols = np.nonzero(ref_mask)
    rc, cc = rows.mean(), cols.mean()
    height = rc - rows
    li = int(np.argmax((cc - cols) + height))
    ri = int(np.argmax((cols - cc) + height))
    return {"left": (float(rows[li]), float(cols[li])), "right": (float(rows[ri]), float(cols[ri]))}


def cornual_tube_px(extra: np.ndarray, ref_mask: np.ndarray, mm_per_px: float) -> dict[str, np.ndarray]:
    """Per image side, per frame: pixels of the extra-cavitary contrast (``extra``, (T, h, w)) inside the tube
    search region (:func:`tubes.tube_search_region`) on that side of the vertical line through the cavity
    centroid, in the components (8-connected, per frame) that reach within ``CORNU_REACH_MM`` of that side's
    cornu. The threshold it is compared with is ``tubes.CORNUAL_FILL_MM2``."""
    t, h, w = extra.shape
    out = {side: np.zeros(t) for side in ("left", "right")}
    if not ref_mask.any():
        return out
    search = tube_search_region(ref_mask, mm_per_px)
    cx = float(np.nonzero(ref_mask)[1].mean())
    left_cols = np.arange(w) < cx  # the same split as tubes.side_signals (lateral < 0)
    reach = CORNU_REACH_MM / mm_per_px
    yy, xx = np.ogrid[:h, :w]
    for side, (r0, c0) in cornua(ref_mask).items():
        counted = search & (left_cols[None, :] if side == "left" else ~left_cols[None, :])
        candidates = extra & counted[None]
        frames = np.flatnonzero(candidates.any(axis=(1, 2)))
        if frames.size == 0:
            continue
        lab, n = ndi.label(candidates[frames], structure=_FRAME_8)
        zone = (yy - r0) ** 2 + (xx - c0) ** 2 <= reach * reach
        touching = np.zeros(n + 1, bool)
        touching[lab[:, zone]] = True
        touching[0] = False
        out[side][frames] = np.count_nonzero(touching[lab], axis=(1, 2))
    return out
