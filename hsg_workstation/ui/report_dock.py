"""Docks the report form (another area's widget) next to the viewer and wires the viewer contract to it.

The form is optional: if ``hsg_workstation.ui.report_form`` or the reporting package is missing or fails to
import, :func:`attach_report_dock` returns None and the viewer works alone (the caller shows why).

Wiring (the ReportForm's documented contract):
  * opening a study shows its newest unsigned draft, else a new report prefilled from the image headers;
  * key frames and the report's key images are kept equal both ways: marking / unmarking a frame in the viewer
    adds / removes the key image; removing a key image in the form unmarks the frame; a recovered draft's key
    images appear as the viewer's key frames when its study opens (the report is the record; the viewer's
    list is a view of it). A signed report is never changed: the viewer's marks then stay local and the
    status bar says so.
  * ``mark_on_image_requested(field_path)`` arms the ellipse tool; the next measurement drawn is attached to
    that finding with ``attach_region`` (the region is the same object the MeasurementStore holds).
"""

from __future__ import annotations

import re
from pathlib import Path

import pydicom
from PySide6.QtWidgets import QVBoxLayout, QWidget

from hsg_workstation.measurements import Measurement, MeasurementKind
from hsg_workstation.session.measurements import KeyFrame

_FINDING_WORDS = {
    "findings.tubes.left": "the left tube",
    "findings.tubes.right": "the right tube",
    "findings.cavity": "the uterine cavity",
    "findings.cervix": "the cervix",
    "findings.adhesions": "the adhesions",
    "findings.peritoneum": "the peritoneum",
}


def finding_words(field_path: str) -> str:
    """'findings.tubes.left' → 'the left tube', 'findings.filling_defects[0]' → 'filling defect 1': the status
    bar speaks the reader's words, not model paths."""
    if field_path in _FINDING_WORDS:
        return _FINDING_WORDS[field_path]
    match = re.fullmatch(r"findings\.filling_defects\[(\d+)\](\..*)?", field_path)
    if match:
        return f"filling defect {int(match.group(1)) + 1}"
    for prefix, words in _FINDING_WORDS.items():
        if field_path.startswith(prefix + "."):
            return words
    return field_path.rsplit(".", 1)[-1].replace("_", " ")


def measured_value(finding_path: str, measurement: Measurement, report) -> tuple[str, float] | None:
    """The report field a "Mark on image" ellipse measures, and its value in mm: a hydrosalpinx's diameter is
    the ellipse's short axis (the tube's width), a filling defect's size its long axis. None when the
    image is uncalibrated (a pixel count is not a diameter) or the finding has no such value."""
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


class ReportDockController:
    def __init__(self, window, data_dir: Path) -> None:
        from hsg_workstation.reporting import model as m
        from hsg_workstation.reporting.drafts import DraftStore
        from hsg_workstation.ui.report_form import ReportForm, draft_for_study

        self._m = m
        self._draft_for_study = draft_for_study
        self.window = window
        self.data_dir = Path(data_dir)
        self.drafts = DraftStore(self.data_dir / "drafts")
        self.form = ReportForm(m.HsgReport(), self.drafts, data_dir=self.data_dir)
        self.form.setEnabled(False)
        from hsg_workstation.ui.report_toolbar import ReportToolbar

        self.container = QWidget()
        box = QVBoxLayout(self.container)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(0)
        self.dock = window.add_panel("Report", self.container)
        self.toolbar = ReportToolbar(self, self.data_dir)
        box.addWidget(self.toolbar)
        box.addWidget(self.form, 1)
        self._pending_field: str | None = None
        self._sop_classes: dict[str, str] = {}
        window.studyOpened.connect(self.study_opened)
        window.store.added.connect(self._measurement_added)
        window.store.key_frames_changed.connect(self._key_frames_changed)
        self.form.mark_on_image_requested.connect(self.mark_on_image)
        self.form.key_images_panel.labeler = self._label_for  # series names, not UID tails
        self.form.report_replaced.connect(self._watch_report)
        self._syncing = False
        self._watched = None
        self._watch_report(self.form.report)
        window.browser.report_status = self.report_status
        self.form.report_signed.connect(self._refresh_status_column)
        self.form.draft_saved.connect(self._refresh_status_column)
        window.browser.refresh()

    def report_status(self, study_uid: str) -> str:
        """'signed' / 'draft' / '' for the study list's Report column: the open study's report as the form
        holds it, other studies from the newest report kept in the draft store."""
        if self.window.study is not None and study_uid == self.window.study.study_instance_uid:
            return str(self.form.report.status.value)
        for info in self.drafts.recover():  # newest first
            if info.study_instance_uid == study_uid and not info.error:
                return str(info.status or "draft")
        return ""

    def _refresh_status_column(self, *_a) -> None:
        if self.window.study is not None:
            self.window.browser.update_report_status(self.window.study.study_instance_uid)

    def study_opened(self, study_uid: str) -> None:
        paths = [p for ds in self.window.display_sets for p in {inst.path for inst in ds.instances}]
        self._sop_classes = {
            inst.sop_instance_uid: inst.sop_class_uid
            for ds in self.window.display_sets
            for inst in ds.instances
        }
        report = self._draft_for_study(self.drafts, study_uid)
        if report is None:
            report = self._m.HsgReport()
            headers = []
            for p in paths:
                try:
                    headers.append(pydicom.dcmread(p, stop_before_pixels=True))
                except Exception:  # noqa: BLE001 - one unreadable header must not block the report
                    continue
            self._m.prefill_from_datasets(report, headers)
        self.form.set_report(report)
        self.form.set_study([str(p) for p in paths], self.data_dir)
        self.form.setEnabled(True)
        self._viewer_from_report()

    def mark_on_image(self, field_path: str) -> None:
        self._pending_field = field_path
        self.window.set_tool("ellipse")
        self.window.statusBar().showMessage(
            f"Draw an ellipse around {finding_words(field_path)} on the image (Esc cancels)", 8000
        )

    def _measurement_added(self, study_uid: str, measurement) -> None:
        if self._pending_field and self.window.study is not None:
            field, self._pending_field = self._pending_field, None
            self.window.set_tool(None)  # one region per "Mark on image"
            try:
                self.form.attach_region(field, measurement.region)
                self._fill_measured_value(field, measurement)
            except Exception as exc:  # noqa: BLE001 - show why, keep the measurement
                self.window.statusBar().showMessage(
                    f"Could not link the region to {finding_words(field)}: {exc}", 8000
                )

    def _fill_measured_value(self, field: str, measurement: Measurement) -> None:
        """ "Mark on image" fills the value it measures (hydrosalpinx diameter, defect size) — never retyped."""
        report = self.form.report
        finding = self.form._finding_path(field)
        found = measured_value(finding, measurement, report)
        if found is None or report.is_signed:
            return
        path, value = found
        report.set_value(path, value)
        self.form.sync_from_model()
        what = "diameter" if path.endswith("diameter_mm") else "size"
        self.window.statusBar().showMessage(
            f"{finding_words(finding).capitalize()}: {what} {value:.0f} mm from the drawn ellipse "
            f"({measurement.calibration.basis.value})",
            8000,
        )

    # -- key frames <-> key images ---------------------------------------------------------------------
    def _watch_report(self, report) -> None:
        """Listen to the report now in the form (set_report / amend replace it)."""
        if self._watched is not None:
            self._watched.remove_listener(self._report_changed)
        self._watched = report
        report.add_listener(self._report_changed)
        if self.window.study is not None:
            self._viewer_from_report()

    def _report_changed(self, report, field_path: str) -> None:
        if field_path.split(".")[0].split("[")[0] == "key_images" and not self._syncing:
            self._viewer_from_report()

    def _label_for(self, sop_instance_uid: str) -> str:
        for ds in self.window.display_sets:
            if any(inst.sop_instance_uid == sop_instance_uid for inst in ds.instances):
                return ds.label
        return ""

    def _viewer_from_report(self) -> None:
        """The viewer's key frames become the report's key images (of this study's instances)."""
        study = self.window.study
        if study is None:
            return
        known = {inst.sop_instance_uid for ds in self.window.display_sets for inst in ds.instances}
        keys = [
            KeyFrame(k.sop_instance_uid, k.frame_number, self._label_for(k.sop_instance_uid))
            for k in self.form.report.key_images
            if k.sop_instance_uid in known
        ]
        self._syncing = True
        try:
            self.window.store.set_key_frames(study.study_instance_uid, keys)
        finally:
            self._syncing = False

    def _key_frames_changed(self, study_uid: str) -> None:
        """Viewer → report: add the newly marked frames, drop the unmarked ones (order of marking kept)."""
        if self._syncing or self.window.study is None or study_uid != self.window.study.study_instance_uid:
            return
        report = self.form.report
        now = {(k.sop_instance_uid, k.frame_number) for k in self.window.store.key_frames(study_uid)}
        had = {(k.sop_instance_uid, k.frame_number) for k in report.key_images}
        if now == had:
            return
        if report.is_signed:
            self.window.statusBar().showMessage(
                "The report is signed: key frames marked now are not added to it (amend the report first)",
                8000,
            )
            return
        self._syncing = True
        try:
            kept = [k for k in report.key_images if (k.sop_instance_uid, k.frame_number) in now]
            if len(kept) != len(report.key_images):
                report.set_value("key_images", kept)
            for sop, frame in sorted(now - had):
                self.form.add_key_image(sop, self._sop_classes.get(sop, ""), frame)
        except Exception as exc:  # noqa: BLE001 - the viewer keeps working; say why the report did not follow
            self.window.statusBar().showMessage(f"Key images of the report not updated: {exc}", 8000)
        finally:
            self._syncing = False


def attach_report_dock(window, data_dir: Path) -> ReportDockController | None:
    """Dock the report form if its modules import; None (viewer alone) otherwise."""
    try:
        return ReportDockController(window, data_dir)
    except ImportError:
        return None
