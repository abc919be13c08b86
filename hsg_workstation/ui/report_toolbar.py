"""The bar above the report form: templates, undo / redo, and who is reporting.

Why here (and not in the form): these act on the report as a whole and need the data directory (user templates,
the reader's profile); the form edits fields. The bar drives the Qt-free pieces in ``reporting.templates``
(Normal HSG, user templates, the UserProfile with the signing radiologist's DICOM name and per-user defaults)
and ``reporting.history`` (a snapshot stack: Ctrl+Z / Ctrl+Shift+Z outside text fields, whose own undo wins).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIntValidator, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.reporting.form_spec import infertility_indicated as _infertility
from hsg_workstation.reporting.history import ReportHistory
from hsg_workstation.reporting.templates import (
    NORMAL_HSG_NAME,
    TemplateError,
    TemplateStore,
    UserProfile,
    apply_template,
    template_from_report,
    valid_person_name,
)
from hsg_workstation.reporting.wording import parse_reader_date
from hsg_workstation.ui.shortcuts import shortcut


class ProfileDialog(QDialog):
    """The reader's name (a DICOM Person Name: it is who signs) and the defaults of every new report."""

    def __init__(self, profile: UserProfile, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from hsg_workstation.reporting import model as m

        self.setWindowTitle("Reporting radiologist")
        self.name = QLineEdit(profile.name.replace("^", ", ", 1) if "^" in profile.name else profile.name)
        self.name.setPlaceholderText("Family, Given  (or Family^Given)")
        self.organization = QLineEdit(profile.organization)
        d = profile.defaults
        self.catheter = QComboBox()
        self.contrast = QComboBox()
        for combo, enum_cls, key in (
            (self.catheter, m.CatheterType, "technique.catheter_type"),
            (self.contrast, m.ContrastType, "technique.contrast_type"),
        ):
            combo.addItem("—", None)
            for member in enum_cls:
                combo.addItem(str(member.value).replace("_", " "), member.value)
            combo.setCurrentIndex(max(0, combo.findData(d.get(key))))
        self.product = QLineEdit(str(d.get("technique.contrast_product") or ""))
        self.volume = QDoubleSpinBox(minimum=0.0, maximum=40.0, decimals=1, suffix=" mL")
        self.volume.setSpecialValueText("—")
        self.volume.setValue(float(d.get("technique.contrast_volume_ml") or 0.0))
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setMinimumHeight(
            self.error.fontMetrics().height()
        )  # reserved: nothing moves when it shows
        form = QFormLayout(self)
        form.addRow("&Name (signs the reports)", self.name)
        form.addRow("&Organization", self.organization)
        form.addRow("Default &catheter", self.catheter)
        form.addRow("Default con&trast", self.contrast)
        form.addRow("Contrast &product", self.product)
        form.addRow("Default &volume", self.volume)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.profile = profile

    def _name_value(self) -> str:
        text = self.name.text().strip()
        if "," in text and "^" not in text:
            family, given = (p.strip() for p in text.split(",", 1))
            text = f"{family}^{given}"
        return valid_person_name(text)

    def _accept(self) -> None:
        try:
            name = self._name_value()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        self.profile.name = name
        self.profile.organization = self.organization.text().strip()
        self.profile.defaults.update(
            {
                "technique.catheter_type": self.catheter.currentData(),
                "technique.contrast_type": self.contrast.currentData(),
                "technique.contrast_product": self.product.text().strip(),
                "technique.contrast_volume_ml": self.volume.value() or None,
            }
        )
        self.accept()


# One check box per fact the reader confirms before signing (each sets exactly its own field; unticking clears
# it). Why: these five answers were ten clicks and four scrolls deep in the safety section on every report.
SAFETY_CHECKS: tuple[tuple[str, str, object], ...] = (
    ("No risk history", "clinical.risk_history", ["none"]),
    ("Not bleeding today", "safety.menstrual_bleeding_today", False),
    ("Urine pregnancy test negative", "safety.pregnancy_test", "urine_negative"),
    ("Not pregnant", "safety.pregnancy_status", "not_pregnant"),
    ("No contraindication", "safety.contraindications", ["none"]),
    ("Consent documented", "safety.consent", True),
)
_CLEARED = {"safety.contraindications": [], "clinical.risk_history": []}


class SafetyChecklist(QWidget):
    """The pre-procedure answers as five check boxes above the form; they always show what the model holds."""

    def __init__(self, form, parent: QWidget | None = None, batch=None) -> None:
        """``batch``: a context manager factory that makes several edits one undo step (the report history)."""
        super().__init__(parent)
        self.form = form
        self._batch = batch
        self.boxes: dict[str, QCheckBox] = {}
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 0, 4, 0)
        grid.setVerticalSpacing(0)
        for n, (text, path, value) in enumerate(SAFETY_CHECKS):
            box = QCheckBox(text)
            box.setToolTip(f"Sets {path} (untick to clear it)")
            box.toggled.connect(lambda on, p=path, v=value: self._toggled(p, v, on))
            grid.addWidget(box, n // 3, n % 3)
            self.boxes[path] = box
        n = len(SAFETY_CHECKS)
        self.lmp = QLineEdit()
        self.lmp.setPlaceholderText("LMP, e.g. 28.12")  # (fits the field at 1366 px; ISO in the tooltip)
        self.lmp.setToolTip(
            "First day of the last menstrual period: day.month (28.12 = the latest 28 December not after the "
            "study) or YYYY-MM-DD"
        )
        self.lmp.editingFinished.connect(self._lmp_edited)
        self.lmp_error = QLabel("")
        self.lmp_error.setStyleSheet("color: #b00020;")
        grid.addWidget(self.lmp, n // 3, n % 3)
        # asked for every infertility indication (V00): beside the LMP rather than a scroll away
        self.duration = QLineEdit()
        self.duration.setPlaceholderText("Infertility: months")
        self.duration.setToolTip(
            "Duration of infertility in months (asked when the indication is infertility)"
        )
        self.duration.setValidator(QIntValidator(0, 600, self.duration))
        self.duration.editingFinished.connect(self._duration_edited)
        grid.addWidget(self.duration, (n + 1) // 3, (n + 1) % 3)
        # The usual case — every check negative / done — in one click instead of six (issue 11: a normal HSG in a
        # handful of actions). It ticks only the checks still unanswered (an answer such as "serum negative" or
        # a listed risk stays), the boxes then show each fact, and unticking one clears just that one.
        self.confirm_all = QPushButton("All six confirmed")
        self.confirm_all.setToolTip(
            "Tick every check above that is still unanswered: "
            + "; ".join(text.lower() for text, _p, _v in SAFETY_CHECKS)
        )
        self.confirm_all.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.confirm_all.clicked.connect(self.confirm_unanswered)
        grid.addWidget(self.confirm_all, (n + 2) // 3, (n + 2) % 3)
        grid.addWidget(self.lmp_error, (n + 1) // 3 + 1, 0, 1, 3)
        self.lmp_error.setMinimumHeight(self.lmp_error.fontMetrics().height())  # reserved: nothing moves
        self._syncing = False
        self.sync()

    def _duration_edited(self) -> None:
        report = self.form.report
        if self._syncing or report.is_signed or not _infertility(report):
            return
        text = self.duration.text().strip()
        value = int(text) if text else None
        if report.clinical.infertility_duration_months != value:
            report.set_value("clinical.infertility_duration_months", value)
            self.form.sync_from_model()

    def _lmp_edited(self) -> None:
        report = self.form.report
        text = self.lmp.text().strip()
        if self._syncing or report.is_signed:
            return
        if not text:
            self.lmp_error.setText("")
            if report.safety.lmp_date is not None:
                report.set_value("safety.lmp_date", None)
                self.form.sync_from_model()
            return
        reference = report.identity.study_date or _dt.date.today()
        try:
            when = parse_reader_date(text, reference)
        except ValueError as exc:
            self.lmp_error.setText(str(exc))
            return
        self.lmp_error.setText("")
        if report.safety.lmp_date != when:
            report.set_value("safety.lmp_date", when)
            self.form.sync_from_model()

    def confirm_unanswered(self) -> list[str]:
        """Set every safety check that has no answer yet to its confirmed value, as one undo step; returns the
        paths set. Answers already given (whatever they are) are left as they are."""
        # the button takes no focus, so an LMP / duration still being typed has not been committed yet
        self._duration_edited()
        self._lmp_edited()
        report = self.form.report
        if report.is_signed:
            return []
        todo = [
            (path, value)
            for _text, path, value in SAFETY_CHECKS
            if report.get_value(path) in (None, [], frozenset(), set())
        ]
        if not todo:
            return []
        with self._batch() if self._batch is not None else contextlib.nullcontext():
            for path, value in todo:
                report.set_value(path, value)
        self.form.sync_from_model()
        return [path for path, _v in todo]

    def _toggled(self, path: str, value: object, on: bool) -> None:
        if self._syncing:
            return
        report = self.form.report
        if report.is_signed:
            self.sync()
            return
        report.set_value(path, value if on else _CLEARED.get(path))
        self.form.sync_from_model()

    def sync(self, *_a) -> None:
        report = self.form.report
        self._syncing = True
        try:
            for _text, path, value in SAFETY_CHECKS:
                current = report.get_value(path)
                raw = [getattr(v, "value", v) for v in current] if isinstance(current, list) else current
                raw = getattr(raw, "value", raw)
                self.boxes[path].setChecked(raw == value)
                self.boxes[path].setEnabled(not report.is_signed)
            months = report.clinical.infertility_duration_months
            if not self.duration.hasFocus():
                self.duration.setText("" if months is None else str(months))
            self.duration.setEnabled(not report.is_signed and _infertility(report))
            lmp = report.safety.lmp_date
            if not self.lmp.hasFocus():
                self.lmp.setText(lmp.isoformat() if lmp else "")
            self.lmp.setEnabled(not report.is_signed)
        finally:
            self._syncing = False


class ReportToolbar(QWidget):
    """Template pick-list + Apply, Save as template…, Undo, Redo, and the reporting radiologist."""

    def __init__(self, controller, data_dir: Path) -> None:
        super().__init__()
        self.controller = controller
        self.form = controller.form
        self.data_dir = Path(data_dir)
        self.templates = TemplateStore(self.data_dir / "templates")
        self.profile_path = self.data_dir / "user-profile.json"
        try:
            self.profile = UserProfile.load(self.profile_path)
        except TemplateError:
            self.profile = UserProfile()
        self.history = ReportHistory()
        self.history.attach(self.form.report)

        self.template_combo = QComboBox()
        self.template_combo.setToolTip("Report templates: the built-in Normal HSG and your own")
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip(
            f"Fill the findings from the chosen template ({shortcut('normal_template')}: Normal HSG)"
        )
        self.apply_button.clicked.connect(lambda: self.apply(self.template_combo.currentText()))
        self.save_button = QPushButton("Save as template…")
        self.save_button.clicked.connect(self.save_as_template)
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip(f"Undo the last report edit ({shortcut('report_undo')})")
        self.undo_button.clicked.connect(self.undo)
        self.redo_button = QPushButton("Redo")
        self.redo_button.setToolTip(f"Redo ({shortcut('report_redo')})")
        self.redo_button.clicked.connect(self.redo)
        self.impression_button = QPushButton("Use impression")
        self.impression_button.setToolTip(
            "Put the generated impression (shown in the Impression section) into the report; edit it there"
        )
        self.impression_button.clicked.connect(self.use_generated_impression)
        self.who = QPushButton()
        self.who.setFlat(True)
        self.who.setToolTip("Who reports and signs; per-user defaults (catheter, contrast, volume)")
        self.who.clicked.connect(self.edit_profile)
        for b in (
            self.apply_button,
            self.save_button,
            self.undo_button,
            self.redo_button,
            self.impression_button,
            self.who,
        ):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a click leaves the keyboard where the reader works
        # two short rows: the bar must not widen the dock (the window fits 1366 px)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 0)
        lay.setSpacing(2)
        first, second = QHBoxLayout(), QHBoxLayout()
        first.addWidget(QLabel("Template"))
        first.addWidget(self.template_combo, 1)
        first.addWidget(self.apply_button)
        first.addWidget(self.save_button)
        second.addWidget(self.undo_button)
        second.addWidget(self.redo_button)
        second.addWidget(self.impression_button)
        second.addStretch(1)
        second.addWidget(self.who)
        lay.addLayout(first)
        lay.addLayout(second)
        self.safety = SafetyChecklist(self.form, self, batch=self.history.batch)
        lay.addWidget(self.safety)

        window = controller.window
        self.normal_action = self._window_action(
            window, "normal_template", "Normal HSG template", self.apply_normal
        )
        self.undo_action = self._window_action(window, "report_undo", "Undo report edit", self.undo)
        self.redo_action = self._window_action(window, "report_redo", "Redo report edit", self.redo)
        self.form.report_replaced.connect(self._report_replaced)
        self.form.report_signed.connect(self._remember_signer)
        self._listening = self.form.report
        self._listening.add_listener(self._model_changed)
        self._restoring = False
        self.reload_templates()
        self._show_who()
        self._sync_buttons()

    @staticmethod
    def _window_action(window, aid: str, text: str, slot) -> QAction:
        act = QAction(text, window)
        act.setShortcut(QKeySequence(shortcut(aid)))
        act.triggered.connect(slot)
        window.addAction(act)
        return act

    # -- templates ---------------------------------------------------------------------------------------------
    def reload_templates(self) -> None:
        current = self.template_combo.currentText()
        self.template_combo.clear()
        self.template_combo.addItems(self.templates.names())
        index = self.template_combo.findText(current or NORMAL_HSG_NAME)
        self.template_combo.setCurrentIndex(max(0, index))

    def apply_normal(self) -> list[str]:
        return self.apply(NORMAL_HSG_NAME)

    def apply(self, name: str) -> list[str]:
        """Fill the findings from template ``name`` as one undo step; the form shows the result."""
        report = self.form.report
        if report.is_signed:
            self._status("The report is signed: templates change nothing (amend it first)")
            return []
        try:
            template = self.templates.get(name)
            with self.history.batch():
                changed = apply_template(report, template)
        except (TemplateError, ValueError) as exc:
            self._status(str(exc))
            return []
        self.form.sync_from_model()
        self._status(f"{name}: {len(changed)} field(s) filled — check them against the images")
        self._sync_buttons()
        return changed

    def save_as_template(self) -> None:
        name, ok = QInputDialog.getText(self, "Save as template", "Template name:")
        if not ok or not name.strip():
            return
        try:
            self.templates.save(template_from_report(self.form.report, name))
        except (TemplateError, OSError) as exc:
            QMessageBox.warning(self, "Template not saved", str(exc))
            return
        self.reload_templates()
        self.template_combo.setCurrentText(name.strip())
        self._status(f"Template {name.strip()!r} saved")

    def use_generated_impression(self) -> None:
        """The Impression section's "Use generated", reachable without scrolling to the end of the form."""
        self.form.impression_panel.regenerate()
        self.form.sync_from_model()

    # -- undo / redo -------------------------------------------------------------------------------------------
    def undo(self) -> bool:
        return self._restore(self.history.undo())

    def redo(self) -> bool:
        return self._restore(self.history.redo())

    def _restore(self, report) -> bool:
        if report is None:
            return False
        self._restoring = True
        try:
            self.form.set_report(report)
            self.history.attach(report, keep=True)
            self.form.dirty = True
            self.form.save_draft()
        finally:
            self._restoring = False
        self._sync_buttons()
        return True

    def _model_changed(self, *_a) -> None:
        self.safety.sync()
        self._sync_buttons()

    def _report_replaced(self, report) -> None:
        self._listening.remove_listener(self._model_changed)
        self._listening = report
        report.add_listener(self._model_changed)
        self.safety.sync()
        if not self._restoring:
            self.history.attach(report)  # another study / an amendment: a fresh history
            self.apply_profile()
        self._sync_buttons()

    def _sync_buttons(self, *_a) -> None:
        self.undo_button.setEnabled(self.history.can_undo)
        self.redo_button.setEnabled(self.history.can_redo)

    # -- who reports -------------------------------------------------------------------------------------------
    def apply_profile(self) -> None:
        """Per-user defaults into the empty fields of the report on screen; the form knows who signs."""
        report = self.form.report
        if self.profile.name:
            self.form.user_name = self.profile.name
        if not report.is_signed:
            with self.history.batch():
                self.profile.apply_to(report)
            self.form.sync_from_model()

    def _remember_signer(self) -> None:
        """The first signature names the reader for good: saved in the profile, never asked again."""
        signer = self.form.report.signature.verifying_observer_name
        if signer and not self.profile.name:
            self.profile.name = signer
            try:
                self.profile.save(self.profile_path)
            except (OSError, ValueError):
                return
            self._show_who()

    def edit_profile(self) -> None:
        dialog = ProfileDialog(self.profile, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            self.profile.save(self.profile_path)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Profile not saved", str(exc))
        self._show_who()
        self.apply_profile()

    def _show_who(self) -> None:
        name = self.profile.name
        shown = " ".join(reversed(name.split("^")[:2])) if name else "set your name…"
        self.who.setText(f"Radiologist: {shown}")

    def _status(self, text: str) -> None:
        self.controller.window.statusBar().showMessage(text, 8000)


__all__ = ["ProfileDialog", "ReportToolbar"]
