"""Undo / redo of report edits (Qt-free): a stack of report snapshots.

Why snapshots and not per-field commands: a report edit is often several fields at once (a template, an
accepted suggestion, a defect added with its link), and the model's change notifications carry the path but
not the old value. A JSON snapshot per edit (a few kB, ~1 ms) undoes any of them exactly, and restoring goes
through ``HsgReport.from_json`` — the same validation a draft on disk gets.

A signed report is the record: signing clears the history, and nothing is undone into or out of a signed state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hsg_workstation.reporting.model import HsgReport


class ReportHistory:
    """Follows one report (``attach``); ``undo()`` / ``redo()`` return the report to show, or None."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._undo: list[dict[str, Any]] = []
        self._redo: list[dict[str, Any]] = []
        self._current: dict[str, Any] | None = None
        self._report: HsgReport | None = None
        self._batch = 0
        self._restoring = False

    # -- following a report -----------------------------------------------------------------------------------
    def attach(self, report: HsgReport, *, keep: bool = False) -> None:
        """Follow ``report`` (a new study, or the report an undo / redo produced when ``keep``)."""
        if self._report is not None:
            self._report.remove_listener(self._changed)
        self._report = report
        report.add_listener(self._changed)
        if not keep:
            self._undo, self._redo = [], []
        self._current = report.to_json()
        if report.is_signed:
            self._undo, self._redo = [], []

    def detach(self) -> None:
        if self._report is not None:
            self._report.remove_listener(self._changed)
        self._report = None

    def _changed(self, report: HsgReport, _path: str) -> None:
        if self._restoring or self._batch:
            return
        self._record(report)

    def _record(self, report: HsgReport) -> None:
        snap = report.to_json()
        if snap == self._current:
            return
        if report.is_signed:  # the signature is not an edit to undo: the history ends here
            self._undo, self._redo, self._current = [], [], snap
            return
        if self._current is not None:
            self._undo.append(self._current)
            del self._undo[: -self.limit]
        self._current = snap
        self._redo.clear()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Several model changes as one undo step (a template, an accepted suggestion)."""
        self._batch += 1
        try:
            yield
        finally:
            self._batch -= 1
            if not self._batch and self._report is not None:
                self._record(self._report)

    # -- undo / redo ---------------------------------------------------------------------------------------------
    @property
    def can_undo(self) -> bool:
        return bool(self._undo) and not (self._report is not None and self._report.is_signed)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo) and not (self._report is not None and self._report.is_signed)

    def undo(self) -> HsgReport | None:
        if not self.can_undo or self._current is None:
            return None
        self._redo.append(self._current)
        self._current = self._undo.pop()
        return self._restore(self._current)

    def redo(self) -> HsgReport | None:
        if not self.can_redo or self._current is None:
            return None
        self._undo.append(self._current)
        self._current = self._redo.pop()
        return self._restore(self._current)

    def _restore(self, snapshot: dict[str, Any]) -> HsgReport:
        self._restoring = True
        try:
            return HsgReport.from_json(snapshot)
        finally:
            self._restoring = False


__all__ = ["ReportHistory"]
