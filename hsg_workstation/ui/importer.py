"""Import of files / folders / DICOMDIRs into the local database off the UI thread, with progress and cancel.

``LocalDatabase.import_paths`` is thread-safe (per-thread SQLite connections) and reports progress through a
callback; here it runs on a plain Python thread and the callback is turned into a queued Qt signal, so a big
CD import never freezes the window and "Cancel" stops before the next file.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal


class ImportJob(QObject):
    """One import run. ``progress(done, total, path)``; ``finished(results)`` on the UI thread."""

    progress = Signal(int, int, str)
    finished = Signal(object)

    def __init__(self, database, paths: list[str | Path], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.database = database
        self.paths = [str(p) for p in paths]
        self.cancel_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hsg-import", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float = 60.0) -> None:
        self._thread.join(timeout)

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            results = self.database.import_paths(
                self.paths, progress=lambda d, t, p: self.progress.emit(d, t, p), cancel=self.cancel_event
            )
        except Exception as exc:  # noqa: BLE001 - reported in the window, never a crash
            results = exc
        self.finished.emit(results)


def summarize(results) -> str:
    """One status-bar line: counts, and the first skipped file with its reason."""
    if isinstance(results, Exception):
        return f"Import failed: {results}"
    imported = sum(1 for r in results if r.status == "imported")
    dup = sum(1 for r in results if r.status == "duplicate")
    skipped = [r for r in results if r.status == "skipped"]
    text = f"Imported {imported} files, {dup} already present, {len(skipped)} skipped"
    if skipped:
        text += f" — e.g. {Path(skipped[0].path).name}: {skipped[0].reason}"
    return text
