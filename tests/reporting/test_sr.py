"""The central test: report → SR → file → report compares equal; every SR passes dciodvfy and dsrdump."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.sr import as_recorded_in_sr, build_sr
from hsg_workstation.reporting.sr_import import report_from_sr

from .conftest import dciodvfy_errors, dsrdump_check, full_report


@pytest.mark.timeout(120)
@pytest.mark.parametrize("signed", [False, True])
def test_full_report_round_trips_through_sr_file(tmp_path: Path, source_datasets, signed: bool) -> None:
    rf, dx = source_datasets
    report = full_report(rf, dx, signed=signed)
    sr = build_sr(report, source_datasets)
    out = tmp_path / "sr.dcm"
    sr.save_as(out, enforce_file_format=True)
    assert dciodvfy_errors(out) == []
    rc, bad = dsrdump_check(out)
    assert rc == 0 and bad == []
    back = report_from_sr(out)
    expected = as_recorded_in_sr(report)
    assert back.to_json() == expected.to_json()
    assert back == expected
    # only the impression's audit trail is left out: with it removed from both, the reports are equal
    assert report.impression.edits and not back.impression.edits
    full = report.to_json()
    full.pop("integrity", None)
    full["impression"]["edits"] = []
    for s in full["impression"]["sentences"]:
        s["generated_text"] = s["text"] if s["generated"] else ""
    assert back == HsgReport.from_json(full)
    # no private attribute, and no removed / old wording anywhere in the file
    assert not any(e.tag.is_private for e in sr.iterall())
    raw = out.read_bytes()
    replaced = [s.generated_text for s in report.impression.sentences if s.edited]
    assert replaced  # the full report has an edited sentence
    for old in replaced:
        assert old.encode() not in raw, old
