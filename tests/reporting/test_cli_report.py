"""`hsg-workstation report export / import`: end to end once in a subprocess (the real entry point), the error
cases and amendments in-process through the same ``main()`` (an interpreter + Qt start-up per call is seconds here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.__main__ import main
from hsg_workstation.reporting.model import HsgReport, ReportLockedError
from hsg_workstation.reporting.sr import as_recorded_in_sr

from .conftest import dciodvfy_errors, dsrdump_check, full_report


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "hsg_workstation", "--data-dir", str(data_dir), "report", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )


@pytest.mark.timeout(240)
def test_export_all_outputs_then_import_gives_same_report(
    tmp_path: Path, study_dir: Path, source_datasets, data_dir
) -> None:
    rf, dx = source_datasets
    report = full_report(rf, dx, signed=True)
    rj = tmp_path / "report.json"
    rj.write_text(json.dumps(report.to_json()), encoding="utf-8")
    (study_dir / "report.json").write_text("{}")  # non-DICOM files in the study folder are skipped
    before = {p.name: p.read_bytes() for p in study_dir.iterdir()}
    out = tmp_path / "out"
    proc = _run(
        "export", str(rj), "--study", str(study_dir),
        "--sr", str(out / "sr.dcm"), "--pdf", str(out / "r.pdf"),
        "--encapsulated-pdf", str(out / "pdf.dcm"), "--kos", str(out / "kos.dcm"),
        data_dir=data_dir,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for name in ("sr.dcm", "pdf.dcm", "kos.dcm"):
        assert dciodvfy_errors(out / name) == [], name
        assert dcmread(out / name).StudyInstanceUID == rf.StudyInstanceUID
    for name in ("sr.dcm", "kos.dcm"):
        rc, bad = dsrdump_check(out / name)
        assert rc == 0 and bad == [], (name, bad)
    assert (out / "r.pdf").read_bytes().startswith(b"%PDF-")
    assert {p.name: p.read_bytes() for p in study_dir.iterdir()} == before  # sources untouched

    proc = _run("import", str(out / "sr.dcm"), data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    assert HsgReport.from_json(json.loads(proc.stdout)) == as_recorded_in_sr(report)


def _main(*args: str, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The same entry point in-process (no interpreter start-up per call): rc, stdout, stderr."""
    capsys.readouterr()
    rc = main(["--data-dir", str(data_dir), "report", *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.timeout(120)
def test_clear_errors_exit_1(tmp_path: Path, study_dir: Path, source_datasets, data_dir, capsys) -> None:
    rf, dx = source_datasets
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "findings": {"tubes": {"left": {"patency": "wide open"}}}}')
    rc, _, err = _main(
        "export",
        str(bad),
        "--study",
        str(study_dir),
        "--sr",
        str(tmp_path / "x.dcm"),
        data_dir=data_dir,
        capsys=capsys,
    )
    assert rc == 1
    assert "bad.json" in err and "patency" in err

    (tmp_path / "notjson.json").write_text("{not json")
    rc, _, err = _main(
        "export", str(tmp_path / "notjson.json"), "--study", str(study_dir), "--sr", str(tmp_path / "x.dcm"),
        data_dir=data_dir, capsys=capsys,
    )  # fmt: skip
    assert rc == 1 and "notjson.json" in err and "not valid JSON" in err

    good = tmp_path / "good.json"
    good.write_text(json.dumps(full_report(rf, dx).to_json()))
    rc, _, err = _main(
        "export", str(good), "--study", str(tmp_path / "nope"), "--sr", str(tmp_path / "x.dcm"),
        data_dir=data_dir, capsys=capsys,
    )  # fmt: skip
    assert rc == 1 and "does not exist" in err

    rc, _, err = _main(
        "export",
        str(good),
        "--study",
        str(study_dir),
        "--sr",
        str(study_dir / "rf.dcm"),
        data_dir=data_dir,
        capsys=capsys,
    )
    assert rc == 1 and "refusing to overwrite" in err

    rc, _, err = _main("export", str(good), "--study", str(study_dir), data_dir=data_dir, capsys=capsys)
    assert rc == 1 and "--sr" in err  # no output named

    invalid = full_report(rf, dx)
    invalid.safety.pregnancy_test = invalid.safety.pregnancy_test.POSITIVE  # V01: contraindicated, an error
    (tmp_path / "invalid.json").write_text(json.dumps(invalid.to_json()))
    args = [
        "export",
        str(tmp_path / "invalid.json"),
        "--study",
        str(study_dir),
        "--sr",
        str(tmp_path / "y.dcm"),
    ]
    rc, _, err = _main(*args, data_dir=data_dir, capsys=capsys)
    assert rc == 1 and "V01" in err and "--force" in err
    assert not (tmp_path / "y.dcm").exists()
    rc, _, err = _main(*args, "--force", data_dir=data_dir, capsys=capsys)
    assert rc == 0 and (tmp_path / "y.dcm").exists() and "draft" in err

    rc, _, err = _main("import", str(study_dir / "rf.dcm"), data_dir=data_dir, capsys=capsys)
    assert rc == 1 and "not a structured report" in err
    rc, _, err = _main("import", str(tmp_path / "missing.dcm"), data_dir=data_dir, capsys=capsys)
    assert rc == 1 and "missing.dcm" in err
    assert not (tmp_path / "x.dcm").exists()


@pytest.mark.timeout(120)
def test_amendment_of_a_signed_report_through_the_cli(
    tmp_path: Path, study_dir: Path, source_datasets, data_dir, capsys
) -> None:
    """Signed report → SR; amend (new draft, predecessor = that SR) → sign → export --predecessor: the new SR
    references the first in PredecessorDocumentsSequence, passes dciodvfy + dsrdump, and reads back equal.
    The signed original cannot be changed."""
    rf, dx = source_datasets
    first = full_report(rf, dx, signed=True)
    with pytest.raises(ReportLockedError):
        first.complications.pain_score = 9
    with pytest.raises(ReportLockedError):
        first.impression.sentences.clear()
    (tmp_path / "first.json").write_text(json.dumps(first.to_json()))
    sr1_path = tmp_path / "sr1.dcm"
    rc, _, err = _main(
        "export", str(tmp_path / "first.json"), "--study", str(study_dir), "--sr", str(sr1_path),
        data_dir=data_dir, capsys=capsys,
    )  # fmt: skip
    assert rc == 0, err
    sr1 = dcmread(sr1_path)
    assert (sr1.CompletionFlag, sr1.VerificationFlag) == ("COMPLETE", "VERIFIED")

    amended = first.amend(sr1.SOPInstanceUID, reason="pain score corrected")
    assert not amended.is_signed and first.is_signed
    amended.complications.pain_score = 6
    for issue in amended.validate():  # acknowledgements are the new signer's to give again
        if issue.severity.value == "warning":
            amended.acknowledge(issue.rule_id, issue.field_path, "accepted on review", "Amender^Ann")
    amended.sign("Amender^Ann")
    (tmp_path / "amended.json").write_text(json.dumps(amended.to_json()))
    sr2_path, pdf_path = tmp_path / "sr2.dcm", tmp_path / "amended.pdf"
    rc, _, err = _main(
        "export", str(tmp_path / "amended.json"), "--study", str(study_dir), "--sr", str(sr2_path),
        "--predecessor", str(study_dir / "rf.dcm"), data_dir=data_dir, capsys=capsys,
    )  # fmt: skip
    assert rc == 1 and "not a structured report" in err and not sr2_path.exists()
    rc, out, err = _main(
        "export", str(tmp_path / "amended.json"), "--study", str(study_dir), "--sr", str(sr2_path),
        "--pdf", str(pdf_path), "--predecessor", str(sr1_path), data_dir=data_dir, capsys=capsys,
    )  # fmt: skip
    assert rc == 0, err
    sr2 = dcmread(sr2_path)
    ref = sr2.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == sr1.SeriesInstanceUID
    assert ref.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == sr1.SOPInstanceUID
    assert sr2.SOPInstanceUID != sr1.SOPInstanceUID and sr2.StudyInstanceUID == sr1.StudyInstanceUID
    assert dciodvfy_errors(sr2_path) == []
    rc_dsr, bad = dsrdump_check(sr2_path)
    assert rc_dsr == 0 and bad == []
    text = subprocess.run(
        ["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, timeout=60
    ).stdout
    assert "Amended report" in text and "pain score corrected" in text

    rc, out, err = _main("import", str(sr2_path), data_dir=data_dir, capsys=capsys)
    assert rc == 0, err
    back = HsgReport.from_json(json.loads(out))
    assert back == as_recorded_in_sr(amended) and back.predecessor.sr_sop_instance_uid == sr1.SOPInstanceUID
