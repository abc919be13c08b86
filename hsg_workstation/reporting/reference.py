"""Reference report for a synthetic case: turn the generator's ground truth into what a radiologist would sign.

Why: every sample case gets a filled ``report.json`` so SR / PDF / KOS export can be run end to end, and tests
have realistic, valid reports without hand-writing dozens of fields. The clinical content comes from
``truth.json`` (sides keyed by the PATIENT's side, cavity class, defects, intravasation, dose); identity and
dose are prefilled from the DICOM headers in ``case_dir`` exactly as the workstation does for a real study.
Pre-procedure facts that no image can tell (indication, consent, pregnancy test ...) are set to the ordinary
values of an uneventful infertility work-up and said so in ``clinical.notes``.

The result has no validation errors; warnings that a careful radiologist would accept (e.g. a provisional
anomaly class) are acknowledged with a reason, as the form would record them.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from hsg_workstation.errors import HsgError
from hsg_workstation.measurements import (
    Calibration,
    CalibrationBasis,
    ImageRegion,
    Measurement,
    MeasurementKind,
    RegionType,
)
from hsg_workstation.reporting.form_spec import hydrosalpinx_grade_for
from hsg_workstation.reporting.impression import generate_impression, generate_recommendations
from hsg_workstation.reporting.model import (
    AfsAdhesionType,
    AfsExtent,
    AfsMenstrualPattern,
    AntibioticProphylaxis,
    Asrm2021Category,
    BalloonPosition,
    CatheterType,
    CavityOpacified,
    CavityShape,
    CervicalCanal,
    ClassificationConfidence,
    Complication,
    Contraindication,
    ContrastType,
    CyclePattern,
    DapUnit,
    DefectBehaviour,
    DefectContour,
    DefectLocation,
    DefectNature,
    DoseSource,
    EshreCervix,
    EshreUterus,
    FillingDefect,
    HsgReport,
    ImageLink,
    Indication,
    Intravasation,
    IntravasationAction,
    KeyImage,
    OcclusionLevel,
    OpacifiedTo,
    Patency,
    PeritubalAdhesionSign,
    PregnancyStatus,
    PregnancyTest,
    Premedication,
    ProximalSpasm,
    RiskHistory,
    Severity3,
    Side,
    Spill,
    SpillAssessment,
    StudyQuality,
    TubeCalibre,
    TubeStatus,
    View,
    WallPattern,
    prefill_from_datasets,
)
from hsg_workstation.reporting.rules import RuleConfig, Severity, validate

REFERENCE_READER = "Reference^Reader^^Dr"
RF_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.12.2"

_LEVEL = {
    "proximal": OcclusionLevel.PROXIMAL,
    "isthmic": OcclusionLevel.ISTHMIC,
    "ampullary": OcclusionLevel.AMPULLARY,
    "distal": OcclusionLevel.DISTAL,
}
_OPACIFIED_TO_FOR_LEVEL = {
    "proximal": OpacifiedTo.NONE,
    "isthmic": OpacifiedTo.ISTHMIC,
    "ampullary": OpacifiedTo.AMPULLARY,
    "distal": OpacifiedTo.AMPULLARY,
}
_NATURE = {
    "polyp": DefectNature.POLYP,
    "submucous_myoma": DefectNature.SUBMUCOUS_FIBROID,
    "submucous_fibroid": DefectNature.SUBMUCOUS_FIBROID,
    "adhesion": DefectNature.ADHESION,
}
_CONTOUR = {
    DefectNature.POLYP: DefectContour.ROUND_SMOOTH,
    DefectNature.SUBMUCOUS_FIBROID: DefectContour.LOBULATED_SMOOTH,
    DefectNature.ADHESION: DefectContour.IRREGULAR_ANGULAR,
}


class ReferenceReportError(HsgError):
    """The truth document cannot be turned into a report; the message names the field."""


def _location(text: str | None) -> DefectLocation:
    """Generator locations look like ``fundal-left`` / ``corporal-central`` / ``isthmic-right``."""
    t = (text or "").lower()
    try:
        return DefectLocation(text or "")
    except ValueError:
        pass
    if t.startswith("fund"):
        return DefectLocation.FUNDUS
    # a lateral corporal defect keeps its side (the patient's): the impression names it, the schematic draws it
    if t.startswith("corp") and t.endswith("-left"):
        return DefectLocation.WALL_L
    if t.startswith("corp") and t.endswith("-right"):
        return DefectLocation.WALL_R
    if t.startswith("isthm") or "lus" in t or "lower" in t:
        return DefectLocation.LUS
    return DefectLocation.BODY_NS


def _read_datasets(case_dir: Path | None) -> list[Any]:
    if case_dir is None or not Path(case_dir).is_dir():
        return []
    import pydicom
    from pydicom.errors import InvalidDicomError

    out = []
    for path in sorted(Path(case_dir).rglob("*")):
        if not path.is_file() or path.suffix.lower() in {".json", ".txt", ".md", ".png"}:
            continue
        try:
            out.append(pydicom.dcmread(path, stop_before_pixels=True))
        except (InvalidDicomError, OSError, EOFError, ValueError):
            continue
    # Scout / loop / spots order as the generator writes them: by series then instance number.
    out.sort(key=lambda ds: (int(ds.get("SeriesNumber", 0) or 0), int(ds.get("InstanceNumber", 0) or 0)))
    return out


def reference_report_from_truth(truth: dict[str, Any], datasets: list[Any] | None = None) -> HsgReport:
    """Build the reference ``HsgReport`` (a DRAFT with impression, recommendations and acknowledgements)."""
    if not isinstance(truth, dict):
        raise ReferenceReportError("truth must be a JSON object")
    sides = truth.get("sides")
    if not isinstance(sides, dict) or not {"left", "right"} <= set(sides):
        raise ReferenceReportError("truth.json: 'sides' must hold 'left' and 'right' (patient's sides)")
    datasets = list(datasets or [])
    r = HsgReport(author_name=REFERENCE_READER)
    if datasets:
        prefill_from_datasets(r, datasets)
    if not r.identity.study_instance_uid:
        r.identity.study_instance_uid = str(truth.get("study_instance_uid", ""))
    study_date = r.identity.study_date or _dt.date(2026, 1, 15)
    r.identity.study_date = study_date

    # Clinical / safety / technique: an ordinary infertility work-up (not derivable from images).
    r.clinical.indications = [Indication.PRIMARY_INFERTILITY]
    r.clinical.infertility_duration_months = 18
    r.clinical.risk_history = [RiskHistory.NONE]
    r.clinical.notes = (
        f"Synthetic case '{truth.get('case', '?')}': findings from the generator's ground truth; "
        "clinical history and safety checks are typical defaults."
    )
    r.safety.lmp_date = study_date - _dt.timedelta(days=8)  # cycle day 9
    r.safety.lmp_unknown = False
    r.safety.cycle_pattern = CyclePattern.REGULAR
    r.safety.menstrual_bleeding_today = False
    r.safety.pregnancy_test = PregnancyTest.URINE_NEGATIVE
    r.safety.pregnancy_status = r.safety.pregnancy_status or PregnancyStatus.NOT_PREGNANT
    if r.safety.pregnancy_status is PregnancyStatus.PREGNANT:
        r.safety.pregnancy_status = PregnancyStatus.NOT_PREGNANT
    r.safety.contraindications = [Contraindication.NONE]
    r.safety.antibiotic_prophylaxis = AntibioticProphylaxis.NONE
    r.safety.premedication = [Premedication.NSAID]
    r.safety.consent = True
    r.technique.catheter_type = CatheterType.BALLOON_CATHETER
    r.technique.balloon_position = BalloonPosition.CERVICAL_CANAL
    r.technique.balloon_volume_ml = 1.5
    r.technique.contrast_type = ContrastType.WATER_SOLUBLE_IODINATED
    r.technique.contrast_product = "Iohexol"
    r.technique.contrast_concentration_mgi_ml = 300.0
    r.technique.contrast_volume_ml = 8.0
    r.technique.views = [View.EARLY_FILLING, View.FULL_DISTENSION, View.DELAYED_POST_DRAINAGE]
    r.technique.study_quality = StudyQuality.DIAGNOSTIC

    # Dose: the headers give the per-image sum (prefill); the exam total the unit displays (truth) is what the
    # radiologist signs when it is known, entered in its source unit.
    dose = truth.get("dose") or {}
    if dose.get("dap_dgycm2") is not None:
        r.dose.set_dap(float(dose["dap_dgycm2"]), DapUnit.DGY_CM2, DoseSource.MANUAL)
    if dose.get("fluoro_time_s") is not None:
        r.dose.fluoroscopy_time_s = float(dose["fluoro_time_s"])
        r.dose.fluoroscopy_time_source = DoseSource.MANUAL
    loop_uid = str(truth.get("loop_sop_instance_uid", "") or "")
    loop_class = next(
        (str(ds.SOPClassUID) for ds in datasets if str(ds.get("SOPInstanceUID", "")) == loop_uid),
        RF_SOP_CLASS,
    )
    spacing = float(truth.get("pixel_spacing_mm") or 0) or None
    magnification = float(truth.get("magnification") or 1.0) or 1.0
    calib = (
        Calibration(
            spacing / magnification, spacing / magnification, CalibrationBasis.MAGNIFICATION_CORRECTED
        )
        if spacing
        else Calibration.uncalibrated()
    )

    # Findings.
    f = r.findings
    f.cervix.cervical_canal = CervicalCanal.NORMAL
    f.cervix.eshre_cervix = EshreCervix.C0
    cavity_class = str(truth.get("cavity_class", "normal"))
    cav = f.cavity
    cav.opacified = CavityOpacified.YES
    if cavity_class == "two_hemicavities":
        cav.shape = CavityShape.TWO_HEMICAVITIES
        cav.eshre_uterus = EshreUterus.INDETERMINATE_ON_HSG
        cav.asrm2021_category = Asrm2021Category.INDETERMINATE
        cav.classification_confidence = ClassificationConfidence.PROVISIONAL_HSG_ONLY
    elif cavity_class == "unicornuate":
        cav.shape = CavityShape.SINGLE_HEMICAVITY_FUSIFORM
        cav.eshre_uterus = EshreUterus.U4B
        cav.asrm2021_category = Asrm2021Category.UNICORNUATE
        cav.classification_confidence = ClassificationConfidence.PROVISIONAL_HSG_ONLY
    elif cavity_class == "t_shaped":
        cav.shape = CavityShape.T_SHAPED_NARROW
        cav.eshre_uterus = EshreUterus.U1A
        cav.classification_confidence = ClassificationConfidence.PROVISIONAL_HSG_ONLY
    else:
        cav.shape = CavityShape.NORMAL_TRIANGULAR
        cav.eshre_uterus = EshreUterus.U0
        cav.asrm2021_category = Asrm2021Category.NONE

    adhesion_seen = False
    for i, d in enumerate(truth.get("defects") or []):
        nature = _NATURE.get(str(d.get("type", "")))
        if nature is None:
            raise ReferenceReportError(f"truth.json: defects[{i}].type {d.get('type')!r} is not known")
        adhesion_seen |= nature is DefectNature.ADHESION
        defect = FillingDefect(
            location=_location(d.get("location")),
            size_mm=round(float(d["size_mm"]), 1) if d.get("size_mm") is not None else None,
            contour=_CONTOUR[nature],
            behaviour=DefectBehaviour.FIXED,
            suspected_nature=nature,
        )
        if loop_uid and d.get("row") is not None and d.get("column") is not None:
            frame = int(d.get("first_frame") or 1)
            # truth.json has 0-based pixel-centre [row, column]; SCOORD (and from_analysis) use (column, row) with
            # (0, 0) at the top-left corner of the top-left pixel (stack-notes), so the centre is at +0.5.
            col, row = float(d["column"]) + 0.5, float(d["row"]) + 0.5
            rad_px = (float(d.get("size_mm") or 4.0) / 2) / (calib.column_spacing_mm or 1.0)
            region = ImageRegion(
                loop_uid,
                frame,
                RegionType.ELLIPSE,
                ((col - rad_px, row), (col + rad_px, row), (col, row - rad_px), (col, row + rad_px)),
            )
            meas = Measurement(
                MeasurementKind.ELLIPSE,
                region,
                calib,
                label=nature.value.replace("_", " "),
                id=f"ref-defect-{i}",
            )
            defect.image_links.append(
                ImageLink(
                    loop_uid,
                    frame,
                    loop_class,
                    label=nature.value.replace("_", " "),
                    measurement_id=meas.id,
                )
            )
            r.measurements.append(meas)
        f.filling_defects.append(defect)
    f.adhesions.present = adhesion_seen
    if adhesion_seen:
        f.adhesions.afs_extent = AfsExtent.LT_ONE_THIRD
        f.adhesions.afs_type = AfsAdhesionType.FILMY_AND_DENSE
        f.adhesions.afs_menstrual_pattern = AfsMenstrualPattern.HYPOMENORRHOEA
        f.adhesions.update_afs()
        cav.shape = CavityShape.IRREGULAR_CONTOUR

    for side in (Side.LEFT, Side.RIGHT):
        truth_side = sides[side.value] or {}
        t = f.tubes.side(side)
        filled = bool(truth_side.get("tube_filled", True))
        patency = str(truth_side.get("patency", "patent"))
        level = truth_side.get("occlusion_level")
        spill = str(truth_side.get("spill", "free"))
        hydro = bool(truth_side.get("hydrosalpinx", False))
        t.status = TubeStatus.PRESENT
        t.wall_pattern = [WallPattern.NORMAL]
        t.spill = Spill(spill) if spill in {s.value for s in Spill} else Spill.INDETERMINATE
        if patency == "patent" and t.spill is Spill.NONE:
            # The generator built a patent tube but its spill starts after the last recorded frame (short
            # loops), so truth.json reports spill 'none' for what the images show. Patency is defined by spill
            # (spec V08): a reader who sees a tube filled to its end without spill calls patency indeterminate.
            t.patency = Patency.INDETERMINATE
            t.patency_note = "filled to the fimbrial end, no spill within the recorded sequence"
            t.opacified_to = OpacifiedTo.FIMBRIAL
        elif patency == "patent":
            t.patency = Patency.PATENT
            t.opacified_to = OpacifiedTo.FIMBRIAL
        elif patency == "occluded":
            t.patency = Patency.OCCLUDED
            t.occlusion_level = _LEVEL.get(str(level), OcclusionLevel.DISTAL)
            t.opacified_to = _OPACIFIED_TO_FOR_LEVEL.get(str(level), OpacifiedTo.AMPULLARY)
            if t.occlusion_level is OcclusionLevel.PROXIMAL:
                t.proximal_spasm = ProximalSpasm.CANNOT_BE_EXCLUDED
            if not filled:
                t.opacified_to = OpacifiedTo.NONE
        else:  # no tube seen (e.g. the absent horn of a unicornuate uterus)
            t.status = TubeStatus.UNKNOWN
            t.patency = Patency.INDETERMINATE
            t.patency_note = "no tube opacified on this side"
            t.opacified_to = OpacifiedTo.NONE
            t.wall_pattern = []
            t.spill = Spill.NONE
        if t.opacified_to is not OpacifiedTo.NONE:
            t.calibre = TubeCalibre.DILATED if hydro else TubeCalibre.NORMAL
        t.hydrosalpinx = hydro if t.opacified_to is not OpacifiedTo.NONE else None
        if hydro and truth_side.get("hydrosalpinx_diameter_mm") is not None:
            t.hydrosalpinx_diameter_mm = round(float(truth_side["hydrosalpinx_diameter_mm"]), 1)
            t.hydrosalpinx_grade = Severity3(hydrosalpinx_grade_for(t.hydrosalpinx_diameter_mm))
        if t.spill is Spill.LOCULATED:
            t.peritubal_adhesion_signs = [PeritubalAdhesionSign.LOCULATED_SPILL]
    f.peritoneum.peritoneal_spill_overall = r.derived_peritoneal_spill()
    f.peritoneum.spill_assessed_on = SpillAssessment.SEQUENCE_OR_DELAYED
    intravasation = truth.get("intravasation")
    if intravasation:
        f.peritoneum.intravasation = Intravasation.VENOUS
        f.peritoneum.intravasation_extent = Severity3.MILD
        f.peritoneum.intravasation_action = IntravasationAction.INJECTION_SLOWED_OR_STOPPED
    else:
        f.peritoneum.intravasation = Intravasation.ABSENT
    if any(t.hydrosalpinx for t in f.tubes):
        r.safety.antibiotic_prophylaxis = AntibioticProphylaxis.GIVEN
        r.safety.antibiotic_details = "doxycycline"
    r.complications.complications = [Complication.NONE]
    r.complications.pain_score = 3

    # Key images: the spot images (phase as note), plus the loop frame of maximal distension.
    spots = truth.get("spot_images") or []
    if spots:
        for spot in spots:
            r.key_images.append(
                KeyImage(
                    str(spot["sop_instance_uid"]),
                    str(spot.get("sop_class_uid") or RF_SOP_CLASS),
                    1,
                    str(spot.get("phase", "")).replace("_", " "),
                )
            )
    else:
        for ds in datasets[1:]:
            uid = str(ds.get("SOPInstanceUID", ""))
            if uid and uid != loop_uid and int(ds.get("NumberOfFrames", 1) or 1) == 1:
                r.key_images.append(
                    KeyImage(uid, str(ds.SOPClassUID), 1, str(ds.get("SeriesDescription", "")))
                )
    # Each loop frame a filling defect is marked on is a key image too, so its region is burned into the PDF.
    for defect in f.filling_defects:
        for link in defect.image_links:
            if not any(
                (k.sop_instance_uid, k.frame_number) == (link.sop_instance_uid, link.frame_number)
                for k in r.key_images
            ):
                note = f"filling defect ({defect.suspected_nature.value.replace('_', ' ')})"
                r.key_images.append(
                    KeyImage(link.sop_instance_uid, link.sop_class_uid, link.frame_number, note)
                )
    if loop_uid and truth.get("max_distension_frame"):
        frame = int(truth["max_distension_frame"])
        if not any((k.sop_instance_uid, k.frame_number) == (loop_uid, frame) for k in r.key_images):
            r.key_images.append(KeyImage(loop_uid, loop_class, frame, "full distension"))

    r.impression.sentences = generate_impression(r)
    r.recommendations = generate_recommendations(r)
    for issue in validate(r, RuleConfig()):
        if issue.severity is Severity.WARNING:
            r.acknowledge(
                issue.rule_id, issue.field_path, "reference report: accepted on review", REFERENCE_READER
            )
    return r


def build_reference_report(truth: dict[str, Any], case_dir: Path, *, signed: bool = False) -> dict[str, Any]:
    """The reference report of one generated case as report JSON (``HsgReport.to_json()``).

    By default a complete DRAFT that signs without errors (warnings acknowledged), so it can be opened in the
    form, edited and signed; ``signed=True`` signs it as ``REFERENCE_READER`` at the study date."""
    report = reference_report_from_truth(truth, _read_datasets(Path(case_dir)))
    problems = [i for i in validate(report) if i.severity is Severity.ERROR]
    if problems:
        raise ReferenceReportError(
            "reference report has validation errors: "
            + "; ".join(f"{i.rule_id} {i.field_path}" for i in problems)
        )
    if signed:
        when = _dt.datetime.combine(
            report.identity.study_date or _dt.date(2026, 1, 15), _dt.time(17, 0), _dt.UTC
        )
        report.sign(REFERENCE_READER, when)
    return report.to_json()


def example_truth(case: str = "normal") -> dict[str, Any]:
    """A small truth document in the generator's format (no DICOM needed): for tests, docs and demos."""
    patent = {
        "tube_filled": True,
        "patency": "patent",
        "occlusion_level": None,
        "spill": "free",
        "hydrosalpinx": False,
    }
    truth: dict[str, Any] = {
        "case": case,
        "study_instance_uid": "2.25.100000000000000000000000000000000001",
        "loop_sop_instance_uid": "2.25.100000000000000000000000000000000002",
        "pixel_spacing_mm": 0.3,
        "magnification": 1.2,
        "cavity_class": "normal",
        "max_distension_frame": 30,
        "sides": {"left": dict(patent), "right": dict(patent)},
        "defects": [],
        "intravasation": False,
        "dose": {"dap_dgycm2": 24.0, "fluoro_time_s": 58.0},
    }
    if case == "normal":
        return truth
    if case == "unilateral_proximal_occlusion":
        truth["sides"]["left"].update(
            tube_filled=False, patency="occluded", occlusion_level="proximal", spill="none"
        )
    elif case == "bilateral_distal_hydrosalpinx":
        for s in ("left", "right"):
            truth["sides"][s].update(
                patency="occluded",
                occlusion_level="distal",
                spill="none",
                hydrosalpinx=True,
                hydrosalpinx_diameter_mm=16.0,
            )
    elif case in ("endometrial_polyp", "submucous_myoma", "intrauterine_adhesions"):
        kind = {"endometrial_polyp": "polyp", "submucous_myoma": "submucous_myoma"}.get(case, "adhesion")
        truth["defects"] = [
            {
                "type": kind,
                "location": "fundal-left",
                "size_mm": 8.0,
                "row": 120,
                "column": 130,
                "first_frame": 6,
            }
        ]
    elif case in ("two_hemicavities", "unicornuate", "t_shaped"):
        truth["cavity_class"] = case
        if case == "unicornuate":
            truth["sides"]["right"].update(tube_filled=False, patency="not_assessable", spill="none")
    elif case == "venous_intravasation":
        truth["intravasation"] = True
    elif case == "loculated_spill":
        truth["sides"]["right"]["spill"] = "loculated"
    else:
        raise ValueError(f"unknown example case {case!r}")
    return truth


def example_report(case: str = "normal") -> HsgReport:
    """A complete, valid (signable) draft report for ``example_truth(case)``."""
    return reference_report_from_truth(example_truth(case))
