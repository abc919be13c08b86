"""Each validation rule (spec §1.11) shown firing and not firing, on a valid baseline report."""

from __future__ import annotations

import datetime as dt

import pytest

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.reference import example_report
from hsg_workstation.reporting.rules import RULES, Issue, RuleConfig, Severity, validate


def hits(report: m.HsgReport, rule_id: str, config: RuleConfig | None = None) -> list[Issue]:
    return [i for i in validate(report, config or RuleConfig()) if i.rule_id == rule_id]


@pytest.fixture
def r() -> m.HsgReport:
    report = example_report("normal")
    assert validate(report) == []
    return report


def test_every_spec_rule_is_registered() -> None:
    assert set(RULES) == {f"V{n:02d}" for n in range(28)}


def test_baseline_reports_of_all_example_cases_have_no_errors() -> None:
    for case in ("normal", "unilateral_proximal_occlusion", "bilateral_distal_hydrosalpinx", "unicornuate"):
        assert not [i for i in validate(example_report(case)) if i.severity is Severity.ERROR], case


def test_v00_required_fields(r: m.HsgReport) -> None:
    empty = m.HsgReport()
    paths = {i.field_path for i in hits(empty, "V00") if i.severity is Severity.ERROR}
    assert {"findings.tubes.left.status", "safety.pregnancy_test", "dose.dap_total_gy_cm2"} <= paths
    assert not hits(empty, "V00", RuleConfig(check_completeness=False))
    r.findings.tubes.right.patency = m.Patency.OCCLUDED
    assert [i.field_path for i in hits(r, "V00")] == ["findings.tubes.right.occlusion_level"]


def test_v00_infertility_duration_required_only_for_infertility(r: m.HsgReport) -> None:
    """Spec §1.2: infertility_duration is C (if infertility)."""
    path = "clinical.infertility_duration_months"
    r.clinical.indications = [m.Indication.SECONDARY_INFERTILITY]
    r.clinical.infertility_duration_months = None
    assert [(i.field_path, i.severity) for i in hits(r, "V00")] == [(path, Severity.ERROR)]
    r.clinical.indications = [m.Indication.SUSPECTED_MULLERIAN_ANOMALY]
    assert not hits(r, "V00")
    r.clinical.indications = [m.Indication.PRIMARY_INFERTILITY]
    r.clinical.infertility_duration_months = 0  # 'just started trying' is an answer, not a gap
    assert not hits(r, "V00")


def test_v00_absent_tube_needs_no_details(r: m.HsgReport) -> None:
    t = r.findings.tubes.left
    t.status, t.opacified_to, t.patency, t.spill, t.calibre = (
        m.TubeStatus.SURGICALLY_ABSENT,
        None,
        None,
        None,
        None,
    )
    assert not hits(r, "V00")


def test_v01_pregnancy(r: m.HsgReport) -> None:
    r.safety.pregnancy_test = m.PregnancyTest.POSITIVE
    (issue,) = hits(r, "V01")
    assert issue.severity is Severity.ERROR and issue.field_path == "safety.pregnancy_test"
    r.safety.pregnancy_test = m.PregnancyTest.SERUM_NEGATIVE
    assert not hits(r, "V01")
    r.safety.pregnancy_status = m.PregnancyStatus.PREGNANT
    assert hits(r, "V01")[0].field_path == "safety.pregnancy_status"


def test_v02_test_not_done(r: m.HsgReport) -> None:
    r.safety.pregnancy_test = m.PregnancyTest.NOT_DONE
    assert not hits(r, "V02")  # cycle day 9, regular cycle
    r.safety.cycle_pattern = m.CyclePattern.IRREGULAR
    assert hits(r, "V02")[0].severity is Severity.ERROR
    r.safety.cycle_pattern = m.CyclePattern.REGULAR
    r.safety.cycle_day = 14
    assert "cycle day 14" in hits(r, "V02")[0].message
    r.safety.cycle_day = None
    r.safety.lmp_date, r.safety.lmp_unknown = None, True
    assert "LMP unknown" in hits(r, "V02")[0].message


def test_v03_cycle_window(r: m.HsgReport) -> None:
    assert r.effective_cycle_day() == 9
    assert not hits(r, "V03")
    r.safety.lmp_date = r.identity.study_date - dt.timedelta(days=15)  # day 16
    (issue,) = hits(r, "V03")
    assert issue.severity is Severity.WARNING and "16" in issue.message
    assert not hits(r, "V03", RuleConfig(cycle_day_max=16))


def test_v04_bleeding(r: m.HsgReport) -> None:
    assert not hits(r, "V04")
    r.safety.menstrual_bleeding_today = True
    assert hits(r, "V04")[0].severity is Severity.WARNING


def test_v05_contraindication_needs_override(r: m.HsgReport) -> None:
    r.safety.contraindications = [
        m.Contraindication.CERVICAL_STENOSIS,
        m.Contraindication.IODINATED_CONTRAST_ALLERGY,
    ]
    assert not hits(r, "V05")
    r.safety.contraindications = [m.Contraindication.ACTIVE_PELVIC_INFECTION]
    assert hits(r, "V05")[0].severity is Severity.ERROR
    r.safety.contraindication_override_note = "treated, cultures negative; gynaecologist requested"
    assert not hits(r, "V05")


def test_v06_proximal_occlusion_with_spill(r: m.HsgReport) -> None:
    t = r.findings.tubes.left
    t.patency, t.occlusion_level = m.Patency.OCCLUDED, m.OcclusionLevel.PROXIMAL
    (issue,) = hits(r, "V06")
    assert issue.field_path == "findings.tubes.left.spill"
    t.spill = m.Spill.NONE
    assert not hits(r, "V06")


def test_v07_no_filling_but_spill(r: m.HsgReport) -> None:
    r.findings.tubes.right.opacified_to = m.OpacifiedTo.NONE
    assert hits(r, "V07")[0].field_path == "findings.tubes.right.spill"
    r.findings.tubes.right.spill = m.Spill.INDETERMINATE
    assert not hits(r, "V07")


def test_v08_patent_without_spill(r: m.HsgReport) -> None:
    r.findings.tubes.left.spill = m.Spill.NONE
    assert hits(r, "V08")[0].severity is Severity.ERROR
    r.findings.tubes.left.patency = m.Patency.INDETERMINATE
    assert not hits(r, "V08")


def test_v09_hydrosalpinx_free_spill(r: m.HsgReport) -> None:
    r.findings.tubes.left.hydrosalpinx = True
    assert hits(r, "V09")[0].severity is Severity.WARNING
    r.findings.tubes.left.spill = m.Spill.LOCULATED
    assert not hits(r, "V09")


def test_v10_absent_tube_filled(r: m.HsgReport) -> None:
    r.findings.tubes.left.status = m.TubeStatus.SURGICALLY_ABSENT
    assert hits(r, "V10")[0].field_path == "findings.tubes.left.opacified_to"
    r.findings.tubes.left.opacified_to = m.OpacifiedTo.NONE
    assert not hits(r, "V10")


def test_v11_failed_sterilisation_is_critical(r: m.HsgReport) -> None:
    r.findings.tubes.right.status = m.TubeStatus.STERILIZED
    assert not hits(r, "V11")  # indication not sterilisation check
    r.clinical.indications = [m.Indication.STERILIZATION_CONFIRMATION]
    (issue,) = hits(r, "V11")
    assert issue.critical and issue.severity is Severity.WARNING and "NOT confirmed" in issue.message
    r.critical_result.flagged = True
    r.critical_result.communicated_to = "Dr Referrer (gynaecology)"
    r.critical_result.communicated_at = dt.datetime(2026, 1, 15, 10, 0, tzinfo=dt.UTC)
    (issue,) = hits(r, "V11")
    assert issue.critical and issue.severity is Severity.INFO and "Dr Referrer" in issue.message


def test_v12_overall_spill_consistent(r: m.HsgReport) -> None:
    assert r.findings.peritoneum.peritoneal_spill_overall is m.PeritonealSpill.BILATERAL_FREE
    r.findings.peritoneum.peritoneal_spill_overall = m.PeritonealSpill.NONE
    assert "bilateral_free" in hits(r, "V12")[0].message
    r.findings.tubes.left.spill = m.Spill.NONE
    r.findings.tubes.left.patency = m.Patency.INDETERMINATE
    r.findings.peritoneum.peritoneal_spill_overall = m.PeritonealSpill.UNILATERAL_FREE_R
    assert not hits(r, "V12")


def test_v13_spasm_question(r: m.HsgReport) -> None:
    t = r.findings.tubes.left
    t.patency, t.occlusion_level, t.spill = m.Patency.OCCLUDED, m.OcclusionLevel.PROXIMAL, m.Spill.NONE
    assert hits(r, "V13")[0].field_path == "findings.tubes.left.proximal_spasm"
    t.proximal_spasm = m.ProximalSpasm.CANNOT_BE_EXCLUDED
    assert not hits(r, "V13")


def test_v14_eshre_class_needs_the_external_contour(r: m.HsgReport) -> None:
    """Issue 11: on HSG alone U2/U3 are an error, not a warning to acknowledge; an indented cavity's class is
    'not assessable on HSG'; once the contour is recorded, 'not assessable' no longer stands."""
    c = r.findings.cavity
    c.shape, c.eshre_uterus = m.CavityShape.TWO_HEMICAVITIES, m.EshreUterus.U2A
    (issue,) = hits(r, "V14")
    assert issue.severity is Severity.ERROR and "external contour" in issue.message
    c.classification_confidence = m.ClassificationConfidence.PROVISIONAL_HSG_ONLY
    assert [i.severity for i in hits(r, "V14")] == [Severity.ERROR]  # "provisional" no longer lets it pass
    c.eshre_uterus = m.EshreUterus.U0  # an indented cavity cannot be called U0 on HSG alone either
    assert [i.severity for i in hits(r, "V14")] == [Severity.ERROR]
    c.eshre_uterus = m.EshreUterus.INDETERMINATE_ON_HSG
    assert not hits(r, "V14")
    c.external_contour_source = m.ExternalContourSource.MRI
    assert [i.severity for i in hits(r, "V14")] == [Severity.ERROR]
    c.eshre_uterus = m.EshreUterus.U2A
    assert not hits(r, "V14")
    c.shape, c.external_contour_source = m.CavityShape.NORMAL_TRIANGULAR, m.ExternalContourSource.NOT_ASSESSED
    c.eshre_uterus = m.EshreUterus.U3B  # U2/U3 need the contour whatever the cavity looks like
    assert [i.severity for i in hits(r, "V14")] == [Severity.ERROR]
    c.eshre_uterus = m.EshreUterus.U0  # a normal triangular cavity on HSG: U0 stands
    assert not hits(r, "V14")


def test_v15_asrm_septate_criteria(r: m.HsgReport) -> None:
    c = r.findings.cavity
    c.asrm2021_category = m.Asrm2021Category.SEPTATE
    c.internal_indentation_depth_mm, c.indentation_angle_deg = 12.0, 80.0
    assert hits(r, "V15")[0].severity is Severity.WARNING
    c.internal_indentation_depth_mm = 17.0
    assert not hits(r, "V15")
    c.indentation_angle_deg = 95.0
    assert hits(r, "V15")


def test_v16_u0_with_adhesions(r: m.HsgReport) -> None:
    r.findings.filling_defects.append(m.FillingDefect(suspected_nature=m.DefectNature.ADHESION))
    r.findings.adhesions.afs_extent = m.AfsExtent.LT_ONE_THIRD
    assert not hits(r, "V16")
    r.findings.adhesions.afs_extent = m.AfsExtent.ONE_TO_TWO_THIRDS
    assert hits(r, "V16")[0].severity is Severity.INFO


def test_v17_afs_components(r: m.HsgReport) -> None:
    a = r.findings.adhesions
    a.present = True
    a.afs_extent = m.AfsExtent.LT_ONE_THIRD
    paths = {i.field_path for i in hits(r, "V17")}
    assert paths == {"findings.adhesions.afs_type", "findings.adhesions.afs_menstrual_pattern"}
    a.afs_type, a.afs_menstrual_pattern = m.AfsAdhesionType.FILMY, m.AfsMenstrualPattern.NORMAL
    assert not hits(r, "V17")


def test_v18_afs_score_must_be_computed(r: m.HsgReport) -> None:
    a = r.findings.adhesions
    a.present = True
    a.afs_extent, a.afs_type, a.afs_menstrual_pattern = (
        m.AfsExtent.GT_TWO_THIRDS,
        m.AfsAdhesionType.DENSE,
        m.AfsMenstrualPattern.HYPOMENORRHOEA,
    )
    assert "expected 10" in hits(r, "V18")[0].message  # not computed yet
    a.update_afs()
    assert (a.afs_score, a.afs_stage) == (10, m.AfsStage.III_SEVERE)
    assert not hits(r, "V18")
    a.afs_score = 9
    assert any("not the sum" in i.message for i in hits(r, "V18"))
    a.afs_score, a.afs_stage = 10, m.AfsStage.II_MODERATE
    assert hits(r, "V18")[0].field_path == "findings.adhesions.afs_stage"


def test_v19_mobile_defect(r: m.HsgReport) -> None:
    d = m.FillingDefect(
        location=m.DefectLocation.FUNDUS,
        behaviour=m.DefectBehaviour.MOBILE,
        suspected_nature=m.DefectNature.POLYP,
    )
    r.findings.filling_defects.append(d)
    assert hits(r, "V19")[0].field_path == "findings.filling_defects[0].suspected_nature"
    d.suspected_nature = m.DefectNature.AIR_BUBBLE
    assert not hits(r, "V19")


def test_v20_oil_intravasation(r: m.HsgReport) -> None:
    r.findings.peritoneum.intravasation = m.Intravasation.VENOUS
    assert not hits(r, "V20")  # water-soluble
    r.technique.contrast_type = m.ContrastType.OIL_BASED
    assert hits(r, "V20")[0].severity is Severity.WARNING


def test_v21_contrast_volume(r: m.HsgReport) -> None:
    assert not hits(r, "V21")
    r.technique.contrast_volume_ml = 25.0
    assert "25 mL" in hits(r, "V21")[0].message
    r.technique.contrast_volume_ml = 1.0
    assert hits(r, "V21")


def test_v22_local_drl(r: m.HsgReport) -> None:
    assert not hits(r, "V22")  # no DRL configured by default
    cfg = RuleConfig(local_drl_dap_gy_cm2=2.0, local_drl_time_s=120.0)
    (issue,) = hits(r, "V22", cfg)  # DAP 2.4 Gy·cm² > 2.0, 58 s < 120 s
    assert issue.field_path == "dose.dap_total_gy_cm2"
    assert len(hits(r, "V22", RuleConfig(local_drl_dap_gy_cm2=2.0, local_drl_time_s=30.0))) == 2


def test_v23_dap_unit_not_converted(r: m.HsgReport) -> None:
    assert r.dose.dap_source_unit is m.DapUnit.DGY_CM2 and r.dose.dap_total_gy_cm2 == pytest.approx(2.4)
    assert not hits(r, "V23")
    r.dose.dap_total_gy_cm2 = 24.0  # the dGy·cm² number typed as Gy·cm²
    assert "not converted" in hits(r, "V23")[0].message
    r.dose.dap_source_value = r.dose.dap_source_unit = None
    r.dose.dap_total_gy_cm2 = 5e4
    assert "implausible" in hits(r, "V23")[0].message


def test_v24_limitation_reasons(r: m.HsgReport) -> None:
    r.technique.study_quality = m.StudyQuality.LIMITED
    assert hits(r, "V24")[0].severity is Severity.ERROR
    r.technique.limitation_reasons = [m.LimitationReason.CONTRAST_REFLUX]
    assert not hits(r, "V24")


def test_v25_intravasation_mimics_spill(r: m.HsgReport) -> None:
    r.findings.peritoneum.spill_assessed_on = m.SpillAssessment.SINGLE_EARLY_IMAGE
    assert not hits(r, "V25")
    r.findings.peritoneum.intravasation = m.Intravasation.LYMPHATIC
    assert hits(r, "V25")[0].severity is Severity.WARNING


def test_v26_hydrosalpinx_without_prophylaxis(r: m.HsgReport) -> None:
    assert r.safety.antibiotic_prophylaxis is m.AntibioticProphylaxis.NONE
    assert not hits(r, "V26")  # no hydrosalpinx
    r.findings.tubes.left.hydrosalpinx = True
    assert hits(r, "V26")[0].severity is Severity.INFO
    r.safety.antibiotic_prophylaxis = m.AntibioticProphylaxis.GIVEN
    assert not hits(r, "V26")


def test_v27_impression_audit(r: m.HsgReport) -> None:
    r.remove_impression_sentence(0, who="Dr A", reason="")
    assert "removed without a reason" in hits(r, "V27")[0].message
    r2 = example_report("normal")
    r2.remove_impression_sentence(0, who="Dr A", reason="duplicate of the findings")
    assert not hits(r2, "V27")
    r2.impression.sentences.clear()
    assert "empty" in hits(r2, "V27")[0].message


def test_validate_returns_every_problem_not_just_the_first() -> None:
    r = example_report("normal")
    r.safety.pregnancy_test = m.PregnancyTest.POSITIVE
    r.technique.study_quality = m.StudyQuality.LIMITED
    r.findings.tubes.left.spill = m.Spill.NONE
    assert {"V01", "V24", "V08", "V12"} <= {i.rule_id for i in validate(r)}
