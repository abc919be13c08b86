"""The document view shows every SR readably: signed HSG reports, other producers' reports, TID 1500, dose
reports and Basic Text SRs (issue 12)."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid

from hsg_workstation.reporting.measurement_sr import build_measurement_sr
from hsg_workstation.reporting.sr import build_sr
from hsg_workstation.ui.document_view import sr_document
from tests.reporting.conftest import full_report, make_dx, make_rf


@pytest.fixture
def sources(tmp_path: Path):
    study = generate_uid()
    return [make_rf(study), make_dx(study)]


def _save(ds, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def test_a_signed_hsg_sr_is_shown_as_the_report(qtbot, tmp_path: Path, sources) -> None:
    report = full_report(*sources, signed=True)
    path = _save(build_sr(report, sources), tmp_path / "signed.dcm")
    text = sr_document(path).toPlainText()
    assert "cannot be changed" not in text
    for sentence in report.impression.sentences:
        assert sentence.text in text
    assert "Key images (4)" in text


def test_other_srs_are_shown_as_readable_text(qtbot, tmp_path: Path, sources) -> None:
    rf, dx = sources
    # TID 1500 (highdicom) measurements
    msr = build_measurement_sr(full_report(rf, dx, signed=True), sources)
    text = sr_document(_save(msr, tmp_path / "msr.dcm")).toPlainText()
    assert "Imaging Measurement Report" in text and "Length: 25.125 mm" in text
    assert "Array of" not in text

    # Basic Text SR with a long UT-sized text and another producer's "HSG" report with our title
    long_text = "The uterine cavity is normal. " * 200
    root = hd.sr.ContainerContentItem(name=hd.sr.CodedConcept("25022-5", "LN", "HSG"))
    findings = hd.sr.ContainerContentItem(
        name=hd.sr.CodedConcept("59776-5", "LN", "Findings"), relationship_type="CONTAINS"
    )
    findings.ContentSequence = [
        hd.sr.TextContentItem(
            hd.sr.CodedConcept("121071", "DCM", "Finding"), long_text, relationship_type="CONTAINS"
        )
    ]
    impression = hd.sr.ContainerContentItem(
        name=hd.sr.CodedConcept("19005-8", "LN", "Impressions"), relationship_type="CONTAINS"
    )
    impression.ContentSequence = [
        hd.sr.TextContentItem(
            hd.sr.CodedConcept("121073", "DCM", "Impression"),
            "Bilateral patency.",
            relationship_type="CONTAINS",
        )
    ]
    root.ContentSequence = [findings, impression]
    other = hd.sr.EnhancedSR(
        evidence=[rf],
        content=root,
        series_instance_uid=generate_uid(),
        series_number=50,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="Other RIS",
    )
    text = sr_document(_save(other, tmp_path / "other.dcm")).toPlainText()
    assert "written by 'Other RIS'" in text  # refused as ours, and says why
    assert "Impression: Bilateral patency." in text and long_text.strip()[:200] in text
    assert "Array of" not in text

    # a dose-report-like SR (NUM items with units)
    dose_root = hd.sr.ContainerContentItem(
        name=hd.sr.CodedConcept("113701", "DCM", "X-Ray Radiation Dose Report")
    )
    dose_root.ContentSequence = [
        hd.sr.NumContentItem(
            hd.sr.CodedConcept("113722", "DCM", "Dose Area Product Total"),
            0.00021,
            hd.sr.CodedConcept("Gy.m2", "UCUM", "Gy.m2"),
            relationship_type="CONTAINS",
        )
    ]
    dose = hd.sr.ComprehensiveSR(
        evidence=[rf],
        content=dose_root,
        series_instance_uid=generate_uid(),
        series_number=51,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="Modality",
    )
    text = sr_document(_save(dose, tmp_path / "dose.dcm")).toPlainText()
    assert "X-Ray Radiation Dose Report" in text and "Dose Area Product Total: 0.00021 Gy.m2" in text


def test_a_truncated_hsg_sr_is_shown_with_what_is_missing(qtbot, tmp_path: Path, sources) -> None:
    path = _save(build_sr(full_report(*sources, signed=True), sources), tmp_path / "sr.dcm")
    data = path.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: int(len(data) * 0.96)])
    text = sr_document(cut).toPlainText()
    # either the import noticed missing content, or it names the item it could not read; the tree is still shown
    assert ("Incomplete HSG report" in text) or ("cut.dcm: SR item" in text) or ("truncated" in text), text[
        :500
    ]
    assert "Signature" in text or "Findings" in text
    assert dcmread(path).Manufacturer == "HSG workstation"
