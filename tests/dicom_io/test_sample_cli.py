"""``hsg-workstation sample-data``: writes case folders, the optional reference report, clear errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pydicom
import pytest

from hsg_workstation.__main__ import main
from hsg_workstation.cli import sample_data


@pytest.mark.timeout(120)
def test_writes_requested_cases_with_truth(tmp_path: Path, capsys, data_dir):
    rc = main(["sample-data", str(tmp_path), "--case", "normal", "--case", "unicornuate", "--size", "96",
               "--frames", "10", "--seed", "3", "--json"])  # fmt: skip
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["case"] for x in lines] == ["normal", "unicornuate"]
    for case in ("normal", "unicornuate"):
        folder = tmp_path / case
        truth = json.loads((folder / "truth.json").read_text())
        assert truth["case"] == case and truth["frames"] == 10 and truth["generator"]["seed"] == 3
        loop = pydicom.dcmread(folder / "02_loop.dcm", stop_before_pixels=True)
        assert loop.Rows == 96 and loop.NumberOfFrames == 10
        assert loop.StudyInstanceUID == truth["study_instance_uid"]


def test_reference_report_written_when_the_builder_exists(tmp_path: Path, monkeypatch):
    calls = []

    def fake_builder(truth: dict, case_dir: Path) -> dict:
        calls.append((truth["case"], case_dir))
        return {"case": truth["case"], "files": sorted(p.name for p in case_dir.glob("*.dcm"))}

    monkeypatch.setattr(sample_data, "_reference_report_builder", lambda: fake_builder)
    assert main(["sample-data", str(tmp_path), "--case", "t_shaped", "--size", "64", "--frames", "8"]) == 0
    assert calls == [("t_shaped", tmp_path / "t_shaped")]
    report = json.loads((tmp_path / "t_shaped" / "report.json").read_text())
    assert report["files"][0] == "01_scout.dcm"  # the builder ran after the DICOM files were written


def test_no_report_and_no_error_without_the_reporting_module(tmp_path: Path, monkeypatch):
    # sys.modules[name] = None makes that import raise ModuleNotFoundError, as if the module did not exist.
    monkeypatch.setitem(sys.modules, "hsg_workstation.reporting.reference", None)
    assert sample_data._reference_report_builder() is None
    assert main(["sample-data", str(tmp_path), "--case", "normal", "--size", "64", "--frames", "8"]) == 0
    assert (tmp_path / "normal" / "truth.json").exists()
    assert not (tmp_path / "normal" / "report.json").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--case", "no_such_case"], "--case: unknown case(s) no_such_case"),
        (["--size", "20"], "--size"),
        (["--frames", "2"], "--frames"),
        (["--motion-px", "-1"], "--motion-px"),
        (["--size", "64", "--motion-px", "7"], "--motion-px: must be between 0 and 6.4"),
    ],
)
def test_bad_arguments_give_a_clear_error(tmp_path: Path, capsys, argv, message):
    assert main(["sample-data", str(tmp_path / "out"), *argv]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_outdir_that_is_a_file_is_refused(tmp_path: Path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert main(["sample-data", str(target), "--case", "normal", "--size", "64", "--frames", "8"]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert target.read_text() == "x"
