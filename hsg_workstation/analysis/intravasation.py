"""Venous intravasation: contrast that enters the uterine / parametrial veins and is carried away.

What tells venous contrast from everything else that appears outside the cavity (each a physical property, none
one renderer's look):

- it **washes out**: veins drain, so venous contrast is gone before the end of the loop, whereas tubes, spill and
  retained sacs stay (absent, with a 2 mm margin, from the last 10 % of the frames);
- it is **thin**: a fine lace of vessels a millimetre or two wide. Whatever survives an opening of ~3 mm (a
  spill cloud, a sac or cavity edge that shifts, a gas bubble) is not venous;
- it starts **at the uterus** (the lace leaves the cavity through the myometrium): components must reach within
  ``REACH_MM`` of the cavity at maximal distension;
- it is **contrast, not a moved edge**: contrast only adds opacity. A structure that moves between frames (bowel
  gas, a cannula or tenaculum under traction, a collimator blade, the whole field) leaves a positive lobe where it
  went *and* a negative one beside it; components with a quarter of their pixels within ``DIPOLE_MM`` of clearly
  negative opacity are dropped, and so are thin slivers that hug persistent contrast or the cavity of the same
  frame (the edge of a structure that grew or moved);
- it is **dense for its calibre**: the hysteresis fringe of a faint scatter glow around the dense cavity breaks up
  into speckle that only just passes the noise threshold; a component is venous only if its mean contrast-to-
  noise ratio is at least ``MIN_COMPONENT_SNR``.

The call needs the venous area over a size threshold on several frames (as before: ≥ 3 frames and 2.5× at the
peak, or ≥ 6 frames and 1.6×). Its raw score (mapped to a measured accuracy by analysis/calibration.py) is not the
loop-quality factor of the spill call (which put every loop of the independent renderer at "can't tell") but the
evidence this call rests on:

- "present": the margin in area and frames and the components' contrast-to-noise, times how clean the frames are
  (venous area against the clearly negative — moved — area near the veins, in those frames and in the last
  frames against which "washed out" was judged), times the **lace** shape (a lace is several vessels that fork:
  ``BRANCH_MIN`` fork points of the skeleton, ``PIECES_MIN`` pieces; an emptying tube or a moved edge is one or
  two unforked lines), times how much the veins **stand out** from their 0.5-1.5 mm surroundings (a vessel does;
  the speckled fringe of a smooth glow, whose surroundings sit just below the threshold, does not);
- "absent": whether a lace could have been seen at all (veins carry a fraction of the cavity's density: the
  cavity level must stand well above the noise), whether a wash-out could have been seen (not when end-of-loop
  contrast or an uncorrected brightness drift covers nearly all of the cavity's surroundings), and how close
  transient contrast came to the call (a near-miss). Until session 8 also whether the field near the cavity
  stood still: motion makes false venous contrast (the "present" factor), it does not hide a lace. Since session 9
  the near-miss leaves out what uncorrected motion drew: on a frame the registration left a pixel off, the part of
  the transient contrast that the frame's residual translation of the background predicts at those pixels
  (:class:`Translation`); a lace lies where the background has no edge and keeps its near-miss.

A fork-point *gate* on the call was tried and lost a faint first-renderer lace that breaks into unforked pieces;
it is a score factor instead (docs/analysis-s5-intravasation.md).

Until session 5 this lived in tubes.py and took the side signals' extra-cavitary mask, which leaves out the convex
hull of the cavity (for the tube search): a lace around and between a wide cavity and its cornual sacs vanished in
it, and the wide transient crescents of a shifting sac edge counted as veins (docs/analysis-s5-intravasation.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import skeletonize

from hsg_workstation.analysis.morph import (
    dilate_cross,
    erode_cross,
    label_frames,
    mask_box,
    square_max,
    square_min,
)

REACH_MM = 15.0  # transient contrast counts as venous only in components reaching this near the cavity
THIN_MM = 1.5  # opening radius: what survives a (2r+1)² square this wide is not a vein
HUG_MM = (
    1.5  # a thin sliver this close to persistent contrast / the cavity is the edge of a shifted structure
)
HUG_SHARE = 0.5
DIPOLE_MM = 8.0  # a moved structure's negative lobe lies within this distance (gas bubbles: several mm apart)
DIPOLE_SHARE = 0.25
NEGATIVE_SNR = 4.0
MIN_COMPONENT_SNR = 3.0  # mean contrast-to-noise of a venous component (speckle of a glow: ~2.8)
BRANCH_MIN = 5  # fork points of the skeleton for a sure lace (tubes, moved lines: 0-2; tuning laces: 7-93)
PIECES_MIN = 4  # separate venous pieces on a frame for a sure lace (tubes, moved edges, speckle: 1-2)
ROI_MM = 10.0  # moved structures count within this distance of the venous contrast (2x around the cavity)
TAIL_BLIND = (
    0.15  # "absent" loses its certainty as the end-of-loop contrast covers > 85 % of the surroundings
)
SURROUNDINGS_MM = 20.0  # ... within this distance of the cavity
STANDOUT_MIN = (
    1.0  # vein minus its 0.5-1.5 mm surroundings, noise sigmas (glow speckle 1.0-1.5, laces 1.6-4.2)
)
AREA_MIN_MM2 = 40.0  # venous area on a frame that counts (or 3 % of the cavity, when larger)
# Uncorrected patient motion (session 9; Translation.drawn): the share of a frame's venous opacity that the frame's
# residual translation predicts — tuning laces <= 0.07, moved anatomy edges 0.54-0.76 — from none to all of the
# frame's venous area discounted from an "absent" near-miss
MOTION_DRAWN = (0.1, 0.4)


@dataclass(slots=True)
class Intravasation:
    present: bool
    score: float  # raw, 0-1 (analysis/calibration.py maps it to the measured share of correct calls)
    peak_index: int | None
    # the evidence, for the evaluation and the docs
    peak_mm2: float = 0.0
    frames_over: int = 0
    clean: float = 1.0  # venous / (venous + negative) area over the frames that count; 1 = nothing moved
    branches: float = 0.0  # fork points of the venous skeleton (median of the three largest frames)
    pieces: float = 0.0  # separate venous components (median of the three largest frames)
    standout: float = 0.0  # venous contrast-to-noise minus that of its immediate surroundings (peak frame)
    component_snr: float = 0.0
    detectability: float = 0.0  # cavity level / noise
    # first and last frame (0-based) with the venous area over the call's size threshold, when present
    over_frames: tuple[int, int] | None = None

    @property
    def sure_lace(self) -> bool:
        """A call of a lace by its shape alone: several venous pieces that fork (``BRANCH_MIN`` fork points and
        ``PIECES_MIN`` pieces, the shape factor of the score at 1). A moved edge, an emptying tube or the
        speckled fringe of a glow is one or two unforked pieces (tuning: 0-5 fork points, 1-3 pieces)."""
        return self.present and min(self.branches / BRANCH_MIN, (self.pieces - 1) / (PIECES_MIN - 1)) >= 1.0

    @property
    def lace_frames(self) -> tuple[int, int] | None:
        """The frames (first, last; 0-based) over which a sure lace stood next to the cavity, else None: what
        the first-tubal-filling rule must not read as a tube (analysis/tubal_fill.py)."""
        return self.over_frames if self.sure_lace else None


def venous_mask(
    opacity: np.ndarray,
    contrast: np.ndarray,
    masks: np.ndarray,
    ref_mask: np.ndarray,
    valid: np.ndarray,
    catheter: np.ndarray,
    first_index: int,
    noise: float,
    mm_per_px: float,
    cavity_mm: np.ndarray | None = None,
) -> np.ndarray:
    """(T, h, w) bool: the contrast of each frame that passes every test of the module docstring.

    ``cavity_mm``: the distance to the cavity at maximal distension in mm (``_cavity_distance_mm``), if at hand.

    Computed on crops (session 6; same mask): every test reads nothing farther than ``reach`` pixels from a
    candidate pixel, so the stack is first cut to the box of the candidate contrast (plus ``reach``), then to
    the frames and box of the transient contrast (plus ``reach``). The pixels' order within a frame is kept, so
    even the float sums per component are the same. Most frames of most loops hold no transient contrast at all.
    """
    px = 1.0 / mm_per_px
    out = np.zeros(contrast.shape, bool)
    gap = max(1, int(round(2.0 * px)))
    r = max(1, int(round(THIN_MM * px)))
    hug_r = max(1, int(round(HUG_MM * px)))
    dipole_r = max(1, int(round(DIPOLE_MM * px)))
    reach = max(gap, 2 * r + 1, hug_r, dipole_r, int(round(2.0 * px))) + 1
    base = contrast & (valid & ~catheter)[None]
    base[:first_index] = False  # venous filling needs contrast in the cavity first
    box = mask_box(base.any(axis=0), reach)
    if box is None:
        return out
    cavity = square_max(masks[:, box[0], box[1]], gap)
    cavity |= square_max(ref_mask, max(1, int(round(3.0 * px))))[None, box[0], box[1]]
    cand = base[:, box[0], box[1]] & ~cavity
    tail = tail_mask(cand, px)
    transient = cand & ~tail[None]
    frames = np.flatnonzero(transient.any(axis=(1, 2)))
    if frames.size == 0:
        return out
    inner = mask_box(transient.any(axis=0), reach)
    assert inner is not None
    transient = transient[frames][:, inner[0], inner[1]]
    persistent = (cand[frames] & tail[None])[:, inner[0], inner[1]]
    # the same box in the full frame
    rows = slice(box[0].start + inner[0].start, box[0].start + inner[0].stop)
    cols = slice(box[1].start + inner[1].start, box[1].start + inner[1].stop)
    wide = square_max(square_min(transient, r), r) & transient
    thin = transient & ~wide
    lab, n = label_frames(thin)
    if n == 0:
        return out
    sizes = np.bincount(lab.ravel(), minlength=n + 1).astype(float)
    inside = lab > 0
    hug = square_max(persistent | wide | masks[:, rows, cols][frames], hug_r)
    hugging = np.bincount(lab[hug & inside], minlength=n + 1)
    snr = opacity[:, rows, cols][frames] / np.float32(noise)
    neg = square_max((snr < -NEGATIVE_SNR) & valid[None, rows, cols], dipole_r)
    moved = np.bincount(lab[neg & inside], minlength=n + 1)
    if cavity_mm is None:
        cavity_mm = _cavity_distance_mm(ref_mask, mm_per_px)
    near = cavity_mm[rows, cols] <= REACH_MM
    reaching = np.bincount(lab[near[None] & inside], minlength=n + 1)
    mean_snr = np.bincount(lab[inside], weights=snr[inside].astype(np.float64), minlength=n + 1)
    mean_snr /= np.maximum(sizes, 1.0)
    keep = (
        (hugging < HUG_SHARE * sizes)
        & (moved < DIPOLE_SHARE * sizes)
        & (reaching > 0)
        & (mean_snr >= MIN_COMPONENT_SNR)
    )
    keep[0] = False
    out[frames, rows, cols] = keep[lab]
    return out


def _cavity_distance_mm(ref_mask: np.ndarray, mm_per_px: float) -> np.ndarray:
    """Distance to the cavity at maximal distension, mm (one transform for the reach, the ROI and the tail)."""
    return ndi.distance_transform_edt(~ref_mask) * mm_per_px


def tail_mask(cand: np.ndarray, px: float) -> np.ndarray:
    """Where contrast is at the end of the loop (any of the last 10 % of the frames), grown by 2 mm: what is there
    has not washed out."""
    return dilate_cross(cand[-tail_frames(cand.shape[0]) :].any(axis=0), max(1, int(round(2.0 * px))))


def tail_frames(t: int) -> int:
    """How many frames at the end of a ``t``-frame loop count as "the end of the loop" (10 %, at least 2)."""
    return max(2, t // 10)


def detect_intravasation(
    opacity: np.ndarray,
    contrast: np.ndarray,
    masks: np.ndarray,
    ref_mask: np.ndarray,
    valid: np.ndarray,
    catheter: np.ndarray,
    first_index: int,
    noise: float,
    level: float,
    mm_per_px: float,
    background: np.ndarray | None = None,
) -> Intravasation:
    """The call, its raw score and the frame of the largest venous area (0-based).

    ``contrast``: per-frame contrast above the noise (tubes.raw_contrast); ``masks``: the tracked cavity per frame,
    ``ref_mask`` at maximal distension; ``catheter``: the catheter lumen (tubes.catheter_mask); ``level``: the
    dense-contrast level of the cavity; ``background``: the contrast-free image the opacity is taken against
    (signed like the opacity, ``OpacityStack.background``) — with it, transient contrast on frames that still
    carry uncorrected motion does not make an "absent" call unsure (:meth:`Translation.drawn`).
    """
    t = opacity.shape[0]
    detect = float(level / max(noise, 1e-6))
    if t < 4 or not ref_mask.any():
        return Intravasation(False, 0.0, None, detectability=detect)
    cavity_mm = _cavity_distance_mm(ref_mask, mm_per_px)
    vein = venous_mask(
        opacity, contrast, masks, ref_mask, valid, catheter, first_index, noise, mm_per_px, cavity_mm
    )
    px2 = mm_per_px * mm_per_px
    areas = vein.sum(axis=(1, 2)) * px2
    thr = max(AREA_MIN_MM2, 0.03 * float(ref_mask.sum()) * px2)
    over = areas >= thr
    frames_over = int(over.sum())
    peak = int(np.argmax(areas))
    margin = float(areas[peak]) / thr
    big = np.argsort(areas)[::-1][: min(3, frames_over)]
    branches = float(np.median([_fork_points(vein[i]) for i in big])) if big.size else 0.0
    pieces = float(np.median([ndi.label(vein[i])[1] for i in big])) if big.size else 0.0
    present = frames_over >= 3 and (margin >= 2.5 or (frames_over >= 6 and margin >= 1.6))
    # what moved: clearly negative opacity in the frames that count (or, without any, in the whole loop), and in
    # the last frames, against which "washed out" was judged (a field that moved late makes early contrast vanish)
    # ... where it matters: around the venous contrast (without any, around the cavity, where a lace would be)
    seen = vein.any(axis=0)
    roi = square_max(seen, int(round(ROI_MM / mm_per_px))) if seen.any() else None
    if roi is None:
        roi = cavity_mm <= 2.0 * ROI_MM
    where = valid & roi
    box = mask_box(where, 0)  # counted only inside: the box of ``where`` gives the same counts
    if box is None:
        neg = np.zeros(t)
    else:
        moved = opacity[:, box[0], box[1]] < -NEGATIVE_SNR * noise
        neg = (moved & where[None, box[0], box[1]]).sum(axis=(1, 2)) * px2
    neg_tail = float(np.median(neg[-tail_frames(t) :]))
    if frames_over:
        v_mean = float(areas[over].mean())
        clean = v_mean / (v_mean + float(neg[over].mean()) + neg_tail)
    else:
        clean = 1.0 / (1.0 + (float(np.median(neg)) + neg_tail) / thr)
    snr_v = float((opacity[peak][vein[peak]] / noise).mean()) if vein[peak].any() else 0.0
    standout = _standout(opacity[peak] / noise, vein[peak], contrast[peak], masks[peak], px=1.0 / mm_per_px)
    if present:
        strength = float(np.clip((margin - 1.6) / 4.0, 0.0, 1.0))
        lasting = float(np.clip(frames_over / 8.0, 0.0, 1.0))
        dense = float(np.clip((snr_v - MIN_COMPONENT_SNR) / 1.5, 0.0, 1.0))
        # a lace: several vessels at once, which fork; a tube, a moved edge or a speckled glow is one or two
        # pieces, and a tube does not fork
        lace = min(branches / BRANCH_MIN, (pieces - 1) / (PIECES_MIN - 1))
        lace = float(np.clip(lace, 0.0, 1.0))
        # a vessel stands out from its immediate surroundings; the speckled fringe of a smooth scatter glow does
        # not (its surroundings sit just below the noise threshold)
        sharp = float(np.clip((standout - STANDOUT_MIN) / STANDOUT_MIN, 0.0, 1.0))
        score = (0.3 + 0.7 * (0.4 * strength + 0.3 * lasting + 0.3 * dense)) * clean
        score *= (0.5 + 0.5 * lace) * (0.5 + 0.5 * sharp)
    else:
        # "absent" is sure when a lace would have shown (veins carry a fraction of the cavity's density: the
        # cavity must stand well above the noise) and no near-miss of transient contrast came close. Not the
        # motion near the cavity (``clean``): a moved structure makes transient contrast that is *not* a lace
        # (which is why it lowers a "present" call), it does not hide the thin forking lines of one that is.
        # Session 8: on the independent renderer's tuning loops ``clean`` was below 0.5 on 12 of 56 right
        # "absent" calls (bowel gas, devices moving) and on 1 of 5 wrong ones; with it the called share of the
        # intravasation answers stayed at 24-30 % though the raw call was right on 84-90 %
        # (docs/analysis-s8-fill.md)
        seeing = float(np.clip((detect - 12.0) / 30.0, 0.0, 1.0))
        # ... and a wash-out could have been seen: when contrast (or an uncorrected brightness drift) covers
        # nearly all of the cavity's surroundings at the end, nothing there can be seen to vanish
        seeing *= float(
            np.clip(
                (1.0 - _tail_share(contrast, masks, ref_mask, valid, catheter, mm_per_px, cavity_mm))
                / TAIL_BLIND,
                0.0,
                1.0,
            )
        )
        # the near-miss on frames the patient had not moved on: a frame the registration left a pixel off shows
        # the anatomy's edges as thin transient "contrast" beside the cavity (session 9: every first-renderer
        # "absent" call that stayed uncalled under motion), a lace near-miss lies on a still background
        still = float(areas[peak])
        if background is not None and margin > 0.0:
            still = _still_peak(areas, vein, opacity, background, contrast, valid)
        near_miss = min(still / thr, 2.5) / 2.5
        score = seeing * (1.0 - 0.8 * near_miss)
    return Intravasation(
        bool(present),
        float(np.clip(score, 0.0, 1.0)),
        peak if present else None,
        peak_mm2=float(areas[peak]),
        frames_over=frames_over,
        clean=float(clean),
        component_snr=snr_v,
        detectability=detect,
        branches=branches,
        pieces=pieces,
        standout=standout,
        over_frames=(int(np.flatnonzero(over)[0]), int(np.flatnonzero(over)[-1])) if present else None,
    )


@dataclass(slots=True)
class Translation:
    """The fit ``opacity ≈ c + a·∂background/∂row + b·∂background/∂col`` over the contrast-free anatomy of a loop.

    Why: a frame moved by a sub-pixel ``u`` against the background it is subtracted from is ``−u·∇background`` —
    the anatomy's edges as thin +/− lines, which the hysteresis picks up beside the cavity as transient,
    washing-out "contrast". The registration keeps a shift only when it clearly lowers the residual, so at the start
    and end of a motion it leaves frames 0.6-1.5 px off (first renderer; on some loops no shift is kept at all).
    Noise, gain steps and contrast do not look like the background's gradient: R² 0-0.06 on still frames, 0.2-0.65
    on those left off.
    """

    free: np.ndarray  # (h, w) bool: valid, 4 px inside the shutter, 3 px away from any contrast of the loop
    gradient: np.ndarray  # (2, h, w): the background's gradient after the opacity's own smoothing
    design: np.ndarray  # (n, 3) over ``free``: the two gradients and a constant
    solve: np.ndarray  # (3, n): its pseudo-inverse, one least-squares solution for every frame

    @classmethod
    def of(cls, background: np.ndarray, contrast: np.ndarray, valid: np.ndarray) -> Translation | None:
        free = erode_cross(valid, 4) & ~square_max(contrast.any(axis=0), 3)
        if np.count_nonzero(free) < 100:
            return None
        gradient = np.stack(np.gradient(ndi.gaussian_filter(background.astype(np.float32), 1.0)))
        design = np.concatenate(
            [gradient[:, free].T, np.ones((np.count_nonzero(free), 1), np.float32)], axis=1
        )
        design = design.astype(np.float64)
        return cls(free, gradient, design, np.linalg.pinv(design))

    def fit(self, frame: np.ndarray) -> tuple[float, np.ndarray]:
        """R² of the fit on one frame, and the opacity it predicts over the whole frame."""
        b = frame[self.free].astype(np.float64)
        b -= b.mean()
        total = float(b @ b)
        if total <= 0.0:
            return 0.0, np.zeros(frame.shape, np.float32)
        coef = self.solve @ b
        res = b - self.design @ coef
        return max(0.0, 1.0 - float(res @ res) / total), np.tensordot(coef[:2], self.gradient, axes=1)

    def drawn(self, frame: np.ndarray, vein: np.ndarray) -> float:
        """The share of a frame's venous opacity that the frame's translation predicts at those very pixels (mean
        over the venous pixels of predicted / observed, clipped to 0-1).

        A moved anatomy edge *is* that prediction (the near-miss frames of the first renderer's moving tuning
        loops: 0.54-0.76, partly 0.17-0.31 on one); a lace is contrast where the background has no edge, even on a
        frame that moved (0.00-0.07 on the lace frames looked at, first and independent renderer, one 0.17 on a
        moved frame), so a lace is not discounted for the motion around it — only what the motion drew.
        """
        _, predicted = self.fit(frame)
        return float(np.clip(predicted[vein] / np.maximum(frame[vein], 1e-6), 0.0, 1.0).mean())


def _still_peak(
    areas: np.ndarray,
    vein: np.ndarray,
    opacity: np.ndarray,
    background: np.ndarray,
    contrast: np.ndarray,
    valid: np.ndarray,
) -> float:
    """The largest venous area of a frame less the share the frame's residual translation drew
    (:meth:`Translation.drawn`, ramped by ``MOTION_DRAWN``). Frames are taken from the largest area down and the
    search stops when no smaller area can beat the best so far (the same maximum as over every frame)."""
    model = Translation.of(background, contrast, valid)
    if model is None:
        return float(areas.max())
    lo, hi = MOTION_DRAWN
    best = 0.0
    for i in np.argsort(areas)[::-1]:
        if areas[i] <= best:
            break
        drawn = model.drawn(opacity[i], vein[i])
        best = max(best, float(areas[i]) * (1.0 - float(np.clip((drawn - lo) / (hi - lo), 0.0, 1.0))))
    return best


def _fork_points(mask: np.ndarray) -> int:
    """Pixels of the skeleton of ``mask`` with three or more skeleton neighbours (8-connected): where the centre
    lines fork."""
    if not mask.any():
        return 0
    sk = skeletonize(mask)
    nb = ndi.convolve(sk.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - sk
    return int(np.count_nonzero(sk & (nb >= 3)))


def _tail_share(
    contrast: np.ndarray,
    masks: np.ndarray,
    ref_mask: np.ndarray,
    valid: np.ndarray,
    catheter: np.ndarray,
    mm_per_px: float,
    cavity_mm: np.ndarray,
) -> float:
    """Share of the cavity's surroundings (within ``SURROUNDINGS_MM``, outside the cavity) that holds contrast at
    the end of the loop: where a lace could not be seen to wash out."""
    px = 1.0 / mm_per_px
    cavity = square_max(masks[-1], max(1, int(round(2.0 * px)))) | square_max(
        ref_mask, max(1, int(round(3.0 * px)))
    )
    region = (cavity_mm <= SURROUNDINGS_MM) & ~cavity & valid
    if not region.any():
        return 1.0
    # only the last frames are read by tail_mask: the candidates of those alone give the same mask
    last = contrast[-tail_frames(contrast.shape[0]) :] & (valid & ~catheter & ~cavity)[None]
    return float(dilate_cross(last.any(axis=0), max(1, int(round(2.0 * px))))[region].mean())


def _standout(
    snr: np.ndarray, vein: np.ndarray, contrast: np.ndarray, cavity: np.ndarray, px: float
) -> float:
    """Mean contrast-to-noise of the venous pixels of one frame minus that of the ring 0.5-1.5 mm around them
    (outside any contrast and the cavity)."""
    if not vein.any():
        return 0.0
    inner = max(1, int(round(0.5 * px)))
    outer = max(inner + 1, int(round(1.5 * px)))
    ring = square_max(vein, outer) & ~square_max(vein, inner) & ~contrast & ~square_max(cavity, inner)
    if not ring.any():
        return float(snr[vein].mean())
    return float(snr[vein].mean() - snr[ring].mean())
