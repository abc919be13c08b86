"""The report form's specification: sections, blocks, fields, labels, units, and when each field applies.

Why here, Qt-free: the order and the "only when it applies" conditions are clinical content (spec §1) — they
decide what the SR and PDF contain, not only what the screen shows. ``HsgReport.clear_inapplicable`` empties
answers whose field does not apply on every path (the GUI form after each edit, the CLI before export, a
report read from JSON), and ``ui/report_sections.py`` / ``ui/report_form.py`` render this specification.
Reviewed by reading this file top to bottom. Paths are the model's dotted paths (``HsgReport.get_value`` /
``set_value``) — the same paths ``rules.Issue.field_path`` uses, so inline messages land beside their field.

Conditions are plain functions of the report, tested without a display.

Why ~600 lines in one module: it is one table — the form's sections, blocks and fields in screen order — and it is
reviewed by reading it top to bottom against spec §1; split, the order of the form would be spread over files.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hsg_workstation.reporting import eshre
from hsg_workstation.reporting.enums import (
    AntibioticProphylaxis,
    Asrm2021Category,
    CatheterType,
    CavityShape,
    Contraindication,
    DefectNature,
    EshreUterus,
    ExternalContourSource,
    Indication,
    Intravasation,
    LimitationReason,
    OcclusionLevel,
    Patency,
    PregnancyTest,
    PresentAbsent,
    SelectiveSalpingography,
    StudyQuality,
    TubeCalibre,
    TubeStatus,
)
from hsg_workstation.reporting.field_paths import Kind, classify, field_type

if TYPE_CHECKING:  # pragma: no cover - the report imports this module; the types only
    from hsg_workstation.reporting.report import HsgReport
    from hsg_workstation.reporting.sections import Tube, UterineCavity

log = logging.getLogger(__name__)

Condition = Callable[["HsgReport"], bool]

# Stated criteria of the hydrosalpinx grade (maximum diameter of the dilated tube on the filled images), after
# Hull & Rutherford's tubal-distension scale (> 15 mm = severe; spec §6 ref 41).
HYDROSALPINX_GRADE_CRITERIA = "mild < 10 mm · moderate 10–15 mm · severe > 15 mm (maximum diameter)"
HYDROSALPINX_GRADE_LIMITS_MM = (10.0, 15.0)


def hydrosalpinx_grade_for(diameter_mm: float) -> str:
    """'mild' / 'moderate' / 'severe' by the stated criteria (the diameter is rounded to whole mm first, as
    reported)."""
    d = round(diameter_mm)
    low, high = HYDROSALPINX_GRADE_LIMITS_MM
    return "mild" if d < low else ("moderate" if d <= high else "severe")


@dataclass(frozen=True)
class FieldSpec:
    """One row of the form. ``label`` may carry a ``&`` mnemonic; ``when`` hides the row if it does not apply."""

    path: str
    label: str
    unit: str = ""
    when: Condition | None = None
    lines: int = 0  # > 0: multi-line text box with that many lines
    minimum: float = 0
    maximum: float = 100000
    tooltip: str = ""
    # pick-list values this report can support (None: all); the form greys the others out (issue 11: the
    # reader cannot pick an ESHRE/ESGE class the recorded findings cannot support)
    offered: Callable[[HsgReport], frozenset[Any]] | None = None


@dataclass(frozen=True)
class BlockSpec:
    """A titled group of fields about one finding; ``links`` = it can carry image links (mark on image)."""

    path: str
    title: str
    fields: tuple[FieldSpec, ...]
    links: bool = False
    when: Condition | None = None


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    blocks: tuple[BlockSpec, ...] = field(default_factory=tuple)


def _tube(side: str) -> Callable[[HsgReport], Tube]:
    return lambda r: getattr(r.findings.tubes, side)


def _tube_fields(side: str) -> tuple[FieldSpec, ...]:
    p = f"findings.tubes.{side}"
    t = _tube(side)

    def present(r: HsgReport) -> bool:
        return t(r).status is not TubeStatus.SURGICALLY_ABSENT

    def occluded(r: HsgReport) -> bool:
        return present(r) and t(r).patency is Patency.OCCLUDED

    def proximal(r: HsgReport) -> bool:
        return occluded(r) and t(r).occlusion_level is OcclusionLevel.PROXIMAL

    def dilated(r: HsgReport) -> bool:
        return present(r) and (t(r).calibre is TubeCalibre.DILATED or t(r).hydrosalpinx is not None)

    def hydro(r: HsgReport) -> bool:
        return dilated(r) and bool(t(r).hydrosalpinx)

    return (
        FieldSpec(f"{p}.status", "Status"),
        FieldSpec(f"{p}.opacified_to", "Opacified to", when=present),
        FieldSpec(f"{p}.patency", "Patency", when=present),
        FieldSpec(f"{p}.occlusion_level", "Occlusion level", when=occluded),
        FieldSpec(
            f"{p}.proximal_spasm",
            "Spasm / mucus plug",
            when=proximal,
            tooltip="Proximal non-filling can be spasm or a mucus plug; say whether it was excluded",
        ),
        FieldSpec(
            f"{p}.patency_note",
            "Why indeterminate",
            when=lambda r: present(r) and t(r).patency is Patency.INDETERMINATE,
        ),
        FieldSpec(f"{p}.spill", "Spill", when=present),
        FieldSpec(f"{p}.calibre", "Calibre", when=present),
        FieldSpec(f"{p}.hydrosalpinx", "Hydrosalpinx", when=dilated),
        FieldSpec(f"{p}.hydrosalpinx_diameter_mm", "Max. diameter", unit="mm", when=hydro, maximum=200),
        FieldSpec(f"{p}.mucosal_folds", "Mucosal folds", when=hydro),
        FieldSpec(
            f"{p}.hydrosalpinx_grade",
            "Hydrosalpinx grade",
            when=hydro,
            tooltip=HYDROSALPINX_GRADE_CRITERIA,
        ),
        FieldSpec(f"{p}.wall_pattern", "Wall / mucosa", when=present),
        FieldSpec(f"{p}.peritubal_adhesion_signs", "Peritubal adhesion signs", when=present),
        FieldSpec(f"{p}.note", "Note"),
    )


def _infertility(r: HsgReport) -> bool:
    return bool(
        {Indication.PRIMARY_INFERTILITY, Indication.SECONDARY_INFERTILITY} & set(r.clinical.indications)
    )


infertility_indicated = _infertility  # (public name: the report bar's duration entry applies when this does)


def _cavity(r: HsgReport) -> UterineCavity:
    return r.findings.cavity


def _indented(r: HsgReport) -> bool:
    return _cavity(r).shape in (CavityShape.FUNDAL_INDENTATION, CavityShape.TWO_HEMICAVITIES)


def _anomaly(r: HsgReport) -> bool:
    c = _cavity(r)
    return c.eshre_uterus not in (None, EshreUterus.U0) or c.asrm2021_category not in (
        None,
        Asrm2021Category.NONE,
    )


def _iua(r: HsgReport) -> bool:
    return r.findings.adhesions.present is True


def _intravasation(r: HsgReport) -> bool:
    return r.findings.peritoneum.intravasation not in (None, Intravasation.ABSENT)


def _not_diagnostic(r: HsgReport) -> bool:
    return r.technique.study_quality not in (None, StudyQuality.DIAGNOSTIC)


def _balloon(r: HsgReport) -> bool:
    return r.technique.catheter_type is CatheterType.BALLOON_CATHETER


SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "clinical",
        "A. Clinical information && indication",
        (
            BlockSpec(
                "clinical",
                "",
                (
                    FieldSpec("clinical.indications", "&Indication"),
                    FieldSpec(
                        "clinical.indication_other",
                        "Other indication",
                        when=lambda r: Indication.OTHER in r.clinical.indications,
                    ),
                    FieldSpec(
                        "clinical.infertility_duration_months",
                        "Infertility duration",
                        unit="months",
                        when=_infertility,
                        maximum=600,
                    ),
                    FieldSpec("clinical.gravidity", "Gravidity", maximum=30),
                    FieldSpec("clinical.parity", "Parity", maximum=30),
                    FieldSpec("clinical.miscarriages", "Miscarriages", maximum=30),
                    FieldSpec("clinical.ectopics", "Ectopic pregnancies", maximum=30),
                    FieldSpec("clinical.risk_history", "Ris&k history"),
                    FieldSpec("clinical.prior_imaging", "Prior imaging"),
                    FieldSpec(
                        "clinical.prior_imaging_date",
                        "Prior imaging date",
                        when=lambda r: bool(r.clinical.prior_imaging.strip()),
                    ),
                    FieldSpec("clinical.comparison", "Comparison"),
                    FieldSpec("clinical.notes", "Clinical notes", lines=2),
                ),
            ),
        ),
    ),
    SectionSpec(
        "safety",
        "B. Pre-procedure safety",
        (
            BlockSpec(
                "safety",
                "",
                (
                    FieldSpec("safety.lmp_date", "&LMP (first day)"),
                    FieldSpec("safety.lmp_unknown", "LMP unknown"),
                    FieldSpec(
                        "safety.cycle_day",
                        "Cycle day",
                        maximum=400,
                        tooltip="Computed from LMP and the study date; type a value only to override",
                    ),
                    FieldSpec("safety.cycle_pattern", "Cycle pattern"),
                    FieldSpec("safety.menstrual_bleeding_today", "Bleeding today"),
                    FieldSpec("safety.pregnancy_test", "&Pregnancy test"),
                    FieldSpec(
                        "safety.pregnancy_test_datetime",
                        "Test date / time",
                        when=lambda r: r.safety.pregnancy_test not in (None, PregnancyTest.NOT_DONE),
                    ),
                    FieldSpec("safety.pregnancy_status", "Pregnancy status"),
                    FieldSpec("safety.contraindications", "Contraindications"),
                    FieldSpec(
                        "safety.contraindication_override_note",
                        "Why performed anyway",
                        when=lambda r: bool(
                            {Contraindication.ACTIVE_PELVIC_INFECTION, Contraindication.PREGNANCY}
                            & set(r.safety.contraindications)
                        ),
                    ),
                    FieldSpec("safety.antibiotic_prophylaxis", "Antibiotic prophylaxis"),
                    FieldSpec(
                        "safety.antibiotic_details",
                        "Agent / dose",
                        when=lambda r: (
                            r.safety.antibiotic_prophylaxis
                            in (AntibioticProphylaxis.GIVEN, AntibioticProphylaxis.GIVEN_POST_PROCEDURE)
                        ),
                    ),
                    FieldSpec("safety.premedication", "Premedication"),
                    FieldSpec("safety.consent", "Consent documented"),
                ),
            ),
        ),
    ),
    SectionSpec(
        "technique",
        "C. Technique",
        (
            BlockSpec(
                "technique",
                "",
                (
                    FieldSpec("technique.catheter_type", "&Catheter"),
                    FieldSpec(
                        "technique.catheter_other",
                        "Other catheter",
                        when=lambda r: r.technique.catheter_type is CatheterType.OTHER,
                    ),
                    FieldSpec("technique.balloon_position", "Balloon position", when=_balloon),
                    FieldSpec(
                        "technique.balloon_volume_ml", "Balloon volume", unit="mL", when=_balloon, maximum=20
                    ),
                    FieldSpec("technique.contrast_type", "Contrast type"),
                    FieldSpec("technique.contrast_product", "Contrast product"),
                    FieldSpec(
                        "technique.contrast_concentration_mgi_ml",
                        "Concentration",
                        unit="mg I/mL",
                        maximum=1000,
                    ),
                    FieldSpec("technique.contrast_volume_ml", "Contrast v&olume", unit="mL", maximum=200),
                    FieldSpec("technique.views", "Views"),
                    FieldSpec("technique.selective_salpingography", "Selective salpingography"),
                    FieldSpec(
                        "technique.selective_salpingography_result",
                        "Salpingography result",
                        when=lambda r: (
                            r.technique.selective_salpingography not in (None, SelectiveSalpingography.NONE)
                        ),
                    ),
                    FieldSpec("technique.study_quality", "Study &quality"),
                    FieldSpec("technique.limitation_reasons", "Limitations", when=_not_diagnostic),
                    FieldSpec(
                        "technique.limitation_other",
                        "Other limitation",
                        when=lambda r: (
                            _not_diagnostic(r) and LimitationReason.OTHER in r.technique.limitation_reasons
                        ),
                    ),
                ),
            ),
        ),
    ),
    SectionSpec(
        "dose",
        "D. Radiation dose",
        (
            BlockSpec(
                "dose",
                "",
                (
                    FieldSpec("dose.dap_total_gy_cm2", "&DAP total", unit="Gy·cm²", maximum=10000),
                    FieldSpec("dose.fluoroscopy_time_s", "Fluoroscopy time", unit="s", maximum=36000),
                    FieldSpec("dose.radiographic_images", "Radiographs", maximum=10000),
                    FieldSpec("dose.entrance_dose_mgy", "Entrance dose", unit="mGy", maximum=100000),
                    FieldSpec("dose.dose_review_reason", "Dose review reason"),
                ),
            ),
        ),
    ),
    SectionSpec(
        "findings",
        "E. Findings",
        (
            BlockSpec(
                "findings.cervix",
                "Cervix",
                (
                    FieldSpec("findings.cervix.cervical_canal", "Cervical ca&nal"),
                    FieldSpec("findings.cervix.eshre_cervix", "ESHRE cervix"),
                    FieldSpec("findings.cervix.eshre_vagina", "ESHRE vagina"),
                    FieldSpec("findings.cervix.note", "Note"),
                ),
                links=True,
            ),
            BlockSpec(
                "findings.cavity",
                "Uterine cavity",
                (
                    FieldSpec("findings.cavity.opacified", "Opacified"),
                    FieldSpec("findings.cavity.size", "Size"),
                    FieldSpec("findings.cavity.shape", "S&hape"),
                    FieldSpec(
                        "findings.cavity.internal_indentation_depth_mm",
                        "Indentation depth",
                        unit="mm",
                        when=_indented,
                        maximum=100,
                    ),
                    FieldSpec(
                        "findings.cavity.indentation_angle_deg",
                        "Indentation angle",
                        unit="°",
                        when=_indented,
                        maximum=360,
                    ),
                    FieldSpec(
                        "findings.cavity.hemicavity_divergence_angle_deg",
                        "Divergence angle",
                        unit="°",
                        when=lambda r: _cavity(r).shape is CavityShape.TWO_HEMICAVITIES,
                        maximum=360,
                    ),
                    FieldSpec(
                        "findings.cavity.intercornual_distance_mm",
                        "Intercornual distance",
                        unit="mm",
                        when=lambda r: _indented(r) or _anomaly(r),
                        maximum=200,
                    ),
                    FieldSpec("findings.cavity.external_contour_source", "External contour from"),
                    FieldSpec(
                        "findings.cavity.external_fundal_indentation_mm",
                        "External indentation",
                        unit="mm",
                        when=lambda r: (
                            _cavity(r).external_contour_source is not ExternalContourSource.NOT_ASSESSED
                        ),
                        maximum=100,
                    ),
                    FieldSpec(
                        "findings.cavity.eshre_uterus",
                        "ESHRE/ESGE class",
                        tooltip=(
                            "HSG alone shows neither the external contour nor the wall: an indented cavity is "
                            "'not assessable on HSG' and U2/U3 need the contour source above"
                        ),
                        offered=lambda r: eshre.supported_classes(_cavity(r)),
                    ),
                    FieldSpec("findings.cavity.asrm2021_category", "ASRM 2021"),
                    FieldSpec(
                        "findings.cavity.classification_confidence", "Classification basis", when=_anomaly
                    ),
                    FieldSpec("findings.cavity.adenomyosis_signs", "Adenomyosis signs"),
                    FieldSpec("findings.cavity.caesarean_niche", "Caesarean niche"),
                    FieldSpec(
                        "findings.cavity.caesarean_niche_depth_mm",
                        "Niche depth",
                        unit="mm",
                        when=lambda r: _cavity(r).caesarean_niche is PresentAbsent.PRESENT,
                        maximum=50,
                    ),
                    FieldSpec("findings.cavity.note", "Note"),
                ),
                links=True,
            ),
            # Filling defects (repeatable) are inserted here by the form: see DEFECT_FIELDS.
            BlockSpec(
                "findings.adhesions",
                "Intrauterine adhesions",
                (
                    FieldSpec("findings.adhesions.present", "Adhesions present"),
                    FieldSpec("findings.adhesions.afs_extent", "AFS extent", when=_iua),
                    FieldSpec("findings.adhesions.afs_type", "AFS type", when=_iua),
                    FieldSpec("findings.adhesions.afs_menstrual_pattern", "AFS menstrual pattern", when=_iua),
                    FieldSpec("findings.adhesions.march", "March (HSG-estimated)", when=_iua),
                    FieldSpec("findings.adhesions.esh_esge", "ESH/ESGE grade", when=_iua),
                    FieldSpec("findings.adhesions.note", "Note", when=_iua),
                ),
                links=True,
            ),
            BlockSpec("findings.tubes.left", "Left tube (patient's left)", _tube_fields("left"), links=True),
            BlockSpec(
                "findings.tubes.right", "Right tube (patient's right)", _tube_fields("right"), links=True
            ),
            BlockSpec(
                "findings.peritoneum",
                "Peritoneum && intravasation",
                (
                    FieldSpec("findings.peritoneum.peritoneal_spill_overall", "Peritoneal spill"),
                    FieldSpec("findings.peritoneum.spill_assessed_on", "Spill judged on"),
                    FieldSpec("findings.peritoneum.intravasation", "Intra&vasation"),
                    FieldSpec("findings.peritoneum.intravasation_extent", "Extent", when=_intravasation),
                    FieldSpec(
                        "findings.peritoneum.intravasation_action", "Action taken", when=_intravasation
                    ),
                    FieldSpec("findings.peritoneum.note", "Note"),
                ),
                links=True,
            ),
            BlockSpec("findings", "Other findings", (FieldSpec("findings.other", "Other", lines=2),)),
        ),
    ),
    SectionSpec(
        "complications",
        "F. Complications",
        (
            BlockSpec(
                "complications",
                "",
                (
                    FieldSpec("complications.complications", "Co&mplications"),
                    FieldSpec("complications.pain_score", "Pain score (0–10)", maximum=10),
                    FieldSpec("complications.note", "Note"),
                    FieldSpec("complications.infection_followup", "Infection follow-up"),
                ),
            ),
        ),
    ),
)

# Shown only while a rule flags a critical result (V11 failed sterilisation) or one was recorded: the form
# decides visibility from the rule issues (``Issue.critical``), not from a condition here.
CRITICAL_RESULT_SECTION = SectionSpec(
    "critical_result",
    "Communication of critical result",
    (
        BlockSpec(
            "critical_result",
            "",
            (
                FieldSpec("critical_result.communicated_to", "Communicated to"),
                FieldSpec("critical_result.method", "Method (phone, in person …)"),
                FieldSpec("critical_result.communicated_by", "Communicated by"),
                FieldSpec("critical_result.reason", "Critical finding"),
            ),
        ),
    ),
)

# Fields of one filling-defect row; ``{i}`` is replaced with the row index.
DEFECT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("findings.filling_defects[{i}].location", "Location"),
    FieldSpec("findings.filling_defects[{i}].size_mm", "Size", unit="mm", maximum=200),
    FieldSpec("findings.filling_defects[{i}].count", "Count", minimum=1, maximum=100),
    FieldSpec("findings.filling_defects[{i}].contour", "Contour"),
    FieldSpec("findings.filling_defects[{i}].behaviour", "Behaviour"),
    FieldSpec("findings.filling_defects[{i}].suspected_nature", "Suspected nature"),
    FieldSpec(
        "findings.filling_defects[{i}].figo_submucous_type",
        "FIGO submucous type",
        tooltip="0: pedunculated intracavitary · 1: < 50 % intramural · 2: ≥ 50 % intramural (provisional on HSG)",
    ),
    FieldSpec("findings.filling_defects[{i}].note", "Note"),
)


def _submucous(index: int) -> Condition:
    """The FIGO row applies to a defect whose suspected nature is a submucous fibroid."""

    def applies(r: HsgReport) -> bool:
        defects = r.findings.filling_defects
        return index < len(defects) and defects[index].suspected_nature is DefectNature.SUBMUCOUS_FIBROID

    return applies


def defect_fields(index: int) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(
            f.path.replace("{i}", str(index)),
            f.label,
            f.unit,
            _submucous(index) if f.path.endswith("figo_submucous_type") else f.when,
            f.lines,
            f.minimum,
            f.maximum,
            f.tooltip,
        )
        for f in DEFECT_FIELDS
    )


def all_field_paths() -> list[str]:
    """Every static field path (for tests: each must exist on a default report)."""
    sections = (*SECTIONS, CRITICAL_RESULT_SECTION)
    return [f.path for s in sections for b in s.blocks for f in b.fields]


def applies(spec: FieldSpec | BlockSpec, report: HsgReport) -> bool:
    """True when the field applies to this report (shown, kept in the outputs).

    A condition that raises is a bug in this file: the field is shown rather than hidden (hiding would also
    clear the answer), and the error is logged with the field's path so it does not pass unnoticed; the tests
    call every condition directly, so such a bug fails them."""
    if spec.when is None:
        return True
    try:
        return bool(spec.when(report))
    except Exception:  # noqa: BLE001 - see docstring: show the field, log the bug
        log.exception("condition of report field %s failed; the field is shown", spec.path)
        return True


def plain(text: str) -> str:
    """Label without mnemonic markers (for messages and tests)."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def conditional_fields(report: HsgReport) -> list[FieldSpec]:
    """Every field with a condition, in reading order, the filling-defect rows of this report included."""
    fields = [f for s in (*SECTIONS, CRITICAL_RESULT_SECTION) for b in s.blocks for f in b.fields]
    for index in range(len(report.findings.filling_defects)):
        fields.extend(defect_fields(index))
    return [f for f in fields if f.when is not None]


NO_EMPTY = object()
"""``empty_value`` of a field that has no unanswered state (required, with a default): never cleared."""


def empty_value(kind: Kind, optional: bool) -> Any:
    """What an unanswered field of this editor kind holds in the model, or ``NO_EMPTY``."""
    if kind is Kind.MULTI_ENUM:
        return []
    if kind is Kind.TEXT:
        return None if optional else ""
    return None if optional else NO_EMPTY


def empty_value_at(report: HsgReport, path: str) -> Any:
    """``empty_value`` of the field at ``path``, from the model's type hint (cached per path shape: the type of
    ``findings.filling_defects[3].size_mm`` is that of every defect's ``size_mm``; this runs after every edit)."""
    key = (type(report), re.sub(r"\[\d+\]", "[]", path))
    if key not in _EMPTY_CACHE:
        kind, _, optional = classify(field_type(report, path))
        _EMPTY_CACHE[key] = empty_value(kind, optional)
    value = _EMPTY_CACHE[key]
    return [] if value == [] else value  # a fresh list: callers may store it in the report


_EMPTY_CACHE: dict[tuple[type, str], Any] = {}


def inapplicable_answers(report: HsgReport) -> dict[str, Any]:
    """Answers (path → value) given on fields that do not apply to this report, in reading order."""
    out: dict[str, Any] = {}
    for spec in conditional_fields(report):
        if applies(spec, report):
            continue
        empty = empty_value_at(report, spec.path)
        value = report.get_value(spec.path)
        if empty is not NO_EMPTY and value != empty:
            out[spec.path] = value
    return out
