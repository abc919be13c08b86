"""A short seeded run of the fuzz campaign (benchmarks/fuzz.py, issue 16): mutated sample data and pydicom test
files through import, the viewer's pixel path, export-image, analyze and report import, each input in a child
process under a memory and a time limit. Any traceback, crash, hang or lost data fails the suite; the JSON
names the reproducers (kept under its ``workdir``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INPUTS = 150


@pytest.mark.timeout(600)
def test_short_fuzz_campaign_finds_nothing() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "fuzz.py"), "--inputs", str(INPUTS), "--seed", "16016"],
        capture_output=True,
        text=True,
        timeout=580,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout)
    assert summary["inputs"] == INPUTS
    assert summary["executions"] >= INPUTS * len(summary["targets"])
    # The campaign exercised both sides: files every target accepted, and files refused with a clean message.
    assert summary["accepted"] > 0 and summary["clean_refusals"] > INPUTS
    findings = {k: summary[k] for k in ("tracebacks", "crashes", "hangs", "data_lost")}
    assert findings == dict.fromkeys(findings, 0), json.dumps(
        {"distinct": summary["distinct"], "examples": summary["examples"]}, indent=1
    )
