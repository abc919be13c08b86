"""Issue 16 point 6: a signed report's JSON edited on disk must not load as signed; drafts are drafts only.

Every way in from disk is tried: the signed store (where the GUI puts a report when it is signed), the draft
store (old versions kept signed reports there), and ``report export REPORT.json`` on the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.drafts import DraftError, DraftStore, SignedReportError
from hsg_workstation.reporting.integrity import INTEGRITY_KEY
from hsg_workstation.reporting.reference import example_report

ROOT = Path(__file__).resolve().parents[2]


def signed_report() -> m.HsgReport:
    r = example_report("endometrial_polyp")
    for issue in r.validate():
        if issue.severity.value == "warning":
            r.acknowledge(issue.rule_id, issue.field_path, "checked", "Dr A")
    r.sign("Dr A")
    return r


@pytest.fixture
def store(data_dir: Path) -> DraftStore:
    return DraftStore(data_dir / "drafts")


def _edit(path: Path, change) -> bytes:  # noqa: ANN001 - a small callable on the stored JSON
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data["report"] if "report" in data else data)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path.read_bytes()


def test_signed_report_round_trips_with_its_integrity_check(store: DraftStore) -> None:
    r = signed_report()
    data = r.to_json()
    assert (
        data[INTEGRITY_KEY]["algorithm"] == "sha256"
        and len(data[INTEGRITY_KEY]["signed_content_sha256"]) == 64
    )
    again = m.HsgReport.from_json(
        json.loads(json.dumps(data, indent=3, sort_keys=True)), require_integrity=True
    )
    assert again == r and again.is_signed
    with pytest.raises(m.ReportLockedError):
        again.complications.pain_score = 2
    path = store.archive_signed(r)
    assert path.parent == store.directory.parent / "signed"
    assert store.signed.load(r.report_id).to_json() == data
    assert INTEGRITY_KEY not in m.HsgReport().to_json()  # drafts carry no seal
    amended = r.amend("1.2.3", "typo")
    assert not amended.is_signed and INTEGRITY_KEY not in amended.to_json()


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("a finding", lambda d: d["findings"]["tubes"]["left"].update(note="edited on disk")),
        ("the signer", lambda d: d["signature"].update(verifying_observer_name="Someone Else")),
        ("the status", lambda d: d.update(status="draft")),
        ("the seal removed", lambda d: d.pop(INTEGRITY_KEY)),
        ("the seal recomputed wrong", lambda d: d[INTEGRITY_KEY].update(signed_content_sha256="0" * 64)),
    ],
)
def test_tampered_signed_report_is_refused_and_kept(store: DraftStore, what: str, change) -> None:  # noqa: ANN001
    r = signed_report()
    path = store.archive_signed(r)
    edited = _edit(path, change)
    with pytest.raises(SignedReportError) as exc:
        store.signed.load(r.report_id)
    message = str(exc.value)
    assert str(path) in message and ("changed after signing" in message or "integrity" in message), message
    assert path.read_bytes() == edited  # the file is kept exactly as found, never re-sealed
    assert r.report_id in store.signed.problems()
    with pytest.raises(SignedReportError, match="not written over it"):
        store.signed.save(r)  # nor silently replaced by a fresh copy
    assert path.read_bytes() == edited


def test_draft_store_refuses_signed_reports(store: DraftStore) -> None:
    r = signed_report()
    with pytest.raises(DraftError, match="is signed"):
        store.save(r)
    assert not store.path_for(r.report_id).exists()


def test_signed_report_edited_in_the_drafts_folder_is_refused(store: DraftStore) -> None:
    """What older versions left: a signed report saved as a draft. Edited, it must not load as signed."""
    r = signed_report()
    path = store.path_for(r.report_id)
    path.write_text(
        json.dumps({"draft_format": 1, "saved_at": None, "report": r.to_json()}), encoding="utf-8"
    )
    assert store.load(r.report_id).is_signed  # untouched: still loads
    _edit(path, lambda d: d["complications"].update(pain_score=9))
    with pytest.raises(DraftError, match="changed after signing"):
        store.load(r.report_id)
    _edit(path, lambda d: d.pop(INTEGRITY_KEY))
    with pytest.raises(DraftError, match="without its integrity check"):
        store.load(r.report_id)


def test_signed_store_refuses_another_report_with_the_same_id(store: DraftStore) -> None:
    r = signed_report()
    store.archive_signed(r)
    assert store.signed.save(r) == store.signed.path_for(r.report_id)  # the same report again: fine
    data = r.to_json()
    data.pop(INTEGRITY_KEY)
    data["author_name"] = "Another^Author"
    other = m.HsgReport.from_json(data)  # in memory, built by code: sealed again when written
    with pytest.raises(SignedReportError, match="different signed report"):
        store.signed.save(other)


def test_cli_refuses_a_tampered_signed_report_json(tmp_path: Path, data_dir: Path) -> None:
    r = signed_report()
    report_json = tmp_path / "signed.json"
    report_json.write_text(json.dumps(r.to_json()), encoding="utf-8")
    _edit(report_json, lambda d: d["findings"]["tubes"]["right"].update(note="edited"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", "hsg_workstation", "report", "export", str(report_json), "--study",
         str(ROOT / "sample_data" / "normal"), "--sr", str(tmp_path / "out.dcm")],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert str(report_json) in proc.stderr and "changed after signing" in proc.stderr
    assert not (tmp_path / "out.dcm").exists()


def test_a_report_signed_before_a_field_was_added_still_verifies_and_an_edit_is_still_refused() -> None:
    """``ImageLink.measurement_id`` came after reports were signed: their JSON lacks the key, so the content
    re-encoded by this version differs from what was sealed; the seal over the content as read still holds."""
    from hsg_workstation.reporting import integrity

    report = m.HsgReport()
    report.findings.cavity.image_links.append(m.ImageLink("1.2.3", 2, "RF"))
    report.status = m.ReportStatus.SIGNED
    data = report.to_json()
    data.pop(INTEGRITY_KEY)
    for link in data["findings"]["cavity"]["image_links"]:
        del link["measurement_id"]  # as an older version wrote it
    old = integrity.seal(data)
    back = m.HsgReport.from_json(json.loads(json.dumps(old)), require_integrity=True)
    assert back.is_signed and back.findings.cavity.image_links[0].measurement_id == ""
    old["findings"]["cavity"]["image_links"][0]["frame_number"] = 3
    with pytest.raises(m.ReportIntegrityError, match="changed after signing"):
        m.HsgReport.from_json(old, require_integrity=True)
