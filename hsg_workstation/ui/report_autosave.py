"""The report form's autosave and close guard: nothing typed is ever lost.

Why apart from the form's widgets (issue 14): keeping the draft on disk is a subject of its own — when to write,
what a failing disk does (the form stays open and says so), and refusing to close the form *or the window it is
docked in* while the last change is not on disk. The form (``ui/report_form.py``) mixes this in; it provides
``report``, ``draft_store``, the ``draft_saved`` / ``draft_save_failed`` signals and ``_sync_status``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QCloseEvent, QShowEvent
from PySide6.QtWidgets import QMessageBox, QWidget

log = logging.getLogger("hsg_workstation.ui.report_form")


class DraftAutosave:
    """Mixin for ``ReportForm``: ``save_draft`` after every model change, a close refused while unsaved."""

    draft_store: Any
    dirty: bool
    last_save_error: str
    last_draft_path: Path | None
    _watched_window: QWidget | None

    def save_draft(self) -> bool:
        """Write the draft now. True when the current state is on disk (or there is no store to write to)."""
        if self.draft_store is None:
            self.dirty = False
            return True
        try:
            if self.report.is_signed:  # signed reports are not drafts: they move to the signed store
                result = self.draft_store.archive_signed(self.report)
            else:
                result = self.draft_store.save(self.report)
        except Exception as exc:  # disk full, permissions ... : keep the form open and say so
            self.last_save_error = f"{type(exc).__name__}: {exc}"
            log.warning("draft autosave failed: %s", self.last_save_error)
            self.draft_save_failed.emit(self.last_save_error)
            self._sync_status()
            return False
        self.last_save_error = ""
        self.last_draft_path = Path(result) if isinstance(result, str | Path) else self.last_draft_path
        self.dirty = False
        self.draft_saved.emit(self.last_draft_path)
        return True

    def can_close(self) -> bool:
        """True when the latest change is on disk (saving now if needed); otherwise says why and returns False."""
        if not (self.dirty or self.last_save_error) or self.save_draft():
            return True
        QMessageBox.critical(
            self,
            "Draft not saved",
            "The report draft could not be written to disk, so the window stays open.\n\n"
            f"{self.last_save_error}",
        )
        return False

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        """Refuse to close while the latest change is not on disk (a failing disk must not eat the report)."""
        if self.can_close():
            event.accept()
        else:
            event.ignore()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        """Docked in a main window, the form gets no close event of its own when the window closes; watch the
        top-level window so closing it is refused too while the draft is not on disk."""
        top = self.window()
        if top is not self and top is not self._watched_window:
            if self._watched_window is not None:
                self._watched_window.removeEventFilter(self)
            top.installEventFilter(self)
            self._watched_window = top
        super().showEvent(event)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if obj is self._watched_window and event.type() == QEvent.Type.Close and not self.can_close():
            event.ignore()
            return True
        return super().eventFilter(obj, event)
