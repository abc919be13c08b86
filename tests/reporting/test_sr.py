"""The central test: report → SR → file → report compares equal; every SR passes dciodvfy and dsrdump."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsg_workstation.reporting.sr import build_sr
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
    assert back.to_json() == report.to_json()
    assert back == report
