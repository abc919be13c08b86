"""The reading session: the open study and everything read from it, Qt-free, one owner for each piece of state.

| state | owner |
|---|---|
| the open study, its display sets | ``ReadingSession.study`` / ``display_sets`` |
| per viewport: display set, current frame, window / level, orientation, tool | ``ViewportState`` (one each) |
| which viewport is active | ``ReadingSession.active`` |
| measurements | ``MeasurementStore`` — the bound draft report's ``measurements`` list (``session/measurements.py``) |
| key images | ``KeyImages`` — the bound draft report's ``key_images`` list (``session/reading.py``) |
| the report being written | the report bound with ``bind_report`` (the report form edits it, the draft store saves it) |

The Qt main window asks the session to open / close a study and renders what it holds; every viewport widget
renders one ``ViewportState``. Events are psygnal signals: ``study_opened(study)``, ``study_closed(uid)``,
``display_sets_changed(list)``, ``active_changed(ViewportState | None)``, ``report_bound(report)`` — plus those
of the store (``added / changed / removed / refused``), of ``KeyImages`` and of each ``ViewportState``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from psygnal import Signal

from hsg_workstation.dicom_io.model import DisplaySet, Study
from hsg_workstation.reporting.report import HsgReport
from hsg_workstation.session.measurements import MeasurementStore
from hsg_workstation.session.reading import KeyImages
from hsg_workstation.session.viewport_state import ViewportState


class ReadingSession:
    """One open study at a time; one instance per main window."""

    study_opened = Signal(object)  # Study
    study_closed = Signal(str)  # study uid
    display_sets_changed = Signal(object)  # list[DisplaySet]
    active_changed = Signal(object)  # ViewportState | None
    report_bound = Signal(object)  # HsgReport

    def __init__(self, store: MeasurementStore | None = None) -> None:
        self.store = store if store is not None else MeasurementStore()
        self._study: Study | None = None
        self._display_sets: list[DisplaySet] = []
        self.viewports: list[ViewportState] = []
        self._active: ViewportState | None = None

    @property
    def key_images(self) -> KeyImages:
        return self.store.key_images

    # -- the open study ---------------------------------------------------------------------------------
    @property
    def study(self) -> Study | None:
        return self._study

    @property
    def study_uid(self) -> str | None:
        return self._study.study_instance_uid if self._study is not None else None

    @property
    def display_sets(self) -> list[DisplaySet]:
        return self._display_sets

    def open(self, study: Study, display_sets: Sequence[DisplaySet]) -> None:
        """Open ``study`` (a study already open is closed first: nothing of it survives)."""
        if self._study is not None:
            self.close()
        self._study = study
        self._display_sets = list(display_sets)
        self.study_opened.emit(study)

    def set_display_sets(self, display_sets: Sequence[DisplaySet]) -> None:
        """More of the open study arrived: its display sets as the database now has them."""
        self._display_sets = list(display_sets)
        self.display_sets_changed.emit(self._display_sets)

    def close(self) -> None:
        """Close the open study and its viewports. The store keeps the study's measurements and marks (keyed by
        study): opened again in this run, the study shows them — bound to its draft report again."""
        study = self._study
        self.viewports = []
        self._set_active(None)
        if study is None:
            return
        self._study = None
        self._display_sets = []
        self.study_closed.emit(study.study_instance_uid)

    def instance_uids(self) -> set[str]:
        """SOP Instance UIDs of the open study (what a bound report's measurements and key images may show)."""
        return {inst.sop_instance_uid for ds in self._display_sets for inst in ds.instances}

    # -- viewports --------------------------------------------------------------------------------------
    def add_viewport(self) -> ViewportState:
        state = ViewportState()
        self.viewports.append(state)
        return state

    def remove_viewport(self, state: ViewportState) -> None:
        if state in self.viewports:
            self.viewports.remove(state)
        if self._active is state:
            self._set_active(None)

    @property
    def active(self) -> ViewportState | None:
        return self._active

    def set_active(self, state: ViewportState | None) -> None:
        self._set_active(state)

    def _set_active(self, state: ViewportState | None) -> None:
        if state is not self._active:
            self._active = state
            self.active_changed.emit(state)

    # -- the report -------------------------------------------------------------------------------------
    @property
    def report(self) -> HsgReport | None:
        uid = self.study_uid
        return self.store.bound_report(uid) if uid is not None else None

    def bind_report(
        self,
        report: HsgReport,
        *,
        label_of: Callable[[str], str] = lambda _uid: "",
        sop_class_of: Callable[[str], str] = lambda _uid: "",
    ) -> None:
        """The report now being written for the open study (opened, recovered, amended, undone) owns its
        measurements and key images."""
        uid = self.study_uid
        if uid is None:
            raise ValueError("no study is open: a report is bound to the open study")
        self.store.bind(uid, report, known=self.instance_uids(), label_of=label_of, sop_class_of=sop_class_of)
        self.report_bound.emit(report)
