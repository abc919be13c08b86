"""`hsg-workstation report export / import` end to end in a subprocess (the real entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.reporting.model import HsgReport

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
    assert HsgReport.from_json(json.loads(proc.stdout)) == report


@pytest.mark.timeout(120)
def test_clear_errors_exit_1(tmp_path: Path, study_dir: Path, source_datasets, data_dir) -> None:
    rf, dx = source_datasets
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "findings": {"tubes": {"left": {"patency": "wide open"}}}}')
    proc = _run(
        "export", str(bad), "--study", str(study_dir), "--sr", str(tmp_path / "x.dcm"), data_dir=data_dir
    )
    assert proc.returncode == 1
    assert "bad.json" in proc.stderr and "patency" in proc.stderr

    good = tmp_path / "good.json"
    good.write_text(json.dumps(full_report(rf, dx).to_json()))
    proc = _run(
        "export",
        str(good),
        "--study",
        str(tmp_path / "nope"),
        "--sr",
        str(tmp_path / "x.dcm"),
        data_dir=data_dir,
    )
    assert proc.returncode == 1 and "does not exist" in proc.stderr

    proc = _run(
        "export", str(good), "--study", str(study_dir), "--sr", str(study_dir / "rf.dcm"), data_dir=data_dir
    )
    assert proc.returncode == 1 and "refusing to overwrite" in proc.stderr

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
    proc = _run(*args, data_dir=data_dir)
    assert proc.returncode == 1 and "V01" in proc.stderr and "--force" in proc.stderr
    proc = _run(*args, "--force", data_dir=data_dir)
    assert proc.returncode == 0 and (tmp_path / "y.dcm").exists() and "draft" in proc.stderr

    proc = _run("import", str(study_dir / "rf.dcm"), data_dir=data_dir)
    assert proc.returncode == 1 and "not a structured report" in proc.stderr
    assert not (tmp_path / "x.dcm").exists()
