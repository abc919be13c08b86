"""Contrast opacity per frame: polarity, background, motion correction, shutters, noise level.

Works on a *working-resolution* copy of the loop (block means, :mod:`hsg_workstation.analysis.blockmean`): the
radiologist should not wait, and block averaging also lowers the quantum noise before any threshold is chosen.
Motion correction is :mod:`hsg_workstation.analysis.registration` (split out when issue 10 grew this module past
700 lines).

Why data-driven polarity: whether iodine looks dark or bright in stored pixel values depends on the modality's
processing and on MONOCHROME1 vs MONOCHROME2, and vendors differ; the contrast *accumulates* as a dense, compact
change in one direction, which tells it for both photometric interpretations (see :func:`contrast_sign`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage as ndi

from hsg_workstation.analysis.blockmean import row_medians_inplace as _row_medians_inplace
from hsg_workstation.analysis.morph import dilate_cross, erode_cross, median3, square_max
from hsg_workstation.analysis.parallel import chunks, map_ordered, run_all, submit, thread_count
from hsg_workstation.analysis.registration import register

MAD_TO_SIGMA = 1.4826
NOISE_FRAMES = 16  # frames whose robust sigma estimates the opacity noise (evenly spaced over the loop)
GAIN_DRIFT_SIGMA = (
    1.5  # noise sigmas: a field level this far from frame 1's is brightness drift, not contrast
)
POLARITY_WINDOW = 4  # votes from the first clear one that decide the polarity (the contrast's early frames)
POLARITY_HIGHPASS_SIGMA = 12.0  # working px: the vote's high-pass (contrast is compact, gain / gas are wide)
GAIN_STEP_SIGMA = (
    0.5  # noise sigmas: a smaller jump of the field's level between two frames is not an ABC step
)
GAIN_CLIP_SIGMA = (
    3.0  # difference sigmas around the field's level: beyond, contrast / motion / blades, not level
)
BLADE_TRAVEL = 0.12  # of the image's side: how far a blade may close in during a run
BLADE_CONTACT = 0.2  # of the image's side: how long a strip behind a closing blade lies against the shutter
GAIN_QUICK_MIN_PX = 1300  # sampled pixels the no-change pre-test needs (5 standard errors inside its margins)


def robust_sigma(values: np.ndarray) -> float:
    """1.4826 × the median absolute deviation of the finite values (a noise sigma that ignores contrast)."""
    v = values[np.isfinite(values)]  # a copy: partitioned in place below
    if v.size == 0:
        return 0.0
    if v.dtype.kind != "f":
        med = np.median(v)
        return float(MAD_TO_SIGMA * np.median(np.abs(v - med)))
    row = v.reshape(1, -1)
    med = _row_medians_inplace(row)[0]  # == np.median(v)
    np.subtract(row, med, out=row)
    np.abs(row, out=row)
    return float(MAD_TO_SIGMA * _row_medians_inplace(row)[0])


def robust_sigma_rows(rows: np.ndarray) -> np.ndarray:
    """``[robust_sigma(r) for r in rows]`` (float64), as two row-wise medians.

    Identical values: the same selection per row, and the per-row float32 results widened to float64 exactly
    as ``float()`` does. Rows with non-finite values take the general path.
    """
    if not np.isfinite(rows).all():
        return np.array([robust_sigma(r) for r in rows], np.float64)
    work = np.array(rows, copy=True)  # partitioned in place below
    med = _row_medians_inplace(work)[:, None]
    np.subtract(rows, med, out=work)
    np.abs(work, out=work)
    return (MAD_TO_SIGMA * _row_medians_inplace(work)).astype(np.float64)


@dataclass(slots=True)
class OpacityStack:
    """Background-subtracted, motion-corrected contrast opacity; larger = more contrast."""

    opacity: np.ndarray  # (T, h, w) float32, Gaussian-smoothed
    background: np.ndarray  # (h, w) float32, in opacity sign
    sign: float  # +1: contrast raises stored values ("bright"), -1: lowers them ("dark")
    onset_index: int  # 0-based index of the first frame with contrast; frames before it form the background
    shifts: np.ndarray  # (T, 2) row/col shift applied to each frame (working pixels)
    shutter: np.ndarray  # (h, w) bool, collimator/shutter area (no information there)
    noise: float  # robust sigma of smoothed opacity in contrast-free pixels
    level: float  # typical opacity of the dense contrast (the filled cavity)
    warnings: list[str]
    # how much of the loop is not explained by "background + contrast" (see :func:`loop_quality`)
    negative_share: float = 0.0  # 90th percentile over frames of the field share below -4 noise sigmas
    noise_ratio: float = 1.0  # spatial noise of the opacity / what the frame-to-frame noise predicts
    baseline: bool = True  # a contrast-free background was found (frames before the onset, or the scout)


def _frame_noise(frames: np.ndarray) -> float:
    """Per-pixel quantum noise from consecutive-frame differences (most pixels do not change frame to frame)."""
    t = frames.shape[0]
    idx = np.linspace(0, t - 2, num=min(t - 1, 8)).astype(int)
    sig = [_trimmed_sigma((frames[i + 1] - frames[i])[::2, ::2]) for i in idx]
    sig = [v for v in sig if v > 0]  # a last-image-hold duplicate differs by nothing
    return float(max(np.median(sig) / np.sqrt(2.0), 0.3)) if sig else 1.0


def _trimmed_sigma(d: np.ndarray) -> float:
    """Sigma of a frame difference from the RMS of its central 96 % (|d| below the 96th percentile, rescaled
    for a Gaussian).

    Why not the MAD: on finely quantised low-noise loops (10 bits stored, a few grey levels of noise) most
    differences are exactly 0 and the MAD is 0 — the noise then read as 1e-6, every threshold collapsed and the
    first frame was never "contrast-free". The trimmed RMS sees the grey levels; the trimmed tail holds the few
    per cent of pixels that contrast or motion change."""
    a = np.abs(d.ravel().astype(np.float64))
    if a.size == 0:
        return 0.0
    cut = float(np.percentile(a, 96))
    core = a[a <= cut]
    # for a Gaussian, the RMS of the central 96 % of |d| is 0.887 sigma
    return float(np.sqrt(np.mean(core * core)) / 0.887) if core.size else 0.0


def contrast_sign(frames: np.ndarray, noise: float, valid: np.ndarray | None = None) -> float:
    """+1 if contrast makes stored values larger, -1 if smaller (see module docstring).

    Contrast is dense and compact: against the first frames, the frames of the loop get a heavy tail of large
    changes in one direction. Moving gas, devices, blades and gain changes give tails in both directions or
    large smooth areas — so each of ten frames' change is high-passed (minus its 12-px Gaussian) and the extreme
    tails (99.8th against 0.2nd percentile, about the median) vote; the first few clear votes decide (see
    below). (Until issue 10 the sum of all large late-minus-early changes decided; the independent renderer's
    gas, gain steps and contrast already on frame 1 flipped it on 2-4 of 24 loops; the sum of the ten votes
    missed 3 of 40 of its tuning loops, the early window none — and none of the first generator's either way.)
    """
    t = frames.shape[0]
    if t < 2:
        return 1.0
    ref = frames[: max(1, min(3, t // 6))].mean(axis=0)
    sel = valid if valid is not None else np.ones(frames.shape[1:], bool)
    if int(np.count_nonzero(sel)) < 100:
        return 1.0
    picked = np.unique(np.linspace(1, t - 1, min(t - 1, 10)).round().astype(int))

    def votes(ids: np.ndarray) -> list[float]:
        """Each frame's tail asymmetry (frames in runs on the pool; summed in frame order below)."""
        changes = np.stack([ndi.uniform_filter(frames[i] - ref, 3) for i in ids])
        high = changes - gaussian_reflect(changes, POLARITY_HIGHPASS_SIGMA)
        out = []
        for v in high:
            lo, med, hi = np.percentile(v[sel], [0.2, 50.0, 99.8])
            out.append((hi - med) - (med - lo))
        return out

    # The contrast's own vote comes first: the cavity fills before anything else changes much. Later frames
    # add what moved or drifted meanwhile (gas, devices under traction, detector drift), which outvoted it on 3
    # of 40 independent tuning loops (votes changing sign halfway through). So the window of POLARITY_WINDOW
    # votes from the first one clearly above the noise decides; without such a vote, all of them.
    # The votes are computed in frame order, POLARITY_WINDOW at a time, only until that window is complete:
    # the frames after it cannot change the result (session 7: about half of the ten on most loops). Each
    # frame's vote is the same whatever frames share its batch (the FFT transforms each frame on its own).
    per_frame: list[float] = []
    first_clear: int | None = None
    done = 0
    while done < picked.size:
        more = POLARITY_WINDOW if first_clear is None else first_clear + POLARITY_WINDOW - done
        batch = picked[done : done + more]
        per_frame += [
            v for part in map_ordered(votes, [batch[sl] for sl in chunks(batch.size)]) for v in part
        ]
        done += batch.size
        if first_clear is None:
            first_clear = next((k for k, v in enumerate(per_frame) if abs(v) > noise), None)
        if first_clear is not None and done >= first_clear + POLARITY_WINDOW:
            break
    window = per_frame[first_clear : first_clear + POLARITY_WINDOW] if first_clear is not None else per_frame
    vote = 0.0
    for v in window:
        vote += v
    return 1.0 if vote >= 0 else -1.0


def gaussian_reflect(stack: np.ndarray, sigma: float) -> np.ndarray:
    """``ndi.gaussian_filter`` of each frame of a float (frames, rows, columns) stack with a wide ``sigma``, by FFT.

    Why: the polarity vote high-passes ten frames with a 12-px Gaussian — a 97-tap kernel each way, which made
    it a fifth of the whole analysis (60 ms of ~0.3 s for 60 × 1024²). The same sampled kernel (scipy's, cut
    at 4 sigma) applied to the frames mirror-padded by its radius (scipy's "reflect" mode) is a circular
    convolution of the padded frames, so the FFT gives the same values up to rounding (~1e-5 of the range, in
    float32) at a quarter of the cost. Frames smaller than the kernel go through scipy itself (repeated
    mirroring).
    """
    radius = int(4.0 * sigma + 0.5)  # scipy's default truncate=4.0
    n, h, w = stack.shape
    if min(h, w) <= radius:
        return np.stack([ndi.gaussian_filter(f, sigma) for f in stack]).astype(np.float32)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 / (sigma * sigma) * x * x)
    kernel /= kernel.sum()
    padded = np.pad(
        np.asarray(stack, np.float32), ((0, 0), (radius, radius), (radius, radius)), mode="symmetric"
    )
    shape = (sp_fft.next_fast_len(h + 2 * radius, real=True), sp_fft.next_fast_len(w + 2 * radius, real=True))

    def transfer(length: int, real: bool) -> np.ndarray:
        k = np.zeros(length)
        k[: 2 * radius + 1] = kernel
        k = np.roll(k, -radius)  # centred on index 0: no shift
        return np.fft.rfft(k) if real else np.fft.fft(k)

    spectrum = sp_fft.rfft2(padded, s=shape)
    spectrum *= (transfer(shape[0], False)[:, None] * transfer(shape[1], True)[None, :]).astype(np.complex64)
    out = sp_fft.irfft2(spectrum, s=shape)
    return out[:, radius : radius + h, radius : radius + w]


def shutter_mask(mean_image: np.ndarray, change: np.ndarray | None = None) -> np.ndarray:
    """Uniform regions reaching the image border (collimator blades, circular shutters), from the temporal mean.

    The blades carry no anatomy, so registration and thresholds must ignore them; behind them the few photons
    make the noise large, which would otherwise turn into false "contrast". A border strip counts only if it is
    uniform and clearly apart from the field's values; the blade is then flooded inwards while the value stays
    within a few of the strip's own sigmas.
    """
    img = median3(mean_image)  # == ndi.median_filter(mean_image, 3)
    h, w = img.shape
    mask = np.zeros((h, w), bool)
    inner = img[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    inner_med = float(np.median(inner))
    inner_spread = float(np.subtract(*np.percentile(inner, [90, 10]))) + 1e-6
    strips = {
        "top": (slice(0, 2), slice(None)),
        "bottom": (slice(h - 2, h), slice(None)),
        "left": (slice(None), slice(0, 2)),
        "right": (slice(None), slice(w - 2, w)),
    }
    for sl in strips.values():
        values = img[sl].ravel()
        med = float(np.median(values))
        sd = max(robust_sigma(values), 1e-6)
        if abs(med - inner_med) < max(6.0 * sd, 0.5 * inner_spread):
            continue
        cand = np.abs(img - med) < max(5.0 * sd, 0.25 * abs(med - inner_med))
        if change is not None:
            # a blade does not change over the loop; dense contrast (as dark or bright as a blade) does — the
            # flood must not run into the cavity (independent renderer: the cavity was taken for the blade)
            cand &= change < 0.3 * abs(med - inner_med)
        lab, _ = ndi.label(cand)
        ids = np.unique(lab[sl])
        mask |= np.isin(lab, ids[ids > 0])
    if mask.any():
        mask = dilate_cross(mask, 2)
    if mask.mean() > 0.8:
        return np.zeros((h, w), bool)
    return mask


def closing_blades(sample: np.ndarray, shutter: np.ndarray) -> np.ndarray:
    """Field pixels that some frame of ``sample`` (smoothed frames of stored values) shows behind a blade that
    closed during the run: to be left out like the static shutter, on every frame.

    Why: :func:`shutter_mask` reads the shutter from the loop's temporal mean and keeps what changed out of it
    (dense contrast can be as dark as a blade). A blade that moves in during the run covers a strip of what was
    field: on the frames after, the strip is as dark as lead — the same direction as contrast, whatever the
    polarity — so it read as dense contrast along the field's edge, "spill" on both sides (independent
    renderer, tuning seeds 8, 14, 29). A strip behind a blade was field on the first frame (more than half the
    way from the blade's value to the field's) and has the blade's value later (within a quarter of the way:
    dark anatomy next to a blade has it on every frame and stays field); it lies against the static shutter
    along a long edge (``BLADE_CONTACT`` of the image's side: a catheter or a cloud that reaches the edge
    touches it over its own width only) and within ``BLADE_TRAVEL`` of the image's side of it (blades close by
    a few per cent of the field). Without a static shutter there is no blade value to compare with: nothing is
    returned (a circular shutter that touches the image's sides is not found by :func:`shutter_mask`)."""
    h, w = shutter.shape
    out = np.zeros((h, w), bool)
    if not shutter.any() or shutter.all():
        return out
    field = ~shutter
    # the blade next to the field (far corners see less scatter), past the penumbra and the mask's 2-px margin
    ring = erode_cross(shutter, 3) & dilate_cross(field, 8)
    inner = erode_cross(field, 4)
    if not ring.any() or not inner.any():
        return out
    travel = int(np.ceil(BLADE_TRAVEL * min(h, w)))
    near = ~shutter & (ndi.distance_transform_cdt(~shutter, metric="taxicab") <= travel)
    touching = dilate_cross(shutter, 1)
    first = sample[0]
    open_at_start = near & (
        np.abs(first - float(np.median(first[ring])))
        > 0.5 * abs(float(np.median(first[inner])) - float(np.median(first[ring])))
    )

    def behind(frame: np.ndarray) -> np.ndarray | None:
        """The strips one frame shows behind a closed blade (None: none)."""
        blade = float(np.median(frame[ring]))
        tissue = float(np.median(frame[inner]))
        cand = open_at_start & (np.abs(frame - blade) < 0.25 * abs(tissue - blade))
        if not cand.any():
            return None
        lab, n = ndi.label(cand)
        contact = np.bincount(lab[touching & cand], minlength=n + 1)
        keep = np.flatnonzero(contact >= BLADE_CONTACT * min(h, w))
        keep = keep[keep > 0]
        return np.isin(lab, keep) if keep.size else None

    # frames on the pool (session 8; each frame's strips are its own, their union does not depend on the order)
    for part in map_ordered(lambda sl: [behind(f) for f in sample[1:][sl]], chunks(len(sample) - 1)):
        for strips in part:
            if strips is not None:
                out |= strips
    return dilate_cross(out, 2) & ~shutter if out.any() else out


def normalise_gain(frames: np.ndarray, valid: np.ndarray, noise: float) -> tuple[np.ndarray, int]:
    """Undo field-wide brightness changes: automatic brightness control (ABC) steps and slow drift of the level.

    Why: an ABC / gain step changes every pixel of the field at once; subtracted from the background it reads as
    contrast (or its absence) everywhere, and flips the polarity vote. Slower field-wide drifts do the same after
    a few noise sigmas: continuous brightness control, a log detector's response, and the scatter and veiling
    glare that fall as contrast fills the pelvis and as the collimator closes (the independent renderer: -5 to
    -13 sigma by the end of a loop, every pixel "spill").

    The change of frame ``i`` is read from its difference to frame 1 over the field (every third pixel). Contrast
    only ever adds opacity and, with its scatter halo, forms a one-sided continuum; blades that close, gas that
    moves and uncorrected motion give tails on either side. So the level of a frame is the *peak* of that
    difference's histogram, where the unchanged background lies (:func:`_field_levels`), not its median. A
    jump of that level between consecutive frames larger than ``GAIN_STEP_SIGMA`` noise sigmas and six times
    the loop's typical jump is a step; a level beyond ``GAIN_DRIFT_SIGMA`` is a drift. A loop with either has
    *every* frame mapped back onto frame 1's grey scale by its own fitted line (:func:`_field_line`); a loop
    with neither is left exactly as it is. (Until session 6 only the frames beyond the drift level were
    corrected, and not those where more than 8 % of the field changed far beyond it: as contrast and the closing
    blades grew, the correction switched off in the middle of a drift and left a step of 4-18 sigma that read
    as spill over the whole field — independent renderer, tuning seeds 13, 14, 38, 40.)
    Returns (frames, number of frames corrected).
    """
    t = frames.shape[0]
    idx = np.flatnonzero(valid.ravel())[::3]
    if t < 3 or idx.size < 100:
        return frames, 0
    flat = frames.reshape(t, -1)
    # Most loops have neither steps nor drift. A look at a ninth of the sampled pixels tells that first: the
    # bars below (jumps < 0.15 sigma, levels < 1 sigma) leave margins of 0.35 and 0.5 sigma to the full test's;
    # with GAIN_QUICK_MIN_PX pixels or more, the sub-sample's medians are within a fifth of that margin of the
    # full ones (standard error 1.25 x sqrt(2) sigma / sqrt(n) for the median of a frame difference), so the
    # loop is returned as it is, as the full test would (a tenth of its cost).
    sub = idx[::9]
    if sub.size >= GAIN_QUICK_MIN_PX:
        quick = _row_medians_inplace(flat[:, sub] - flat[0, sub]).astype(np.float64)
        if (
            float(np.abs(np.diff(quick)).max()) < 0.3 * GAIN_STEP_SIGMA * noise
            and float(np.abs(quick).max()) < (GAIN_DRIFT_SIGMA - 0.5) * noise
        ):
            return frames, 0
    ref = frames[0].ravel()[idx]
    level = np.concatenate(
        map_ordered(lambda sl: _field_levels(flat[sl, idx] - ref, noise), chunks(t))
    ).astype(np.float64)
    jumps = np.diff(level)
    typical = float(np.median(np.abs(jumps)))
    steps = np.abs(jumps) > max(GAIN_STEP_SIGMA * noise, 6.0 * typical)
    drift = np.abs(level[1:]) > GAIN_DRIFT_SIGMA * noise
    if not (steps.any() or drift.any()):
        return frames, 0
    out = frames.copy()
    ref_s = ndi.gaussian_filter(frames[0], 2.0).ravel()[idx].astype(np.float64)
    centre = float(np.median(ref_s))
    x = ref_s - centre
    bins = np.array_split(np.argsort(x, kind="stable"), 10)  # tenths of the field by brightness, once
    bx = np.array([float(np.median(x[b])) for b in bins])  # their centres: the same for every frame, once

    def correct(sl: slice) -> None:
        for i in range(max(sl.start, 1), sl.stop):
            gain, offset = _field_line(frames[i].ravel()[idx] - ref, x, bins, bx, float(level[i]), noise)
            if gain == 1.0:
                out[i] -= np.float32(offset)
            else:  # frame - centre = gain (frame 1 - centre) + offset
                out[i] = (frames[i] - np.float32(centre + offset)) / np.float32(gain) + np.float32(centre)

    run_all((lambda sl=sl: correct(sl)) for sl in chunks(t))
    return out, t - 1


def _peak(values: np.ndarray, width: float) -> float:
    """The most frequent value of ``values`` (a histogram smoothed to ``width``, its highest bin refined by the
    mean of the values within half a ``width`` of it).

    Why the peak and not the median: contrast is one-sided and, with its scatter halo, a continuum of values
    that a median (even a clipped one) follows once it covers a third of the field (wide spill clouds: the
    clipped median walked to -14 sigma while the background had moved by -2); the background is the densest
    part of the difference's histogram as long as it is the largest single population."""
    v = values.ravel()
    if v.size == 0:
        return 0.0
    k_lo, k_hi = int(0.005 * (v.size - 1)), int(0.995 * (v.size - 1))
    part = np.partition(v, (k_lo, k_hi))
    lo, hi = float(part[k_lo]), float(part[k_hi])
    if hi - lo <= width:
        return float(np.median(v))
    nbins = min(int(np.ceil((hi - lo) / (width / 4.0))) + 1, 4000)
    step = (hi - lo) / (nbins - 1)
    pos = np.clip(((v - lo) / step).astype(np.int64), 0, nbins - 1)
    sigma = width / step  # 4 bins unless the range needed more than 4000
    radius = int(4.0 * sigma + 0.5)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    counts = ndi.correlate1d(np.bincount(pos, minlength=nbins).astype(np.float64), kernel, mode="reflect")
    top = lo + (int(np.argmax(counts)) + 0.5) * step
    near = v[np.abs(v - top) < 0.5 * width]
    return float(near.mean()) if near.size else top


def _field_levels(diffs: np.ndarray, noise: float) -> np.ndarray:
    """Per row of ``diffs`` (frames' differences to frame 1 at the sampled field pixels): the level of the
    field's background, the peak of the row's values (:func:`_peak`, one difference sigma wide)."""
    width = np.sqrt(2.0) * noise
    return np.array([_peak(np.asarray(row, np.float64), width) for row in diffs])


def _field_line(
    diff: np.ndarray, x: np.ndarray, bins: list[np.ndarray], bx: np.ndarray, level: float, noise: float
) -> tuple[float, float]:
    """(gain, offset) with frame ≈ gain · frame 1 + offset over the field's background, from one frame's
    difference to frame 1 at the sampled pixels and the smoothed frame 1 there.

    Why a line: on a linear detector an ABC step scales the signal about the zero-signal value, so the change
    grows with the brightness (a pure offset left 10-20 % steps visible in the bright parts); on a log detector
    it is an offset (the fit returns gain ~ 1). Start: the background's peak (:func:`_peak`) in each tenth of
    the field ordered by the *smoothed* frame 1 (its noisy values would flatten the slope), a Theil-Sen line
    through the ten; then least squares on the pixels within ``GAIN_CLIP_SIGMA`` difference sigmas of the line,
    three times (contrast, moved structure and closing blades stay outside). A fit that keeps under a tenth of
    the field or gives a gain outside 0.5-2 is not a gain change: the level is subtracted instead (gain 1)."""
    width = np.sqrt(2.0) * noise
    half = GAIN_CLIP_SIGMA * width
    by = np.array([_peak(diff[b], width) for b in bins])
    pairs = [(by[j] - by[i]) / (bx[j] - bx[i]) for i in range(10) for j in range(i + 1, 10) if bx[j] > bx[i]]
    b = float(np.median(pairs)) if pairs else 0.0
    a = float(np.median(by - b * bx))
    for _ in range(3):
        inside = np.abs(diff - (a + b * x)) < half
        n = int(np.count_nonzero(inside))
        if n < max(50, diff.size // 10):
            return 1.0, level
        xi, di = x[inside], diff[inside]
        xm, dm = float(xi.mean()), float(di.mean())
        var = float(((xi - xm) ** 2).sum())
        b = float(((xi - xm) * (di - dm)).sum() / var) if var > 0 else 0.0
        a = dm - b * xm
    gain = 1.0 + b
    if not 0.5 <= gain <= 2.0:
        return 1.0, level
    return gain, a  # about the centre of x: frame - centre = gain (frame 1 - centre) + a


def _onset_index(frames: np.ndarray, sign: float, noise: float, valid: np.ndarray) -> int:
    """First frame that differs from frame 1 by a contrast-like, spatially coherent change."""
    ref = frames[0]
    min_px = max(6, int(0.0008 * valid.sum()))
    for t in range(1, frames.shape[0]):
        d = ndi.gaussian_filter(sign * (frames[t] - ref), 1.0)
        if int(((d > 5.0 * noise * 0.4) & valid).sum()) >= min_px:
            return t
    return frames.shape[0]


def sd_pre(sigmas: np.ndarray, frames: np.ndarray, fallback: float) -> float:
    """The opacity noise as :func:`compute_opacity` takes it (median of the sampled frames' robust sigmas)."""
    vals = sigmas[frames] if frames.size else np.array([])
    vals = vals[np.isfinite(vals)]
    return float(np.median(vals)) if vals.size else fallback


def loop_quality(op: OpacityStack) -> float:
    """0-1: how far the loop is from "a still background plus accumulating contrast", which every call rests on.

    Multiplies the raw scores of the calls (analysis/calibration.py maps the product to measured accuracy), so
    that a loop full of moving gas, blades, gain changes or uncorrected motion, or one with contrast already on
    frame 1, gets "can't tell" rather than a confident wrong call.
    """
    q = 1.0 / (1.0 + 40.0 * max(0.0, op.negative_share - 0.002))
    q /= 1.0 + max(0.0, op.noise_ratio - 1.5)
    if not op.baseline:
        q *= 0.85
    return float(np.clip(q, 0.0, 1.0))


def compute_opacity(
    frames: np.ndarray,
    *,
    scout: np.ndarray | None = None,
    smooth: float = 1.0,
) -> OpacityStack:
    """Opacity stack from working-resolution frames (T, h, w) of stored values."""
    frames = np.asarray(frames, dtype=np.float32)
    warnings: list[str] = []
    t = frames.shape[0]
    # The frame noise and the temporal mean on the pool while this thread smooths the sample and reads the
    # shutters (session 8: these steps ran one after the other in the calling thread; the same values).
    mean_job = submit(lambda: frames.mean(axis=0))  # first: the shutter waits for it
    noise_job = submit(lambda: _frame_noise(frames)) if t > 1 else None
    sample = ndi.uniform_filter(
        frames[np.unique(np.linspace(0, t - 1, min(t, 12)).round().astype(int))], (1, 5, 5)
    )
    shutter = shutter_mask(mean_job.result(), sample.max(axis=0) - sample.min(axis=0))
    blades = closing_blades(sample, shutter)
    noise = max(noise_job.result() if noise_job is not None else robust_sigma(frames[0]) * 0.1, 1e-6)
    if blades.any():
        warnings.append("collimator blades moved during the run: the strips they covered are left out")
        shutter = shutter | blades
    valid = ~shutter
    frames, gain_fixed = normalise_gain(frames, valid, noise)
    if gain_fixed:
        warnings.append(f"brightness (ABC) steps undone on {gain_fixed} frame(s)")
        noise = max(_frame_noise(frames), 1e-6)
    sign = contrast_sign(frames, noise, valid) if t > 1 else 1.0
    pre = frames[0]
    onset = _onset_index(frames, sign, noise, valid) if t > 1 else 1
    if onset < 1:
        onset = 1
    if onset >= t:
        warnings.append("no contrast change found in the loop; opacity is relative to frame 1")
        onset = 1
    if onset == 1 and scout is not None and scout.shape == pre.shape:
        background = scout.astype(np.float32)
    else:
        background = frames[:onset].mean(axis=0)
        if onset == 1:
            warnings.append("only frame 1 is contrast-free: background from a single frame (noisier)")
    reg, shifts = register(frames, background, valid, noise)
    if np.any(shifts):
        warnings.append(f"motion corrected on {int(np.any(shifts, axis=1).sum())} frame(s)")
        # The collimator blades belong to the tube, not the patient: a frame shifted onto the background carries
        # its blade edge along, which reads as a line of "contrast" beside the shutter. Widen the excluded band
        # by the largest shift.
        shutter = square_max(shutter, int(np.ceil(float(np.abs(shifts).max()))) + 1)
        valid = ~shutter
    # Per run of frames, on the pool: opacity = sign * (frame - background), smoothed in the frame plane, shutters
    # and the 2-px edge (interpolation artefacts after a shift) zeroed; plus that run's share of the noise sample
    # (every third valid pixel) and of the maximum projection. Same values as whole-stack passes, one pass.
    opacity = np.zeros_like(reg)  # outside the field box: shutter, zero
    sample_idx = np.flatnonzero(valid)[::3]  # == opacity[:, valid][:, ::3]
    runs = chunks(t, 4 * thread_count())
    # The noise of the smoothed opacity: the median over frames of each frame's robust sigma (every third valid
    # pixel). Frames differ only by their few contrast pixels, which the MAD ignores, so NOISE_FRAMES evenly
    # spaced frames give the same estimate within a fraction of a percent, at a quarter of the cost of 60.
    noise_frames = np.unique(np.linspace(0, t - 1, min(t, NOISE_FRAMES)).round().astype(int))
    sigmas = np.full(t, np.nan)
    maxprojs: list[np.ndarray | None] = [None] * len(runs)

    # Only the box of the collimated field (plus the Gaussian's reach) carries information: the shutter area is
    # zeroed below anyway, and the smoothing inside the box reads only pixels within its reach. Same values.
    vr, vc = np.flatnonzero(valid.any(axis=1)), np.flatnonzero(valid.any(axis=0))
    reach = int(4.0 * smooth + 0.5) + 1  # scipy's default truncate=4.0, plus one
    h, w = valid.shape
    if vr.size:
        field = (
            slice(max(0, vr[0] - reach), min(h, vr[-1] + 1 + reach)),
            slice(max(0, vc[0] - reach), min(w, vc[-1] + 1 + reach)),
        )
    else:
        field = (slice(None), slice(None))

    def run(k: int) -> None:
        sl = runs[k]
        diff = reg[sl, field[0], field[1]] - background[None, field[0], field[1]]
        if sign < 0:
            np.negative(diff, out=diff)
        part = opacity[sl]
        inside = part[:, field[0], field[1]]
        if smooth > 0:
            ndi.gaussian_filter(diff, (0, smooth, smooth), output=inside)
        else:
            inside[...] = diff
        np.copyto(part, 0.0, where=shutter)  # == part[:, shutter] = 0.0, without the gather's set-up
        part[:, :2] = part[:, -2:] = 0.0
        part[:, :, :2] = part[:, :, -2:] = 0.0
        picked = noise_frames[(noise_frames >= sl.start) & (noise_frames < sl.stop)]
        if sample_idx.size and picked.size:
            rows = part.reshape(part.shape[0], -1)[picked - sl.start][:, sample_idx]
            sigmas[picked] = robust_sigma_rows(rows)
        maxprojs[k] = part.max(axis=0)

    run_all((lambda k=k: run(k)) for k in range(len(runs)))
    inner = valid
    sd = float(np.median(sigmas[noise_frames])) if sample_idx.size else noise
    sd = max(sd, 1e-6)
    maxproj = np.maximum.reduce([m for m in maxprojs if m is not None])[inner]
    # Contrast only ever adds opacity: the field share clearly *below* the background measures what else
    # changed (moved gas / devices / blades, uncorrected motion, gain), and a spatial noise far above what the
    # frame-to-frame noise predicts (after the same smoothing) measures large-scale changes.
    check = noise_frames if noise_frames.size else np.arange(t)
    neg_bar = -4.0 * max(sd_pre(sigmas, noise_frames, noise), 1e-6)
    n_valid = int(np.count_nonzero(valid))
    # == float((opacity[i][valid] < neg_bar).mean()): an exact count over the same size, without the copy
    neg = [
        float(np.count_nonzero((opacity[i] < neg_bar) & valid) / n_valid) if n_valid else float("nan")
        for i in check
    ]
    negative_share = float(np.percentile(neg, 90)) if neg else 0.0
    smooth_gain = 1.0 / (2.0 * np.sqrt(np.pi) * smooth) if smooth > 0 else 1.0
    noise_ratio = float(sd_pre(sigmas, noise_frames, noise) / max(noise * smooth_gain, 1e-6))
    strong = maxproj[maxproj > 8 * sd]
    level = float(np.percentile(strong, 97)) if strong.size > 20 else 8 * sd
    return OpacityStack(
        opacity=opacity.astype(np.float32, copy=False),
        background=(sign * background).astype(np.float32),
        sign=sign,
        onset_index=onset,
        shifts=shifts,
        shutter=shutter,
        noise=sd,
        level=level,
        warnings=warnings,
        negative_share=negative_share,
        noise_ratio=noise_ratio,
        baseline=onset > 1 or (scout is not None and scout.shape == pre.shape),
    )
