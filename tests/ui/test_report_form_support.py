"""Shared helpers for the report-form tests (a report with a study identity, a complete signable report)."""

from __future__ import annotations

import datetime as dt
import json

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.drafts import DraftStore


def make_report() -> m.HsgReport:
    r = m.HsgReport()
    r.identity.patient_name = "SYNTHETIC^PATIENT"
    r.identity.patient_id = "SYN-0001"
    r.identity.study_instance_uid = "1.2.826.0.1.3680043.8.498.1"
    r.identity.study_date = dt.date(2026, 11, 20)
    r.identity.source_instances.append(
        m.SourceInstance(
            "1.2.826.0.1.3680043.8.498.2", "1.2.840.10008.5.1.4.1.1.12.2", "1.2.826.0.1.3680043.8.498.3"
        )
    )
    return r


def complete_report(r: m.HsgReport) -> m.HsgReport:
    """Fill every field the rules require for a normal, signable HSG (no errors, no warnings)."""
    r.author_name = "Dr Test Reader"
    c, s, t, d, f = r.clinical, r.safety, r.technique, r.dose, r.findings
    c.indications = [m.Indication.PRIMARY_INFERTILITY]
    c.infertility_duration_months = 18
    c.risk_history = [m.RiskHistory.NONE]
    s.lmp_date = dt.date(2026, 11, 12)  # cycle day 9 on 2026-11-20
    s.cycle_pattern = m.CyclePattern.REGULAR
    s.menstrual_bleeding_today = False
    s.pregnancy_test = m.PregnancyTest.URINE_NEGATIVE
    s.pregnancy_status = m.PregnancyStatus.NOT_PREGNANT
    s.contraindications = [m.Contraindication.NONE]
    s.antibiotic_prophylaxis = m.AntibioticProphylaxis.NONE
    s.consent = True
    t.catheter_type = m.CatheterType.BALLOON_CATHETER
    t.balloon_position = m.BalloonPosition.CERVICAL_CANAL
    t.contrast_type = m.ContrastType.WATER_SOLUBLE_IODINATED
    t.contrast_volume_ml = 8.0
    t.views = [m.View.EARLY_FILLING, m.View.FULL_DISTENSION]
    t.study_quality = m.StudyQuality.DIAGNOSTIC
    d.set_dap(25.0, m.DapUnit.DGY_CM2, m.DoseSource.RF_LOOP)
    d.fluoroscopy_time_s = 42.0
    f.cervix.cervical_canal = m.CervicalCanal.NORMAL
    f.cavity.opacified = m.CavityOpacified.YES
    f.cavity.shape = m.CavityShape.NORMAL_TRIANGULAR
    f.cavity.eshre_uterus = m.EshreUterus.U0
    f.adhesions.present = False
    for tube in (f.tubes.left, f.tubes.right):
        tube.status = m.TubeStatus.PRESENT
        tube.opacified_to = m.OpacifiedTo.FIMBRIAL
        tube.patency = m.Patency.PATENT
        tube.spill = m.Spill.FREE
        tube.calibre = m.TubeCalibre.NORMAL
    f.peritoneum.peritoneal_spill_overall = m.PeritonealSpill.BILATERAL_FREE
    f.peritoneum.spill_assessed_on = m.SpillAssessment.SEQUENCE_OR_DELAYED
    f.peritoneum.intravasation = m.Intravasation.ABSENT
    r.complications.complications = [m.Complication.NONE]
    r.regenerate_impression("Dr Test Reader")
    return r


def read_draft(store: DraftStore, report: m.HsgReport) -> dict:
    return json.loads(store.path_for(report.report_id).read_text(encoding="utf-8"))["report"]
