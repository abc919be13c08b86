"""Docks the report form (another area's widget) next to the viewer and wires the viewer contract to it.

The viewer opens even if building the report panel fails at run time (``ui/app.py`` shows why in the status
bar); a module of this project that does not import is a bug and raises like any other.

Wiring (the ReportForm's documented contract):
  * opening a study shows its newest unsigned draft, else a new report prefilled from the image headers
    (``reporting.workflows.open_report`` — the same function the tests and other callers use; no file is read
    here);
  * the report in the form is the reading session's report (``ReadingSession.bind_report``) and owns the open
    study's key images (``session/reading.py`` ``KeyImages``): the
    viewer's key-frame list is a view of ``report.key_images``, marking / unmarking a frame writes there, a key
    image removed in the form disappears from the viewer, a recovered draft's key images show when its study
    opens. A signed report is never changed: the viewer's marks then stay local and the status bar says so.
  * the report in the form owns the open study's measurements too (``MeasurementStore.bind``): every
    measurement drawn in the viewer is one of ``report.measurements`` (with its calibration basis), so the SR
    and PDF carry it; moving its ROI replaces it there;
  * ``mark_on_image_requested(field_path)`` arms the ellipse tool; the next measurement drawn is linked to
    that finding by id (``ReportForm.link_measurement``) — no copy, so moving the ROI moves the finding's region;
  * ``region_unlinked(path, region)``: "Unlink last" on a finding also removes the viewer's measurement drawn
    for it, unless another finding still links that region;
  * "Mark on image" fills the value it measures (hydrosalpinx diameter, defect size) from the drawn ellipse
    (``session.measurements.measured_value``), and the value follows the ROI when it is moved;
  * the study list's Report column: the open study's report as the form holds it, other studies from
    ``reporting.status`` (drafts on disk and the SR headers stored with the study).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from PySide6.QtWidgets import QVBoxLayout, QWidget

from hsg_workstation.errors import HsgError
from hsg_workstation.measurements import ImageRegion, Measurement
from hsg_workstation.reporting.drafts import DraftStore
from hsg_workstation.reporting.report import HsgReport
from hsg_workstation.reporting.status import report_states
from hsg_workstation.reporting.workflows import open_report
from hsg_workstation.session.measurements import measured_value
from hsg_workstation.session.viewport_state import Tool
from hsg_workstation.ui.report_form import ReportForm
from hsg_workstation.ui.report_toolbar import ReportToolbar

log = logging.getLogger(__name__)

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


class ReportDockController:
    def __init__(self, window, data_dir: Path) -> None:
        self.window = window
        self.data_dir = Path(data_dir)
        self.drafts = DraftStore(self.data_dir / "drafts")
        self.form = ReportForm(HsgReport(), self.drafts, data_dir=self.data_dir)
        self.form.setEnabled(False)
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
        # The study list remembers each row's report state; the open study's comes from the form instead of
        # the disk, so the rows of the study opened and of the one left are asked again.
        self._status_study: str | None = None
        window.studyOpened.connect(self._open_study_changed)
        window.studyClosed.connect(self._open_study_changed)
        window.store.added.connect(self._measurement_added)
        window.store.changed.connect(self._measurement_moved)
        window.store.key_images.refused.connect(self._key_images_refused)
        window.store.refused.connect(self._key_images_refused)
        self.form.mark_on_image_requested.connect(self.mark_on_image)
        self.form.region_unlinked.connect(self._region_unlinked)
        self.form.report_replaced.connect(self._bind_report)
        self.form.key_images_panel.labeler = self._label_for  # series names, not UID tails
        window.browser.report_status = self.report_status
        self.form.report_signed.connect(self._refresh_status_column)
        self.form.draft_saved.connect(self._refresh_status_column)
        window.browser.refresh()

    def report_status(self, study_uid: str) -> str:
        """none / draft / signed / amended for the study list's Report column: the open study's report as the
        form holds it; other studies from ``reporting.status`` (drafts and the SRs stored with the study)."""
        if self.window.study is not None and study_uid == self.window.study.study_instance_uid:
            return str(self.form.report.status.value)
        state = report_states(self.window.database, self.data_dir / "drafts", [study_uid])[study_uid]
        return "" if state.state == "none" else state.state

    def _refresh_status_column(self, *_a) -> None:
        if self.window.study is not None:
            self.window.browser.update_report_status(self.window.study.study_instance_uid)

    def _open_study_changed(self, *_a) -> None:
        current = self.window.study.study_instance_uid if self.window.study is not None else None
        for uid in {self._status_study, current} - {None}:
            self.window.browser.update_report_status(uid)
        self._status_study = current

    def study_opened(self, study_uid: str) -> None:
        paths = [p for ds in self.window.display_sets for p in {inst.path for inst in ds.instances}]
        self._sop_classes = {
            inst.sop_instance_uid: inst.sop_class_uid
            for ds in self.window.display_sets
            for inst in ds.instances
        }
        try:
            report = open_report(self.drafts, paths, study_uid)
        except HsgError as exc:  # e.g. a study of documents only: an empty report, and say why
            report = HsgReport()
            self.window.statusBar().showMessage(f"Report not prefilled: {exc}", 8000)
        self.form.set_report(report)  # report_replaced -> _bind_report
        self.form.set_study([str(p) for p in paths], self.data_dir)
        self.form.setEnabled(True)

    def mark_on_image(self, field_path: str) -> None:
        self._pending_field = field_path
        self.window.set_tool(Tool.ELLIPSE)
        self.window.statusBar().showMessage(
            f"Draw an ellipse around {finding_words(field_path)} on the image (Esc cancels)", 8000
        )

    def _measurement_added(self, study_uid: str, measurement) -> None:
        if self._pending_field and self.window.study is not None:
            field, self._pending_field = self._pending_field, None
            self.window.set_tool(None)  # one region per "Mark on image"
            try:
                self.form.link_measurement(field, measurement)
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

    def _measurement_moved(self, study_uid: str, measurement: Measurement) -> None:
        """A linked ROI was moved: say which value followed it (the store changed it in the report)."""
        report = self.form.report
        for path, link in report.all_image_links():
            if link.measurement_id != measurement.id or report.measurement(measurement.id) != measurement:
                continue
            found = measured_value(path, measurement, report)
            if found is not None and report.get_value(found[0]) == found[1]:
                what = "diameter" if found[0].endswith("diameter_mm") else "size"
                self.window.statusBar().showMessage(
                    f"{finding_words(path).capitalize()}: {what} {found[1]:g} mm from the moved ellipse", 8000
                )
                return

    def _region_unlinked(self, field_path: str, region: ImageRegion) -> None:
        """The region left the finding: drop the viewer's measurement of it unless another finding links it."""
        study = self.window.study
        if study is None or self._still_linked(region):
            return
        for measurement in self.window.store.measurements(study.study_instance_uid):
            if measurement.region == region and not self._still_linked_id(measurement.id):
                self.window.store.remove(study.study_instance_uid, measurement.id)
                self.window.statusBar().showMessage(
                    f"Region unlinked from {finding_words(field_path)} and removed", 5000
                )
                return

    def _still_linked(self, region: ImageRegion) -> bool:
        report = self.form.report
        return any(report.link_region(link) == region for _path, link in report.all_image_links())

    def _still_linked_id(self, measurement_id: str) -> bool:
        return any(link.measurement_id == measurement_id for _p, link in self.form.report.all_image_links())

    # -- key images: one owner (session/reading.py KeyImages) --------------------------------------------
    def _bind_report(self, report: HsgReport) -> None:
        """The report now in the form (opened, recovered, amended, undone) owns the open study's measurements
        and key images: the viewer reads ``report.measurements`` / ``report.key_images`` and writes there — no
        copy to keep equal."""
        study = self.window.study
        if study is None:
            return
        self.window.session.bind_report(
            report,
            label_of=self._label_for,
            sop_class_of=lambda uid: self._sop_classes.get(uid, ""),
        )

    def _key_images_refused(self, study_uid: str, message: str) -> None:
        self.window.statusBar().showMessage(message, 8000)

    def _label_for(self, sop_instance_uid: str) -> str:
        for ds in self.window.display_sets:
            if any(inst.sop_instance_uid == sop_instance_uid for inst in ds.instances):
                return ds.label
        return ""


def attach_report_dock(window, data_dir: Path) -> ReportDockController:
    """Dock the report form beside the viewer."""
    return ReportDockController(window, data_dir)
