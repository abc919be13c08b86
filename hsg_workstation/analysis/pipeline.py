"""The fill-sequence analysis as one pure function over frames: :func:`analyze_frames`.

Reading DICOM lives in :mod:`hsg_workstation.analysis.source`; this module only sees arrays, a calibration, frame
times and the patient-side mapping, so it is testable on synthetic arrays and reusable from the GUI worker pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.blockmean import downsample, working_factor
from hsg_workstation.analysis.calibration import (
    INTRAVASATION_CALL_MIN,
    INTRAVASATION_TABLE,
    SPILL_CALL_MIN,
    SPILL_TABLE,
    calibrated,
)
from hsg_workstation.analysis.cavity import shape_metrics, track_cavity
from hsg_workstation.analysis.defects import persistent_lucencies
from hsg_workstation.analysis.intravasation import detect_intravasation
from hsg_workstation.analysis.morph import dilate_cross
from hsg_workstation.analysis.opacity import compute_opacity, loop_quality
from hsg_workstation.analysis.parallel import chunks, map_ordered, map_streamed, submit
from hsg_workstation.analysis.request import AnalysisRequest, FrameGetter
from hsg_workstation.analysis.result import (
    DefectCandidate,
    FillAnalysis,
    KeyFrame,
    ShapeMetrics,
    SideResult,
)
from hsg_workstation.analysis.spill_confidence import spill_score
from hsg_workstation.analysis.tubal_fill import cornual_tube_px, hull_gap
from hsg_workstation.analysis.tubes import (
    CORNUAL_FILL_MM2,
    call_side,
    catheter_mask,
    cavity_region,
    raw_contrast,
    side_signals,
    spill_hull_gap,
    tube_search_region,
)
from hsg_workstation.measurements import Calibration

ASSUMED_FIELD_MM = 250.0  # used for size thresholds only when the header has no spacing
FULL_RES_THRESHOLD = (
    0.22  # of the dense-contrast level: where the tapering cavity edge meets the drawn outline
)


def patient_left_on_image(patient_orientation: Sequence[str] | None) -> tuple[str, str | None]:
    """Which image side shows the patient's left, from Patient Orientation (0020,0020).

    The first value is the patient direction of the image rows (towards increasing column index). "L..." means
    the patient's left is at the image's right (the usual AP display). Returns (side, warning or None).
    """
    if patient_orientation and len(patient_orientation) >= 1 and str(patient_orientation[0]).strip():
        row_dir = str(patient_orientation[0]).strip().upper()
        if row_dir.startswith("L"):
            return "right", None
        if row_dir.startswith("R"):
            return "left", None
        return "right", (
            f"Patient Orientation (0020,0020) row direction '{row_dir}' has no left/right component; "
            "assumed the usual AP display (patient's left on the image's right)"
        )
    return "right", (
        "Patient Orientation (0020,0020) absent: assumed the usual AP display (patient's left on the image's right)"
    )


def _full_res_cavity(
    get_frame: FrameGetter,
    index: int,
    onset: int,
    sign: float,
    shift: np.ndarray,
    level: float,
    working_mask: np.ndarray,
    factor: int,
    full_shape: tuple[int, int],
) -> np.ndarray:
    """Cavity mask of one frame at full resolution: same threshold, restricted to the working-res cavity."""
    n_bg = max(1, min(onset, 6))
    up = np.repeat(np.repeat(working_mask, factor, axis=0), factor, axis=1)  # each working pixel -> factor²
    pad = np.zeros(full_shape, bool)
    pad[: up.shape[0], : up.shape[1]] = up[: full_shape[0], : full_shape[1]]
    out = np.zeros(full_shape, bool)
    rows, cols = np.flatnonzero(pad.any(axis=1)), np.flatnonzero(pad.any(axis=0))
    if rows.size == 0:
        return out
    # Only a box around the cavity is processed: wide enough that the dilation, the Gaussian and the shift see
    # the same pixels as on the whole frame (or the frame edge, with the same boundary mode) -> the same mask.
    sigma = max(1.0, 0.85 * factor)
    reach = 2 * factor
    margin = reach + int(4.0 * sigma + 0.5) + int(np.ceil(np.abs(shift * factor).max())) + 4
    h, w = full_shape
    r0, r1 = max(0, rows[0] - margin), min(h, rows[-1] + 1 + margin)
    c0, c1 = max(0, cols[0] - margin), min(w, cols[-1] + 1 + margin)
    box = (slice(r0, r1), slice(c0, c1))
    bg = np.mean([np.asarray(get_frame(j)[box], np.float32) for j in range(n_bg)], axis=0)
    if np.any(shift):
        frame = ndi.shift(np.asarray(get_frame(index), np.float32), shift * factor, order=1, mode="nearest")[
            box
        ]
    else:
        frame = np.asarray(get_frame(index)[box], np.float32)
    op = ndi.gaussian_filter(sign * (frame - bg), sigma)
    pad_b = pad[box]
    near = dilate_cross(pad_b, reach)  # == ndi.binary_dilation(iterations=reach), faster
    m = (op > FULL_RES_THRESHOLD * level) & near
    lab, n = ndi.label(m)
    if n > 1:
        ids = np.unique(lab[pad_b & m])
        m = np.isin(lab, ids[ids > 0])
    out[box] = m
    return out


def analyze_frames(request: AnalysisRequest) -> FillAnalysis:
    """Analyse the fill sequence that ``request`` describes (see :class:`AnalysisRequest`; build it with
    :meth:`AnalysisRequest.from_frames` for an array, or from a loop on disk with
    :meth:`hsg_workstation.analysis.source.LoopSource.analysis_request`)."""
    get_frame = request.get_frame
    n_frames = request.n_frames
    frame_shape = request.frame_shape
    calibration = request.calibration or Calibration.uncalibrated()
    frame_times_s = request.frame_times_s
    full_resolution_cavity = request.full_resolution_cavity
    decode_in_threads = request.decode_in_threads
    stored_max = request.stored_max
    scout = request.scout
    warnings = list(request.extra_warnings)
    factor = working_factor(*frame_shape, target=request.working_size)
    # decoding in this thread, in frame order; each frame's block mean on the pool while the next one decodes
    low_shape = (frame_shape[0] // factor, frame_shape[1] // factor)
    low = np.empty((n_frames, *low_shape), np.float32)

    def reduce_into(i: int, frame: np.ndarray) -> None:
        low[i] = downsample(frame, factor, stored_max)  # each frame writes its own slot: no np.stack copy

    if decode_in_threads:  # an array in memory (AnalysisRequest.from_frames) can be read from any thread
        map_ordered(lambda i: reduce_into(i, get_frame(i)), range(n_frames))
    else:
        map_streamed(lambda i: (i, get_frame(i)), lambda item: reduce_into(*item), n_frames)
    low_scout = downsample(scout, factor) if scout is not None else None
    times: list[float | None] = list(frame_times_s) if frame_times_s is not None else [None] * n_frames
    if len(times) != n_frames:
        warnings.append(f"{len(times)} frame times for {n_frames} frames: times omitted")
        times = [None] * n_frames
    if all(t is None for t in times):
        warnings.append("no frame timing in the header: times are null")
    left_on_image, orient_warning = patient_left_on_image(request.patient_orientation)
    if orient_warning:
        warnings.append(orient_warning)

    op = compute_opacity(low, scout=low_scout)
    warnings.extend(op.warnings)
    valid = ~op.shutter
    if calibration.is_calibrated:
        mm_px = (
            float(np.sqrt(float(calibration.row_spacing_mm) * float(calibration.column_spacing_mm or 0)))
            * factor
        )
    else:
        mm_px = ASSUMED_FIELD_MM / max(low.shape[1:])
        warnings.append(
            f"no pixel spacing: sizes used by the analysis assume a {ASSUMED_FIELD_MM / 10:g} cm field; "
            "lengths are reported in pixels"
        )
    # the contrast masks of the side signals need no cavity: on the pool while the cavity is tracked here
    contrast = np.empty(op.opacity.shape, bool)  # each job fills its frames
    contrast_jobs = [
        submit(lambda sl=sl: raw_contrast(op.opacity, op.noise, sl, out=contrast))
        for sl in chunks(n_frames, 2)
    ]
    track = track_cavity(op.opacity, op.level, valid, mm_px, op.noise)
    px_area_mm2 = None
    if calibration.is_calibrated:
        px_area_mm2 = (
            float(calibration.row_spacing_mm or 0) * float(calibration.column_spacing_mm or 0) * factor**2
        )
    curve = track.areas_px * (px_area_mm2 if px_area_mm2 else factor**2)
    unit = "mm2" if px_area_mm2 else "px2"

    sides_out = {"left": SideResult(), "right": SideResult()}
    defects: list[DefectCandidate] = []
    shape = None
    intrav_present: bool | None = None
    intrav_conf, intrav_frame = 0.0, None
    intrav_raw, intrav_score = False, 0.0
    masks = track.masks
    extra_labels = None
    max_frame = None
    if track.max_index is None:
        warnings.append("no uterine cavity filling found")
    else:
        mi = track.max_index
        max_frame = mi + 1
        ref_mask = masks[mi]
        get = get_frame

        def outline_and_shape():  # -> (full-resolution mask or None, Shape)
            if full_resolution_cavity:
                full = _full_res_cavity(
                    get, mi, op.onset_index, op.sign, op.shifts[mi], op.level, ref_mask, factor, frame_shape
                )
                return full, shape_metrics(full, calibration, 1.0)
            return None, shape_metrics(ref_mask, calibration, float(factor))

        # Independent of the tubes: the outline (which decodes frames again) and the filling defects run
        # alongside the side signals when decoding may leave this thread.
        # read over the distension plateau, not the one frame picked as its start (cavity.distension_plateau)
        holes_job = submit(lambda: persistent_lucencies(op.opacity, masks, mi, mm_px, plateau=track.plateau))
        outline_job = submit(outline_and_shape) if decode_in_threads else None
        if outline_job is None:
            full, metrics = outline_and_shape()
        _filled(contrast, contrast_jobs)
        cath = catheter_mask(
            op.opacity,
            masks,
            track.first_index or 0,
            op.onset_index,
            np.full(op.opacity.shape[1:], op.noise, np.float32),
            mm_px,
            contrast,
        )
        # Venous intravasation needs only the catheter mask of the side signals: on the pool while they run here
        # (the cornual stage below waits for its lace frames)
        intra_job = submit(
            lambda: detect_intravasation(
                op.opacity,
                contrast,
                masks,
                ref_mask,
                valid,
                cath,
                track.first_index or 0,
                op.noise,
                op.level,
                mm_px,
                op.background,
            )
        )
        # the spill attribution at the end of the side signals: on the pool while the cornual stage runs here
        spill_jobs: list[Future[None]] = []
        # the tube search region and the cavity's hull, read by the side signals and the cornual stage alike
        # (the same arrays: computed once; the cornual stage takes them when its gap is the same integer)
        side_gap = spill_hull_gap(mm_px)
        regions = tube_search_region(ref_mask, mm_px), cavity_region(ref_mask, side_gap)
        signals, extra_all, _cath, extra_labels = side_signals(
            op.opacity,
            masks,
            ref_mask,
            valid,
            op.level,
            op.noise,
            mm_px,
            track.first_index or 0,
            op.onset_index,
            contrast=contrast,
            catheter=cath,
            deferred=spill_jobs,
            regions=regions,
        )
        if outline_job is not None:
            full, metrics = outline_job.result()
        shape = ShapeMetrics(
            frame=max_frame,
            fundal_indentation_depth=metrics.fundal_indentation_depth,
            hemicavity_angle_deg=metrics.hemicavity_angle_deg,
            intercornual_distance=metrics.intercornual_distance,
            unit=calibration.unit,
            calibration_basis=str(calibration.basis.value),
        )
        # Venous intravasation before the cornual stage: its lace frames are an input of the first tubal filling
        # (s8-fill's lace rule made the two dependent; it now runs alongside the side signals instead)
        intra = intra_job.result()
        # what the spill calls rest on: a still background plus accumulating contrast
        quality = loop_quality(op)
        # a held-back "no spill" is only as sure as the cornual detector, which motion weakens (spill_score)
        moved = bool(np.any(op.shifts))
        # the intravasation score carries its own evidence of motion and visibility (analysis/intravasation.py);
        # the loop-quality factor judged the whole field, and put every independent-renderer study at "null"
        intrav_score = intra.score
        intrav_raw = intra.present
        intrav_conf = calibrated(INTRAVASATION_TABLE, intrav_score)
        # below the calibrated threshold the loop cannot tell: no call (None), not a guess
        intrav_present = intra.present if intrav_conf >= INTRAVASATION_CALL_MIN else None
        intrav_frame = None if intra.peak_index is None else intra.peak_index + 1
        # the first tubal filling is decided by the contrast that leaves the cornu (analysis/tubal_fill.py); a
        # venous lace reaches the cornu too, but washes out: its frames are passed so that only what stays counts;
        # a line left by gas that moved away stands still on a valley of the background (``standing``)
        standing: dict[str, np.ndarray] = {}
        cornual = cornual_tube_px(
            op.opacity,
            masks,
            ref_mask,
            mm_px,
            track.first_index or 0,
            settled_px=CORNUAL_FILL_MM2 / (mm_px * mm_px),
            extra=extra_all,
            lace=intra.lace_frames,
            background=op.background,
            standing=standing,
            regions=regions if hull_gap(mm_px) == side_gap else None,
        )
        for image_side, px in cornual.items():
            signals[image_side].cornual_px = px
            signals[image_side].cornual_standing = standing.get(image_side)
        for job in spill_jobs:
            job.result()
        for image_side in ("left", "right"):
            call = call_side(signals[image_side], mm_px)
            patient_side = "left" if image_side == left_on_image else "right"

            def fr(i: int | None) -> int | None:
                return None if i is None else i + 1

            call.score = spill_score(call.score, call.held_back, quality, moved=moved)
            conf = calibrated(SPILL_TABLE, call.score)
            sure = conf >= SPILL_CALL_MIN
            review = None if call.review is None else (call.review[0] + 1, call.review[1] + 1)
            sides_out[patient_side] = SideResult(
                tube_filled=call.tube_filled,
                first_fill_frame=fr(call.first_fill_index),
                first_fill_time_s=_t(times, call.first_fill_index),
                spill=call.spill if sure else "indeterminate",  # type: ignore[arg-type]
                spill_onset_frame=fr(call.spill_onset_index) if sure else None,
                spill_onset_time_s=_t(times, call.spill_onset_index) if sure else None,
                confidence=conf,
                image_side=image_side,
                hydrosalpinx_mm=(
                    call.hydrosalpinx_width_px * mm_px
                    if call.hydrosalpinx_like and call.spill == "none" and calibration.is_calibrated
                    else None
                ),
                frames_to_review=review if (review is not None and not sure) else None,
                raw_spill=call.spill,
                score=call.score,
            )
            if not sure and review is None:
                sides_out[patient_side].frames_to_review = (1, n_frames)
        spacing = None
        if calibration.is_calibrated:
            spacing = float(
                np.sqrt(float(calibration.row_spacing_mm) * float(calibration.column_spacing_mm or 0))
            )
        for hole in holes_job.result():
            d_px = 2.0 * np.sqrt(hole.area_px / np.pi) * factor
            defects.append(
                DefectCandidate(
                    frame=max_frame,
                    # in the max frame's own pixels (the analysis ran on it moved onto the background)
                    row=float((hole.row - op.shifts[mi][0] + 0.5) * factor - 0.5),
                    column=float((hole.column - op.shifts[mi][1] + 0.5) * factor - 0.5),
                    diameter_mm=None if spacing is None else float(d_px * spacing),
                    diameter_px=float(d_px),
                    first_frame=int(hole.first_index) + 1,
                    last_frame=int(hole.last_index) + 1,
                )
            )
        full_mask_at_max = full
    key_frames = _key_frames(track, sides_out, n_frames, times)
    result = FillAnalysis(
        series_uid=request.series_uid,
        frames=n_frames,
        frame_times_s=times,
        fill_curve=[float(a) for a in curve],
        fill_curve_unit=unit,
        max_distension_frame=max_frame,
        intravasation=intrav_present,
        intravasation_confidence=intrav_conf,
        intravasation_frame=intrav_frame,
        sides=sides_out,
        defects=defects,
        key_frames=key_frames,
        shape=shape,
        warnings=warnings,
        calibration_basis=str(calibration.basis.value),
        patient_left_on_image=left_on_image,
        contrast_polarity="bright" if op.sign > 0 else "dark",
        cavity_masks=_to_frame_pixels(masks, op.shifts),
        extra_labels=None if extra_labels is None else _to_frame_pixels(extra_labels, op.shifts),
        working_scale=factor,
        intravasation_raw=intrav_raw,
        intravasation_score=intrav_score,
    )
    if track.max_index is not None:
        shift_full = op.shifts[track.max_index] * factor
        if full_mask_at_max is not None and np.any(shift_full):
            full_mask_at_max = ndi.shift(full_mask_at_max.astype(np.float32), -shift_full, order=1) >= 0.5
        result.max_distension_mask = full_mask_at_max
    return result


def _filled(array: np.ndarray, jobs: Sequence) -> np.ndarray:
    """``array`` once every job writing a part of it has finished (re-raising a job's error)."""
    for job in jobs:
        job.result()
    return array


def _to_frame_pixels(stack: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Per-frame masks / labels found on motion-corrected frames, moved back onto each frame as stored (a frame
    moved by ``u`` onto the background shows a structure at ``p - u``): what the overlay draws them on and what
    a radiologist measures. Nearest-neighbour, so labels stay labels; frames without a shift are untouched."""
    moved = np.flatnonzero(np.any(shifts, axis=1))
    if moved.size == 0:
        return stack
    out = stack.copy()
    for i in moved:
        out[i] = ndi.shift(stack[i], -shifts[i], order=0, mode="constant", cval=0)
    return out


def _t(times: Sequence[float | None], index: int | None) -> float | None:
    if index is None or index >= len(times):
        return None
    return times[index]


def _key_frames(
    track, sides: dict[str, SideResult], n: int, times: Sequence[float | None]
) -> dict[str, KeyFrame]:
    """Key frames after the RCR four-image set for HSG: early uterine filling, late uterine / early tubal filling,
    late tubal filling, free spill per side; plus maximal distension and the last frame (delayed view).

    Only sides with a call take part (an "indeterminate" side proposes no spill image); a key frame is left out
    when the loop does not show its phase.
    """
    out: dict[str, KeyFrame] = {}
    if track.max_index is not None:
        areas = track.areas_px
        early = np.flatnonzero(areas >= 0.3 * areas.max())
        if early.size and early[0] < track.max_index:
            i = int(early[0])
            out["early_uterine_filling"] = KeyFrame(
                i + 1, _t(times, i), "early uterine filling: cavity partly filled, best for filling defects"
            )
        out["max_distension"] = KeyFrame(
            track.max_index + 1, _t(times, track.max_index), "maximal cavity distension (fill curve peak)"
        )
        fills = [s.first_fill_frame for s in sides.values() if s.first_fill_frame is not None]
        i = (min(fills) if fills else track.max_index + 1) - 1
        out["late_uterine_early_tubal_filling"] = KeyFrame(
            i + 1, _t(times, i), "late uterine / early tubal filling: cavity full, tubes starting to fill"
        )
        onsets = [
            s.spill_onset_frame
            for s in sides.values()
            if s.spill in ("free", "loculated") and s.spill_onset_frame is not None
        ]
        if fills:
            # the tubes at their fullest before contrast leaves them; without spill, the end of the loop
            i = max(min(fills), min(onsets) - 1) - 1 if onsets else n - 1
            out["late_tubal_filling"] = KeyFrame(i + 1, _t(times, i), "late tubal filling")
    for side in ("left", "right"):
        s = sides[side]
        if s.first_fill_frame is not None:
            out[f"first_tubal_filling_{side}"] = KeyFrame(
                s.first_fill_frame, s.first_fill_time_s, f"first contrast in the {side} tube"
            )
        if s.spill in ("free", "loculated") and s.spill_onset_frame is not None:
            out[f"first_spill_{side}"] = KeyFrame(
                s.spill_onset_frame, s.spill_onset_time_s, f"first {s.spill} spill, {side} side"
            )
            # spill shown once it is evident: a few frames after its onset
            i = min(n - 1, s.spill_onset_frame - 1 + max(2, int(round(0.1 * n))))
            out[f"{s.spill}_spill_{side}"] = KeyFrame(i + 1, _t(times, i), f"{s.spill} spill, {side} side")
    if n > 1:
        out["delayed"] = KeyFrame(n, _t(times, n - 1), "last frame of the loop (delayed view)")
    return out
