"""The studies committed in sample_data/: valid DICOM, truth consistent with headers, and still what the
generator produces (so the bundled data never drifts from the code that documents it)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest

from hsg_workstation.synthetic.study import generate_case

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
BUNDLED = ("normal", "unilateral_proximal_occlusion", "bilateral_distal_hydrosalpinx", "submucous_myoma")
REGENERATE = (
    "hsg-workstation sample-data sample_data --case normal unilateral_proximal_occlusion "
    "bilateral_distal_hydrosalpinx submucous_myoma --size 256 --frames 40 --seed 0"
)


def test_bundled_cases_are_small_and_documented():
    assert sorted(p.name for p in SAMPLE_DIR.iterdir() if p.is_dir()) == sorted(BUNDLED)
    total = sum(p.stat().st_size for p in SAMPLE_DIR.rglob("*") if p.is_file())
    assert total <= 30 * 1024 * 1024
    readme = (SAMPLE_DIR / "README.md").read_text()
    assert "synthetic" in readme.lower() and "--seed 0" in readme


@pytest.mark.timeout(180)
def test_bundled_files_pass_dciodvfy():
    if shutil.which("dciodvfy") is None:
        pytest.fail("dciodvfy (Debian dicom3tools) is required for this test")
    files = sorted(SAMPLE_DIR.glob("*/*.dcm"))
    assert len(files) == 5 * len(BUNDLED)
    for f in files:
        proc = subprocess.run(["dciodvfy", str(f)], capture_output=True, text=True, timeout=60)
        errors = [x for x in (proc.stdout + proc.stderr).splitlines() if x.startswith("Error")]
        assert proc.returncode == 0 and not errors, f"{f}: {errors}"


@pytest.mark.parametrize("case", BUNDLED)
def test_bundled_truth_matches_headers_and_generator(case):
    folder = SAMPLE_DIR / case
    truth = json.loads((folder / "truth.json").read_text())
    headers = [pydicom.dcmread(folder / name, stop_before_pixels=True) for name in truth["files"]]
    assert {h.StudyInstanceUID for h in headers} == {truth["study_instance_uid"]}
    loop = headers[1]
    assert loop.SOPInstanceUID == truth["loop_sop_instance_uid"] and loop.NumberOfFrames == truth["frames"]
    assert list(loop.PatientOrientation) == truth["patient_orientation"]
    assert [h.SOPInstanceUID for h in headers[2:]] == [s["sop_instance_uid"] for s in truth["spot_images"]]
    fresh = generate_case(case, seed=0, size=256, frames=40).truth
    assert json.loads(json.dumps(fresh)) == truth, (
        f"sample_data/{case} is stale; regenerate with: {REGENERATE}"
    )
