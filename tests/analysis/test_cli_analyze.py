"""``hsg-workstation analyze PATH [--json]`` on a written study folder and on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsg_workstation.__main__ import main
from tests.analysis.conftest import generated

pytestmark = pytest.mark.timeout(120)

SIDE_KEYS = {
    "tube_filled",
    "first_fill_frame",
    "spill",
    "spill_onset_frame",
    "confidence",
    "hydrosalpinx_mm",
    "frames_to_review",
}


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated("normal", 0).write(tmp_path_factory.mktemp("study"))


def test_json_output_has_the_issue_keys(
    study_dir: Path, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    before = {p: p.stat().st_mtime_ns for p in study_dir.iterdir()}
    assert main(["analyze", str(study_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "series_uid",
        "frames",
        "max_distension_frame",
        "intravasation",
        "sides",
        "defects",
        "key_frames",
    ):
        assert key in out
    assert isinstance(out["warnings"], list)
    assert out["series_uid"] == generated("normal", 0).truth["loop_series_uid"]
    assert out["intravasation"] in (True, False, None)  # None: the loop cannot tell
    assert set(out["sides"]) == {"left", "right"}
    for side in out["sides"].values():
        assert SIDE_KEYS <= set(side)
        assert side["spill"] in ("free", "loculated", "none", "indeterminate")
        assert 0.0 <= side["confidence"] <= 1.0
        assert side["hydrosalpinx_mm"] is None  # a normal study has no sac
        assert side["spill_onset_frame"] is None or 1 <= side["spill_onset_frame"] <= out["frames"]
        assert side["spill_onset_time_s"] is None or side["spill_onset_time_s"] >= 0
    for d in out["defects"]:
        assert {"frame", "row", "column", "diameter_mm"} <= set(d)
    assert 1 <= out["max_distension_frame"] <= out["frames"]
    assert out["key_frames"]["max_distension"]["frame"] == out["max_distension_frame"]
    assert out["suggestions_only"] is True
    # sources are never modified
    assert before == {p: p.stat().st_mtime_ns for p in study_dir.iterdir()}


def test_text_output_names_patient_sides(
    study_dir: Path, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["analyze", str(study_dir / "02_loop.dcm")]) == 0
    text = capsys.readouterr().out
    assert "patient right: tube filled" in text and "patient left: tube filled" in text
    assert "maximal distension: frame" in text


def test_not_dicom_is_a_clear_error(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    bad = tmp_path / "notes.dcm"
    bad.write_text("not a dicom file")
    assert main(["analyze", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "notes.dcm" in err


def test_folder_without_a_loop(
    study_dir: Path, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    only_scout = tmp_path / "scout_only"
    only_scout.mkdir()
    (only_scout / "01_scout.dcm").write_bytes((study_dir / "01_scout.dcm").read_bytes())
    assert main(["analyze", str(only_scout)]) == 1
    assert "no multi-frame image" in capsys.readouterr().err
    assert main(["analyze", str(only_scout / "01_scout.dcm")]) == 1
    assert "single-frame" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path / "missing")]) == 1
    assert "no such file" in capsys.readouterr().err
