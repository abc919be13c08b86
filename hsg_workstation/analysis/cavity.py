"""Uterine cavity: mask per frame, fill curve, maximal distension, shape metrics, filling-defect candidates.

The cavity is the dense opacity that appears *first* and stays: tracking it from its first appearance keeps a late,
equally dense loculated spill or a catheter balloon from being taken for it. A morphological opening removes the
thin structures (catheter lumen, tubes, venous lace) that touch it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.morph import (
    dilate_cross,
    erode_cross,
    fill_holes,
    label_frames,
    mask_box,
    open_cross,
)
from hsg_workstation.measurements import Calibration


@dataclass(slots=True)
class CavityTrack:
    masks: np.ndarray  # (T, h, w) bool
    areas_px: np.ndarray  # (T,) working pixels
    first_index: int | None  # 0-based first frame with a cavity
    max_index: int | None
    open_radius: int
    plateau: list[int] = field(default_factory=list)  # frames of the distension plateau (read by the defects)


CAVITY_THRESHOLD = 0.3  # fraction of the dense-contrast level: the tapering cavity edge still counts
HELD_PLATEAU_SHARE = 0.07  # a fill-curve plateau held this share of the loop (>= HELD_PLATEAU_MIN frames) ...
HELD_PLATEAU_MIN = 4  # (the frame and four after it: a 5-frame plateau in a short loop, tuning seed 90)
HELD_PLATEAU_LOW = 0.2  # ... once past this share of the curve's maximum, is maximal distension
PLATEAU_GROWTH = 0.021  # relative growth over the next frames below which the fill curve is a plateau ...
# (2 % missed independent tuning seed 12 by a hair; 2.5 % moved first-renderer picks a frame early)
PLATEAU_NOISE_FACTOR = 2.0  # ... or below this many times the curve's own frame-to-frame scatter, if larger
DENSITY_MEDIAN_FRAMES = 3  # running median of the cavity's mean opacity: takes out one-frame brightness jumps
LUCENCY_VOTE = 1.0 / 3.0  # a lucency pixel is low on at least this share of the plateau's frames
PLATEAU_READ_FRAMES = (
    9  # at most this many frames, evenly spread over the distension plateau, make its reference
)


def open_radius_for(mm_per_px: float) -> int:
    """Radius (working px) of the opening that separates tube-calibre structures (about 2 mm) from blobs."""
    return max(1, int(round(2.0 / max(mm_per_px, 1e-6))))


def _largest_overlapping(lab: np.ndarray, n: int, seed: np.ndarray | None) -> np.ndarray:
    if n == 0:
        return np.zeros(lab.shape, bool)
    if seed is not None:
        ids = np.unique(lab[seed & (lab > 0)])
        return np.isin(lab, ids[ids > 0])
    sizes = ndi.sum_labels(np.ones_like(lab), lab, index=np.arange(1, n + 1))
    return lab == (int(np.argmax(sizes)) + 1)


def dense_mask(opacity: np.ndarray, level: float, threshold: float = CAVITY_THRESHOLD) -> np.ndarray:
    """Dense-contrast mask of one frame (or of each frame of a stack); a 1-px opening removes noise specks but
    keeps narrow horns."""
    return open_cross(opacity > threshold * level)


def track_cavity(
    opacity: np.ndarray, level: float, valid: np.ndarray, mm_per_px: float, noise: float | None = None
) -> CavityTrack:
    """Follow the cavity from the first dense component that persists, by overlap from frame to frame.

    The tubes' isthmus, the catheter lumen and veins are far below the cavity's density, so at this threshold
    they do not connect the cavity to the (equally dense) ampullae, hydrosalpinges or loculated collections.
    """
    t, h, w = opacity.shape
    # Only the box holding every dense pixel of the loop (+2 px for the opening) can hold the cavity: tracking
    # that box gives the same masks as the whole frame (same component order, same sums), much faster.
    dense_any = (opacity > CAVITY_THRESHOLD * level).any(axis=0)
    rows, cols = np.flatnonzero(dense_any.any(axis=1)), np.flatnonzero(dense_any.any(axis=0))
    if rows.size and (rows[-1] - rows[0] + 5) * (cols[-1] - cols[0] + 5) < 0.8 * h * w:
        box = (
            slice(max(0, rows[0] - 2), min(h, rows[-1] + 3)),
            slice(max(0, cols[0] - 2), min(w, cols[-1] + 3)),
        )
        sub = track_cavity(opacity[:, box[0], box[1]], level, valid[box], mm_per_px, noise)
        masks = np.zeros((t, h, w), bool)
        masks[:, box[0], box[1]] = sub.masks
        return CavityTrack(masks, sub.areas_px, sub.first_index, sub.max_index, sub.open_radius, sub.plateau)
    min_area = max(6, int(round(15.0 / mm_per_px**2)))  # 15 mm²
    reach = max(2, int(round(3.0 / mm_per_px)))
    masks = np.zeros((t, h, w), bool)
    seed: np.ndarray | None = None
    first = None
    dense = dense_mask(opacity, level) & valid  # every frame at once (per-frame opening)
    lab_all, n_all = label_frames(dense)  # one call; each frame's labels are its own
    member = np.zeros(n_all + 1, bool)  # lookup table: label -> in the current selection (reset after use)
    # Dense pixels apart from the cavity (beyond the narrow-waist reach) on the previous frame, and on two
    # frames running: what a free spill cloud is before it reaches the cavity (independent renderer: a dense
    # cloud grew into the cavity and the cavity, its hull and the side split swallowed it — spill missed).
    apart = np.zeros((h, w), bool)
    outside = np.zeros((h, w), bool)

    def select(lab: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """== np.isin(lab, ids) for labels of ``lab_all`` (a table lookup instead of a sort)."""
        member[ids] = True
        out = member[lab]
        member[ids] = False
        return out

    for i in range(t):
        if seed is None:
            lab, n = ndi.label(dense[i])
            comp = _largest_overlapping(lab, n, None)
            if comp.sum() >= min_area and i + 1 < t and (dense[i + 1] & comp).sum() >= 0.5 * comp.sum():
                seed, first = comp, i
                masks[i] = comp
            continue
        lab = lab_all[i]
        # parts of the cavity joined by a narrow waist (T-shaped, two horns) stay one cavity: 3 mm reach
        # (== _largest_overlapping with the seed, then with the dilated seed minus the first)
        seed_labels = lab[seed]
        comp = select(lab, seed_labels[seed_labels > 0])  # every component the previous cavity overlaps
        # labels within reach of the seed outside those components (a pixel outside ``comp`` is background or
        # belongs to another component): the candidates joined by a narrow waist
        near_labels = lab[dilate_cross(seed, reach) & ~comp]
        near_ids = np.unique(near_labels[near_labels > 0])
        near = select(lab, near_ids) if near_ids.size else None
        if near is not None and near.any():
            nlab, nn = ndi.label(near)
            sizes = ndi.sum_labels(near, nlab, index=np.arange(1, nn + 1))
            comp |= np.isin(nlab, 1 + np.flatnonzero(sizes >= min_area))
        if outside.any() and (comp & outside).any():
            # dense contrast seen apart from the cavity on two frames running (a spill cloud, a sac, a
            # pocket) does not become cavity when it grows into it later: the part of the merged component
            # that the previous cavity overlaps stays, the rest is extra-cavitary
            klab, _kn = ndi.label(comp & ~outside)
            ids = np.unique(klab[seed])
            comp = np.isin(klab, ids[ids > 0])
        if comp.any():
            masks[i] = comp
            seed = comp
            away = dense[i] & ~dilate_cross(comp, reach)
            outside |= away & apart
            apart = away
    areas = masks.sum(axis=(1, 2)).astype(np.float64)
    content = np.array([float(opacity[i][masks[i]].sum()) for i in range(t)])
    max_index = max_distension_index(areas, content)
    plateau = [] if max_index is None else distension_plateau(areas, content, max_index)
    return CavityTrack(masks, areas, first, max_index, open_radius_for(mm_per_px), plateau)


def fill_score(areas: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The distension curve: area plus contrast content (area × mean opacity), each relative to its maximum.

    The mean opacity inside the cavity goes through a 3-frame running median first. Why: after the brightness
    correction (``opacity.normalise_gain`` maps every frame of a drifting loop by its own line) the cavity's
    mean opacity scatters by a few per cent from frame to frame, and that scatter broke the 2 % plateau test
    (tuning seeds 0-79 re-tracked under a per-frame gain of 1 + N(0, 2 %): the old pick missed ±3 frames on 6
    first-renderer and 12 independent loops of 80). A running median leaves a monotone rise and a step
    unchanged (a cavity that keeps filling, a component that joins), so clean loops keep their curve. The area
    is not filtered: it does not scale with the gain, and filtering it moved first-renderer picks.
    """
    if areas.max() <= 0:
        return np.zeros_like(areas)
    density = content / np.maximum(areas, 1.0)
    if len(density) >= DENSITY_MEDIAN_FRAMES:
        density = ndi.median_filter(density, DENSITY_MEDIAN_FRAMES, mode="nearest")
    steady_content = areas * density
    return areas / areas.max() + steady_content / max(float(steady_content.max()), 1e-6)


def curve_scatter(score: np.ndarray, low: float = 0.5) -> float:
    """Robust relative frame-to-frame scatter of ``score`` where it is past ``low`` of its maximum: the sigma of
    white noise whose second differences have the same median size (second differences ignore a steady rise)."""
    if len(score) < 3 or score.max() <= 0:
        return 0.0
    mid = score[1:-1]
    d2 = np.abs(score[:-2] - 2.0 * mid + score[2:]) / np.maximum(mid, 1e-9)
    keep = mid >= low * score.max()
    if not keep.any():
        return 0.0
    return float(np.median(d2[keep]) * 1.4826 / np.sqrt(6.0))


def max_distension_index(areas: np.ndarray, content: np.ndarray) -> int | None:
    """0-based frame of maximal distension from the fill curve (area) and the cavity's contrast content.

    The cavity grows and then stays distended: the pick is the first frame of the curve's plateau. A plateau
    is growth below ``PLATEAU_GROWTH`` over the next frames — or, on a loop whose curve scatters from frame to
    frame (residual brightness changes), below ``PLATEAU_NOISE_FACTOR`` times that scatter: a tolerance under
    the curve's own noise finds no plateau until a late, accidental quiet stretch.
    """
    if areas.max() <= 0:
        return None
    t = len(areas)
    score = fill_score(areas, content)
    growth = max(PLATEAU_GROWTH, PLATEAU_NOISE_FACTOR * curve_scatter(score))
    # the curve's peak; the content breaks ties on the area plateau, because the cavity keeps filling with
    # contrast until it is fully distended (no smoothing of the score itself: it would drag the pick one frame
    # late at the end of the steep rise; the median on the mean opacity leaves that rise as it is)
    cand = np.flatnonzero(score >= 0.985 * score.max())
    max_index = int(cand[0])
    # A plateau broken by a step (a joining component: the cervical canal, an instrument, pooled spill) is
    # not further distension: the first frame of a plateau held for three frames wins
    plateau = _first_plateau(score, growth=growth)
    if plateau is not None and plateau < max_index:
        max_index = plateau
    # A plateau held for a share of the loop is the distended cavity even when the curve rises again later:
    # what is added then joins from outside (spill drifting in, a dense cloud, the cervix) — the "half the
    # maximum" guard above missed it when that later growth doubled the curve (independent renderer tuning
    # seeds: picks 19-54 frames late on 4 of 40 loops; seed 5: an 8-frame plateau in 111 frames)
    held = _first_plateau(
        score,
        run=max(HELD_PLATEAU_MIN, int(round(HELD_PLATEAU_SHARE * t))),
        growth=growth,
        low=HELD_PLATEAU_LOW,
    )
    if held is not None and held < max_index:
        max_index = held
    return max_index


def distension_plateau(areas: np.ndarray, content: np.ndarray, max_index: int) -> list[int]:
    """The frames of the distension plateau that ``max_index`` starts: the contiguous frames around it whose fill
    score stays within the plateau tolerance of the plateau's level (the median score of the pick and the
    ``HELD_PLATEAU_MIN`` frames after it), at most ``PLATEAU_READ_FRAMES`` of them, evenly spread.

    Why: the pick is the *first* frame of the plateau, and a curve that ends its rise within the tolerance moves
    it by a frame from one loop to the next (held-out run 29: 23 -> 22 lost a real defect, 26 -> 24 made a false
    one). The plateau's frames hardly depend on that frame — its level is a median, the run is bounded by the
    score — so what reads the distended cavity from them does not move with the pick.
    """
    t = len(areas)
    score = fill_score(areas, content)
    if score[max_index] <= 0:
        return [max_index]
    growth = max(PLATEAU_GROWTH, PLATEAU_NOISE_FACTOR * curve_scatter(score))
    level = float(np.median(score[max_index : max_index + HELD_PLATEAU_MIN + 1]))
    near = np.abs(score - level) <= growth * level
    # the run starts from the first frame at the plateau's level, not from the pick itself: a pick a frame or two
    # early on the end of the rise is not part of the plateau
    seeds = np.flatnonzero(near[max_index : max_index + HELD_PLATEAU_MIN + 1])
    lo = hi = max_index + (int(seeds[0]) if seeds.size else 0)
    while lo > 0 and near[lo - 1]:
        lo -= 1
    while hi + 1 < t and near[hi + 1]:
        hi += 1
    run = np.arange(lo, hi + 1)
    if run.size > PLATEAU_READ_FRAMES:
        run = run[np.linspace(0, run.size - 1, PLATEAU_READ_FRAMES).round().astype(int)]
    return [int(i) for i in run]


def _first_plateau(score: np.ndarray, run: int = 3, growth: float = 0.02, low: float = 0.5) -> int | None:
    """First frame, once the score is past ``low`` of its maximum, after which it grows by < ``growth``
    (relative) over each of the next ``run`` frames and never falls below it by more than that: the cavity is
    distended."""
    t = len(score)
    top = float(score.max())
    for i in np.flatnonzero(score >= low * top):
        i = int(i)
        if i + run >= t:
            return None
        nxt = score[i + 1 : i + 1 + run]
        if score[i] > 0 and np.all(np.abs(nxt - score[i]) <= growth * score[i]):
            return i
    return None


@dataclass(slots=True)
class Shape:
    fundal_indentation_depth: float | None
    hemicavity_angle_deg: float | None
    intercornual_distance: float | None
    left_cornu: tuple[float, float] | None  # (column, row) image-left, full res
    right_cornu: tuple[float, float] | None


def shape_metrics(mask: np.ndarray, calibration: Calibration, scale: float = 1.0) -> Shape:
    """Cornua, intercornual distance, fundal indentation depth and the angle at the indentation apex.

    Cornua: the most supero-lateral cavity points (maximising lateral offset + height above the centroid).
    Fundal indentation depth: how far the fundal contour between the cornua dips below the intercornual line.
    Hemicavity angle: the angle at the deepest fundal point between the lines to both cornua (180 deg = flat or
    convex fundus; smaller = deeper indentation) — a proxy for the indentation angle of the ESHRE/ASRM criteria.
    Assumes the fundus is at the top of the image (usual HSG display).
    """
    if mask.sum() < 20:
        return Shape(None, None, None, None, None)
    # the same pixel lists as np.nonzero(mask), found in the mask's bounding box (a fraction of a 1024² frame)
    r_any, c_any = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    r0, c0 = int(r_any[0]), int(c_any[0])
    crop = mask[r0 : int(r_any[-1]) + 1, c0 : int(c_any[-1]) + 1]
    rows, cols = np.nonzero(crop)
    rows, cols = rows + r0, cols + c0
    rc, cc = rows.mean(), cols.mean()
    height = rc - rows
    left_score = (cc - cols) + height
    right_score = (cols - cc) + height
    li, ri = int(np.argmax(left_score)), int(np.argmax(right_score))
    lp = (float(cols[li]), float(rows[li]))
    rp = (float(cols[ri]), float(rows[ri]))
    if rp[0] - lp[0] < 3:
        return Shape(None, None, None, None, None)
    c_range = np.arange(int(lp[0]), int(rp[0]) + 1)
    columns = crop[:, c_range - c0]  # the first mask row of each column between the cornua (NaN: none)
    top = np.where(columns.any(axis=0), columns.argmax(axis=0) + r0, np.nan)
    line = lp[1] + (rp[1] - lp[1]) * (c_range - lp[0]) / (rp[0] - lp[0])
    dip = top - line
    k = int(np.nanargmax(dip)) if np.isfinite(dip).any() else 0
    depth_px = max(0.0, float(dip[k])) if np.isfinite(dip[k]) else 0.0
    apex = (float(c_range[k]), float(top[k]) if np.isfinite(top[k]) else float(line[k]))

    def full(p: tuple[float, float]) -> tuple[float, float]:
        return ((p[0] + 0.5) * scale, (p[1] + 0.5) * scale)

    lpf, rpf, apf = full(lp), full(rp), full(apex)
    intercornual = calibration.length(lpf, rpf)
    # depth measured perpendicular to the intercornual line
    base_point = (apf[0], lpf[1] + (rpf[1] - lpf[1]) * (apf[0] - lpf[0]) / max(rpf[0] - lpf[0], 1e-6))
    depth = calibration.length(apf, base_point) if depth_px > 0 else 0.0
    if depth_px > 0.5:
        v1 = np.array([lpf[0] - apf[0], lpf[1] - apf[1]])
        v2 = np.array([rpf[0] - apf[0], rpf[1] - apf[1]])
        cosang = float(v1 @ v2 / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-9))
        angle = float(np.degrees(np.arccos(np.clip(cosang, -1, 1))))
    else:
        angle = 180.0
    return Shape(depth, angle, intercornual, lpf, rpf)


@dataclass(slots=True)
class Hole:
    row: float
    column: float
    area_px: float
    first_index: int
    last_index: int


def _mask_box(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Bounding box of ``mask`` grown by ``margin`` and clipped to the frame (the whole frame when empty)."""
    return mask_box(mask, margin) or (slice(None), slice(None))


def plateau_reference(
    opacity: np.ndarray, masks: np.ndarray, plateau: list[int], box: tuple[slice, slice]
) -> tuple[np.ndarray, np.ndarray]:
    """The distended cavity read over the plateau's frames, in ``box``: the per-pixel median opacity and the
    majority cavity mask (a pixel in the mask on more than half of the frames). One frame when the plateau is one.

    Why the median: a defect (polyp, myoma, synechia) displaces contrast on every frame of the plateau; noise, a
    passing bubble or a one-frame brightness jump does not. The median keeps the first and drops the second, and
    it does not depend on which frame of the plateau was picked as the maximum (the frames are registered)."""
    op = opacity[plateau][:, box[0], box[1]]
    mk = masks[plateau][:, box[0], box[1]]
    if len(plateau) == 1:
        return op[0], mk[0]
    return np.median(op, axis=0).astype(np.float32), 2 * mk.sum(axis=0, dtype=np.int32) > len(plateau)


def persistent_lucencies(
    opacity: np.ndarray,
    masks: np.ndarray,
    ref_index: int,
    mm_per_px: float,
    min_frames: int = 3,
    plateau: list[int] | None = None,
) -> list[Hole]:
    """Filling-defect candidates: lucent areas inside the filled cavity that stay put over several frames.

    Inside the cavity outline (holes filled), a polyp, myoma or synechia displaces contrast: the opacity drops well
    below the surrounding cavity's. Compared with the *local* cavity opacity (smoothed over ~8 mm) so that the
    thinner horns and the tapering margin (excluded: 2 mm rim) do not look like defects. The balloon at the
    internal os is a lucency too, so candidates within 10 mm of the cavity's lowest point are dropped. A bubble
    or noise does not persist at the same place; a defect does.

    The candidates are read on the distended cavity over its ``plateau`` frames (:func:`plateau_reference`; the
    frame ``ref_index`` alone when no plateau is given): one frame's noise and the exact frame the maximum was
    picked on no longer decide which lucency is a candidate. Persistence is counted over up to 12 well-filled
    frames (≥ 70 % of the largest area) chosen without looking at ``ref_index``.
    """
    areas = masks.sum(axis=(1, 2))
    if areas.max() == 0:
        return []
    ref_frames = sorted(set(plateau)) if plateau else [ref_index]
    frames = [i for i in range(masks.shape[0]) if areas[i] >= 0.7 * areas.max()]
    if len(frames) > 12:  # persistence needs a handful of frames, not all of a long loop
        frames = sorted(set(np.array(frames)[np.linspace(0, len(frames) - 1, 12).round().astype(int)]))
    px = 1.0 / mm_per_px
    rim = max(1, int(round(2.0 * px)))
    min_area = max(3, int(round(7.0 * px * px)))
    box = max(3, int(round(12.0 * px)) | 1)  # ~12 mm box: a separable mean, cheap at any size
    # Work in the box around the frames' cavities, wide enough for the mean filter and the erosion to read the
    # same pixels as on the whole frame (outside the cavity everything is zero there): identical, cheaper.
    crop = _mask_box(masks[frames + ref_frames].any(axis=0), box // 2 + rim + 2)
    nr = len(ref_frames)
    # the persistence frames and the plateau's frames as one stack (per-frame hole filling, erosion, 12 mm means)
    stack = frames + ref_frames
    filled_all = fill_holes(masks[stack][:, crop[0], crop[1]])
    inner_all = erode_cross(filled_all, rim)
    op_all = opacity[stack][:, crop[0], crop[1]]
    o_all = np.where(filled_all, op_all, 0.0)
    w_all = ndi.uniform_filter(filled_all.astype(np.float32), (1, box, box))
    local_all = ndi.uniform_filter(o_all.astype(np.float32), (1, box, box)) / np.maximum(w_all, 1e-3)
    low_all = inner_all & (op_all < 0.55 * local_all)
    ref_mask = 2 * masks[ref_frames][:, crop[0], crop[1]].sum(axis=0, dtype=np.int32) > nr
    ref_filled = np.zeros(masks.shape[1:], bool)
    ref_filled[crop] = fill_holes(ref_mask)
    rows = np.nonzero(ref_filled)[0]
    os_row = rows.max() if rows.size else 0
    cols_at_os = np.nonzero(ref_filled[os_row])[0]
    os_col = cols_at_os.mean() if cols_at_os.size else 0
    # the lucency on the plateau: low on at least LUCENCY_VOTE of its frames; its extent (where the displaced
    # contrast is at least a quarter of the filling) on at least half of them
    loose = np.zeros_like(ref_filled)
    loose_votes = (inner_all[-nr:] & (op_all[-nr:] < 0.8 * local_all[-nr:])).sum(axis=0)
    loose[crop] = 2 * loose_votes >= nr
    ref_low = np.zeros_like(ref_filled)
    ref_low[crop] = low_all[-nr:].sum(axis=0) >= LUCENCY_VOTE * nr
    lab, n = ndi.label(ref_low)
    out: list[Hole] = []
    for k in range(1, n + 1):
        comp = lab == k
        area = int(comp.sum())
        if area < min_area:
            continue
        r, c = ndi.center_of_mass(comp)
        if np.hypot((r - os_row), (c - os_col)) * mm_per_px < 10.0:
            continue
        comp_c = comp[crop]
        present = [i for j, i in enumerate(frames) if (low_all[j] & comp_c).sum() >= 0.3 * area]
        if len(present) < min_frames:
            continue
        llab, _ = ndi.label(loose)
        ids = np.unique(llab[comp])
        extent = np.isin(llab, ids[ids > 0]) if ids.any() else comp
        if extent.sum() > 4 * area:  # leaked along a thin horn or the margin: keep the core
            extent = comp
        out.append(Hole(float(r), float(c), float(extent.sum()), min(present), max(present)))
    for bite in plateau_bites(masks, ref_frames, frames, mm_per_px, min_frames=min_frames):
        if all(np.hypot(bite.row - h.row, bite.column - h.column) * mm_per_px > 8.0 for h in out):
            out.append(bite)
    return out


def plateau_bites(
    masks: np.ndarray, ref_frames: list[int], frames: list[int], mm_per_px: float, min_frames: int = 3
) -> list[Hole]:
    """Contour bites (:func:`contour_bites`) seen on at least ``LUCENCY_VOTE`` of the plateau's frames, each
    where its detections' centres agree (median; within half its radius of one another).

    Why per frame and a vote, not one bite test on a combined mask: the circle test sits close to its limits on
    real myomas (first renderer, tuning seed 70: RMS 5.4-7.6 % of the radius over its plateau frames, limit
    7.5 %), and a majority mask's pixel-voted border is rougher than any one frame's (8.0 %). A bite that passes on
    a third of the plateau's frames is there; which frame was picked as the maximum no longer decides it.
    """
    if not ref_frames:
        return []
    filled = {i: fill_holes(masks[i]) for i in set(frames)}
    found: list[tuple[int, Hole]] = []
    for j, i in enumerate(ref_frames):
        for bite in contour_bites(masks, masks[i], frames, mm_per_px, min_frames=min_frames, filled=filled):
            found.append((j, bite))
        for bite in wrapped_bites(masks[i], frames, filled, mm_per_px, min_frames=min_frames):
            found.append((j, bite))
    need = max(1, int(np.ceil(LUCENCY_VOTE * len(ref_frames) - 1e-9)))
    groups = []
    for _j, bite in found:
        reach = 0.5 * np.sqrt(bite.area_px / np.pi)
        near = [(j2, b2) for j2, b2 in found if np.hypot(b2.row - bite.row, b2.column - bite.column) <= reach]
        groups.append((len({j2 for j2, _ in near}), near))
    groups.sort(key=lambda g: -g[0])
    out: list[Hole] = []
    for support, near in groups:
        if support < need:
            break
        r = float(np.median([b.row for _, b in near]))
        c = float(np.median([b.column for _, b in near]))
        if any(np.hypot(r - h.row, c - h.column) * mm_per_px <= 8.0 for h in out):
            continue
        out.append(
            Hole(
                r,
                c,
                float(np.median([b.area_px for _, b in near])),
                min(b.first_index for _, b in near),
                max(b.last_index for _, b in near),
            )
        )
    return out


#: A wall mass the cavity wraps around (:func:`wrapped_bites`): a pixel outside the cavity that has cavity within
#: WRAP_REACH_MM in at least WRAP_SHARE of WRAP_DIRECTIONS directions is enclosed by it (beside a straight wall: half).
WRAP_SHARE = 0.7
WRAP_REACH_MM = 15.0
WRAP_DIRECTIONS = 24
GRID_RMS_PX = 0.29  # RMS of a digitised circle's border pixels about it (radius 3-8 px: 0.24-0.29)


def enclosure(mask: np.ndarray, reach: int, directions: int = WRAP_DIRECTIONS) -> np.ndarray:
    """Per pixel, the share of ``directions`` evenly spread directions in which ``mask`` lies within ``reach``
    pixels (outside the frame counts as empty). Each direction's ray is built by doubling (offsets 1, then 1-2,
    1-4, ...: a few shifts instead of one per step), each step rounded to the pixel grid."""
    h, w = mask.shape
    pad = reach + 1
    m = np.zeros((h + 2 * pad, w + 2 * pad), bool)
    m[pad:-pad, pad:-pad] = mask
    count = np.zeros((h, w), np.int16)

    def ahead(x: np.ndarray, k: int, dy: float, dx: float) -> np.ndarray:
        # x seen k steps along (dy, dx): the padding is wider than any ray, so the roll only wraps zeros
        return np.roll(x, (-int(round(k * dy)), -int(round(k * dx))), axis=(0, 1))

    for a in np.arange(directions) * 2.0 * np.pi / directions:
        dy, dx = float(np.sin(a)), float(np.cos(a))
        hit = ahead(m, 1, dy, dx)  # offsets 1 .. span
        span = 1
        while span < reach:
            step = min(span, reach - span)
            hit = hit | ahead(hit, step, dy, dx)
            span += step
        count += hit[pad:-pad, pad:-pad]
    return count / float(directions)


def wrapped_bites(
    ref_mask: np.ndarray,
    frames: list[int],
    filled: dict[int, np.ndarray],
    mm_per_px: float,
    radius_mm: tuple[float, float] = (2.5, 13.0),
    min_frames: int = 3,
) -> list[Hole]:
    """Wall defects the cavity wraps around: the region outside the cavity that the cavity encloses (it lies
    within 15 mm in at least 70 % of the directions, :func:`enclosure`), bordered by a *circular arc* (radius
    2.5-13 mm, RMS off the circle < 7.5 % of the radius or 0.6 px, the pixel grid's own scatter on small arcs).

    Why: a sessile polyp or submucous myoma at the wall is a round mass the distended cavity flows around; the
    contrast outline bends around it on more than the few degrees a wall's curve has. On a cavity that is not
    convex (a triangle with long horns, two horns, a wide cleft) the convex hull's unfilled part next to such a
    mass also takes in the slivers along the straight walls, and :func:`contour_bites`' circle through its whole
    border misses it (independent renderer, tuning seeds 0-79: RMS 13-39 % of the radius on 10 of its 16 missed
    defects). Only the enclosed part is read here: beside a straight wall a pixel sees the cavity in half the
    directions. The corners of a T-shaped cavity, a cleft between two horns and the narrowing to the cervix are
    enclosed too, but their borders are straight lines and a corner, not an arc (RMS 12-44 %). The mass must be
    there (60 % of its inner disc unfilled) on ``min_frames`` of the well-filled frames, 10 mm above the os.
    """
    ref = fill_holes(ref_mask)
    if ref.sum() < 20:
        return []
    px = 1.0 / mm_per_px
    reach = max(2, int(round(WRAP_REACH_MM * px)))
    box = _mask_box(ref, reach + 2)
    sub = ref[box]
    enclosed = open_cross(~sub & (enclosure(sub, reach) >= WRAP_SHARE))
    lab, n = ndi.label(enclosed)
    if n == 0:
        return []
    edge = sub & ~erode_cross(sub, 1)
    os_row = np.nonzero(sub)[0].max()
    out: list[Hole] = []
    yy, xx = np.ogrid[: sub.shape[0], : sub.shape[1]]
    for k in range(1, n + 1):
        comp = lab == k
        if comp.sum() < 0.5 * np.pi * (radius_mm[0] * px) ** 2:
            continue
        br, bc = np.nonzero(edge & dilate_cross(comp, 1))
        if br.size < 8:
            continue
        cr, cc, rad, resid = _fit_circle(br.astype(float), bc.astype(float))
        if not (radius_mm[0] * px <= rad <= radius_mm[1] * px) or resid > np.hypot(0.075 * rad, GRID_RMS_PX):
            continue
        if (os_row - cr) * mm_per_px < 10.0:  # the balloon at the internal os
            continue
        core = (np.hypot(yy - cr, xx - cc) <= 0.6 * rad) & comp
        if core.sum() == 0:
            continue
        present = [i for i in frames if (core & ~filled[i][box]).sum() >= 0.6 * core.sum()]
        if len(present) < min_frames:
            continue
        out.append(
            Hole(cr + box[0].start, cc + box[1].start, float(np.pi * rad * rad), min(present), max(present))
        )
    return out


def _fit_circle(rows: np.ndarray, cols: np.ndarray) -> tuple[float, float, float, float]:
    """Least-squares (Kåsa) circle through points: centre row, centre column, radius, RMS radial residual."""
    a = np.column_stack([cols, rows, np.ones_like(cols)])
    b = cols**2 + rows**2
    (p, q, s), *_ = np.linalg.lstsq(a, b, rcond=None)
    cc, cr = p / 2.0, q / 2.0
    rad = float(np.sqrt(max(s + cc**2 + cr**2, 0.0)))
    resid = float(np.sqrt(np.mean((np.hypot(rows - cr, cols - cc) - rad) ** 2)))
    return float(cr), float(cc), rad, resid


def contour_bites(
    masks: np.ndarray,
    ref_mask: np.ndarray,
    frames: list[int],
    mm_per_px: float,
    radius_mm: tuple[float, float] = (4.0, 13.0),
    min_frames: int = 3,
    filled: dict[int, np.ndarray] | None = None,
) -> list[Hole]:
    """Filling defects that deform the outline (a submucous myoma bulging in from the wall): round bites.

    Why: a lucency that reaches the wall is not a hole in the mask, so :func:`persistent_lucencies` cannot see it.
    A bite is a part of the convex hull the cavity does not fill whose cavity-side border is a *circular arc*
    (radius 4-13 mm, RMS off the circle < 7.5 % of it, covering > 120° around the fitted centre): a round mass
    pressed into the cavity. The fundal cleft of two hemicavities (straight-sided V / U), the concave sides of a
    T-shaped cavity (RMS 10-20 % of the radius on tuning seeds, myomas 2.5-5.5 %) and the gentle concave side of a
    unicornuate one fit no such circle. The bite must be there
    at the same place on ``min_frames`` of the well-filled frames.
    """
    from skimage.morphology import convex_hull_image

    full = fill_holes(ref_mask)
    if full.sum() < 20:
        return []
    px = 1.0 / mm_per_px
    # in the mask's box, wide enough for the inner disc of the largest bite: the same values, cheaper
    box = _mask_box(full, int(0.6 * radius_mm[1] * px) + 4)
    ref = full[box]
    hull = convex_hull_image(ref)
    deficit = open_cross(hull & ~ref)
    lab, n = ndi.label(deficit)
    if n == 0:
        return []
    min_area = 0.5 * np.pi * (radius_mm[0] * px) ** 2
    edge = ref & ~erode_cross(ref, 1)
    rows_all = np.nonzero(ref)[0]
    os_row = rows_all.max()
    out: list[Hole] = []
    for k in range(1, n + 1):
        comp = lab == k
        if comp.sum() < min_area:
            continue
        border = edge & dilate_cross(comp, 2)
        br, bc = np.nonzero(border)
        if br.size < 8:
            continue
        cr, cc, rad, resid = _fit_circle(br.astype(float), bc.astype(float))
        if not (radius_mm[0] * px <= rad <= radius_mm[1] * px) or resid > 0.075 * rad:
            continue
        ang = np.sort(np.arctan2(br - cr, bc - cc))
        gaps = np.diff(np.concatenate([ang, ang[:1] + 2 * np.pi]))
        coverage = 2 * np.pi - float(gaps.max())
        if np.degrees(coverage) < 120.0:
            continue
        if (os_row - cr) * mm_per_px < 10.0:  # the balloon at the internal os bites too
            continue
        yy, xx = np.ogrid[: ref.shape[0], : ref.shape[1]]
        core = np.hypot(yy - cr, xx - cc) <= 0.6 * rad
        if core.sum() == 0:
            continue
        if filled is None:
            filled = {i: fill_holes(masks[i]) for i in frames}
        present = [i for i in frames if (core & ~filled[i][box] & hull).sum() >= 0.6 * core.sum()]
        if len(present) < min_frames:
            continue
        out.append(
            Hole(cr + box[0].start, cc + box[1].start, float(np.pi * rad * rad), min(present), max(present))
        )
    return out
