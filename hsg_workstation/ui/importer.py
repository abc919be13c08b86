"""Import of files / folders / DICOMDIRs into the local database off the UI thread, with progress and cancel.

``LocalDatabase.import_paths`` is thread-safe (per-thread SQLite connections) and reports progress through a
callback; here it runs as a ``ui/workers.py`` job whose progress and result arrive on the UI thread, so a big
CD import never freezes the window and "Cancel" stops before the next file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from hsg_workstation.ui.workers import Job, JobContext, Workers


@dataclass(frozen=True)
class ImportRequest:
    paths: tuple[str, ...]


class ImportJob(QObject):
    """One import run. ``progress(done, total, path)``; ``finished(results or the exception)`` on the UI thread."""

    progress = Signal(int, int, str)
    finished = Signal(object)

    def __init__(self, database, paths: list[str | Path], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.database = database
        self.paths = [str(p) for p in paths]
        self._workers = Workers(self)
        self._job: Job | None = None

    def start(self) -> None:
        database = self.database

        def run(request: ImportRequest, ctx: JobContext):
            return database.import_paths(
                list(request.paths), progress=lambda d, t, p: ctx.progress((d, t, p)), cancel=ctx.cancel_event
            )

        self._job = self._workers.start(
            "import",
            run,
            ImportRequest(tuple(self.paths)),
            on_result=self.finished.emit,
            on_error=self.finished.emit,  # reported in the window (``summarize``), never a crash
            on_progress=lambda v: self.progress.emit(*v),
        )

    @property
    def cancel_event(self):
        return self._job.cancel_event if self._job is not None else None

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def wait(self, timeout: float = 60.0) -> None:
        if self._job is not None:
            self._job.wait(timeout)

    def is_running(self) -> bool:
        return self._job is not None and self._job.is_running()


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
