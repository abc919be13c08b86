"""Motion correction of the working-resolution frames onto the background (patient / table motion).

Split out of ``opacity.py`` (issue 10 had grown it past 700 lines). A shift is kept only when it clearly lowers
the residual over contrast-free anatomy, so contrast changes never move a still loop; see :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.blockmean import downsample, downsample_frames, median_below
from hsg_workstation.analysis.masked_correlation import masked_shift
from hsg_workstation.analysis.morph import dilate_cross, erode_cross
from hsg_workstation.analysis.parallel import chunks, map_ordered, thread_count

LK_SHUTTER_GAP = 6  # working px kept clear of the shutter edges (static: they would pin the estimate at 0)
LK_EDGE = 8  # working px at the image border left out (shift interpolation)
LK_MIN_SHIFT = 0.3  # working px: smaller estimates are noise, the frame is left as it is
PRESCREEN_STILL = 0.15  # of the noise: half-resolution residual below which a frame is clearly still
# The loop-level stop of the per-frame motion search (session 6; see :func:`_search_order`):
STILL_RUN = 8  # frames searched in a row without a shift: the loop stands still, stop searching every frame
PROBE_EVERY = 12  # ... but search every 12th frame and the last one (a patient who moved stays moved),
PROBE_JUMP = 0.15  # ... and a frame whose coarse residual differs by 15 % from the last searched frame's
SEARCH_BATCH = 4  # frames searched at once while all are searched (fixed: same on any thread count)

_R = TypeVar("_R")


def _contrast_like(diff: np.ndarray, noise: float) -> np.ndarray:
    """Large coherent change (contrast or gross motion edges): what the correlation must not be driven by."""
    return np.abs(ndi.gaussian_filter(diff, 1.5)) > 6.0 * noise


def register(
    frames: np.ndarray, reference: np.ndarray, valid: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """Translate each frame onto the background when that clearly lowers the residual in contrast-free pixels.

    Phase correlation on the shutter-free bounding box; a shift is kept only if it beats no-shift, so pure contrast
    changes (which also alter the image) never move a still loop. Once the loop is seen to stand still, only
    probe frames are searched (:func:`_search_order`).
    """
    t = frames.shape[0]
    shifts = np.zeros((t, 2), np.float32)
    rows = np.flatnonzero(valid.any(axis=1))
    cols = np.flatnonzero(valid.any(axis=0))
    if rows.size < 16 or cols.size < 16:
        return frames, shifts
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    ref = reference[r0:r1, c0:c1]
    v = valid[r0:r1, c0:c1]
    ref_half = downsample(ref, 2)

    v_half = downsample(v.astype(np.float32), 2) > 0.99
    ref_half_b = ref_half[: v_half.shape[0], : v_half.shape[1]]

    def prescreen(ids: range) -> list[tuple[int, float]]:
        """Frames of a run that may have moved, from a look at half resolution only (a quarter of the pixels):
        the same coarse residual as in :func:`screen`, with the contrast masked at half resolution, and a
        stricter bar (0.15 instead of 0.25 noise). A still frame's residual is ~0.1 noise, a moved frame's is
        anatomy edges, far above either bar; frames not clearly still go through the full screen below. Returns
        (frame, its coarse residual median in noise units) for the loop-level stop of the search."""
        mov_h = downsample_frames(frames[ids.start : ids.stop, r0:r1, c0:c1], 2)
        diff = mov_h - ref_half_b
        coarse = np.abs(ndi.gaussian_filter(diff, (0, 1.0, 1.0)))  # ~ sigma 2 at full resolution
        keep_h = v_half & ~dilate_cross(coarse > 6.0 * noise, 2)  # strong change (contrast, edges) masked
        out = []
        for k, i in enumerate(ids):
            kk = keep_h[k]
            if kk.mean() >= 0.1 and median_below(coarse[k][kk], PRESCREEN_STILL * noise):
                continue
            out.append((i, float(np.median(coarse[k][kk])) / noise if kk.any() else np.inf))
        return out

    def screen(ids: list[int]) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """The cheap tests for frames as whole-stack calls; returns (frame, keep, half keep) of the frames that
        may have moved (the rest keep their place)."""
        mov = frames[np.asarray(ids), r0:r1, c0:c1]
        # Contrast is new structure, not anatomy: mask it (and the shutters) out of the correlation.
        smooth = np.abs(ndi.gaussian_filter(mov - ref, (0, 1.5, 1.5)))  # also for the contrast-like test
        change = smooth > 3.0 * noise
        changed = change[:, v].mean(axis=1)
        keep = v & ~dilate_cross(change & (smooth > 6.0 * noise), 3)  # == _contrast_like(mov - ref)
        for k, i in enumerate(ids):
            # one_lk's mask of the same frame: the same smoothed residual and dilation, away from the shutters
            lk_keep[i] = keep[k] & v_far
        kept = keep.mean(axis=(1, 2))
        half_keep = downsample_frames(keep.astype(np.float32), 2) > 0.99
        # Cheap test first: without motion, the smoothed residual over contrast-free anatomy is noise only.
        # Screened at half resolution (a quarter of the pixels; sigma 1 there ~ sigma 2 here): a still frame's
        # residual is ~0.1 noise either way, a moved frame's is anatomy edges, far above half the threshold.
        coarse = np.abs(ndi.gaussian_filter(downsample_frames(mov, 2) - ref_half, (0, 1.0, 1.0)))
        out = []
        for k, i in enumerate(ids):
            if changed[k] < 0.02:
                continue  # nothing moved or filled: keep the frame as it is
            if kept[k] < 0.2:
                continue
            if half_keep[k].any() and median_below(coarse[k][half_keep[k]], 0.25 * noise):
                continue
            out.append((i, keep[k], half_keep[k]))
        return out

    def one(job: tuple[int, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
        """(moved frame, shift) for a frame that passed the screen, or None to keep it as it is."""
        i, keep, half_keep = job
        mov = frames[i, r0:r1, c0:c1]
        resid_img = np.abs(ndi.gaussian_filter(mov - ref, 2.0))
        if median_below(resid_img[keep], 0.5 * noise):
            return None
        resid2[i] = resid_img  # the same residual image is accept_if_better's "before" (any keep)
        try:
            # coarse look at half resolution first: most loops are still, and the masked correlation is the
            # expensive part of the whole analysis
            coarse = masked_shift(ref_half, downsample(mov, 2), half_keep)
            if np.hypot(*coarse) < 0.5:
                return None
            shift = masked_shift(ref, mov, keep)
        except (ValueError, FloatingPointError):
            return None
        shift = np.asarray(shift, float)
        if np.hypot(*shift) < 0.5 or np.hypot(*shift) > 0.15 * min(ref.shape):
            return None
        return accept_if_better(i, shift, keep)

    def accept_if_better(i: int, shift: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(frame ``i`` moved by ``shift``, shift) when that lowers the smoothed residual over ``keep`` by 20 %:
        smoothed, because interpolation alone averages noise away and must not win by that."""
        moved = ndi.shift(frames[i], shift, order=1, mode="nearest")
        before_img = resid2.get(i)
        if before_img is None:
            before_img = np.abs(ndi.gaussian_filter(frames[i, r0:r1, c0:c1] - ref, 2.0))
        before = before_img[keep]
        after = np.abs(ndi.gaussian_filter(moved[r0:r1, c0:c1] - ref, 2.0))[keep]
        if median_below(after, 0.8 * np.median(before)):  # the bar in float32, as it was
            return moved, shift
        return None

    # |residual| smoothed by sigma 2 per frame, kept from `one` for accept_if_better (the same image, computed once)
    resid2: dict[int, np.ndarray] = {}
    # one_lk's keep mask per screened frame, from `screen` (its smoothed residual and dilation are the same)
    lk_keep: dict[int, np.ndarray] = {}
    v_far = erode_cross(v, LK_SHUTTER_GAP)
    v_far[:LK_EDGE], v_far[-LK_EDGE:], v_far[:, :LK_EDGE], v_far[:, -LK_EDGE:] = False, False, False, False

    # frames are independent of each other: runs of frames on the thread pool (same result per frame as a loop)
    runs = [range(sl.start, sl.stop) for sl in chunks(t, 4 * thread_count())]
    flagged = [hit for found in map_ordered(prescreen, runs) for hit in found]
    # the screen's verdict per frame, filled as frames are searched (a frame the search skips is not screened)
    candidates: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}
    # Smooth anatomy moved by a pixel or two is below what the screen and the phase correlation see, yet its
    # residual edges read as transient contrast (false venous intravasation). The frames the prescreen called
    # that the phase correlation did not move still get a gradient-based (Lucas-Kanade) estimate away from the
    # static shutter edges.
    ref_s = ndi.gaussian_filter(ref, 1.5)
    ref_half_s = ndi.gaussian_filter(ref_half, 0.75)

    def one_lk(i: int) -> tuple[np.ndarray, np.ndarray] | None:
        mov = frames[i, r0:r1, c0:c1]
        keep = lk_keep.pop(i, None)
        if keep is None:
            smooth = np.abs(ndi.gaussian_filter(mov - ref, 1.5))
            keep = v_far & ~dilate_cross(smooth > 6.0 * noise, 3)
        if keep.mean() < 0.2:
            return None
        keep_half = downsample(keep.astype(np.float32), 2) > 0.99
        mov_half = downsample(mov, 2)
        hh, hw = keep_half.shape
        u = _lucas_kanade(
            ref_half_s[:hh, :hw], ndi.gaussian_filter(mov_half, 0.75)[:hh, :hw], keep_half, np.zeros(2), 6
        )
        if u is None or np.hypot(*(2 * u)) < LK_MIN_SHIFT:
            return None  # no measurable motion: leave the frame as it is
        u = _lucas_kanade(ref_s, ndi.gaussian_filter(mov, 1.5), keep, 2 * u, 3)
        if u is None or not LK_MIN_SHIFT <= np.hypot(*u) <= 0.15 * min(ref.shape):
            return None
        return accept_if_better(i, u, keep)

    def search(i: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The whole motion search of one frame: phase correlation if the screen passed it, else (or when that
        found nothing) Lucas-Kanade."""
        job = candidates.get(i)
        hit = one(job) if job is not None else None
        return hit if hit is not None else one_lk(i)

    def search_frames(ids: list[int]) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Screen the frames (whole-stack calls, in parts on the pool), then search each."""
        groups = [ids[sl] for sl in chunks(len(ids), thread_count())]
        candidates.update((job[0], job) for found in map_ordered(screen, groups) for job in found)
        return map_ordered(search, ids)

    out = frames
    for i, hit in _search_order(flagged, search_frames):
        if hit is not None:
            if out is frames:
                out = frames.copy()  # only when a frame actually moves
            out[i], shifts[i] = hit
    return out, shifts


def _search_order(
    flagged: list[tuple[int, float]], search_all: Callable[[list[int]], list[_R]]
) -> list[tuple[int, _R]]:
    """Search the frames the prescreen ``flagged`` (frame, coarse residual) in frame order, and stop searching
    every frame once the loop is seen to stand still: ``search_all(frames)`` returns one result per frame (None =
    no shift); returns (frame, result) of the frames searched.

    Why (session 6): on loops with brightness (ABC) steps or scatter that the gain correction leaves behind, the
    coarse residual stays above the screens' bars on nearly every frame, so ~100 frames a loop went through the
    masked phase correlation and Lucas-Kanade to find nothing (5 s of a loop's 6 s). The physics that lets the
    search stop: a patient (or table) that moved stays moved — the motion is a step or a drift, not a jitter
    that returns exactly to the start. So, after ``STILL_RUN`` frames in a row were searched without a shift,
    only probes are searched: every ``PROBE_EVERY``-th frame, the last frame of the loop, and any frame whose
    coarse residual differs by more than ``PROBE_JUMP`` from that of the last searched frame (something changed
    between them: a motion event, or a brightness step). When a probe finds a shift, every frame skipped since
    the last search is searched too (the motion began somewhere among them) and the search runs on every frame
    again. Each frame searched gets exactly the result it got before; a skipped frame keeps its place.
    """
    done: list[tuple[int, _R]] = []
    fruitless = 0
    skipped: list[int] = []
    last_i, last_stat = -(10**9), np.nan
    pos = 0
    while pos < len(flagged):
        if fruitless < STILL_RUN:
            batch = [i for i, _ in flagged[pos : pos + SEARCH_BATCH]]
            last_stat = flagged[min(pos + SEARCH_BATCH, len(flagged)) - 1][1]
            pos += len(batch)
        else:
            i, stat = flagged[pos]
            pos += 1
            with np.errstate(divide="ignore", invalid="ignore"):
                jump = bool(abs(np.log(np.float64(stat) / np.float64(last_stat))) > np.log1p(PROBE_JUMP))
            if not (i - last_i >= PROBE_EVERY or jump or pos == len(flagged)):
                skipped.append(i)
                continue
            batch, last_stat = [i], stat
        last_i = batch[-1]
        results = list(zip(batch, search_all(batch), strict=True))
        done += results
        for _, hit in results:
            fruitless = 0 if hit is not None else fruitless + 1
        if skipped and any(hit is not None for _, hit in results):
            # the motion began somewhere since the last search: search those frames too
            done += list(zip(skipped, search_all(skipped), strict=True))
            skipped = []
    return done


def _lucas_kanade(
    ref_s: np.ndarray, mov_s: np.ndarray, keep: np.ndarray, u0: np.ndarray, iterations: int
) -> np.ndarray | None:
    """Translation ``u`` with ``ndi.shift(mov, u) ≈ ref`` by Gauss-Newton on smoothed images over ``keep``
    (linearised: ref - mov ≈ -u·∇mov, re-linearised after each step); None when the pixels carry no gradient.

    Why not only phase correlation: the pelvis' soft-tissue anatomy is smooth, and a shift of one or two working
    pixels hardly moves its correlation peak out of the noise, while least squares over tens of thousands of
    pixels measures it to ~0.2 px (tested against the generator's known motion).
    """
    u = np.asarray(u0, float).copy()
    for _ in range(iterations):
        ms = ndi.shift(mov_s, u, order=1, mode="nearest") if np.any(u) else mov_s
        gy, gx = np.gradient(ms)
        g = np.stack([gy[keep], gx[keep]], axis=1).astype(np.float64)
        a = g.T @ g
        if g.shape[0] < 50 or np.linalg.det(a) <= 1e-12 * max(float(np.trace(a)) ** 2, 1e-300):
            return None
        du = -np.linalg.solve(a, g.T @ (ref_s - ms)[keep].astype(np.float64))
        u += du
        if np.hypot(*du) < 0.01:
            break
    return u
