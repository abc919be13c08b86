"""Qt-free store of the measurements and key frames of each open study — the one owner of each measurement.

While a draft report is bound to a study (``bind``, done by the report dock when the report is opened, recovered
or amended), the study's measurements ARE ``report.measurements``: a measurement drawn in the viewer is added to
the report with its calibration basis, moving its ROI replaces it there (``HsgReport.replace_measurement``), and a
finding's link names it by id (``ImageLink.measurement_id``) — so the report, its SR, its PDF and the viewer read
one object, and a "Mark on image" value (a hydrosalpinx's diameter) follows the ROI it was measured on. Changes
made on the report side (undo, a form edit, a measurement removed with its links) reach the viewer through the
report's listener: every event of a bound study comes from one diff (``_sync``).

A signed report is never changed: with a signed report bound, a measurement drawn, moved or deleted in the viewer
is a viewer-only change (kept here, shown in the viewer, not in the report, its SR or its PDF), and ``refused``
says so. Without a report the measurements are kept here.

Events are psygnal signals so that neither side needs Qt (the report and the CLI run without it). Values (mm,
area, ROI statistics) are computed in ``session/values.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from psygnal import Signal

from hsg_workstation.measurements import Calibration, Measurement, MeasurementKind
from hsg_workstation.reporting.report import HsgReport
from hsg_workstation.session.reading import KeyFrame, KeyImages
from hsg_workstation.session.values import (
    RoiStatistics,
    angle_degrees,
    basis_text,
    ellipse_area,
    manual_calibration,
    measurement_text,
    polygon_area,
    region_mask,
    roi_statistics,
)

__all__ = [
    "KeyFrame",
    "KeyImages",
    "MeasurementStore",
    "RoiStatistics",
    "angle_degrees",
    "basis_text",
    "ellipse_area",
    "manual_calibration",
    "measured_value",
    "measurement_text",
    "polygon_area",
    "region_mask",
    "roi_statistics",
]


def measured_value(finding_path: str, measurement: Measurement, report: Any) -> tuple[str, float] | None:
    """The report field a "Mark on image" ellipse measures, and its value in mm: a hydrosalpinx's diameter is
    the ellipse's short axis (the tube's width), a filling defect's size its long axis. None when the image is
    uncalibrated (a pixel count is not a diameter) or the finding has no such value."""
    cal = measurement.calibration
    pts = measurement.region.points
    if measurement.kind is not MeasurementKind.ELLIPSE or not cal.is_calibrated or len(pts) != 4:
        return None
    a, b = cal.length(pts[0], pts[1]), cal.length(pts[2], pts[3])
    if finding_path in ("findings.tubes.left", "findings.tubes.right"):
        if report.get_value(f"{finding_path}.hydrosalpinx") is True:
            return f"{finding_path}.hydrosalpinx_diameter_mm", round(min(a, b), 1)
        return None
    if finding_path.startswith("findings.filling_defects["):
        return f"{finding_path}.size_mm", round(max(a, b), 1)
    return None


SIGNED_MESSAGE = (
    "The report is signed: this measurement change is shown in the viewer only — the signed report, its SR "
    "and its PDF keep their values (amend the report first)"
)

_GONE = None  # a viewer-only deletion of a signed report's measurement


@dataclass
class _Binding:
    report: HsgReport
    known: frozenset[str]  # SOP Instance UIDs of the open study: only those are drawn
    listener: Callable[[HsgReport, str], None] = field(repr=False, default=lambda r, p: None)
    # viewer-only changes while the report is signed: id -> measurement, or None when deleted in the viewer
    viewer_only: dict[str, Measurement | None] = field(default_factory=dict)


class MeasurementStore:
    """Measurements per study (keyed by StudyInstanceUID), and the key frames of ``key_images`` (the one owner,
    ``session/reading.py``) under the viewer's names. One instance per application."""

    added = Signal(str, object)  # study uid, Measurement
    removed = Signal(str, object)  # study uid, Measurement
    changed = Signal(str, object)  # study uid, Measurement (edited / moved / re-calibrated)
    calibration_changed = Signal(str, str, object)  # study uid, sop instance uid, Calibration
    key_frames_changed = Signal(str)  # study uid
    refused = Signal(str, str)  # study uid, why a viewer change did not reach the (signed) report

    def __init__(self) -> None:
        self._measurements: dict[str, dict[str, Measurement]] = {}  # unbound studies
        self._bound: dict[str, _Binding] = {}
        self._shown: dict[str, dict[str, Measurement]] = {}  # bound studies: what the last events announced
        self.key_images = KeyImages()
        self.key_images.changed.connect(self.key_frames_changed.emit)
        self._calibrations: dict[tuple[str, str], Calibration] = {}

    # -- binding the report -----------------------------------------------------------------------------
    def bind(
        self,
        study_uid: str,
        report: HsgReport,
        *,
        known: Iterable[str],
        label_of: Callable[[str], str] = lambda _uid: "",
        sop_class_of: Callable[[str], str] = lambda _uid: "",
    ) -> None:
        """From now on the study's measurements and key images are the report's. Measurements drawn before
        (no report yet, or viewer-only on a signed report now amended) are added to a draft report; moves and
        deletions made viewer-only on a signed report are not (the report is the record). Binding another
        report (an undo, an amendment) replaces the binding, and the viewer is told what differs."""
        known = frozenset(known)
        before = self.measurements(study_uid)
        old = self._bound.get(study_uid)
        # drawn with no report, or drawn viewer-only on a signed report that is now amended: the new draft's
        carried = list(self._measurements.pop(study_uid, {}).values())
        if old is not None:
            carried += [
                m
                for mid, m in old.viewer_only.items()
                if m is not None and old.report.measurement(mid) is None
            ]
        self._unbind(study_uid)
        if not report.is_signed:
            for m in carried:
                if report.measurement(m.id) is None:
                    report.add_measurement(m)

        def listener(_report: HsgReport, path: str) -> None:
            if path.split(".")[0].split("[")[0] in ("measurements", "findings", "status", "report", ""):
                self._sync(study_uid)

        self._bound[study_uid] = _Binding(report, known, listener)
        self._shown[study_uid] = {m.id: m for m in before}
        report.add_listener(listener)
        self.key_images.bind(study_uid, report, known=known, label_of=label_of, sop_class_of=sop_class_of)
        self._sync(study_uid)

    def _unbind(self, study_uid: str) -> None:
        binding = self._bound.pop(study_uid, None)
        if binding is not None:
            binding.report.remove_listener(binding.listener)
        self._shown.pop(study_uid, None)

    def bound_report(self, study_uid: str) -> HsgReport | None:
        binding = self._bound.get(study_uid)
        return binding.report if binding is not None else None

    def _view(self, binding: _Binding) -> dict[str, Measurement]:
        """A bound study's measurements as the viewer shows them: the report's, with viewer-only changes."""
        view = {m.id: m for m in binding.report.measurements if m.region.sop_instance_uid in binding.known}
        for mid, m in binding.viewer_only.items():
            if m is _GONE:
                view.pop(mid, None)
            else:
                view[mid] = m
        return view

    def _sync(self, study_uid: str) -> None:
        """Announce what differs between the bound study's measurements and what the viewer was last told."""
        binding = self._bound.get(study_uid)
        if binding is None:
            return
        old = self._shown.get(study_uid, {})
        new = self._view(binding)
        self._shown[study_uid] = new
        for mid, m in old.items():
            if mid not in new:
                self.removed.emit(study_uid, m)
        for mid, m in new.items():
            if mid not in old:
                self.added.emit(study_uid, m)
            elif old[mid] != m:
                self.changed.emit(study_uid, m)

    def _signed(self, study_uid: str) -> _Binding | None:
        """The binding when the bound report is signed (viewer-only changes), else None."""
        binding = self._bound.get(study_uid)
        return binding if binding is not None and binding.report.is_signed else None

    # -- measurements ---------------------------------------------------------------------------------
    def measurements(self, study_uid: str) -> list[Measurement]:
        binding = self._bound.get(study_uid)
        if binding is not None:
            return list(self._view(binding).values())
        return list(self._measurements.get(study_uid, {}).values())

    def measurement(self, study_uid: str, measurement_id: str) -> Measurement | None:
        return next((m for m in self.measurements(study_uid) if m.id == measurement_id), None)

    def on_frame(self, study_uid: str, sop_instance_uid: str, frame_number: int) -> list[Measurement]:
        return [
            m
            for m in self.measurements(study_uid)
            if m.region.sop_instance_uid == sop_instance_uid and m.region.frame_number == frame_number
        ]

    def add(self, study_uid: str, measurement: Measurement) -> Measurement:
        binding = self._bound.get(study_uid)
        if binding is None:
            self._measurements.setdefault(study_uid, {})[measurement.id] = measurement
            self.added.emit(study_uid, measurement)
        elif binding.report.is_signed:
            binding.viewer_only[measurement.id] = measurement
            self.refused.emit(study_uid, SIGNED_MESSAGE)
            self._sync(study_uid)
        else:
            binding.report.add_measurement(measurement)  # the report's listener announces it
        return measurement

    def update(self, study_uid: str, measurement: Measurement) -> None:
        """A measurement moved or re-calibrated. In a bound draft report every link to it reads the new value,
        and a value "Mark on image" filled from it follows unless the reader has typed another."""
        binding = self._bound.get(study_uid)
        if binding is None:
            bucket = self._measurements.setdefault(study_uid, {})
            if bucket.get(measurement.id) == measurement:
                return
            bucket[measurement.id] = measurement
            self.changed.emit(study_uid, measurement)
            return
        if self.measurement(study_uid, measurement.id) == measurement:
            return
        report = binding.report
        previous = report.measurement(measurement.id)
        if report.is_signed or previous is None:
            binding.viewer_only[measurement.id] = measurement
            if report.is_signed:
                self.refused.emit(study_uid, SIGNED_MESSAGE)
            self._sync(study_uid)
            return
        report.replace_measurement(measurement, dict(self._filled_values(report, previous, measurement)))

    @staticmethod
    def _filled_values(
        report: HsgReport, previous: Measurement, moved: Measurement
    ) -> list[tuple[str, float]]:
        """(field, new value) for each value "Mark on image" filled from ``previous`` and still holding it."""
        out: list[tuple[str, float]] = []
        for path, link in report.all_image_links():
            if link.measurement_id != previous.id:
                continue
            before, after = measured_value(path, previous, report), measured_value(path, moved, report)
            if before is None or after is None or before[0] != after[0]:
                continue
            if report.get_value(before[0]) == before[1] and before[1] != after[1]:
                out.append(after)
        return out

    def remove(self, study_uid: str, measurement_id: str) -> None:
        binding = self._bound.get(study_uid)
        if binding is None:
            m = self._measurements.get(study_uid, {}).pop(measurement_id, None)
            if m is not None:
                self.removed.emit(study_uid, m)
            return
        report = binding.report
        if report.measurement(measurement_id) is None or report.is_signed:
            if report.measurement(measurement_id) is None:
                binding.viewer_only.pop(measurement_id, None)
            else:
                binding.viewer_only[measurement_id] = _GONE
                self.refused.emit(study_uid, SIGNED_MESSAGE)
            self._sync(study_uid)
            return
        report.remove_measurement(measurement_id)  # and every finding's link to it

    def clear(self, study_uid: str) -> None:
        """Forget the study (a closed session): the viewer's drawings go, a bound report keeps its own."""
        for m in self.measurements(study_uid):
            self.removed.emit(study_uid, m)
        self._unbind(study_uid)
        self._measurements.pop(study_uid, None)
        self.key_images.clear(study_uid)

    # -- calibration ----------------------------------------------------------------------------------
    def calibration_override(self, study_uid: str, sop_instance_uid: str) -> Calibration | None:
        return self._calibrations.get((study_uid, sop_instance_uid))

    def set_calibration(self, study_uid: str, sop_instance_uid: str, calibration: Calibration) -> None:
        """Set a (manual) calibration for one instance and re-base its existing measurements on it."""
        self._calibrations[(study_uid, sop_instance_uid)] = calibration
        for m in self.measurements(study_uid):
            if m.region.sop_instance_uid == sop_instance_uid:
                self.update(study_uid, replace(m, calibration=calibration))
        self.calibration_changed.emit(study_uid, sop_instance_uid, calibration)

    # -- key frames (owned by ``key_images``) ----------------------------------------------------------
    def key_frames(self, study_uid: str) -> list[KeyFrame]:
        return self.key_images.key_frames(study_uid)

    def is_key_frame(self, study_uid: str, sop_instance_uid: str, frame_number: int) -> bool:
        return self.key_images.is_key_frame(study_uid, sop_instance_uid, frame_number)

    def set_key_frames(self, study_uid: str, keys: list[KeyFrame]) -> None:
        """Replace a study's key frames; one signal."""
        self.key_images.set(study_uid, keys)

    def toggle_key_frame(self, study_uid: str, key: KeyFrame) -> bool:
        """Mark or unmark a frame; returns True when it is now a key frame."""
        return self.key_images.toggle(study_uid, key)
