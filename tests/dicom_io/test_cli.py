"""The import / list / export-image sub-commands, run through the real argument parser."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from hsg_workstation.__main__ import main

from .dicomfactory import make_image, tree_hashes


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_import_json_and_list(capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    make_image(src / "loop.dcm", frames=3, study_uid="1.2.3", series_uid="1.2.3.1", series_description="Fill")
    make_image(src / "spot.dcm", study_uid="1.2.3", series_uid="1.2.3.2", series_number=2)
    (src / "readme.txt").write_text("hello")
    before = tree_hashes(src)
    rc, out, _ = run(capsys, "--data-dir", str(data_dir), "import", "--json", str(src))
    assert rc == 0  # a skipped README is reported, not an error
    results = json.loads(out)
    assert sorted(r["status"] for r in results) == ["imported", "imported", "skipped"]
    assert {"path", "status", "reason", "sop_instance_uid", "study_instance_uid"} <= set(results[0])
    assert tree_hashes(src) == before

    rc, out, _ = run(capsys, "--data-dir", str(data_dir), "import", str(src / "loop.dcm"))
    assert rc == 0 and out.startswith("duplicate")

    rc, out, _ = run(capsys, "--data-dir", str(data_dir), "list", "--json")
    (study,) = json.loads(out)
    assert study["study_instance_uid"] == "1.2.3" and study["instance_count"] == 2
    assert [(s["series_instance_uid"], s["instance_count"]) for s in study["series"]] == [
        ("1.2.3.1", 1),
        ("1.2.3.2", 1),
    ]

    rc, out, _ = run(capsys, "--data-dir", str(data_dir), "list")
    assert rc == 0 and "2 series, 2 instances" in out and "Fill: 1 instance " in out


def test_import_text_output_and_exit_code_for_missing_path(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\0" * 500)
    rc, out, err = run(capsys, "--data-dir", str(data_dir), "import", str(bad))
    assert rc == 0 and out.startswith("skipped") and "bad.dcm: not a DICOM Part 10 file" in out
    assert "0 imported, 0 duplicate, 1 skipped" in err
    rc, out, _ = run(capsys, "--data-dir", str(data_dir), "import", str(tmp_path / "missing"))
    assert rc == 1 and "no such file or folder" in out


def test_list_empty_and_env_data_dir(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    rc, out, _ = run(capsys, "list")  # the data_dir fixture sets HSG_WORKSTATION_DATA_DIR
    assert rc == 0 and "no studies" in out
    assert (data_dir / "index.sqlite").exists()


def test_data_dir_option_wins_over_env(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    """--data-dir points import and list at another archive; the env one (set by the fixture) is untouched."""
    other = tmp_path / "other-archive"
    make_image(tmp_path / "src" / "a.dcm", study_uid="1.2.9")
    rc, out, err = run(capsys, "--data-dir", str(other), "import", str(tmp_path / "src"))
    assert rc == 0 and out.startswith("imported") and str(other) in err
    assert (other / "index.sqlite").is_file() and any((other / "store").rglob("*.dcm"))
    rc, out, _ = run(capsys, "--data-dir", str(other), "list", "--json")
    assert [s["study_instance_uid"] for s in json.loads(out)] == ["1.2.9"]
    rc, out, _ = run(capsys, "list", "--json")  # no option: the env archive, still empty
    assert json.loads(out) == [] and not any((data_dir / "store").rglob("*.dcm"))


def test_image_size_cap_is_configurable(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memory cap (issue §4) from --max-image-mb or $HSG_WORKSTATION_MAX_IMAGE_MB; bad values are named."""
    src = make_image(tmp_path / "loop.dcm", rows=64, columns=64, frames=8)  # 64 KiB of pixels
    before = tree_hashes(src)
    rc, out, _ = run(capsys, "import", "--max-image-mb", "0.05", str(src))
    assert rc == 0 and out.startswith("skipped") and "too large" in out and "cap of 0 MiB" not in out
    assert "64 × 64 × 8" in out
    monkeypatch.setenv("HSG_WORKSTATION_MAX_IMAGE_MB", "0.05")
    rc, out, _ = run(capsys, "import", str(src))
    assert rc == 0 and "too large" in out
    rc, out, err = run(capsys, "export-image", str(src), str(tmp_path / "x.png"))
    assert rc == 1 and "too large" in err and not (tmp_path / "x.png").exists()
    monkeypatch.setenv("HSG_WORKSTATION_MAX_IMAGE_MB", "lots")
    rc, out, err = run(capsys, "import", str(src))
    assert rc == 1 and "HSG_WORKSTATION_MAX_IMAGE_MB" in err and "'lots'" in err
    rc, out, err = run(capsys, "import", "--max-image-mb", "1", str(src))  # the option wins over the env
    assert rc == 0 and out.startswith("imported")
    rc, out, err = run(capsys, "import", "--max-image-mb", "-3", str(src))
    assert rc == 1 and "--max-image-mb" in err
    assert tree_hashes(src) == before


def test_export_image_default_window_and_frame(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    frames = np.zeros((3, 8, 8), dtype=np.uint16)
    frames[1, :, 4:] = 2000  # right half bright on frame 2 only
    src = make_image(
        tmp_path / "loop.dcm", rows=8, columns=8, frames=3, pixels=frames, windows=[(1000, 1000, "W")]
    )
    before = tree_hashes(src)
    out_png = tmp_path / "out" / "f2.png"
    rc, out, _ = run(capsys, "export-image", str(src), "--frame", "2", str(out_png))
    assert rc == 0 and "frame 2 of 3" in out
    img = np.asarray(Image.open(out_png))
    assert img.shape == (8, 8) and img.dtype == np.uint8
    assert (img[:, :4] == 0).all() and (img[:, 4:] == 255).all()
    assert tree_hashes(src) == before

    rc, _, _ = run(capsys, "export-image", str(src), "--frame", "2", "--window", "4000", "100", str(out_png))
    assert rc == 0 and (np.asarray(Image.open(out_png)) == 0).all()  # everything below that window

    rc, _, err = run(capsys, "export-image", str(src), "--frame", "4", str(out_png))
    assert rc == 1 and "out of range" in err
    rc, _, err = run(capsys, "export-image", str(src), "--window", "10", "0", str(out_png))
    assert rc == 1 and "width must be > 0" in err


def test_export_image_monochrome1_and_vendor_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("RG1_UNCI.dcm", "vlut_04.dcm", "SC_rgb_jpeg_dcmtk.dcm", "JPEG2000.dcm"):
        out_png = tmp_path / f"{name}.png"
        rc, _, err = run(capsys, "export-image", get_testdata_file(name), str(out_png))
        assert rc == 0, err
        img = np.asarray(Image.open(out_png))
        assert img.std() > 5, name  # rendered something, not a flat image
    m1 = np.zeros((1, 4, 4), dtype=np.uint16)
    m1[0, 0, 0] = 4095
    src = make_image(tmp_path / "m1.dcm", rows=4, columns=4, pixels=m1, photometric="MONOCHROME1")
    run(capsys, "export-image", str(src), str(tmp_path / "m1.png"))
    img = np.asarray(Image.open(tmp_path / "m1.png"))
    assert img[0, 0] == 0 and img[1, 1] == 255  # MONOCHROME1: high value dark


def test_export_image_unsupported_syntax_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = tmp_path / "jpeg12.dcm"
    shutil.copy(get_testdata_file("JPEG-lossy.dcm"), src)
    rc, _, err = run(capsys, "export-image", str(src), str(tmp_path / "x.png"))
    assert rc == 1 and "JPEG Extended" in err and "1.2.840.10008.1.2.4.51" in err and "gpl-codecs" in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.timeout(120)
def test_console_script_help_lists_commands() -> None:
    exe = Path(sys.executable).with_name("hsg-workstation")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "hsg_workstation"]
    proc = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0
    for command in ("import", "list", "export-image"):
        assert command in proc.stdout


def test_export_image_of_a_document_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from .dicomfactory import COMPREHENSIVE_SR, make_document

    sr = make_document(tmp_path / "sr.dcm", COMPREHENSIVE_SR)
    rc, _, err = run(capsys, "export-image", str(sr), str(tmp_path / "x.png"))
    assert rc == 1 and "not an image (sr)" in err and "sr.dcm" in err
