"""A folder full of bad input: every file is skipped with a reason, the good ones still land, sources untouched."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from hsg_workstation.dicom_io.database import LocalDatabase

from .dicomfactory import RF_STORAGE, base_dataset, make_image, tree_hashes

PROJECT = Path(__file__).resolve().parents[2]


def bad_folder(root: Path) -> dict[str, str]:
    """Write one good file and one of each kind of bad file; returns file name → expected reason fragment."""
    root.mkdir(parents=True)
    make_image(root / "00_good.dcm", frames=3)
    expected = {"00_good.dcm": ""}

    (root / "notes.txt").write_text("scanned by the front desk\n")
    expected["notes.txt"] = "not a DICOM Part 10 file"
    for name in ("MR_truncated.dcm", "no_meta.dcm"):
        shutil.copy(get_testdata_file(name), root / name)
    expected["MR_truncated.dcm"] = "truncated"
    expected["no_meta.dcm"] = "not a DICOM Part 10 file"
    shutil.copy(get_testdata_file("emri_small_jpeg_2k_lossless_too_short.dcm"), root / "j2k_short.dcm")
    expected["j2k_short.dcm"] = "truncated"

    ds = base_dataset(RF_STORAGE)
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.SamplesPerPixel = 16, 16, 16, 1
    ds.save_as(root / "no_pixels.dcm", enforce_file_format=True)
    expected["no_pixels.dcm"] = "without Pixel Data"

    no_rows = pydicom.dcmread(make_image(root / "no_rows.dcm"))
    del no_rows.Rows
    no_rows.save_as(root / "no_rows.dcm", enforce_file_format=True)
    expected["no_rows.dcm"] = "without Rows"

    huge = pydicom.dcmread(make_image(root / "huge.dcm", rows=8, columns=8))
    huge.Rows, huge.Columns, huge.NumberOfFrames = 60000, 60000, 5000
    huge.save_as(root / "huge.dcm", enforce_file_format=True)
    expected["huge.dcm"] = "too large"

    cut = (root / "00_good.dcm").read_bytes()
    (root / "cut_header.dcm").write_bytes(cut[:200])
    expected["cut_header.dcm"] = ""  # any reason; pydicom decides how it words a header cut mid-element

    os.mkfifo(root / "pipe.dcm")
    expected["pipe.dcm"] = "not a regular file"
    (root / "dangling.dcm").symlink_to(root / "gone.dcm")
    expected["dangling.dcm"] = "cannot be read"
    return expected


@pytest.mark.timeout(120)
def test_bad_folder_import_goes_on(db: LocalDatabase, tmp_path: Path) -> None:
    src = tmp_path / "bad"
    expected = bad_folder(src)
    before = tree_hashes(src)
    results = {Path(r.path).name: r for r in db.import_paths([src])}
    assert set(results) == set(expected)
    assert results.pop("00_good.dcm").status == "imported"
    for name, r in results.items():
        assert r.status == "skipped", name
        assert name in r.reason, r.reason  # names the file
        assert expected[name] in r.reason, r.reason
        assert not r.local_failure
    assert tree_hashes(src) == before
    assert len(db.studies()) == 1


def test_unsupported_syntax_is_skipped_naming_syntax_and_package(db: LocalDatabase, tmp_path: Path) -> None:
    """An image no installed decoder can show is skipped; the reason says what to install, then re-import."""
    from hsg_workstation.dicom_io.pixels import decode_frame
    from hsg_workstation.errors import UnsupportedTransferSyntax

    for name, package in (
        ("JPEG-lossy.dcm", "hsg-workstation[gpl-codecs]"),
        ("JPGExtended.dcm", "gpl-codecs"),
    ):
        src = tmp_path / name
        shutil.copy(get_testdata_file(name), src)
        before = tree_hashes(src)
        (r,) = db.import_paths([src])
        assert r.status == "skipped" and not r.local_failure
        assert package in r.reason and str(src) in r.reason and "1.2.840.10008.1.2.4." in r.reason
        assert tree_hashes(src) == before
        assert db.add_encoded(src.read_bytes()).status == "skipped"
    with pytest.raises(UnsupportedTransferSyntax) as info:
        decode_frame(src, 0, header=pydicom.dcmread(src, stop_before_pixels=True))
    assert "JPEG Extended" in str(info.value)
    assert db.is_empty()
    # JPEG Lossless decodes with the python-gdcm dependency, so it is imported, not skipped.
    src = tmp_path / "JPEG-LL.dcm"
    shutil.copy(get_testdata_file("JPEG-LL.dcm"), src)
    (r,) = db.import_paths([src])
    assert r.status == "imported", r.reason


def _drop_file_override_capabilities() -> None:
    """preexec: drop CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH from the bounding set, so after exec even root obeys
    file permissions (chmod 000 then really means unreadable) while still reaching the root-owned venv."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.mark.timeout(120)
def test_unreadable_file(tmp_path: Path) -> None:
    """Runs the real CLI in a process that cannot bypass permissions (we run as root, where chmod 000 is moot)."""
    src = tmp_path / "src"
    src.mkdir()
    make_image(src / "good.dcm")
    secret = make_image(src / "secret.dcm")
    secret.chmod(0)
    data = tmp_path / "data"
    before = tree_hashes(src)
    proc = subprocess.run(
        [sys.executable, "-m", "hsg_workstation", "--data-dir", str(data), "import", "--json", str(src)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        preexec_fn=_drop_file_override_capabilities if os.geteuid() == 0 else None,
        timeout=100,
    )
    assert proc.returncode == 0, proc.stderr
    results = {Path(r["path"]).name: r for r in json.loads(proc.stdout)}
    assert results["good.dcm"]["status"] == "imported"
    assert results["secret.dcm"]["status"] == "skipped"
    assert "Permission denied" in results["secret.dcm"]["reason"], results["secret.dcm"]
    assert "secret.dcm" in results["secret.dcm"]["reason"]
    assert tree_hashes(src) == before and stat.S_IMODE(secret.stat().st_mode) == 0
