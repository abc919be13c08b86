"""Issue 11 in the report layer: an empty impression blocks signing (point 3), dose from the RDSR or labelled
"stored images only" and compared with the UK national DRL (point 8), readable key-image captions (point 7),
templates / history / date shorthand (point 6)."""

from __future__ import annotations

import datetime as dt

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.history import ReportHistory
from hsg_workstation.reporting.prefill import RDSR_CLASS, prefill_from_datasets
from hsg_workstation.reporting.reference import example_report
from hsg_workstation.reporting.rules import RuleConfig, Severity, validate
from hsg_workstation.reporting.templates import BUILT_IN, NORMAL_HSG_NAME, apply_template
from hsg_workstation.reporting.wording import (
    drl_comparison,
    findings_on_image,
    is_analysis_text,
    parse_reader_date,
    patient_age,
)


def test_empty_impression_is_an_error_that_no_acknowledgement_passes() -> None:
    r = example_report("normal")
    assert not [i for i in validate(r) if i.severity is Severity.ERROR]
    r.impression.sentences.clear()
    v27 = [i for i in validate(r) if i.rule_id == "V27"]
    assert v27 and v27[0].severity is Severity.ERROR
    # the old way round: acknowledge it with a reason and sign — refused now
    r.acknowledge("V27", "impression.sentences", "x", "Reader^Anna")
    with pytest.raises(m.ReportValidationError) as exc:
        r.sign("Reader^Anna")
    assert "impression" in str(exc.value).lower()
    assert not r.is_signed


def _rdsr(dap_gy_m2: float, fluoro_s: float) -> Dataset:
    def num(code: str, unit: str, value: float) -> Dataset:
        item = Dataset()
        item.ValueType = "NUM"
        c = Dataset()
        c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = code, "DCM", code
        item.ConceptNameCodeSequence = Sequence([c])
        mv = Dataset()
        mv.NumericValue = str(value)
        u = Dataset()
        u.CodeValue, u.CodingSchemeDesignator, u.CodeMeaning = unit, "UCUM", unit
        mv.MeasurementUnitsCodeSequence = Sequence([u])
        item.MeasuredValueSequence = Sequence([mv])
        return item

    container = Dataset()
    container.ValueType = "CONTAINER"
    container.ContentSequence = Sequence([num("113722", "Gy.m2", dap_gy_m2), num("113730", "s", fluoro_s)])
    ds = Dataset()
    ds.SOPClassUID = RDSR_CLASS
    ds.SOPInstanceUID = "1.2.3.9"
    ds.StudyInstanceUID = "1.2.3"
    ds.ContentSequence = Sequence([container])
    return ds


def _image(dap_dgy_cm2: float) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.12.2"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.StudyInstanceUID = "1.2.3"
    ds.ImageAndFluoroscopyAreaDoseProduct = dap_dgy_cm2
    ds.TotalTimeOfFluoroscopy = 20
    return ds


def test_dap_from_the_rdsr_else_labelled_stored_images_only() -> None:
    r = m.HsgReport()
    prefill_from_datasets(r, [_image(3.0), _rdsr(0.00025, 48.0)])
    assert r.dose.dap_source is m.DoseSource.RDSR
    assert r.dose.dap_total_gy_cm2 == pytest.approx(2.5)  # 0.00025 Gy·m² = 2.5 Gy·cm²
    assert r.dose.fluoroscopy_time_s == 48.0
    only_images = m.HsgReport()
    prefill_from_datasets(only_images, [_image(3.0)])
    assert only_images.dose.dap_source is m.DoseSource.IMAGE_HEADERS_SUM
    from hsg_workstation.reporting.wording import dap_source_words

    assert "stored images only" in dap_source_words(only_images.dose.dap_source)


def test_dose_compared_with_the_uk_reference_level() -> None:
    assert drl_comparison(0.65, 38.0).startswith("DAP and fluoroscopy time below the UK national reference")
    assert "(2 Gy·cm², 0.7 min)" in drl_comparison(0.65, 38.0)
    assert drl_comparison(2.5, 48.0).startswith("DAP 2.5 Gy·cm² and fluoroscopy 0.8 min above")
    r = example_report("normal")
    r.dose.fluoroscopy_time_s = 60.0
    r.dose.set_dap(6.5, m.DapUnit.DGY_CM2, m.DoseSource.IMAGE_HEADERS_SUM)  # 0.65 Gy·cm²
    uk = RuleConfig(local_drl_dap_gy_cm2=2.0, local_drl_time_s=42.0)  # a site that warns at the UK levels
    assert [i.field_path for i in validate(r, uk) if i.rule_id == "V22"] == ["dose.fluoroscopy_time_s"]


def test_captions_from_recorded_findings_never_suggestion_text() -> None:
    r = example_report("normal")
    link = m.ImageLink("1.2.3.4", 17, label="Left tube: free spill from frame 23, confidence 0.79")
    r.add_image_link("findings.tubes.left", link)
    assert findings_on_image(r, "1.2.3.4", 17) == ["Left tube: patent, free spill"]
    assert is_analysis_text(link.label) and is_analysis_text("Filling defect candidate 1 at row 3, column 4")
    assert not is_analysis_text("early filling")


def test_age_and_reader_dates() -> None:
    assert patient_age(dt.date(1990, 6, 2), dt.date(2026, 6, 1)) == "35 years"
    study = dt.date(2026, 1, 5)
    assert parse_reader_date("28.12", study) == dt.date(2025, 12, 28)  # the latest 28 Dec before the study
    assert parse_reader_date("02/01", study) == dt.date(2026, 1, 2)
    assert parse_reader_date("2025-12-28", study) == dt.date(2025, 12, 28)
    with pytest.raises(ValueError):
        parse_reader_date("31.02", study)


def test_template_is_one_undo_step_and_never_touches_safety() -> None:
    r = m.HsgReport()
    history = ReportHistory()
    history.attach(r)
    with history.batch():
        changed = apply_template(r, BUILT_IN[0])
    assert BUILT_IN[0].name == NORMAL_HSG_NAME and len(changed) > 20
    assert not any(p.startswith(("safety.", "clinical.")) for p in changed)
    r.set_value("technique.contrast_volume_ml", 8.0)
    back = history.undo()
    assert back is not None and back.technique.contrast_volume_ml is None and back.findings.tubes.left.patency
    history.attach(back, keep=True)
    back2 = history.undo()
    assert back2 is not None and back2.findings.tubes.left.patency is None
    history.attach(back2, keep=True)
    again = history.redo()
    assert again is not None and again.findings.tubes.left.patency is m.Patency.PATENT


def test_defect_side_and_figo_type_reach_the_impression() -> None:
    from hsg_workstation.reporting.impression import generate_impression

    r = example_report("normal")
    r.add_filling_defect(
        m.FillingDefect(
            location=m.DefectLocation.WALL_L,
            size_mm=17.8,
            suspected_nature=m.DefectNature.SUBMUCOUS_FIBROID,
            figo_submucous_type=m.FigoSubmucous.TYPE_1,
        )
    )
    (defect,) = [s.text for s in generate_impression(r) if s.source_key.startswith("defect.")]
    assert defect.startswith("18 mm filling defect at the left lateral wall")  # rounded, side stated
    assert "FIGO type 1" in defect and "hysteroscopy" not in defect.lower()
    # an older report with an anterior-body defect still reads
    old = example_report("normal").to_json()
    old["findings"]["filling_defects"] = [{"location": "body_anterior", "size_mm": 6.0, "count": 1}]
    assert m.HsgReport.from_json(old).findings.filling_defects[0].location is m.DefectLocation.BODY_ANTERIOR


def test_figo_row_only_for_a_submucous_fibroid() -> None:
    from hsg_workstation.reporting.form_spec import defect_fields

    r = example_report("normal")
    r.add_filling_defect(m.FillingDefect(suspected_nature=m.DefectNature.POLYP))
    figo = next(f for f in defect_fields(0) if f.path.endswith("figo_submucous_type"))
    assert not figo.when(r)
    r.set_value("findings.filling_defects[0].suspected_nature", "submucous_fibroid")
    assert figo.when(r)


def test_hydrosalpinx_grade_by_stated_criteria() -> None:
    from hsg_workstation.reporting.form_spec import HYDROSALPINX_GRADE_CRITERIA, hydrosalpinx_grade_for

    assert [hydrosalpinx_grade_for(d) for d in (8.0, 9.6, 15.0, 15.4, 15.6)] == [
        "mild",
        "moderate",
        "moderate",
        "moderate",
        "severe",
    ]
    assert "10" in HYDROSALPINX_GRADE_CRITERIA and "15" in HYDROSALPINX_GRADE_CRITERIA


def test_eshre_class_not_assessable_when_the_external_contour_is_not_assessed(
    tmp_path, source_datasets, study_dir
) -> None:
    """Issue 11 point 8 as a rule: recording an indented cavity on HSG alone sets the ESHRE/ESGE class to "not
    assessable on HSG"; the form offers nothing else; the impression, the SR (coded, and read back) and the PDF
    say so; recording a contour source makes the reader choose a real class."""
    import subprocess

    from hsg_workstation.reporting import eshre
    from hsg_workstation.reporting.form_spec import SECTIONS
    from hsg_workstation.reporting.impression import generate_impression
    from hsg_workstation.reporting.pdf import render_pdf
    from hsg_workstation.reporting.sr import build_sr
    from hsg_workstation.reporting.sr_import import report_from_sr

    from .conftest import full_report

    rf, dx = source_datasets
    r = full_report(rf, dx)
    cav = r.findings.cavity
    cav.eshre_uterus = m.EshreUterus.U2A
    r.set_value("findings.cavity.shape", "two_hemicavities")  # contour not assessed: one class left
    assert cav.eshre_uterus is eshre.NOT_ASSESSABLE
    spec = next(
        f for s in SECTIONS for b in s.blocks for f in b.fields if f.path == "findings.cavity.eshre_uterus"
    )
    assert spec.offered(r) == frozenset({eshre.NOT_ASSESSABLE})
    assert not [i for i in validate(r) if i.rule_id == "V14"]
    (cavity,) = [s.text for s in generate_impression(r) if s.source_key == "cavity"]
    assert "ESHRE/ESGE class not assessable on HSG (external contour not assessed)" in cavity

    r.impression.sentences = generate_impression(r)
    r.sign("Reader^Anna")
    sr = build_sr(r, source_datasets)

    def walk(ds):
        for item in ds.get("ContentSequence", []):
            yield item
            yield from walk(item)

    codes = [
        (item.ConceptCodeSequence[0].CodeValue, item.ConceptCodeSequence[0].CodeMeaning)
        for item in walk(sr)
        if item.get("ValueType") == "CODE"
    ]
    assert ("HSG0520", "Not assessable on HSG (external contour not assessed)") in codes
    assert report_from_sr(sr).findings.cavity.eshre_uterus is eshre.NOT_ASSESSABLE
    out = tmp_path / "r.pdf"
    render_pdf(r, {rf.SOPInstanceUID: study_dir / "rf.dcm", dx.SOPInstanceUID: dx}, out)
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(out), "-"], capture_output=True, text=True, timeout=60
        ).stdout.split()
    )
    assert "not assessable on HSG (external contour not assessed)" in text

    # an older SR's retired code reads forward to the same value
    from hsg_workstation.reporting.vocabulary import vocabulary

    assert vocabulary().names_for("99HSG", "HSG0369", "value:EshreUterus.") == [
        "value:EshreUterus.indeterminate_on_HSG"
    ]

    # the contour seen on MRI: "not assessable" no longer stands and U2/U3 become choices
    draft = example_report("normal")
    draft.set_value("findings.cavity.shape", "fundal_indentation")
    assert draft.findings.cavity.eshre_uterus is eshre.NOT_ASSESSABLE
    draft.set_value("findings.cavity.external_contour_source", "MRI")
    assert draft.findings.cavity.eshre_uterus is eshre.NOT_ASSESSABLE  # never changed behind the reader
    (v14,) = [i for i in validate(draft) if i.rule_id == "V14"]
    assert v14.severity is Severity.ERROR
    assert m.EshreUterus.U2A in spec.offered(draft) and eshre.NOT_ASSESSABLE not in spec.offered(draft)
