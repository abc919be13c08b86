"""The Qt-free reading session, started: the key images of a study have ONE owner.

Before, the viewer's key frames lived in ``MeasurementStore`` and the report's in ``report.key_images``, and the
report dock copied each into the other, guarded by ``_syncing`` flags so the copies did not echo. Here
``KeyImages`` owns them: while a *draft* report is bound to a study (``bind``), the report's ``key_images`` list
IS the list — the viewer reads it and a mark is written there (``HsgReport.add_key_image`` / ``set_value``), so
the SR, the KOS, the PDF and the viewer's list cannot disagree. Without a report, or while the bound report is
signed (a signed report is never changed), the marks are kept here, and ``refused`` says why they did not reach
the report.

Events are psygnal signals (no Qt): ``changed(study_uid)`` after every change from either side (a mark in the
viewer, a key image removed in the form, a report replaced), ``refused(study_uid, message)``.

The other owners of the reading session (docs/architecture.md, "The reading session"): the open study and the
viewports' state in ``reading_session.py`` / ``viewport_state.py``, measurements in ``measurements.py`` (the
bound report's ``measurements``, linked from findings by id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from psygnal import Signal

from hsg_workstation.reporting.report import HsgReport
from hsg_workstation.reporting.sections import KeyImage


@dataclass(frozen=True, slots=True)
class KeyFrame:
    """A frame the reader marked as a key image (1-based frame number, as in DICOM references), with the label
    of its display set for the viewer's list."""

    sop_instance_uid: str
    frame_number: int
    display_set_label: str = ""


def _order(key: KeyFrame) -> tuple[str, str, int]:
    return (key.display_set_label, key.sop_instance_uid, key.frame_number)


@dataclass
class _Binding:
    report: HsgReport
    known: frozenset[str]  # SOP Instance UIDs of the open study: only those are shown in the viewer
    label_of: Callable[[str], str]
    sop_class_of: Callable[[str], str]
    listener: Callable[[HsgReport, str], None] = field(repr=False, default=lambda r, p: None)


class KeyImages:
    """Key images per study (keyed by StudyInstanceUID): the bound draft report's list, else a list of its own."""

    changed = Signal(str)  # study uid
    refused = Signal(str, str)  # study uid, why the report was not changed

    SIGNED_MESSAGE = (
        "The report is signed: key frames marked now are not added to it (amend the report first)"
    )

    def __init__(self) -> None:
        self._local: dict[str, list[KeyFrame]] = {}
        self._bound: dict[str, _Binding] = {}

    # ----- binding a report ---------------------------------------------------------------------------
    def bind(
        self,
        study_uid: str,
        report: HsgReport,
        *,
        known: Iterable[str],
        label_of: Callable[[str], str] = lambda _uid: "",
        sop_class_of: Callable[[str], str] = lambda _uid: "",
    ) -> None:
        """From now on the study's key images are ``report.key_images`` (the marks kept here are dropped: the
        report is the record). Binding another report (an amendment) replaces the binding."""
        self.unbind(study_uid, notify=False)

        def listener(_report: HsgReport, path: str) -> None:
            if path.split(".")[0].split("[")[0] in ("key_images", "status", ""):
                self.changed.emit(study_uid)

        binding = _Binding(report, frozenset(known), label_of, sop_class_of, listener)
        report.add_listener(listener)
        self._bound[study_uid] = binding
        self._local.pop(study_uid, None)
        self.changed.emit(study_uid)

    def unbind(self, study_uid: str, *, notify: bool = True) -> None:
        binding = self._bound.pop(study_uid, None)
        if binding is not None:
            binding.report.remove_listener(binding.listener)
            if notify:
                self.changed.emit(study_uid)

    def bound_report(self, study_uid: str) -> HsgReport | None:
        binding = self._bound.get(study_uid)
        return binding.report if binding is not None else None

    def _writable(self, study_uid: str) -> _Binding | None:
        """The binding whose report takes the marks, or None (no report, or signed: marks stay here)."""
        binding = self._bound.get(study_uid)
        if binding is None or binding.report.is_signed:
            return None
        return binding

    # ----- reading -----------------------------------------------------------------------------------
    def key_frames(self, study_uid: str) -> list[KeyFrame]:
        binding = self._bound.get(study_uid)
        if binding is not None and study_uid not in self._local:
            keys = [
                KeyFrame(k.sop_instance_uid, k.frame_number, binding.label_of(k.sop_instance_uid))
                for k in binding.report.key_images
                if k.sop_instance_uid in binding.known
            ]
            unique = {(k.sop_instance_uid, k.frame_number): k for k in keys}
            return sorted(unique.values(), key=_order)
        return list(self._local.get(study_uid, []))

    def is_key_frame(self, study_uid: str, sop_instance_uid: str, frame_number: int) -> bool:
        return any(
            k.sop_instance_uid == sop_instance_uid and k.frame_number == frame_number
            for k in self.key_frames(study_uid)
        )

    # ----- changing ----------------------------------------------------------------------------------
    def toggle(self, study_uid: str, key: KeyFrame) -> bool:
        """Mark or unmark a frame; True when it is now a key frame."""
        on = not self.is_key_frame(study_uid, key.sop_instance_uid, key.frame_number)
        binding = self._writable(study_uid)
        if binding is not None:
            report = binding.report
            if on:
                sop_class = binding.sop_class_of(key.sop_instance_uid)
                report.add_key_image(KeyImage(key.sop_instance_uid, sop_class, key.frame_number))
            else:
                kept = [
                    k
                    for k in report.key_images
                    if (k.sop_instance_uid, k.frame_number) != (key.sop_instance_uid, key.frame_number)
                ]
                report.set_value("key_images", kept)
            return on  # the report's listener emitted ``changed``
        frames = self._local.setdefault(study_uid, self.key_frames(study_uid))
        if on:
            frames.append(key)
            frames.sort(key=_order)
        else:
            frames[:] = [
                k
                for k in frames
                if (k.sop_instance_uid, k.frame_number) != (key.sop_instance_uid, key.frame_number)
            ]
        if study_uid in self._bound:
            self.refused.emit(study_uid, self.SIGNED_MESSAGE)
        self.changed.emit(study_uid)
        return on

    def set(self, study_uid: str, keys: list[KeyFrame]) -> None:
        """Replace a study's key frames (viewer side; a bound draft report's list is replaced too)."""
        unique = {(k.sop_instance_uid, k.frame_number): k for k in keys}
        frames = sorted(unique.values(), key=_order)
        if frames == self.key_frames(study_uid):
            return
        binding = self._writable(study_uid)
        if binding is not None:
            sop_class = binding.sop_class_of
            binding.report.set_value(
                "key_images",
                [KeyImage(k.sop_instance_uid, sop_class(k.sop_instance_uid), k.frame_number) for k in frames],
            )
            return
        self._local[study_uid] = frames
        self.changed.emit(study_uid)

    def clear(self, study_uid: str) -> None:
        """Forget the study (a closed session): the marks kept here and the binding; a report keeps its own."""
        self._local.pop(study_uid, None)
        self.unbind(study_uid, notify=False)
