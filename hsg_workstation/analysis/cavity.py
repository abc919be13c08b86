"""Uterine cavity: mask per frame, fill curve, maximal distension, shape metrics, filling-defect candidates.

The cavity is the dense opacity that appears *first* and stays: tracking it from its first appearance keeps a late,
equally dense loculated spill or a catheter balloon from being taken for it. A morphological opening removes the
thin structures (catheter lumen, tubes, venous lace) that touch it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import disk

from hsg_workstation.measurements import Calibration


@dataclass(slots=True)
class CavityTrack:
    masks: np.ndarray  # (T, h, w) bool
    areas_px: np.ndarray  # (T,) working pixels
    first_index: int | None  # 0-based first frame with a cavity
    max_index: int | None
    open_radius: int


def open_radius_for(shape: tuple[int, int]) -> int:
    return max(2, int(round(max(shape) / 110)))


def _largest_overlapping(lab: np.ndarray, n: int, seed: np.ndarray | None) -> np.ndarray:
    if n == 0:
        return np.zeros(lab.shape, bool)
    if seed is not None and seed.any():
        ids = np.unique(lab[seed & (lab > 0)])
        if ids.size:
            return np.isin(lab, ids)
        return np.zeros(lab.shape, bool)
    sizes = ndi.sum_labels(np.ones_like(lab), lab, index=np.arange(1, n + 1))
    return lab == (int(np.argmax(sizes)) + 1)


def dense_mask(opacity: np.ndarray, level: float, radius: int, threshold: float = 0.5) -> np.ndarray:
    """Dense-contrast mask of one frame after an opening that cuts thin structures away."""
    m = opacity > threshold * level
    if radius > 0:
        m = ndi.binary_opening(m, structure=disk(radius))
    return m


def track_cavity(opacity: np.ndarray, level: float, valid: np.ndarray) -> CavityTrack:
    t, h, w = opacity.shape
    radius = open_radius_for((h, w))
    min_area = max(4 * radius * radius, int(0.0015 * valid.sum()))
    masks = np.zeros((t, h, w), bool)
    seed: np.ndarray | None = None
    first = None
    for i in range(t):
        m = dense_mask(opacity[i], level, radius) & valid
        lab, n = ndi.label(m)
        if seed is None:
            comp = _largest_overlapping(lab, n, None)
            # persistence: the same component must be there in the next frame too
            if comp.sum() >= min_area and i + 1 < t:
                nxt = dense_mask(opacity[i + 1], level, radius) & valid
                if (nxt & comp).sum() >= 0.5 * comp.sum():
                    seed, first = comp, i
                    masks[i] = comp
            continue
        grown_seed = ndi.binary_dilation(seed, iterations=2)
        comp = _largest_overlapping(lab, n, grown_seed)
        if comp.sum() > 0:
            # fill holes so that defects do not shrink the cavity; defects are found from the holes separately
            masks[i] = comp
            seed = comp
    areas = masks.sum(axis=(1, 2)).astype(np.float64)
    max_index = None
    if areas.max() > 0:
        sm = np.convolve(areas, np.ones(3) / 3, mode="same")
        sm[0], sm[-1] = areas[0], areas[-1]
        cand = np.flatnonzero(sm >= 0.985 * sm.max())
        max_index = int(cand[0]) if cand.size else int(np.argmax(areas))
    return CavityTrack(masks, areas, first, max_index, radius)


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
    rows, cols = np.nonzero(mask)
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
    top = np.full(c_range.size, np.nan)
    for k, c in enumerate(c_range):
        col = np.flatnonzero(mask[:, c])
        if col.size:
            top[k] = col[0]
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


def persistent_holes(masks: np.ndarray, ref_index: int, min_area_px: int, min_frames: int = 3) -> list[Hole]:
    """Holes of the cavity mask on the reference frame that are also holes on ``min_frames`` other frames.

    A filling defect stays where it is while the cavity fills around it; a noise hole or a bubble passing through
    does not. Only enclosed holes count (a defect cutting the contour is not found — see docs/analysis.md).
    """
    ref = masks[ref_index]
    holes = ndi.binary_fill_holes(ref) & ~ref
    lab, n = ndi.label(holes)
    out: list[Hole] = []
    if n == 0:
        return out
    per_frame = [ndi.binary_fill_holes(m) & ~m if m.any() else None for m in masks]
    for lb in range(1, n + 1):
        comp = lab == lb
        area = int(comp.sum())
        if area < min_area_px:
            continue
        present = [i for i, h in enumerate(per_frame) if h is not None and (h & comp).sum() >= 0.3 * area]
        if len(present) < min_frames:
            continue
        r, c = ndi.center_of_mass(comp)
        out.append(Hole(float(r), float(c), float(area), min(present), max(present)))
    return out
