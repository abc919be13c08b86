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

    @property
    def field_paths(self) -> tuple[str, ...]:
        return tuple(self.fields)


def _when(frame: int | None, result: FillAnalysis) -> str:
    if frame is None:
        return ""
    t = result.time_of(frame)
    return f"frame {frame}" + ("" if t is None else f" (t = {t:.1f} s)")


def _conf(c: float | None) -> str:
    return "" if c is None else f", confidence {c:.2f}"


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
        if s.spill in ("free", "loculated") and s.spill_onset_frame is not None:
            out.append(
                Suggestion(
                    id=f"spill_{side}",
                    kind="spill",
                    label=f"{name}: {s.spill} spill from {_when(s.spill_onset_frame, result)}{_conf(s.confidence)}",
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
                )
            )
        elif s.tube_filled:
            out.append(
                Suggestion(
                    id=f"no_spill_{side}",
                    kind="no_spill",
                    label=f"{name}: fills ({_when(s.first_fill_frame, result)}) but no spill by the end of the "
                    f"loop ({_when(last, result)}){_conf(s.confidence)}",
                    fields={f"{tube}.spill": "none"},
                    frame=last,
                    time_s=result.time_of(last),
                    confidence=s.confidence,
                    sop_instance_uid=uid,
                    sop_class_uid=cls,
                    link_path=tube,
                )
            )
        else:
            frame = result.max_distension_frame or last
            out.append(
                Suggestion(
                    id=f"not_filled_{side}",
                    kind="tube_not_filled",
                    label=f"{name}: does not fill, no spill (shown at {_when(frame, result)}){_conf(s.confidence)}",
                    fields={f"{tube}.opacified_to": "none", f"{tube}.spill": "none"},
                    frame=frame,
                    time_s=result.time_of(frame),
                    confidence=s.confidence,
                    sop_instance_uid=uid,
                    sop_class_uid=cls,
                    link_path=tube,
                )
            )
        if s.tube_filled and s.first_fill_frame is not None:
            out.append(
                Suggestion(
                    id=f"first_fill_{side}",
                    kind="key_frame",
                    label=f"Key image: {side} tube first fills at {_when(s.first_fill_frame, result)}",
                    fields={},
                    frame=s.first_fill_frame,
                    time_s=result.time_of(s.first_fill_frame),
                    confidence=None,
                    sop_instance_uid=uid,
                    sop_class_uid=cls,
                    link_path=tube,
                )
            )

    peritoneum = "findings.peritoneum"
    if assessed and result.intravasation:
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
        out.append(
            Suggestion(
                id=f"key_{key}",
                kind="key_frame",
                label=f"Key image: {key.replace('_', ' ')} at {_when(kf.frame, result)}",
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
                label=suggestion.label,
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
                    note=suggestion.label,
                )
            )
    return set_paths
