"""Turn a fill-sequence analysis into report *suggestions* the reader accepts or rejects one by one.

Why a separate step: the analysis (``hsg_workstation.analysis``) is a heuristic; a signed report is the
radiologist's statement. So nothing here writes into a report by itself — :func:`suggestions_from_analysis` only
builds a list, and :func:`apply_suggestion` is what the UI calls when the reader presses *Accept* on one row. An
accepted suggestion fills the matching report field(s) through ``HsgReport.set_value`` (so listeners / autosave
see it), links the loop frame it rests on to the finding (``ImageLink``) and adds that frame as a key image.

Frames are 1-based (DICOM Referenced Frame Number) throughout; left / right are the patient's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hsg_workstation.analysis.calibration import ONE_CLICK_MIN
from hsg_workstation.analysis.result import FillAnalysis
from hsg_workstation.measurements import ImageRegion, RegionType
from hsg_workstation.reporting.model import (
    FillingDefect,
    HsgReport,
    ImageLink,
    KeyImage,
    ReportLockedError,
)

RF_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.12.2"  # X-Ray Radiofluoroscopic Image Storage
NEW_DEFECT = "{new}"  # placeholder index in a field path: the filling defect that accepting creates

_SIDES = ("left", "right")


@dataclass(frozen=True)
class Suggestion:
    """One proposal for the report, shown as one row with Accept / Reject.

    ``fields`` maps dotted ``HsgReport`` paths to values (enum values as strings, as ``set_value`` accepts).
    ``link_path`` is the report part that receives the ``ImageLink`` to ``frame`` of the loop (``""``: none).
    A path containing ``{new}`` refers to a filling defect created on accept.
    """

    id: str
    kind: str  # "spill", "no_spill", "tube_not_filled", "intravasation", "cavity", "defect", "key_frame"
    label: str
    fields: dict[str, Any]
    frame: int | None  # 1-based frame of the loop to link / show; None when there is no single frame
    time_s: float | None
    confidence: float | None
    sop_instance_uid: str
    sop_class_uid: str
    link_path: str = ""
    region: ImageRegion | None = field(default=None)
    # what a signed report may carry for the linked frame (key-image note, link label): the finding in words,
    # never the analysis' own text ("confidence 0.95", "candidate"); empty -> derived from the fields
    caption: str = ""
    # frames a-b (1-based) to look at when the analysis is not sure; such a row has no one-click Accept
    review_frames: tuple[int, int] | None = None

    @property
    def field_paths(self) -> tuple[str, ...]:
        return tuple(self.fields)

    @property
    def one_click(self) -> bool:
        """Offered for one-click Accept: no confidence involved (key images, the cavity outline) or a calibrated
        confidence at or above :data:`~hsg_workstation.analysis.calibration.ONE_CLICK_MIN`."""
        return self.review_frames is None and (self.confidence is None or self.confidence >= ONE_CLICK_MIN)


def _when(frame: int | None, result: FillAnalysis) -> str:
    if frame is None:
        return ""
    t = result.time_of(frame)
    return f"frame {frame}" + ("" if t is None else f" (t = {t:.1f} s)")


def _conf(c: float | None) -> str:
    return "" if c is None else f", confidence {c:.2f}"


def _unsure(label: str, review: tuple[int, int] | None) -> str:
    """A call below the one-click threshold says so, with the frames to look at."""
    if review is None:
        return label
    return f"Not sure — look at frames {review[0]}-{review[1]}. {label}"


# the RCR four-image set for HSG (and the extra views), as the reader reads them
_KEY_NAMES = {
    "early_uterine_filling": "early uterine filling",
    "late_uterine_early_tubal_filling": "late uterine / early tubal filling",
    "late_tubal_filling": "late tubal filling",
    "free_spill_left": "free spill, left",
    "free_spill_right": "free spill, right",
    "loculated_spill_left": "loculated spill, left",
    "loculated_spill_right": "loculated spill, right",
    "delayed": "delayed view (last frame)",
}


def suggestions_from_analysis(
    result: FillAnalysis, loop_sop_instance_uid: str, loop_sop_class_uid: str = RF_IMAGE_STORAGE
) -> list[Suggestion]:
    """Suggestions for the report from ``result`` of the loop ``loop_sop_instance_uid``; never applied here.

    Conservative on purpose: a tube that fills but does not spill gets ``spill = none`` only — whether that is
    a distal occlusion or a slow tube (delayed film) is the reader's call, so patency is left alone.
    """
    if not loop_sop_instance_uid:
        raise ValueError("suggestions need the SOP Instance UID of the analysed loop (to link its frames)")
    uid, cls = loop_sop_instance_uid, loop_sop_class_uid
    out: list[Suggestion] = []
    last = result.frames if result.frames > 0 else None
    # No cavity found: the tubes and intravasation were never assessed (their fields are defaults), so nothing
    # about them may be proposed — "does not fill" from a failed analysis would read as an occlusion.
    assessed = result.max_distension_frame is not None

    for side in _SIDES if assessed else ():
        s = result.sides.get(side)
        if s is None:
            continue
        tube = f"findings.tubes.{side}"
        name = f"{side.capitalize()} tube"
        sure = s.confidence >= ONE_CLICK_MIN and s.spill != "indeterminate"
        review = s.frames_to_review
        if not sure and review is None:
            review = (1, last) if last else None
        if s.spill == "indeterminate":
            a, b = review or (1, last or 1)
            out.append(
                Suggestion(
                    id=f"review_{side}",
                    kind="not_sure",
                    label=f"{name}: not sure whether it spills — look at frames {a}-{b}",
                    fields={},
                    frame=a,
                    time_s=result.time_of(a),
                    confidence=s.confidence,
                    sop_instance_uid=uid,
                    sop_class_uid=cls,
                    review_frames=(a, b),
                )
            )
        elif s.spill in ("free", "loculated") and s.spill_onset_frame is not None:
            out.append(
                Suggestion(
                    id=f"spill_{side}",
                    kind="spill",
                    label=_unsure(
                        f"{name}: {s.spill} spill from {_when(s.spill_onset_frame, result)}{_conf(s.confidence)}",
                        None if sure else review,
                    ),
                    fields={
                        f"{tube}.spill": s.spill,
                        f"{tube}.patency": "patent",
                        "findings.peritoneum.spill_assessed_on": "sequence_or_delayed",
                    },
                    frame=s.spill_onset_frame,
                    time_s=result.time_of(s.spill_onset_frame),
                    confidence=s.confidence,
                    sop_instance_uid=uid,
                    sop_class_uid=cls,
                    link_path=tube,
                    caption=f"{name}: {s.spill} spill",
                    review_frames=None if sure else review,
                )
            )
        elif s.tube_filled:
            fields: dict[str, Any] = {f"{tube}.spill": "none"}
            sac = ""
            if s.hydrosalpinx_mm is not None:
                fields[f"{tube}.hydrosalpinx"] = True
                fields[f"{tube}.hydrosalpinx_diameter_mm"] = round(float(s.hydrosalpinx_mm), 1)
                sac = f", dilated distal tube (hydrosalpinx) about {s.hydrosalpinx_mm:.0f} mm wide"
            # Spill proves a tube filled; without spill only a sac does. A bare "fills" claim rests on the
            # first-fill detector, whose calls are not calibrated (and were wrong on a proximal occlusion), and
            # "fills but no spill" reads as a distal block — so it is said only with a sac; otherwise the frames
            # to look at are named and the reader decides how far the tube fills.
            fill_words = (
                f"fills ({_when(s.first_fill_frame, result)}) but no spill"
                if sac or s.first_fill_frame is None
                else f"no spill; filling of the tube not confirmed (look at frames {s.first_fill_frame}-{last}),"
            )
            out.append(
                Suggestion(
                    id=f"no_spill_{side}",
                    kind="no_spill",
                    label=_unsure(
                        f"{name}: {fill_words} by the end of the "
                        f"loop ({_when(last, result)}){sac}{_conf(s.confidence)}",
                        None if sure else review,
                    ),
                    fields=fields,
                    frame=last,
                    time_s=result.time_of(last),
                    confidence=s.confidence,
                    sop_instance_uid=uid,
                    sop_class_uid=cls,
                    link_path=tube,
                    caption=f"{name}: no spill" + (", hydrosalpinx" if sac else ""),
                    review_frames=None if sure else review,
                )
            )
        else:
            frame = result.max_distension_frame or last
            out.append(
                Suggestion(
                    id=f"not_filled_{side}",
                    kind="tube_not_filled",
                    label=_unsure(
                        f"{name}: does not fill, no spill (shown at {_when(frame, result)}){_conf(s.confidence)}",
                        None if sure else review,
                    ),
                    fields={f"{tube}.opacified_to": "none", f"{tube}.spill": "none"},
                    frame=frame,
                    time_s=result.time_of(frame),
                    confidence=s.confidence,
                    sop_instance_uid=uid,
                    sop_class_uid=cls,
                    link_path=tube,
                    caption=f"{name}: not filled",
                    review_frames=None if sure else review,
                )
            )
        if sure and s.tube_filled and s.first_fill_frame is not None:
            # filling without spill or sac is not confirmed (see above): a frame to look at, not a one-click fact
            unconfirmed = s.spill == "none" and s.hydrosalpinx_mm is None
            out.append(
                Suggestion(
                    id=f"first_fill_{side}",
                    kind="key_frame",
                    label=_unsure(
                        f"Key image: {side} tube first fills at {_when(s.first_fill_frame, result)}",
                        (s.first_fill_frame, last) if unconfirmed else None,
                    ),
                    review_frames=(s.first_fill_frame, last) if unconfirmed else None,
                    fields={},
                    frame=s.first_fill_frame,
                    time_s=result.time_of(s.first_fill_frame),
                    confidence=None,
                    sop_instance_uid=uid,
                    sop_class_uid=cls,
                    link_path=tube,
                    caption=f"{name}: first filling",
                )
            )

    peritoneum = "findings.peritoneum"
    iv_sure = result.intravasation_confidence >= ONE_CLICK_MIN
    if assessed and result.intravasation is None:
        frame = result.intravasation_frame
        a, b = (max(1, frame - 3), min(last or frame, frame + 3)) if frame else (1, last or 1)
        out.append(
            Suggestion(
                id="intravasation",
                kind="not_sure",
                label=f"Venous intravasation: not sure — look at frames {a}-{b}",
                fields={},
                frame=a,
                time_s=result.time_of(a),
                confidence=result.intravasation_confidence,
                sop_instance_uid=uid,
                sop_class_uid=cls,
                review_frames=(a, b),
            )
        )
    elif assessed and result.intravasation:
        frame = result.intravasation_frame
        out.append(
            Suggestion(
                id="intravasation",
                kind="intravasation",
                label=f"Venous intravasation ({_when(frame, result) or 'frame unknown'})"
                f"{_conf(result.intravasation_confidence)}",
                fields={f"{peritoneum}.intravasation": "venous"},
                frame=frame,
                time_s=result.time_of(frame),
                confidence=result.intravasation_confidence,
                sop_instance_uid=uid,
                sop_class_uid=cls,
                link_path=peritoneum if frame is not None else "",
                caption="Venous intravasation",
                review_frames=None if iv_sure or frame is None else (max(1, frame - 3), frame + 3),
            )
        )
    elif assessed:
        out.append(
            Suggestion(
                id="intravasation",
                kind="intravasation",
                label=f"No venous intravasation seen{_conf(result.intravasation_confidence)}",
                fields={f"{peritoneum}.intravasation": "absent"},
                frame=None,
                time_s=None,
                confidence=result.intravasation_confidence,
                sop_instance_uid=uid,
                sop_class_uid=cls,
                caption="No venous intravasation",
                review_frames=None if iv_sure else (1, last or 1),
            )
        )

    md = result.max_distension_frame
    if md is not None:
        cavity = "findings.cavity"
        fields: dict[str, Any] = {}
        extra = ""
        shape = result.shape
        if shape is not None and shape.unit == "mm":
            if shape.intercornual_distance is not None:
                fields[f"{cavity}.intercornual_distance_mm"] = round(float(shape.intercornual_distance), 1)
                extra += f", intercornual distance {shape.intercornual_distance:.1f} mm"
            if shape.fundal_indentation_depth is not None:
                fields[f"{cavity}.internal_indentation_depth_mm"] = round(
                    float(shape.fundal_indentation_depth), 1
                )
                extra += f", fundal indentation {shape.fundal_indentation_depth:.1f} mm"
        out.append(
            Suggestion(
                id="max_distension",
                kind="cavity",
                label=f"Cavity: maximal distension at {_when(md, result)}{extra}",
                fields=fields,
                frame=md,
                time_s=result.time_of(md),
                confidence=None,
                sop_instance_uid=uid,
                sop_class_uid=cls,
                link_path=cavity,
                caption="Uterine cavity: maximal distension",
            )
        )

    for i, d in enumerate(result.defects, start=1):
        size = "" if d.diameter_mm is None else f", about {d.diameter_mm:.1f} mm"
        base = f"findings.filling_defects[{NEW_DEFECT}]"
        fields = {} if d.diameter_mm is None else {f"{base}.size_mm": round(float(d.diameter_mm), 1)}
        out.append(
            Suggestion(
                id=f"defect_{i}",
                kind="defect",
                caption="Filling defect",
                label=f"Filling defect candidate {i} at row {d.row:.0f}, column {d.column:.0f}{size} "
                f"(frames {d.first_frame}-{d.last_frame}), shown at {_when(d.frame, result)}",
                fields=fields,
                frame=d.frame,
                time_s=result.time_of(d.frame),
                confidence=None,
                sop_instance_uid=uid,
                sop_class_uid=cls,
                link_path=base,
                # SR SCOORD convention: (column, row) with (0, 0) at the top-left corner of the first pixel
                region=ImageRegion(uid, d.frame, RegionType.POINT, ((d.column + 0.5, d.row + 0.5),)),
            )
        )

    for key, kf in result.key_frames.items():
        if key.startswith(("first_spill_", "first_tubal_filling_", "max_distension")):
            continue  # already part of a finding suggestion above
        name = _KEY_NAMES.get(key) or key.replace("_", " ")
        out.append(
            Suggestion(
                id=f"key_{key}",
                kind="key_frame",
                caption=name[0].upper() + name[1:],
                label=f"Key image: {name} at {_when(kf.frame, result)}",
                fields={},
                frame=kf.frame,
                time_s=kf.time_s,
                confidence=None,
                sop_instance_uid=uid,
                sop_class_uid=cls,
            )
        )
    return out


def apply_suggestion(report: HsgReport, suggestion: Suggestion) -> list[str]:
    """Accept ``suggestion``: fill its field(s), link its frame to the finding, add the frame as key image.

    Returns the field paths that were set. Refuses (``ReportLockedError``) on a signed report before touching
    anything; an unknown field path raises ``KeyError`` before anything is changed.
    """
    if report.is_signed:
        raise ReportLockedError(
            f"cannot accept suggestion {suggestion.id!r}: the report is signed; create an amendment"
        )
    if not suggestion.fields and suggestion.kind == "not_sure":
        raise ValueError(f"suggestion {suggestion.id!r} is a 'not sure' note: there is nothing to accept")
    for path in suggestion.fields:  # validate every path first, so a bad one changes nothing
        if NEW_DEFECT not in path:
            report.get_value(path)

    set_paths: list[str] = []
    link_path = suggestion.link_path
    if NEW_DEFECT in link_path or any(NEW_DEFECT in p for p in suggestion.fields):
        report.add_filling_defect(FillingDefect())
        index = str(len(report.findings.filling_defects) - 1)
        link_path = link_path.replace(NEW_DEFECT, index)
    else:
        index = ""
    for path, value in suggestion.fields.items():
        real = path.replace(NEW_DEFECT, index)
        report.set_value(real, value)
        set_paths.append(real)

    if suggestion.frame is not None:
        if link_path:
            region = suggestion.region
            link = ImageLink(
                sop_instance_uid=suggestion.sop_instance_uid,
                frame_number=suggestion.frame,
                sop_class_uid=suggestion.sop_class_uid,
                region=region,
                label=_caption(suggestion),
            )
            target = report.get_value(link_path)
            if link not in target.image_links:
                report.add_image_link(link_path, link)
        already = any(
            k.sop_instance_uid == suggestion.sop_instance_uid and k.frame_number == suggestion.frame
            for k in report.key_images
        )
        if not already:
            report.add_key_image(
                KeyImage(
                    sop_instance_uid=suggestion.sop_instance_uid,
                    sop_class_uid=suggestion.sop_class_uid,
                    frame_number=suggestion.frame,
                    note=_caption(suggestion),
                )
            )
    return set_paths


def _caption(suggestion: Suggestion) -> str:
    """The words a report may carry for the frame: the finding, not the analysis' confidence or wording."""
    if suggestion.caption:
        return suggestion.caption
    return "; ".join(f"{p.rsplit('.', 1)[-1].replace('_', ' ')}: {v}" for p, v in suggestion.fields.items())
