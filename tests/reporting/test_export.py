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
