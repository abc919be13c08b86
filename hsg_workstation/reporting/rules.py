"""Validation rules of the HSG report (spec §1.11, V01–V27), one small function per rule.

Why one function per rule: each rule is tested on its own (firing and not firing), the form shows each
message inline at its ``field_path``, and a site can read exactly what a rule checks. ``validate()`` runs them
all and returns every problem, never just the first.

Severities: ERROR blocks signing; WARNING blocks signing until acknowledged (``HsgReport.acknowledge``, recorded
with reason / who / when); INFO is shown only.

``V00`` is this project's addition: completeness of the fields the spec marks R (required to sign) and C
(conditionally required). The spec's V-rules only check contradictions; without V00 an empty report would sign.

Why ~660 lines in one module: it is the spec's rule list V00–V27 in the spec's order, 28 small functions and one
``validate()``; a reviewer checks it against spec §1.11 side by side. Split by subject, the rules that read
several parts at once (tubes + peritoneum, cavity + defects) would have to pick one home, and the list would no
longer read in the spec's order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from hsg_workstation.reporting import eshre
from hsg_workstation.reporting.afs import afs_score_and_stage, afs_stage_for_score
from hsg_workstation.reporting.enums import (
    AfsAdhesionType,
    AfsExtent,
    AntibioticProphylaxis,
    Asrm2021Category,
    CavityShape,
    Contraindication,
    ContrastType,
    CyclePattern,
    DefectBehaviour,
    DefectNature,
    EshreUterus,
    ImpressionEditAction,
    Indication,
    Intravasation,
    OpacifiedTo,
    Patency,
    PregnancyStatus,
    PregnancyTest,
    Spill,
    SpillAssessment,
    StudyQuality,
    TubeCalibre,
    TubeStatus,
)
from hsg_workstation.reporting.sections import Tube

if TYPE_CHECKING:  # pragma: no cover - the report imports this module; the type only
    from hsg_workstation.reporting.report import HsgReport


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Issue:
    rule_id: str  # "V00".."V27"
    severity: Severity
    field_path: str  # dotted path into HsgReport, e.g. "findings.tubes.left.spill"
    message: str
    critical: bool = False  # needs critical-result communication (V11)


@dataclass(frozen=True)
class RuleConfig:
    """Site-configurable limits. The warning DRLs are off by default (a site sets its own); the report itself
    always states how DAP and fluoroscopy time compare with the UK national reference level for HSG
    (``reporting.wording.drl_comparison``: 2 Gy·cm², 0.7 min, quoted in issue 11)."""

    cycle_day_min: int = 6
    cycle_day_max: int = 12
    contrast_volume_min_ml: float = 2.0
    contrast_volume_max_ml: float = 20.0
    local_drl_dap_gy_cm2: float | None = None
    local_drl_time_s: float | None = None
    dap_plausible_min_gy_cm2: float = 0.001
    dap_plausible_max_gy_cm2: float = 1000.0
    check_completeness: bool = True


Rule = Callable[["HsgReport", RuleConfig], Iterator[Issue]]
RULES: dict[str, Rule] = {}


def rule(rule_id: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES[rule_id] = fn
        fn.rule_id = rule_id  # type: ignore[attr-defined]
        return fn

    return register


def validate(report: HsgReport, config: RuleConfig | None = None) -> list[Issue]:
    """Every problem found (not just the first), ordered by rule id."""
    config = config or RuleConfig()
    issues: list[Issue] = []
    for rule_id in sorted(RULES):
        if rule_id == "V00" and not config.check_completeness:
            continue
        issues.extend(RULES[rule_id](report, config))
    return issues


def errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.severity is Severity.ERROR]


def _E(rule_id: str, path: str, msg: str, critical: bool = False) -> Issue:  # noqa: N802
    return Issue(rule_id, Severity.ERROR, path, msg, critical)


def _W(rule_id: str, path: str, msg: str, critical: bool = False) -> Issue:  # noqa: N802
    return Issue(rule_id, Severity.WARNING, path, msg, critical)


def _I(rule_id: str, path: str, msg: str) -> Issue:  # noqa: N802
    return Issue(rule_id, Severity.INFO, path, msg)


def _sides(report: HsgReport) -> Iterator[tuple[str, Tube]]:
    yield "findings.tubes.left", report.findings.tubes.left
    yield "findings.tubes.right", report.findings.tubes.right


def _tube_assessable(t: Tube) -> bool:
    return t.status is not TubeStatus.SURGICALLY_ABSENT


# ----------------------------------------------------------------------------------------------------------
# V00 completeness (project addition)
# ----------------------------------------------------------------------------------------------------------


@rule("V00")
def v00_required_fields(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    def missing(path: str, what: str) -> Issue:
        return _E("V00", path, f"{what} is required to sign")

    s, t, f = r.safety, r.technique, r.findings
    if not r.clinical.indications:
        yield missing("clinical.indications", "Indication")
    if Indication.OTHER in r.clinical.indications and not r.clinical.indication_other.strip():
        yield missing("clinical.indication_other", "Text for indication 'other'")
    infertility = {Indication.PRIMARY_INFERTILITY, Indication.SECONDARY_INFERTILITY} & set(
        r.clinical.indications
    )
    if infertility and r.clinical.infertility_duration_months is None:  # spec §1.2: C (if infertility)
        yield missing("clinical.infertility_duration_months", "Duration of infertility")
    if not r.clinical.risk_history:
        yield missing("clinical.risk_history", "Risk history (or 'none')")
    if s.lmp_date is None and not s.lmp_unknown:
        yield missing("safety.lmp_date", "Last menstrual period (or 'unknown')")
    if s.menstrual_bleeding_today is None:
        yield missing("safety.menstrual_bleeding_today", "Menstrual bleeding today")
    if s.pregnancy_test is None:
        yield missing("safety.pregnancy_test", "Pregnancy test")
    if s.pregnancy_status is None:
        yield missing("safety.pregnancy_status", "Pregnancy status")
    if not s.contraindications:
        yield missing("safety.contraindications", "Contraindication screen (or 'none')")
    if s.consent is not True:
        yield missing("safety.consent", "Documented consent")
    if t.catheter_type is None:
        yield missing("technique.catheter_type", "Catheter type")
    if t.contrast_type is None:
        yield missing("technique.contrast_type", "Contrast type")
    if t.contrast_volume_ml is None:
        yield missing("technique.contrast_volume_ml", "Contrast volume")
    if len(t.views) < 2:
        yield missing("technique.views", "At least two views")
    if t.study_quality is None:
        yield missing("technique.study_quality", "Study quality")
    if r.dose.fluoroscopy_time_s is None:
        yield missing("dose.fluoroscopy_time_s", "Fluoroscopy time")
    if r.dose.dap_total_gy_cm2 is None:
        yield missing("dose.dap_total_gy_cm2", "Dose area product")
    if f.cervix.cervical_canal is None:
        yield missing("findings.cervix.cervical_canal", "Cervical canal finding")
    if f.cavity.opacified is None:
        yield missing("findings.cavity.opacified", "Cavity opacification")
    if f.cavity.shape is None:
        yield missing("findings.cavity.shape", "Cavity shape")
    if f.cavity.eshre_uterus is None:
        yield missing("findings.cavity.eshre_uterus", "ESHRE/ESGE uterine class")
    # "not assessable on HSG" classifies nothing: there is no class whose basis could be stated
    anomaly = f.cavity.eshre_uterus not in (None, EshreUterus.U0, eshre.NOT_ASSESSABLE)
    if anomaly and f.cavity.classification_confidence is None:
        yield missing("findings.cavity.classification_confidence", "Classification confidence for an anomaly")
    if f.cavity.shape in (CavityShape.FUNDAL_INDENTATION, CavityShape.TWO_HEMICAVITIES) and (
        f.cavity.internal_indentation_depth_mm is None
    ):
        yield _W("V00", "findings.cavity.internal_indentation_depth_mm", "Indentation depth not measured")
    for i, d in enumerate(f.filling_defects):
        if d.suspected_nature is None:
            yield missing(
                f"findings.filling_defects[{i}].suspected_nature", "Suspected nature of filling defect"
            )
        if d.location is None:
            yield missing(f"findings.filling_defects[{i}].location", "Location of filling defect")
    if f.adhesions.present is None:
        yield missing("findings.adhesions.present", "Intrauterine adhesions present / absent")
    for path, tube in _sides(r):
        if tube.status is None:
            yield missing(f"{path}.status", "Tube status")
        if not _tube_assessable(tube):
            continue
        for name, label in (
            ("opacified_to", "Tube opacified to"),
            ("patency", "Tubal patency"),
            ("spill", "Spill"),
        ):
            if getattr(tube, name) is None:
                yield missing(f"{path}.{name}", label)
        if tube.opacified_to not in (None, OpacifiedTo.NONE) and tube.calibre is None:
            yield missing(f"{path}.calibre", "Calibre of an opacified tube")
        if tube.patency is Patency.OCCLUDED and tube.occlusion_level is None:
            yield missing(f"{path}.occlusion_level", "Occlusion level of an occluded tube")
        if tube.calibre is TubeCalibre.DILATED and tube.hydrosalpinx is None:
            yield missing(f"{path}.hydrosalpinx", "Hydrosalpinx yes / no for a dilated tube")
        if tube.hydrosalpinx and tube.hydrosalpinx_diameter_mm is None:
            yield _W("V00", f"{path}.hydrosalpinx_diameter_mm", "Hydrosalpinx diameter not measured")
    if f.peritoneum.peritoneal_spill_overall is None:
        yield missing("findings.peritoneum.peritoneal_spill_overall", "Peritoneal spill overall")
    if f.peritoneum.intravasation is None:
        yield missing("findings.peritoneum.intravasation", "Intravasation")
    elif f.peritoneum.intravasation is not Intravasation.ABSENT and f.peritoneum.intravasation_extent is None:
        yield _W("V00", "findings.peritoneum.intravasation_extent", "Extent of intravasation not given")
    if not r.complications.complications:
        yield missing("complications.complications", "Complications (or 'none')")


# ----------------------------------------------------------------------------------------------------------
# V01–V05 safety
# ----------------------------------------------------------------------------------------------------------


@rule("V01")
def v01_pregnancy(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    if r.safety.pregnancy_test is PregnancyTest.POSITIVE:
        yield _E(
            "V01", "safety.pregnancy_test", "Positive pregnancy test: HSG is contraindicated in pregnancy"
        )
    if r.safety.pregnancy_status is PregnancyStatus.PREGNANT:
        yield _E("V01", "safety.pregnancy_status", "Patient pregnant: HSG is contraindicated in pregnancy")


@rule("V02")
def v02_pregnancy_test_missing(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    s = r.safety
    if s.pregnancy_test is not PregnancyTest.NOT_DONE:
        return
    day = r.effective_cycle_day()
    reasons = []
    if day is not None and day > c.cycle_day_max:
        reasons.append(f"cycle day {day} > {c.cycle_day_max}")
    if s.lmp_unknown or (s.lmp_date is None and s.cycle_day is None):
        reasons.append("LMP unknown")
    if s.cycle_pattern is not None and s.cycle_pattern is not CyclePattern.REGULAR:
        reasons.append(f"cycle {s.cycle_pattern.value}")
    if reasons:
        yield _E(
            "V02",
            "safety.pregnancy_test",
            f"Pregnancy test not done although ovulation may have occurred ({', '.join(reasons)})",
        )


@rule("V03")
def v03_cycle_window(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    day = r.effective_cycle_day()
    if day is not None and not c.cycle_day_min <= day <= c.cycle_day_max:
        yield _W(
            "V03",
            "safety.cycle_day",
            f"Cycle day {day} is outside the day {c.cycle_day_min}-{c.cycle_day_max} window "
            "(after flow stops, before ovulation)",
        )


@rule("V04")
def v04_bleeding(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    if r.safety.menstrual_bleeding_today is True:
        yield _W(
            "V04",
            "safety.menstrual_bleeding_today",
            "Menstrual bleeding today: blood obscures the cavity and raises infection risk; consider deferring",
        )


@rule("V05")
def v05_contraindication(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    hard = {Contraindication.ACTIVE_PELVIC_INFECTION, Contraindication.PREGNANCY}
    chosen = sorted(x.value for x in hard & set(r.safety.contraindications))
    if chosen and not r.safety.contraindication_override_note.strip():
        yield _E(
            "V05",
            "safety.contraindications",
            f"Contraindication ({', '.join(chosen)}) recorded but the study was performed: "
            "an explicit override note is required",
        )


# ----------------------------------------------------------------------------------------------------------
# V06–V13 tubes and spill
# ----------------------------------------------------------------------------------------------------------


@rule("V06")
def v06_proximal_occlusion_with_spill(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    for path, t in _sides(r):
        if (
            t.patency is Patency.OCCLUDED
            and t.occlusion_level is not None
            and t.occlusion_level.is_proximal
            and t.spill in (Spill.FREE, Spill.LOCULATED, Spill.DELAYED)
        ):
            yield _E("V06", f"{path}.spill", f"{t.side.value} tube: proximal occlusion contradicts spill")


@rule("V07")
def v07_no_filling_but_spill(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    for path, t in _sides(r):
        if t.opacified_to is OpacifiedTo.NONE and t.spill not in (None, Spill.NONE, Spill.INDETERMINATE):
            yield _E("V07", f"{path}.spill", f"{t.side.value} tube: a tube that did not fill cannot spill")


@rule("V08")
def v08_patent_without_spill(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    for path, t in _sides(r):
        if t.patency is Patency.PATENT and t.spill is Spill.NONE:
            yield _E(
                "V08",
                f"{path}.patency",
                f"{t.side.value} tube: patency is defined by spill; use 'occluded' (distal) or 'indeterminate'",
            )


@rule("V09")
def v09_hydrosalpinx_free_spill(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    for path, t in _sides(r):
        if t.hydrosalpinx is True and t.spill is Spill.FREE:
            yield _W(
                "V09",
                f"{path}.spill",
                f"{t.side.value} tube: hydrosalpinx implies distal occlusion; free spill - confirm",
            )


@rule("V10")
def v10_absent_tube_filled(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    for path, t in _sides(r):
        if t.status is TubeStatus.SURGICALLY_ABSENT and t.opacified_to not in (None, OpacifiedTo.NONE):
            yield _E(
                "V10",
                f"{path}.opacified_to",
                f"{t.side.value} tube is recorded as surgically absent but filled",
            )


@rule("V11")
def v11_failed_sterilisation(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    """Failed sterilisation is a critical result: a warning (needs acknowledgement) until the report records
    whom it was communicated to and when (``critical_result``), then an INFO that stays visible."""
    if Indication.STERILIZATION_CONFIRMATION not in r.clinical.indications:
        return
    cr = r.critical_result
    communicated = bool(cr.communicated_to.strip()) and cr.communicated_at is not None
    for path, t in _sides(r):
        if t.status is TubeStatus.STERILIZED and t.patency is Patency.PATENT:
            msg = f"CRITICAL: {t.side.value} tube patent after sterilisation - occlusion NOT confirmed"
            if communicated:
                yield Issue(
                    "V11",
                    Severity.INFO,
                    f"{path}.patency",
                    f"{msg}; communicated to {cr.communicated_to}",
                    True,
                )
            else:
                yield _W(
                    "V11", f"{path}.patency", f"{msg}; communicate the result and record it", critical=True
                )


@rule("V12")
def v12_overall_spill(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    overall = r.findings.peritoneum.peritoneal_spill_overall
    derived = r.derived_peritoneal_spill()
    if overall is not None and derived is not None and overall is not derived:
        yield _E(
            "V12",
            "findings.peritoneum.peritoneal_spill_overall",
            f"Peritoneal spill overall '{overall.value}' contradicts the sides (expected '{derived.value}')",
        )


@rule("V13")
def v13_spasm_unanswered(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    for path, t in _sides(r):
        if t.occlusion_level is not None and t.occlusion_level.is_proximal and t.proximal_spasm is None:
            yield _W(
                "V13",
                f"{path}.proximal_spasm",
                f"{t.side.value} proximal occlusion: say whether spasm / mucus plug is excluded "
                "(the impression will hedge)",
            )


# ----------------------------------------------------------------------------------------------------------
# V14–V19 cavity, adhesions, defects
# ----------------------------------------------------------------------------------------------------------


@rule("V14")
def v14_eshre_class_needs_the_external_contour(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    """Spec V14 was a warning ("set confidence provisional"); issue 11 makes it a rule: on HSG alone an indented
    cavity's ESHRE/ESGE class is "not assessable on HSG" and U2/U3 are never given (``reporting.eshre``)."""
    reason = eshre.unsupported_reason(r.findings.cavity)
    if reason is not None:
        yield _E("V14", "findings.cavity.eshre_uterus", reason)


@rule("V15")
def v15_asrm_septate_criteria(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    cav = r.findings.cavity
    if cav.asrm2021_category is not Asrm2021Category.SEPTATE:
        return
    depth, angle = cav.internal_indentation_depth_mm, cav.indentation_angle_deg
    if depth is None or angle is None or depth <= 15 or angle >= 90:
        yield _W(
            "V15",
            "findings.cavity.asrm2021_category",
            f"ASRM septate needs indentation depth > 15 mm and angle < 90° (depth {depth}, angle {angle})",
        )


@rule("V16")
def v16_u0_with_adhesion(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    f = r.findings
    if f.cavity.eshre_uterus is not EshreUterus.U0:
        return
    has_adhesion = any(d.suspected_nature is DefectNature.ADHESION for d in f.filling_defects)
    if has_adhesion and f.adhesions.afs_extent in (AfsExtent.ONE_TO_TWO_THIRDS, AfsExtent.GT_TWO_THIRDS):
        yield _I(
            "V16",
            "findings.cavity.eshre_uterus",
            "ESHRE U-class describes congenital anatomy only; the adhesions are reported separately",
        )


@rule("V17")
def v17_afs_components(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    a = r.findings.adhesions
    if not a.present:
        return
    for name, label in (
        ("afs_extent", "extent"),
        ("afs_type", "type"),
        ("afs_menstrual_pattern", "menstrual pattern"),
    ):
        if getattr(a, name) is None:
            yield _W("V17", f"findings.adhesions.{name}", f"AFS 1988 {label} missing: no adhesion score")
    if a.afs_type is AfsAdhesionType.NOT_ASSESSABLE_ON_HSG:
        yield _W("V17", "findings.adhesions.afs_type", "Adhesion type not assessable on HSG: no AFS score")


@rule("V18")
def v18_afs_score(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    a = r.findings.adhesions
    if a.afs_score is None and a.afs_stage is None:
        expected, _ = afs_score_and_stage(a.afs_extent, a.afs_type, a.afs_menstrual_pattern)
        if a.present and expected is not None:
            yield _E("V18", "findings.adhesions.afs_score", f"AFS score not computed (expected {expected})")
        return
    expected, expected_stage = afs_score_and_stage(a.afs_extent, a.afs_type, a.afs_menstrual_pattern)
    if a.afs_score != expected:
        yield _E(
            "V18",
            "findings.adhesions.afs_score",
            f"AFS score {a.afs_score} is not the sum of its components ({expected})",
        )
    if (
        a.afs_score is not None
        and 1 <= a.afs_score <= 12
        and a.afs_stage is not afs_stage_for_score(a.afs_score)
    ):
        yield _E(
            "V18",
            "findings.adhesions.afs_stage",
            f"AFS stage {a.afs_stage.value if a.afs_stage else None} does not match score {a.afs_score} "
            "(I 1-4, II 5-8, III 9-12)",
        )
    elif a.afs_score is None and a.afs_stage is not None and expected_stage is None:
        yield _E("V18", "findings.adhesions.afs_stage", "AFS stage given without a score")


@rule("V19")
def v19_mobile_defect(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    suspicious = {DefectNature.POLYP, DefectNature.SUBMUCOUS_FIBROID, DefectNature.ADHESION}
    for i, d in enumerate(r.findings.filling_defects):
        if d.behaviour is DefectBehaviour.MOBILE and d.suspected_nature in suspicious:
            yield _W(
                "V19",
                f"findings.filling_defects[{i}].suspected_nature",
                f"Mobile filling defect called {d.suspected_nature.value}: mobile defects are usually air "
                "bubbles or clot",
            )


# ----------------------------------------------------------------------------------------------------------
# V20–V27 contrast, dose, quality, audit
# ----------------------------------------------------------------------------------------------------------


@rule("V20")
def v20_oil_intravasation(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    iv = r.findings.peritoneum.intravasation
    if r.technique.contrast_type is ContrastType.OIL_BASED and iv not in (None, Intravasation.ABSENT):
        yield _W(
            "V20",
            "findings.peritoneum.intravasation_action",
            "Intravasation with oil-based contrast: document the action taken (oil embolism risk)",
        )


@rule("V21")
def v21_contrast_volume(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    v = r.technique.contrast_volume_ml
    if v is not None and not c.contrast_volume_min_ml <= v <= c.contrast_volume_max_ml:
        yield _W(
            "V21",
            "technique.contrast_volume_ml",
            f"Contrast volume {v:g} mL is outside {c.contrast_volume_min_ml:g}-{c.contrast_volume_max_ml:g} mL "
            "(median 8 mL): check",
        )


@rule("V22")
def v22_dose_reference_level(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    d = r.dose
    if (
        c.local_drl_time_s is not None
        and d.fluoroscopy_time_s is not None
        and d.fluoroscopy_time_s > c.local_drl_time_s
    ):
        yield _W(
            "V22",
            "dose.fluoroscopy_time_s",
            f"Fluoroscopy time {d.fluoroscopy_time_s:g} s exceeds the local reference {c.local_drl_time_s:g} s",
        )
    if (
        c.local_drl_dap_gy_cm2 is not None
        and d.dap_total_gy_cm2 is not None
        and d.dap_total_gy_cm2 > c.local_drl_dap_gy_cm2
    ):
        yield _W(
            "V22",
            "dose.dap_total_gy_cm2",
            f"DAP {d.dap_total_gy_cm2:g} Gy·cm² exceeds the local reference {c.local_drl_dap_gy_cm2:g} Gy·cm²",
        )


@rule("V23")
def v23_dap_unit(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    d = r.dose
    if d.dap_total_gy_cm2 is None:
        return
    if d.dap_source_value is not None and d.dap_source_unit is not None:
        expected = d.dap_source_value * d.dap_source_unit.factor_to_gy_cm2
        if abs(expected - d.dap_total_gy_cm2) > max(1e-6, 0.01 * abs(expected)):
            yield _E(
                "V23",
                "dose.dap_total_gy_cm2",
                f"DAP {d.dap_total_gy_cm2:g} Gy·cm² does not match the source value {d.dap_source_value:g} "
                f"{d.dap_source_unit.value} (= {expected:g} Gy·cm²): unit not converted?",
            )
            return
    if (
        d.dap_total_gy_cm2 != 0
        and not c.dap_plausible_min_gy_cm2 <= d.dap_total_gy_cm2 <= c.dap_plausible_max_gy_cm2
    ):
        yield _E(
            "V23",
            "dose.dap_total_gy_cm2",
            f"DAP {d.dap_total_gy_cm2:g} Gy·cm² is implausible for HSG (typically a few Gy·cm²): check the unit",
        )


@rule("V24")
def v24_limitation_reasons(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    q = r.technique.study_quality
    if q is not None and q is not StudyQuality.DIAGNOSTIC and not r.technique.limitation_reasons:
        yield _E("V24", "technique.limitation_reasons", f"Study quality '{q.value}' needs limitation reasons")


@rule("V25")
def v25_intravasation_mimics_spill(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    p = r.findings.peritoneum
    if (
        p.intravasation not in (None, Intravasation.ABSENT)
        and p.spill_assessed_on is SpillAssessment.SINGLE_EARLY_IMAGE
    ):
        yield _W(
            "V25",
            "findings.peritoneum.spill_assessed_on",
            "Intravasated contrast can mimic spill on one early image: check washout on a delayed image",
        )


@rule("V26")
def v26_hydrosalpinx_no_antibiotics(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    if any(t.hydrosalpinx for t in r.findings.tubes) and (
        r.safety.antibiotic_prophylaxis is AntibioticProphylaxis.NONE
    ):
        yield _I(
            "V26",
            "safety.antibiotic_prophylaxis",
            "Hydrosalpinx without antibiotic prophylaxis: post-HSG PID risk about 11 % with dilated tubes",
        )


@rule("V27")
def v27_impression_audit(r: HsgReport, c: RuleConfig) -> Iterator[Issue]:
    if not any(s.text.strip() for s in r.impression.sentences):
        # an error, not a warning: a report without an impression says nothing a referrer can act on, and an
        # acknowledgement ("x") let one be signed (issue 11)
        yield _E(
            "V27", "impression.sentences", "The impression is empty: write or use the generated one to sign"
        )
    removed = [
        e
        for e in r.impression.edits
        if e.action is ImpressionEditAction.REMOVED and e.source_key and not e.reason.strip()
    ]
    if removed:
        keys = ", ".join(sorted({e.source_key for e in removed}))
        yield _W(
            "V27", "impression.edits", f"Generated impression sentence(s) removed without a reason ({keys})"
        )
