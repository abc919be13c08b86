"""First tubal filling: a thin line of contrast that leaves the cornu.

Why a signal of its own rather than the spill features of :mod:`tubes`:

- **Where.** A tube leaves the cavity at the cornu (its supero-lateral corner) and fills from there outwards, so
  the first tubal contrast is contrast *at the cornu*. Counting every extra-cavitary pixel within 40 mm of the
  cavity on a side (session 4) also counted what merely lies near the cavity — bowel gas and anatomy edges under
  motion above the fundus, a scatter halo or a venous lace around the cavity, a fragment of a T-shaped cavity —
  and called the tube filled frames too early (tuning seeds: first renderer 5 of 73 sides; independent renderer
  28 of 67). Only components that reach into a disc of ``CORNU_REACH_MM`` around the cornu count.
- **What.** A filling tube is a *thin line* (1-3 mm), and at low dose its isthmus is at about one noise sigma per
  pixel: the per-pixel hysteresis of the spill features (2.5 / 5 sigma) does not see it for many frames, though
  the eye does (it integrates along the line). A scatter halo, a gain drift or a spill cloud is smooth; an
  anatomy edge under motion is a step. So the line is found by a **ridge** response: the mean along a short line
  segment minus the larger of the two parallel segments ``RIDGE_OFFSET_MM`` to either side, best of eight
  orientations — positive on a thin line, about zero on smooth contrast and on a step edge — in units of its own
  robust spread over the search region on that frame (so no noise model of the loop is needed).
- **How far.** The cavity's own sharp corner at the cornu is a short ridge too; a tube goes on: a component must
  reach ``TUBE_REACH_MM`` beyond the cavity (its convex hull at maximal distension) to count.
- **Over what.** A tube fills during the loop: what the cornual region already holds on the loop's first frames
  with a cavity (a bright gap between bowel-gas bubbles, a device line, a gain or detector pattern — on the
  independent renderer's tuning loops up to 60-120 mm² from the first frame, session 7) is background, not a tube
  that filled before the loop began (no tuning side of either renderer has its first filling within three frames
  of the loop's start). The series is the line area *over* that level (``BACKGROUND_FRAMES``, see
  :func:`background_level`), so the first filling is the frame it rises, not the first frame of the loop.
- **Through a venous lace.** A lace of uterine veins reaches the cornu as thin forking lines too (independent
  renderer, session 8: both tubes "filled" on the lace's first frame, seeds 17, 18, 77). It appears and washes
  out; a tube, once filled, stays filled. On the frames of a lace that the intravasation detector is sure of,
  only the lines that are also there just after the lace or just before it count (``lace`` of
  :func:`cornual_tube_px`).

The cornua are the most supero-lateral points of the cavity at maximal distension (lateral offset plus height
above the centroid; the shape metrics' definition, fundus up).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.morph import dilate_cross, hysteresis
from hsg_workstation.analysis.parallel import map_ordered, run_all
from hsg_workstation.analysis.tubes import CORNUAL_FILL_MM2, cavity_region, tube_search_region

CORNU_REACH_MM = 8.0  # the first tubal contrast lies within this distance of the cornu
TUBE_REACH_MM = 6.0  # ... and a tube reaches at least this far beyond the cavity (its corner does not)
RIDGE_LENGTH_MM = 6.0  # line segment the ridge response averages along
RIDGE_OFFSET_MM = 1.75  # distance of the two parallel background segments (a tube is 1-3 mm wide)
RIDGE_LOW, RIDGE_HIGH = 2.5, 6.0  # hysteresis on the ridge response, in its robust spreads
CAVITY_MARGIN_MM = 3.0  # the cavity's tapering margin on each frame is not searched
_ORIENTATIONS = 8
LOCAL_MM = 30.0  # half-side of the square around each cornu that is searched
CHUNK = 8  # frames filtered as one stack
SETTLED_RUN = 5  # == the look-ahead of tubes._first_fill
BACKGROUND_FRAMES = 3  # the loop's first frames with a cavity: their cornual line area is background
BACKGROUND_RISE = 0.5  # ... and a tube over a large background must add this share of it (and the threshold)
LACE_AROUND = 3  # a line seen during a venous lace counts where it is also a line around the lace:
LACE_NEED = 2  # ... on this many of the LACE_AROUND frames after its last frame (or before its first one)
LACE_TOLERANCE_MM = 1.0  # ... within this distance (registration)
# a line whose pixels lie on a valley of the background this deep (mean, robust sigmas) ...
VALLEY_SIGMA = 0.75
ADVANCE_MM = 5.0  # ... and that does not reach this much farther from the cornu ...
ADVANCE_FRAMES = 4  # ... within this many frames "stands": not the first filling while a later line is


def background_level(head_px: np.ndarray, fill_px: float) -> float:
    """What to subtract from one side's cornual line area (pixels): the median over the loop's first
    ``BACKGROUND_FRAMES`` frames with a cavity when it is at least half the filling threshold ``fill_px``
    (``tubes.CORNUAL_FILL_MM2`` in pixels), else 0. Over a large background (> 2 thresholds: bowel gas or a
    device crossing the cornual disc, whose area varies by tens of mm² as it moves) a filling must add
    ``BACKGROUND_RISE`` of it, not just the threshold: the returned level is raised by the difference."""
    if len(head_px) == 0:
        return 0.0
    base = _median(np.asarray(head_px, np.float64))
    if not base >= 0.5 * fill_px:  # also NaN-safe
        return 0.0
    return base + max(0.0, BACKGROUND_RISE * base - fill_px)


def cornua(ref_mask: np.ndarray) -> dict[str, tuple[float, float]]:
    """Image-left and image-right cornu (row, column): the most supero-lateral cavity points."""
    rows, cols = np.nonzero(ref_mask)
    rc, cc = rows.mean(), cols.mean()
    height = rc - rows
    li = int(np.argmax((cc - cols) + height))
    ri = int(np.argmax((cols - cc) + height))
    return {"left": (float(rows[li]), float(cols[li])), "right": (float(rows[ri]), float(cols[ri]))}


@lru_cache(maxsize=8)
def _offsets(length: int, offset: int) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """Per orientation: the pixel offsets (row, column) of a line segment of ``length`` pixels through the
    origin, and the offset of the parallel segment ``offset`` pixels to its side (rounded positions)."""
    out = []
    for th in np.pi * np.arange(_ORIENTATIONS) / _ORIENTATIONS:
        u = np.array([np.sin(th), np.cos(th)])  # (row, column) direction
        n = np.array([u[1], -u[0]])
        steps = np.linspace(-(length // 2), length // 2, length)
        line = [(int(round(s * u[0])), int(round(s * u[1]))) for s in steps]
        out.append((line, (int(round(offset * n[0])), int(round(offset * n[1])))))
    return out


def _shifted(a: np.ndarray, dr: int, dc: int, pad: int) -> np.ndarray:
    """``a`` read at (row + dr, column + dc) in its last two axes: a view of ``a``, which is padded by ``pad``."""
    h, w = a.shape[-2] - 2 * pad, a.shape[-1] - 2 * pad
    return a[..., pad + dr : pad + dr + h, pad + dc : pad + dc + w]


def _median(v: np.ndarray) -> float:
    """== ``float(np.median(v))`` for a 1-D array (the same partition and the same mean of the two middle values;
    NaN when ``v`` holds one), without np.median's per-call overhead (~0.15 ms; ~100 calls a loop here)."""
    n = v.size
    k = n // 2
    kth = [k - 1, k, n - 1] if n % 2 == 0 else [k, n - 1]
    part = np.partition(v, kth)
    if np.isnan(part[-1]):
        return float("nan")
    return float(part[k]) if n % 2 else float(np.mean(part[k - 1 : k + 1]))


def _edge_padded(a: np.ndarray, pad: int, out: np.ndarray | None = None) -> np.ndarray:
    """== ``np.pad`` of the last two axes by ``pad`` in ``"edge"`` mode (into ``out`` when given): the same
    copies of the edge rows and columns, without np.pad's per-call set-up (~0.25 ms, 54 calls a loop)."""
    h, w = a.shape[-2:]
    if out is None:
        out = np.empty((*a.shape[:-2], h + 2 * pad, w + 2 * pad), a.dtype)
    out[..., pad : pad + h, pad : pad + w] = a
    out[..., :pad, pad : pad + w] = a[..., :1, :]
    out[..., pad + h :, pad : pad + w] = a[..., -1:, :]
    out[..., :, :pad] = out[..., :, pad : pad + 1]
    out[..., :, pad + w :] = out[..., :, pad + w - 1 : pad + w]
    return out


def ridge_response(image: np.ndarray, length: int, offset: int) -> np.ndarray:
    """Best over eight orientations of: mean along a ``length``-pixel segment minus the larger of the means of
    the two parallel segments ``offset`` pixels to either side. Shifted sums of the image (no 2-D kernels);
    ``image`` is one frame or a stack of frames (the last two axes)."""
    pad = length // 2 + offset + 1
    padded = _edge_padded(image.astype(np.float32, copy=False), pad)
    around = np.empty(padded.shape, np.float32)  # the mean of each orientation, edge-padded in place
    best = None
    for line, (nr, nc) in _offsets(length, offset):
        mean = np.zeros(image.shape, np.float32)
        for dr, dc in line:
            mean += _shifted(padded, dr, dc, pad)
        mean /= len(line)
        _edge_padded(mean, pad, out=around)
        side = np.maximum(_shifted(around, nr, nc, pad), _shifted(around, -nr, -nc, pad))
        r = mean - side
        best = r if best is None else np.maximum(best, r)
    assert best is not None
    return best


def hull_gap(mm_per_px: float) -> int:
    """The 2 mm gap (working px) by which :func:`cornual_tube_px` grows the cavity's hull."""
    return max(1, int(round(2.0 / mm_per_px)))


def cornual_tube_px(
    opacity: np.ndarray,
    masks: np.ndarray,
    ref_mask: np.ndarray,
    mm_per_px: float,
    first_index: int = 0,
    settled_px: float | None = None,
    extra: np.ndarray | None = None,
    lace: tuple[int, int] | None = None,
    background: np.ndarray | None = None,
    standing: dict[str, np.ndarray] | None = None,
    regions: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Per image side, per frame: pixels of the thin-line contrast (ridge response, see the module docstring)
    inside the tube search region (:func:`tubes.tube_search_region`, outside the cavity's hull and each frame's
    cavity margin) on that side of the vertical line through the cavity centroid, in the components
    (8-connected) that reach within ``CORNU_REACH_MM`` of that side's cornu and ``TUBE_REACH_MM`` beyond the
    cavity. Compared with ``tubes.CORNUAL_FILL_MM2`` by :func:`tubes.call_side`.

    ``extra``: the extra-cavitary contrast of :func:`tubes.side_signals` ((T, h, w), per-pixel hysteresis):
    where it lies on the ridge it seeds the line as a strong ridge does (a tube's dense segment beyond a
    broken-up isthmus; without it one first-renderer tube was found five frames late).

    The counts are returned over the background of the loop's first frames (:func:`background_level`, clipped
    at 0): contrast already at the cornu when the loop starts is not a tube filling.

    ``settled_px``: once both sides have held at least this many pixels (over their background) on
    ``SETTLED_RUN`` frames running, the later frames are left at 0 — the first filling
    (:func:`tubes._first_fill`, which reads at most the five frames from a candidate on) is then decided, and
    the rest of a long loop costs nothing.

    ``lace``: the first and last frame (0-based) of a venous lace next to the cavity
    (:attr:`intravasation.Intravasation.lace_frames`). A lace reaches the cornu as thin forking lines that the
    ridge reads as well as a tube's, but it appears and washes out, while a tube, once filled, stays filled: on
    the frames of the lace only the line pixels that are lines (within ``LACE_TOLERANCE_MM``) on ``LACE_NEED``
    of the ``LACE_AROUND`` frames after it — a tube that filled during the lace — or of those before it — a tube
    that had filled before the lace appeared — count (see :func:`lasting_lines`).

    ``background``: the contrast-free background of the loop in opacity sign (``OpacityStack.background``); with
    it, ``standing`` (a dict, filled in here) gets per side a (T,) bool: the frames whose line *stands* —
    it lies on a valley of the background (mean ridge response of the background under the line pixels below
    ``-VALLEY_SIGMA`` robust sigmas) and does not reach ``ADVANCE_MM`` farther from the cornu within
    ``ADVANCE_FRAMES`` frames. A valley in opacity sign is a lucent line — gas, the edge of a lucent structure —
    that was there before contrast came: where it has moved away the opacity shows a positive line of the other
    polarity's shape (the bowel-gas precursors of the independent renderer's tuning loops, session 8), and that
    line stays put, while a tube fills from the cornu outwards. :func:`tubes._first_fill` passes such frames
    over while a later candidate holds (docs/analysis-s8-fill.md).

    ``regions``: ``(tube_search_region(ref_mask, mm_per_px), cavity_region(ref_mask, gap))`` with the 2 mm gap
    used here, when already computed (the side signals read the same two)."""
    t, h, w = opacity.shape
    out = {side: np.zeros(t) for side in ("left", "right")}
    if not ref_mask.any():
        return out
    fill_px = CORNUAL_FILL_MM2 / (mm_per_px * mm_per_px)
    head = [k for k in range(first_index, t) if masks[k].any()][:BACKGROUND_FRAMES]
    raw = {side: np.zeros(t) for side in ("left", "right")}

    def over_background(side: str, upto: int) -> np.ndarray:
        """The side's counts on frames < ``upto`` over its background (known once the head frames are read)."""
        level = background_level(raw[side][head], fill_px)
        return np.clip(raw[side][:upto] - level, 0.0, None)

    if regions is None:
        regions = tube_search_region(ref_mask, mm_per_px), cavity_region(ref_mask, hull_gap(mm_per_px))
    search, hull = regions
    far = ndi.distance_transform_edt(~hull) * mm_per_px >= TUBE_REACH_MM
    region = search & ~hull
    length = max(5, int(round(RIDGE_LENGTH_MM / mm_per_px)) | 1)
    offset = max(2, int(round(RIDGE_OFFSET_MM / mm_per_px)))
    cx = float(np.nonzero(ref_mask)[1].mean())
    on_side = {"left": np.arange(w)[None, :] < cx}
    on_side["right"] = ~on_side["left"]
    half = int(round(LOCAL_MM / mm_per_px))
    margin = max(1, int(round(CAVITY_MARGIN_MM / mm_per_px)))
    reach = CORNU_REACH_MM / mm_per_px
    # per side, the square around its cornu that holds every component reaching into the cornual disc far
    # enough to be counted (a tube's first centimetres): the ridge filter runs only there
    local = {}
    for side, (r0, c0) in cornua(ref_mask).items():
        box = (
            slice(max(0, int(r0) - half), min(h, int(r0) + half + 1)),
            slice(max(0, int(c0) - half), min(w, int(c0) + half + 1)),
        )
        yy, xx = np.ogrid[box[0], box[1]]
        zone = (yy - r0) ** 2 + (xx - c0) ** 2 <= reach * reach
        allowed = region[box] & on_side[side][:, box[1]]
        local[side] = (box, zone, allowed, far[box])
    # the background's own ridge response in each box, in its robust spreads over the searched pixels
    valley_z = {}
    if background is not None:

        def valley(side: str) -> np.ndarray:
            box, _, allowed, _ = local[side]
            resp = ridge_response(np.asarray(background, np.float32)[box], length, offset)
            vals = resp[allowed]
            med = _median(vals) if vals.size else 0.0
            spread = 1.4826 * _median(np.abs(vals - med)) if vals.size else 0.0
            return (resp - med) / spread if spread > 0 else np.zeros_like(resp)

        sides = list(local)  # the two sides on the pool
        valley_z = dict(zip(sides, map_ordered(valley, sides), strict=True))
    cornu_at = cornua(ref_mask)
    line_reach = {side: np.zeros(t) for side in local}  # farthest kept line pixel from the cornu, mm
    on_valley = {side: np.zeros(t, bool) for side in local}
    frame_8 = np.zeros((3, 3, 3), bool)
    frame_8[1] = True  # 8-connected within a frame, nothing across frames
    # a lace with frames after it to tell what stays: its frames' lines are kept until those frames are read
    watch = lace if lace is not None and lace[1] + 1 < t else None  # (else nothing after it to tell by)
    seen: dict[str, dict[int, np.ndarray]] = {side: {} for side in local}
    tolerance = max(1, int(round(LACE_TOLERANCE_MM / mm_per_px)))
    for start in range(first_index, t, CHUNK):
        if watch is not None and start > watch[1] + LACE_AROUND:
            _recount_lace(raw, seen, watch, t, tolerance)
            watch = None
        if (
            settled_px is not None
            and watch is None
            and start - SETTLED_RUN >= first_index
            and (not head or head[-1] < start)
            and all(
                bool((over_background(side, start)[start - SETTLED_RUN :] >= settled_px).all())
                # ... from a frame that does not stand (known: the frames it is judged by are read)
                and not (valley_z and _stands(line_reach[side], on_valley[side], start - SETTLED_RUN))
                for side in raw
            )
        ):
            break  # both sides' first filling is decided (the frames from here on are not read)
        ids = [k for k in range(start, min(t, start + CHUNK)) if masks[k].any()]
        if not ids:
            continue

        def read_side(side: str, ids: list[int] = ids, watch: tuple[int, int] | None = watch) -> None:
            """One side's line pixels on frames ``ids`` (its own entries of ``raw``, ``line_reach``,
            ``on_valley`` and ``seen`` only: the two sides run side by side on the pool)."""
            box, zone, allowed, far_b = local[side]
            # crop first, then pick the frames: a copy of the box only, not of whole frames
            searched = allowed[None] & ~dilate_cross(masks[:, box[0], box[1]][ids], margin)
            resp = ridge_response(opacity[:, box[0], box[1]][ids], length, offset)
            z = np.zeros(resp.shape, np.float32)
            for k in range(len(ids)):
                vals = resp[k][searched[k]]
                if vals.size < 50:
                    continue
                med = _median(vals)
                spread = 1.4826 * _median(np.abs(vals - med))
                if spread > 0:
                    z[k] = (resp[k] - med) / spread
            if extra is not None:
                # clear per-pixel contrast on the ridge seeds the line as well as a strong ridge does: a tube
                # whose isthmus breaks up at the cornu is still joined to it by its weaker ridge
                seeded = extra[:, box[0], box[1]][ids] & (z > RIDGE_LOW)
                z = np.where(seeded, np.float32(2 * RIDGE_HIGH), z)
            lines = hysteresis(z, RIDGE_LOW, RIDGE_HIGH) & searched
            if not (lines & zone[None]).any():
                return
            lab, n = ndi.label(lines, structure=frame_8)
            # components that touch the cornual disc and reach beyond the cavity's corner (lookup tables)
            keep = np.zeros(n + 1, bool)
            keep[lab[:, zone]] = True
            reaching = np.zeros(n + 1, bool)
            reaching[lab[:, far_b]] = True
            keep &= reaching
            keep[0] = False
            kept = keep[lab]
            raw[side][ids] = np.count_nonzero(kept, axis=(1, 2))
            if side in valley_z:
                r0, c0 = cornu_at[side]
                yy, xx = np.ogrid[box[0], box[1]]
                dist_mm = np.hypot(yy - r0, xx - c0) * mm_per_px
                for k, i in enumerate(ids):
                    if kept[k].any():
                        line_reach[side][i] = float(dist_mm[kept[k]].max())
                        on_valley[side][i] = float(valley_z[side][kept[k]].mean()) < -VALLEY_SIGMA
            if watch is not None:
                for k, i in enumerate(ids):
                    if watch[0] - LACE_AROUND <= i <= watch[1] + LACE_AROUND:
                        seen[side][i] = kept[k]

        run_all([lambda side=side: read_side(side) for side in local])
    if watch is not None:
        _recount_lace(raw, seen, watch, t, tolerance)
    for side in out:
        out[side] = over_background(side, t)
    if standing is not None and valley_z:
        for side in out:
            standing[side] = np.array([_stands(line_reach[side], on_valley[side], i) for i in range(t)])
    return out


def _stands(line_reach: np.ndarray, on_valley: np.ndarray, i: int) -> bool:
    """Frame ``i``'s line lies on a background valley and does not advance ``ADVANCE_MM`` from the cornu within
    the next ``ADVANCE_FRAMES`` frames (see ``background`` of :func:`cornual_tube_px`)."""
    if not on_valley[i]:
        return False
    ahead = line_reach[i + 1 : i + 1 + ADVANCE_FRAMES]
    return not (ahead.size and float(ahead.max()) >= line_reach[i] + ADVANCE_MM)


def lasting_lines(frames: list[np.ndarray], need: int, tolerance: int) -> np.ndarray:
    """Where a line is seen on at least ``need`` of ``frames`` (the frames that follow or precede a venous lace;
    all of them when there are fewer), grown by ``tolerance`` pixels: what is there when the lace is not — a
    tube, not a vein."""
    stays = np.sum(frames, axis=0) >= min(need, len(frames))
    return dilate_cross(stays, tolerance) if stays.any() else stays


def _recount_lace(
    raw: dict[str, np.ndarray],
    seen: dict[str, dict[int, np.ndarray]],
    lace: tuple[int, int],
    t: int,
    tolerance: int,
) -> None:
    """On the frames of the lace, count only the line pixels that are also there (:func:`lasting_lines`) over
    the ``LACE_AROUND`` frames after it or those before it (frames without a cavity mask, or with no line near
    the cornu, hold none)."""
    first, last = lace
    for side, frames in seen.items():
        shape = next(iter(frames.values())).shape if frames else None
        if shape is None:
            raw[side][first : last + 1] = 0.0
            continue
        after = [
            frames.get(i, np.zeros(shape, bool)) for i in range(last + 1, min(t, last + 1 + LACE_AROUND))
        ]
        stays = lasting_lines(after, LACE_NEED, tolerance)
        before = [frames.get(i, np.zeros(shape, bool)) for i in range(max(0, first - LACE_AROUND), first)]
        if before:
            stays |= lasting_lines(before, LACE_NEED, tolerance)
        for i in range(first, last + 1):
            raw[side][i] = np.count_nonzero(frames[i] & stays) if i in frames else 0.0
