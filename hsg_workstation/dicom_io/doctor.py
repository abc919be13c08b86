"""``hsg-workstation doctor``: check a data directory and repair what is safe (see :mod:`.integrity`).

Separate from :mod:`.integrity` because it opens a :class:`LocalDatabase`, which itself uses the integrity
helpers at start-up.
"""

from __future__ import annotations

import time
from pathlib import Path

from hsg_workstation.dicom_io.database import INDEX_FILENAME, LocalDatabase
from hsg_workstation.dicom_io.integrity import (
    IN_USE_FILENAME,
    RepairReport,
    exclusive_lock,
    integrity_check,
    release_lock,
    remove_rows_of_missing_files,
    repair_store,
)


def run_doctor(data_dir: Path, *, rebuild_index: bool = False) -> RepairReport:
    """Check the data directory and repair what is safe (see the module docstring); never raises for a
    damaged directory — the report says what is wrong.

    A damaged index file is only replaced with ``rebuild_index``: it is moved aside (kept) and a new index is
    built from the store files (every instance comes back; 'incomplete retrieve' marks are lost)."""
    report = RepairReport()
    fd = exclusive_lock(data_dir)
    try:
        index_path = data_dir / INDEX_FILENAME
        report.database_problems = integrity_check(index_path)
        report.database_ok = not report.database_problems
        if fd is None:
            report.busy = True
            return report
        if not report.database_ok:
            if not rebuild_index:
                report.database_problems.append(
                    "not repaired: run 'hsg-workstation doctor --rebuild-index' to move the damaged index aside "
                    "and build a new one from the store"
                )
                return report
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for suffix in ("", "-wal", "-shm"):
                part = index_path.with_name(index_path.name + suffix)
                if part.exists():
                    part.rename(part.with_name(f"{index_path.name}.damaged-{stamp}{suffix}"))
            report.database_problems.append(
                f"the damaged index was moved to {index_path.name}.damaged-{stamp} and rebuilt from the store"
            )
        with LocalDatabase(data_dir, manage_session=False) as db:
            remove_rows_of_missing_files(db, report)
            repair_store(db, report)
        report.database_ok = not integrity_check(index_path)
        (data_dir / IN_USE_FILENAME).unlink(missing_ok=True)  # consistent now: no repair needed at next start
    finally:
        release_lock(fd)
    return report
