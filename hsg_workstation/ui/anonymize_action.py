"""File ▸ Export anonymised copy…: the open study through ``dicom_io.anonymize`` (what the CLI ``anonymize`` does),
on a worker with progress and cancel; the reader picks the output folder and gets a summary of what was written
and what was not (Encapsulated PDFs are never exported: their pages show the identity)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog

from hsg_workstation.dicom_io.anonymize import AnonymizeResult, anonymize_files, workstation_key
from hsg_workstation.ui.workers import JobContext, Workers


@dataclass(frozen=True)
class AnonymizeRequest:
    files: tuple[Path, ...]
    out_dir: Path
    key: str


def _run(request: AnonymizeRequest, ctx: JobContext) -> AnonymizeResult:
    done = [0]

    def step(_path: Path) -> None:
        done[0] += 1
        ctx.progress(done[0])

    return anonymize_files(
        request.files, request.out_dir, key=request.key, progress=step, cancelled=lambda: ctx.cancelled
    )


def summary(result: AnonymizeResult, out_dir: Path) -> str:
    n = len(result.written)
    lines = [f"{n} instance{'s' if n != 1 else ''} written to {out_dir}."]
    if result.text_replacements:
        lines.append(f"{result.text_replacements} identifying text value(s) replaced.")
    for path, reason in result.skipped[:8]:
        lines.append(f"Not exported: {path.name}: {reason}")
    if len(result.skipped) > 8:
        lines.append(f"… and {len(result.skipped) - 8} more not exported.")
    return "\n".join(lines)


class AnonymizeAction:
    """Owns the menu action, its worker and the progress dialog; ``choose_folder`` can be replaced in tests."""

    def __init__(self, window: Any, database: Any, data_dir: Path) -> None:
        self.window, self.database, self.data_dir = window, database, Path(data_dir)
        self.workers = Workers(window)
        self.action = QAction("Export anonymised copy…", window)
        self.action.setToolTip("Teaching file / audit copy of the open study (PS3.15 Basic profile)")
        self.action.triggered.connect(self.start)
        self.action.setEnabled(False)
        window.studyOpened.connect(lambda _uid: self.action.setEnabled(True))
        window.studyClosed.connect(lambda: self.action.setEnabled(False))
        self.last_result: AnonymizeResult | None = None
        self.progress: QProgressDialog | None = None

    def choose_folder(self) -> str:
        return QFileDialog.getExistingDirectory(self.window, "Folder for the anonymised copy")

    def start(self) -> None:
        study = self.window.study
        if study is None:
            return
        folder = self.choose_folder()
        if not folder:
            return
        uid = study.study_instance_uid
        files = tuple(
            inst.path
            for series in self.database.series(uid)
            for inst in self.database.instances(series.series_instance_uid)
        )
        request = AnonymizeRequest(files, Path(folder), workstation_key(self.data_dir))
        self.progress = QProgressDialog("Anonymising…", "Cancel", 0, len(files), self.window)
        self.progress.setMinimumDuration(300)
        job = self.workers.start(
            "anonymize",
            _run,
            request,
            on_result=lambda r: self._done(r, request.out_dir),
            on_error=self._failed,
            on_progress=lambda n: self.progress.setValue(n) if self.progress is not None else None,
            on_finished=self._finished,
        )
        self.progress.canceled.connect(job.cancel)

    def _done(self, result: AnonymizeResult, out_dir: Path) -> None:
        self.last_result = result
        QMessageBox.information(self.window, "Anonymised copy", summary(result, out_dir))

    def _failed(self, exc: BaseException) -> None:
        QMessageBox.warning(self.window, "Anonymised copy", f"Not exported: {exc}")

    def _finished(self) -> None:
        if self.progress is not None:
            self.progress.reset()
            self.progress = None


def attach_anonymize_action(window: Any, database: Any, data_dir: Path | None) -> AnonymizeAction | None:
    """Put the action in the File menu (before Settings); None without a data directory (no key to keep)."""
    if data_dir is None:
        return None
    action = AnonymizeAction(window, database, data_dir)
    window.file_menu.insertAction(window.actions_by_id["settings"], action.action)
    window.actions_by_id["anonymize"] = action.action
    window.anonymize = action
    return action
