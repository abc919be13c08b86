"""Integrity of a data directory after a crash: repaired on start, checked by ``hsg-workstation doctor``.

Why: the store writes are atomic (``.part`` temporary + fsync + rename) and index rows are committed after the
copy, so a ``kill -9`` never leaves a half-written instance or a row without its file — but it can leave
``.part`` temporaries and copied-but-unindexed store files, and nothing removed or indexed them (issue 16).

**On start** (every :class:`~hsg_workstation.dicom_io.database.LocalDatabase` — app, CLI, PACS listener): each
open data directory holds a shared ``flock`` on ``data_dir/.lock`` and a marker file ``data_dir/.in-use``; the last
one to close removes the marker. A start that gets the lock *exclusively* (no other process uses the directory)
and finds the marker knows the previous session ended without closing: it removes ``.part`` files and indexes
store files the index does not know (quarantining those that are not acceptable instances). A clean previous
exit costs nothing but the lock; with another process running, nothing is touched (its ``.part`` files are
writes in progress).

**doctor** (:func:`hsg_workstation.dicom_io.doctor.run_doctor`) does the same with the exclusive lock held, plus SQLite ``integrity_check`` and
index rows whose file is missing (removed from the index: the instance can be imported or retrieved again).
Quarantined files go to ``data_dir/quarantine/`` (moved, never deleted: they may be the only copy).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

try:  # POSIX; elsewhere the start-up repair is skipped (doctor still works)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from hsg_workstation.dicom_io.store import PARTIAL_SUFFIX

# The database calls into this module with itself; importing its class here (even for typing) would make the
# two modules a cycle (tests/test_import_cycles.py), so it is typed loosely.
LocalDatabase = Any

_log = logging.getLogger(__name__)

LOCK_FILENAME = ".lock"
IN_USE_FILENAME = ".in-use"
QUARANTINE_DIRNAME = "quarantine"


@dataclass
class RepairReport:
    """What a start-up repair or ``doctor`` found and did (paths relative to the data directory)."""

    database_ok: bool = True
    database_problems: list[str] = field(default_factory=list)
    partials_removed: list[str] = field(default_factory=list)
    indexed: list[str] = field(default_factory=list)
    quarantined: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"}
    missing_files_unindexed: list[str] = field(default_factory=list)  # SOP Instance UIDs
    busy: bool = False  # another process uses the data directory: nothing was repaired

    @property
    def repaired(self) -> bool:
        return bool(self.partials_removed or self.indexed or self.quarantined or self.missing_files_unindexed)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "repaired": self.repaired}

    def lines(self) -> list[str]:
        """One line per finding, for people."""
        out = []
        if self.busy:
            out.append(
                "another hsg-workstation process uses this data directory: checked only, nothing repaired"
            )
        out.append("database: ok" if self.database_ok else "database: DAMAGED")
        out += [f"database: {p}" for p in self.database_problems]
        out += [f"removed leftover temporary file {p}" for p in self.partials_removed]
        out += [f"indexed store file the index did not know: {p}" for p in self.indexed]
        out += [f"quarantined {q['path']}: {q['reason']}" for q in self.quarantined]
        out += [
            f"removed index row of instance {u}: its file is missing" for u in self.missing_files_unindexed
        ]
        if not self.repaired and self.database_ok and not self.busy:
            out.append("store: ok (nothing to repair)")
        return out


class DataDirSession:
    """The shared lock + in-use marker of one open :class:`LocalDatabase` (see the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._fd: int | None = None

    def open(self) -> bool:
        """Take the shared lock; True when this start is alone *and* the previous session did not close."""
        if fcntl is None:
            return False
        try:
            fd = os.open(self.data_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return False
        self._fd = fd
        marker = self.data_dir / IN_USE_FILENAME
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)  # another process runs: join it, repair nothing
            except OSError:
                pass
            return False
        crashed = marker.exists()
        try:
            marker.touch()
        except OSError:
            pass
        return crashed

    def downgrade(self) -> None:
        """After the start-up repair: from exclusive to shared, so other processes may open the directory."""
        if fcntl is not None and self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_SH)
            except OSError:
                pass

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None or fcntl is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the last one out removes the marker
            (self.data_dir / IN_USE_FILENAME).unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            os.close(fd)


def exclusive_lock(data_dir: Path) -> int | None:
    """An fd holding the data directory's lock exclusively, or None when another process uses it."""
    if fcntl is None:
        return -1
    fd = os.open(data_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def release_lock(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        os.close(fd)


def repair_store(db: LocalDatabase, report: RepairReport) -> None:
    """Remove ``.part`` files, index unindexed store files, quarantine those that are not acceptable.

    Call only with the data directory's lock held exclusively (a ``.part`` file of a running process is a write
    in progress)."""
    root = db.store.root
    for tmp in sorted(root.rglob(f".*{PARTIAL_SUFFIX}")):
        try:
            tmp.unlink()
        except OSError as exc:
            _log.warning("cannot remove %s: %s", tmp, exc)
            continue
        report.partials_removed.append(_rel(db, tmp))
    for result in db.rebuild_index():
        path = Path(result.path)
        if result.status == "imported":
            report.indexed.append(_rel(db, path))
        elif result.status == "duplicate":  # the same SOP Instance UID is indexed at another path
            _quarantine(db, path, "a second copy of an instance already in the database", report)
        elif not result.local_failure:
            _quarantine(db, path, _short_reason(result.reason, path), report)


def remove_rows_of_missing_files(db: LocalDatabase, report: RepairReport) -> None:
    """Index rows whose file is gone (deleted by hand, a restore without the store): removed, so the instance
    can be imported or retrieved again instead of failing when opened."""
    gone = [sop for sop, rel in db.index.all_relpaths() if not db.store.absolute(rel).is_file()]
    if gone:
        db.index.remove_instances(gone)
        report.missing_files_unindexed.extend(gone)


def integrity_check(db_path: Path) -> list[str]:
    """SQLite's own check of the index file; [] when it is sound (or does not exist yet)."""
    if not db_path.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
    except sqlite3.Error as exc:
        return [f"{db_path.name}: {exc}"]
    return [] if rows == ["ok"] else [str(r) for r in rows[:20]]


def _quarantine(db: LocalDatabase, path: Path, reason: str, report: RepairReport) -> None:
    dest = db.data_dir / QUARANTINE_DIRNAME / path.relative_to(db.store.root)
    if dest.exists():
        dest = dest.with_name(f"{dest.stem}-{int(time.time())}{dest.suffix}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, dest)
    except OSError as exc:
        _log.warning("cannot quarantine %s: %s", path, exc)
        return
    report.quarantined.append({"path": _rel(db, path), "reason": reason, "moved_to": _rel(db, dest)})


def _short_reason(reason: str, path: Path) -> str:
    prefix = f"{path}: "
    return reason[len(prefix) :] if reason.startswith(prefix) else reason


def _rel(db: LocalDatabase, path: Path) -> str:
    try:
        return Path(path).relative_to(db.data_dir).as_posix()
    except ValueError:
        return str(path)
