"""The reading worklist's report state per study (``list --json`` ``report_status``, ``--unreported``): none,
then a draft on disk, then a signed SR in the database, then an amendment — each seen through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.__main__ import main
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.reporting.drafts import DraftStore
from hsg_workstation.reporting.export import export_all

from .conftest import full_report


def _listing(data_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[dict]:
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "list", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.timeout(180)
def test_report_status_moves_from_none_to_draft_to_signed_to_amended(
    tmp_path: Path, study_dir: Path, source_datasets, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    with LocalDatabase(data_dir) as db:
        db.import_paths([study_dir])
    rf, dx = source_datasets
    study_uid = str(rf.StudyInstanceUID)
    [row] = _listing(data_dir, capsys)
    assert row["study_instance_uid"] == study_uid and row["report_status"]["state"] == "none"

    draft = full_report(rf, dx)
    DraftStore(data_dir / "drafts").save(draft)
    [row] = _listing(data_dir, capsys)
    assert row["report_status"]["state"] == "draft" and row["report_status"]["at"]
    assert [r["study_instance_uid"] for r in _listing(data_dir, capsys, "--unreported")] == [study_uid]

    signed = full_report(rf, dx, signed=True)
    out = tmp_path / "out"
    out.mkdir()
    export_all(signed, study_dir, sr_path=out / "sr1.dcm")
    with LocalDatabase(data_dir) as db:
        db.import_paths([out / "sr1.dcm"])
    [row] = _listing(data_dir, capsys)
    status = row["report_status"]
    assert status["state"] == "signed"
    assert status["by"] == str(signed.signature.verifying_observer_name)
    assert status["sop_instance_uid"] == str(dcmread(out / "sr1.dcm").SOPInstanceUID)
    assert _listing(data_dir, capsys, "--unreported") == []  # a signed report outranks the old draft

    amended = signed.amend(status["sop_instance_uid"], reason="typo")
    for issue in amended.validate():
        if issue.severity.value == "warning":
            amended.acknowledge(issue.rule_id, issue.field_path, "ok", "Amender^Ann")
    amended.sign("Amender^Ann")
    export_all(amended, study_dir, sr_path=out / "sr2.dcm", predecessor=dcmread(out / "sr1.dcm"))
    with LocalDatabase(data_dir) as db:
        db.import_paths([out / "sr2.dcm"])
    [row] = _listing(data_dir, capsys)
    assert row["report_status"]["state"] == "amended" and row["report_status"]["by"] == "Amender^Ann"


def test_other_srs_in_the_study_are_not_its_report(
    tmp_path: Path, study_dir: Path, source_datasets, capsys: pytest.CaptureFixture[str]
) -> None:
    """A signed report's TID 1500 measurement SR alone (e.g. the report SR not yet arrived) is not a report."""
    rf, dx = source_datasets
    res = export_all(full_report(rf, dx, signed=True), study_dir, measurement_sr_path=study_dir / "msr.dcm")
    assert res.measurement_sr is not None and res.measurement_sr.VerificationFlag == "VERIFIED"
    data_dir = tmp_path / "data"
    with LocalDatabase(data_dir) as db:
        db.import_paths([study_dir])
    [row] = _listing(data_dir, capsys)
    assert row["report_status"]["state"] == "none"
