"""Uterine cavity: mask per frame, fill curve, maximal distension and its plateau, shape metrics.

The cavity is the dense opacity that appears *first* and stays: tracking it from its first appearance keeps a late,
equally dense loculated spill or a catheter balloon from being taken for it. A morphological opening removes the
thin structures (catheter lumen, tubes, venous lace) that touch it.

Filling-defect candidates, which read the distended cavity over the plateau, are in ``defects.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.morph import (
    dilate_cross,
    label_frames,
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
PLATEAU_READ_FRAMES = (
    9  # at most this many frames, evenly spread over the distension plateau, make its reference
)
# Once distended, the cavity keeps its size: a tracked mask later larger than this many times the distended
# cavity has taken in contrast from outside (tuning 0-79: first renderer <= 1.03; independent dense spill and
# pockets 1.24-2.84) ...
DISTENDED_GROWTH_CAP = 1.15
# ... and is cut back to the distended cavity grown by this (the last give of the wall under pressure)
DISTENDED_REACH_MM = 2.0


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
    if max_index is not None and cap_distended(masks, areas, max_index, plateau, mm_per_px):
        areas = masks.sum(axis=(1, 2)).astype(np.float64)
    return CavityTrack(masks, areas, first, max_index, open_radius_for(mm_per_px), plateau)


def cap_distended(
    masks: np.ndarray, areas: np.ndarray, max_index: int, plateau: list[int], mm_per_px: float
) -> bool:
    """Cut back, in place, every mask after maximal distension that outgrew the distended cavity; True if any.

    Why: the uterine cavity is a closed organ that stops growing once distended; what the tracked component
    gains later beyond ``DISTENDED_GROWTH_CAP`` times its distended area is dense contrast outside it that came
    to touch it — a free-spill cloud, a loculated pocket against the wall, a dense tube — and, counted as
    cavity, it was hidden from the side signals (independent renderer, tuning 0-79: the loops of 8 missed
    spill sides had masks 1.24-2.84 times the distended cavity; 5 of those sides are found with the cut). Such
    a frame keeps only the part within ``DISTENDED_REACH_MM`` of the cavity over its distension plateau (the
    components of it that touch that cavity). The first renderer's cavity stays within 3 % of its distended
    area, so its masks never change. The maximal-distension pick and its plateau are read from the uncut
    curve (the cut only lowers frames after the pick). Cost: what the cut exposes is read as it is — the other
    side's cloud that drifted under the cavity, a hydrosalpinx lying across its outline (docs/analysis-s9-cavity.md).
    """
    frames = plateau or [max_index]
    ref = masks[frames].any(axis=0)
    limit = DISTENDED_GROWTH_CAP * float(ref.sum())
    over = [i for i in range(max_index + 1, len(masks)) if areas[i] > limit]
    if not over:
        return False
    allowed = dilate_cross(ref, max(1, int(round(DISTENDED_REACH_MM / mm_per_px))))
    for i in over:
        lab, _n = ndi.label(masks[i] & allowed)
        ids = np.unique(lab[ref])
        masks[i] = np.isin(lab, ids[ids > 0])
    return True


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
