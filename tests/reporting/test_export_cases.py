"""Every synthetic case end to end: generator study + its reference report → SR / KOS / Encapsulated PDF (+ PDF),
validated by dciodvfy and dsrdump, and the SR reads back to the same report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.dicom_io.sample import CASES, write_case
from hsg_workstation.reporting.export import export_all, load_study
from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.reference import reference_report_from_truth
from hsg_workstation.reporting.sr_import import report_from_sr

from .conftest import dciodvfy_errors, dsrdump_check


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", CASES)
def test_case_exports_validate_and_round_trip(tmp_path: Path, case: str) -> None:
    case_dir = write_case(case, tmp_path / "cases", size=128, frames=8, spot_images=2)
    truth = json.loads((case_dir / "truth.json").read_text(encoding="utf-8"))
    # The reference report as built from the truth, signed via JSON: this test is about the outputs, not the
    # validation rules (whether a case's reference report validates is tests/reporting/test_reference.py's job).
    data = reference_report_from_truth(truth, load_study(case_dir).headers).to_json()
    data["status"] = "signed"
    data["signature"] = {
        "verifying_observer_name": "Reader^Ref",
        "verification_datetime": "2026-01-15T17:00:00+00:00",
    }
    report = HsgReport.from_json(data)
    out = tmp_path / "out"
    with_pdf = case in ("bilateral_distal_hydrosalpinx", "endometrial_polyp")
    res = export_all(
        report,
        case_dir,
        sr_path=out / "sr.dcm",
        kos_path=out / "kos.dcm" if report.key_images else None,
        encapsulated_pdf_path=out / "pdf.dcm" if with_pdf else None,
        pdf_path=out / "report.pdf" if with_pdf else None,
    )
    for p in res.written:
        if p.suffix == ".dcm":
            assert dciodvfy_errors(p) == [], (case, p.name)
            assert dcmread(p, stop_before_pixels=True).StudyInstanceUID == report.identity.study_instance_uid
    rc, bad = dsrdump_check(out / "sr.dcm")
    assert rc == 0 and bad == [], (case, bad)
    assert report_from_sr(out / "sr.dcm") == report
