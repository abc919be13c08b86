"""The DICOM store: sanitised UID paths and all-or-nothing writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hsg_workstation.dicom_io.store import Store, sanitize_uid


def test_plain_uids_are_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    path = store.path_for("1.2.3", "1.2.3.4", "1.2.3.4.5")
    assert path == tmp_path / "store" / "1.2.3" / "1.2.3.4" / "1.2.3.4.5.dcm"
    assert store.relative(path) == "1.2.3/1.2.3.4/1.2.3.4.5.dcm"


@pytest.mark.parametrize("uid", ["..", ".", "../../etc/passwd", "a/b", "1.2\\3", "", "1.2.3\x00", "x" * 300])
def test_hostile_uids_stay_inside_the_store(tmp_path: Path, uid: str) -> None:
    store = Store(tmp_path / "store")
    path = store.path_for(uid, uid, uid)
    assert path.resolve().is_relative_to((tmp_path / "store").resolve())
    assert len(path.parts) == len((tmp_path / "store").parts) + 3
    for part in path.relative_to(tmp_path / "store").parts:
        assert part.strip(".") and "/" not in part and "\\" not in part and len(part) <= 90


def test_sanitising_never_makes_two_uids_collide() -> None:
    assert sanitize_uid("1.2/3") != sanitize_uid("1.2_3")
    assert sanitize_uid("1.2_3") == "1.2_3"


def test_write_atomic_writes_complete_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    dest = store.path_for("1", "2", "3")
    store.write_atomic(dest, b"DICM" * 1000)
    assert dest.read_bytes() == b"DICM" * 1000
    assert [p.name for p in dest.parent.iterdir()] == ["3.dcm"]  # no temporary left behind


def test_failed_write_leaves_no_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "store")
    dest = store.path_for("1", "2", "3")

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"):
        store.write_atomic(dest, b"x" * 4096)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_failed_write_keeps_previous_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(tmp_path / "store")
    dest = store.path_for("1", "2", "3")
    store.write_atomic(dest, b"old")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(5, "I/O error")))
    with pytest.raises(OSError):
        store.write_atomic(dest, b"new")
    assert dest.read_bytes() == b"old"


def test_copy_atomic_and_remove_partials(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 * 1024 * 1024 + 7))
    store = Store(tmp_path / "store")
    dest = store.copy_atomic(store.path_for("1", "2", "3"), src)
    assert dest.read_bytes() == src.read_bytes()
    leftover = dest.parent / ".4.dcm.abc.part"
    leftover.write_bytes(b"half")
    assert store.remove_partials() == 1 and not leftover.exists() and dest.exists()
