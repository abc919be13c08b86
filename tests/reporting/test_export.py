"""export_all: builds any subset, reports per-part timings, refuses links outside the study."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.export import ExportError, export_all, load_study

from .conftest import full_report


@pytest.mark.timeout(120)
def test_export_subset_and_timings(tmp_path: Path, study_dir: Path, source_datasets) -> None:
    rf, dx = source_datasets
    report = full_report(rf, dx)
    res = export_all(report, study_dir, sr_path=tmp_path / "sr.dcm", kos_path=tmp_path / "kos.dcm")
    assert sorted(p.name for p in res.written) == ["kos.dcm", "sr.dcm"]
    assert res.pdf is None and res.encapsulated_pdf is None
    assert {"sr_s", "kos_s", "export_all_s"} <= set(res.timings_s)
    assert not list(tmp_path.glob(".*tmp*"))

    res = export_all(report, load_study(study_dir), build_all=True)
    assert res.written == [] and res.sr is not None and res.kos is not None
    assert res.pdf is not None and res.encapsulated_pdf is not None
    assert {"sr_s", "pdf_s", "encapsulated_pdf_s", "kos_s"} <= set(res.timings_s)


def test_link_outside_study_is_a_clear_error(tmp_path: Path, study_dir: Path, source_datasets) -> None:
    rf, dx = source_datasets
    report = full_report(rf, dx)
    report.findings.cervix.image_links = [m.ImageLink("1.2.3.999", 1, rf.SOPClassUID)]
    with pytest.raises(ExportError, match=r"1\.2\.3\.999.*not found"):
        export_all(report, study_dir, sr_path=tmp_path / "sr.dcm")
    assert not (tmp_path / "sr.dcm").exists()
    report.findings.cervix.image_links = [m.ImageLink(rf.SOPInstanceUID, 9, rf.SOPClassUID)]
    with pytest.raises(ExportError, match="frame 9 outside 1..4"):
        export_all(report, study_dir, sr_path=tmp_path / "sr.dcm")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not DICOM")
    with pytest.raises(ExportError, match="no DICOM image"):
        export_all(report, empty, sr_path=tmp_path / "sr.dcm")


def test_pdf_and_kos_headers_carry_lifecycle_age_and_description(tmp_path: Path) -> None:
    """Issue 12: draft / signed / amended are told apart in the Encapsulated PDF header too; KOS and PDF copy
    PatientAge, the KOS StudyDescription; every document type stays in one series with rising numbers."""
    import datetime as dt

    from pydicom import dcmread
    from pydicom.uid import generate_uid

    from .conftest import full_report, make_dx, make_rf

    study = tmp_path / "study"
    study.mkdir()
    uid = generate_uid()
    rf, dx = make_rf(uid), make_dx(uid)
    for ds, name in ((rf, "rf.dcm"), (dx, "dx.dcm")):
        ds.PatientAge = "036Y"
        ds.save_as(study / name, enforce_file_format=True)
    out = tmp_path / "out"
    draft = full_report(rf, dx)
    res = export_all(draft, study, encapsulated_pdf_path=out / "d_pdf.dcm", kos_path=out / "d_kos.dcm")
    pdf, kos = res.encapsulated_pdf, res.kos
    assert pdf.VerificationFlag == "UNVERIFIED" and pdf.DocumentTitle.endswith("(draft)")
    assert pdf.PatientAge == "036Y" and kos.PatientAge == "036Y" and kos.StudyDescription == "HSG"
    signed = full_report(rf, dx, signed=True)
    res = export_all(signed, study, sr_path=study / "sr1.dcm", encapsulated_pdf_path=study / "s_pdf.dcm")
    assert (
        res.encapsulated_pdf.VerificationFlag == "VERIFIED"
        and "(signed)" in res.encapsulated_pdf.DocumentTitle
    )
    assert res.encapsulated_pdf.ContentDate == "20260105"  # the signing date, not the export date
    first_sr = dcmread(study / "sr1.dcm")
    amended = signed.amend(str(first_sr.SOPInstanceUID), "typo")
    amended.sign("Reader^Anna", dt.datetime(2026, 1, 6, 8, 0, tzinfo=dt.UTC))
    res2 = export_all(amended, study, sr_path=out / "sr2.dcm", encapsulated_pdf_path=out / "a_pdf.dcm")
    pdf2, sr2 = res2.encapsulated_pdf, res2.sr
    assert "(amended)" in pdf2.DocumentTitle and pdf2.PredecessorDocumentsSequence
    assert pdf2.SeriesInstanceUID == res.encapsulated_pdf.SeriesInstanceUID
    assert int(pdf2.InstanceNumber) > int(res.encapsulated_pdf.InstanceNumber)  # found in the study folder
    assert sr2.SeriesInstanceUID == first_sr.SeriesInstanceUID and int(sr2.InstanceNumber) == 2
