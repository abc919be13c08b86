"""Issue 16 part A, point 4: after ``kill -9`` the data directory is repaired on start and by ``doctor``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase
from tests.dicom_io.dicomfactory import make_image

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "hsg_workstation", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )


def problems(data_dir: Path) -> list[str]:
    """Leftovers in the store: .part temporaries and files the index does not know (read without repairing)."""
    import sqlite3

    store = data_dir / "store"
    found = [f"partial: {p.name}" for p in store.rglob("*.part")]
    con = sqlite3.connect(data_dir / "index.sqlite")
    known = {r[0] for r in con.execute("SELECT path FROM instances")}
    con.close()
    found += [
        f"unindexed: {p.name}" for p in store.rglob("*.dcm") if p.relative_to(store).as_posix() not in known
    ]
    return found


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for i in range(600):
        make_image(src / f"{i:04d}.dcm", rows=16, columns=16, instance_number=i + 1, study_uid="1.2.3.4.5")
    return src


def kill_mid_import(source: Path, data_dir: Path) -> list[str]:
    """Run a real import in a child process, ``kill -9`` it while it copies, return the leftovers."""
    for _attempt in range(5):
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "hsg_workstation", "--data-dir", str(data_dir), "import", str(source)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        deadline = time.monotonic() + 120
        store = data_dir / "store"
        while time.monotonic() < deadline and proc.poll() is None:
            if store.exists() and sum(1 for _ in store.rglob("*.dcm")) >= 200:
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        left = problems(data_dir)
        if left:
            return left
    pytest.fail("five kill -9 left nothing to repair; the test cannot show the repair")


def test_kill_9_mid_import_then_doctor_repairs_and_reimport_is_exactly_once(
    source: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    left = kill_mid_import(source, data_dir)
    proc = cli("doctor", "--json", data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["database_ok"] is True and report["repaired"] is True
    assert len(report["indexed"]) + len(report["partials_removed"]) == len(left)
    assert problems(data_dir) == []
    again = cli("import", "--json", str(source), data_dir=data_dir)
    results = json.loads(again.stdout)
    assert {r["status"] for r in results} <= {"imported", "duplicate"}
    with LocalDatabase(data_dir) as db:
        assert len(db.sop_instance_uids("1.2.3.4.5")) == 600


def test_kill_9_mid_import_then_the_next_start_repairs(source: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    left = kill_mid_import(source, data_dir)
    with LocalDatabase(data_dir) as db:  # what the app and every CLI command do at start
        assert db.start_repair is not None
        assert len(db.start_repair.indexed) + len(db.start_repair.partials_removed) == len(left)
    assert problems(data_dir) == []
    with LocalDatabase(data_dir) as db:  # a clean close: the next start has nothing to do
        assert db.start_repair is None


def _leftovers(data_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """A database with one of each problem doctor repairs, made by hand."""
    files = [make_image(tmp_path / "in" / f"{i}.dcm", study_uid="1.2.3.9") for i in range(3)]
    with LocalDatabase(data_dir) as db:
        db.import_paths(files)
        paths = [i.path for s in db.series("1.2.3.9") for i in db.instances(s.series_instance_uid)]
        store = db.store.root
    paths[0].unlink()  # a row whose file is missing
    partial = paths[1].parent / f".{paths[1].name}.x1y2.part"
    partial.write_bytes(b"half")
    unindexed = make_image(store / "1.2.3.9" / "extra" / "extra.dcm", study_uid="1.2.3.9")
    garbage = store / "1.2.3.9" / "extra" / "garbage.dcm"
    garbage.write_bytes(b"not dicom at all")
    return {"missing": paths[0], "partial": partial, "unindexed": unindexed, "garbage": garbage}


def test_doctor_repairs_each_kind_of_problem_and_says_so(data_dir: Path, tmp_path: Path) -> None:
    made = _leftovers(data_dir, tmp_path)
    proc = cli("doctor", data_dir=data_dir)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "database: ok" in out
    assert "removed leftover temporary file store/1.2.3.9/" in out and not made["partial"].exists()
    assert "indexed store file the index did not know: store/1.2.3.9/extra/extra.dcm" in out
    assert "quarantined store/1.2.3.9/extra/garbage.dcm: not a DICOM Part 10 file" in out
    assert (data_dir / "quarantine" / "1.2.3.9" / "extra" / "garbage.dcm").read_bytes() == b"not dicom at all"
    assert "removed index row of instance" in out and "its file is missing" in out
    assert problems(data_dir) == []
    with LocalDatabase(data_dir) as db:
        assert len(db.sop_instance_uids("1.2.3.9")) == 3  # 3 imported - 1 missing + 1 indexed
    second = cli("doctor", "--json", data_dir=data_dir)
    assert json.loads(second.stdout)["repaired"] is False


def test_doctor_touches_nothing_while_another_process_uses_the_directory(
    data_dir: Path, tmp_path: Path
) -> None:
    made = _leftovers(data_dir, tmp_path)
    with LocalDatabase(data_dir):
        proc = cli("doctor", data_dir=data_dir)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "another hsg-workstation process uses this data directory" in proc.stdout
    assert made["partial"].exists() and made["garbage"].exists()


def test_doctor_rebuilds_a_damaged_index_from_the_store(data_dir: Path, tmp_path: Path) -> None:
    files = [make_image(tmp_path / "in" / f"{i}.dcm", study_uid="1.2.3.7") for i in range(40)]
    with LocalDatabase(data_dir) as db:
        db.import_paths(files)
    index = data_dir / "index.sqlite"
    data = bytearray(index.read_bytes())
    page = 4096
    data[page : 4 * page] = b"\xa5" * (3 * page)  # the b-tree pages after the schema page
    index.write_bytes(bytes(data))
    damaged = cli("doctor", data_dir=data_dir)
    assert damaged.returncode == 1
    assert "database: DAMAGED" in damaged.stdout and "--rebuild-index" in damaged.stdout
    rebuilt = cli("doctor", "--rebuild-index", data_dir=data_dir)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert list(data_dir.glob("index.sqlite.damaged-*"))
    with LocalDatabase(data_dir) as db:
        assert len(db.sop_instance_uids("1.2.3.7")) == 40
