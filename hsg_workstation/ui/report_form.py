"""The structured HSG report form: a dockable widget that views and edits one ``HsgReport``.

napari-style (``QtDims(dims)``): the widget takes its model in the constructor and listens to it. Every user
edit goes through ``HsgReport.set_value`` (or another model mutator), the model notifies its listeners, and the
form re-reads the model — so a change made anywhere (tests, the viewer attaching a region, an amendment) shows
up here, and a change made here is in the model before the next keystroke.

Nothing typed is ever lost: every change is written to the draft store (``DraftStore.save``) from the model
listener; ``closeEvent`` refuses to close while the last change is not on disk.

What appears is declared in ``reporting/form_spec.py`` (reading order, labels, when a field applies; the
model clears answers whose field stops applying, ``HsgReport.clear_inapplicable``); rule messages
come from ``rules.validate`` and are shown beside the field their ``field_path`` names.

Split by subject (issue 14): the autosave and close guard (``report_autosave``), signing / amending
(``report_signing``), "Go to" navigation (``report_navigation``), the background-job runner
(``report_background``), key ownership (``report_keys``) and the memory for answers that stop applying
(``report_conditions``) are mixins of their own; the rows, editors and panels were already apart
(``report_rows``, ``report_editors``, ``report_panels``), the Export / Send / PDF actions in ``report_actions`` and
loading a study's report in ``reporting.workflows``. What stays here (~800 lines, over the ~600 guide) is one
subject that does not split cleanly: building the form from the spec and the model ↔ widget round trip
(``sync_from_model``, ``_user_edit``, status and issues), plus the small viewer contract (regions, key images)
that another area owns.
"""

from __future__ import annotations

import datetime as dt
import logging
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.measurements import ImageRegion, Measurement
from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.impression import generate_impression
from hsg_workstation.reporting.rules import Issue, RuleConfig, validate
from hsg_workstation.reporting.workflows import draft_for_study, open_report  # noqa: F401 - re-exported
from hsg_workstation.ui import report_actions
from hsg_workstation.ui import report_binding as rb
from hsg_workstation.ui.report_autosave import DraftAutosave
from hsg_workstation.ui.report_background import BackgroundJobs
from hsg_workstation.ui.report_conditions import ConditionMemory
from hsg_workstation.ui.report_editors import EnumEditor, TextEditor, enum_label
from hsg_workstation.ui.report_focus import fix_tab_order
from hsg_workstation.ui.report_keys import FormKeys
from hsg_workstation.ui.report_navigation import SectionNavigation
from hsg_workstation.ui.report_panels import (
    ImpressionPanel,
    IssuesPanel,
    KeyImagesPanel,
    RecommendationsPanel,
)
from hsg_workstation.ui.report_rows import BlockWidget, FieldRow
from hsg_workstation.ui.report_sections import (
    CRITICAL_RESULT_SECTION,
    SECTIONS,
    BlockSpec,
    applies,
    defect_fields,
)
from hsg_workstation.ui.report_signing import Signing
from hsg_workstation.ui.workers import Workers

log = logging.getLogger(__name__)


class ReportForm(
    ConditionMemory, DraftAutosave, Signing, SectionNavigation, BackgroundJobs, FormKeys, QWidget
):
    """Edit an ``HsgReport``; autosave through ``draft_store``; sign, export, send.

    Contract with the main window:
      * ``mark_on_image_requested(field_path)`` — the user wants to draw a region for the finding at
        ``field_path`` (e.g. ``findings.tubes.left``, ``findings.filling_defects[0]``); the viewer's tool draws
        it and the report dock calls ``link_measurement(field_path, measurement)`` (a reference by id to the
        report's measurement, which the viewer edits); ``attach_region`` links a bare region (no measurement).
      * ``add_key_image(sop_instance_uid, sop_class_uid, frame_number, note="")`` — from the viewer.
      * ``report_signed()`` after a successful sign; ``draft_saved(path)`` after every autosave.
      * ``region_unlinked(path, region)`` after "Unlink last" (the report dock removes the viewer's drawing).
      * ``export_handler`` / ``send_handler`` / ``pdf_handler`` may be injected (``set_handlers``); otherwise
        the buttons run ``reporting.workflows`` (export, export-then-send) and are disabled, with the reason as
        tooltip, while no source study or PACS node is there.
    """

    mark_on_image_requested = Signal(str)
    report_signed = Signal()
    report_replaced = Signal(object)  # the new HsgReport after amend() / set_report()
    region_unlinked = Signal(str, object)  # finding path, ImageRegion (the report dock drops the drawing)
    draft_saved = Signal(object)  # Path or None
    draft_save_failed = Signal(str)

    def __init__(
        self,
        report: m.HsgReport,
        draft_store: Any = None,
        parent: QWidget | None = None,
        *,
        rule_config: RuleConfig | None = None,
        user_name: str = "",
        study: Any = None,
        data_dir: Path | str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ReportForm")
        self.report = report
        self.draft_store = draft_store
        self.rule_config = rule_config or RuleConfig()
        self.user_name = user_name or report.author_name
        self.issues: list[Issue] = []
        self.generated_impression: list[m.ImpressionSentence] = []
        self.dirty = False  # a change not yet on disk
        self.last_draft_path: Path | None = None
        self.last_save_error = ""
        self.last_edit_error = ""
        self._adjusting = False
        # Values of fields that stopped applying (restored if they apply again), and fields that held a value
        # although inapplicable when the report was loaded (shown, never cleared automatically).
        self._stash: dict[str, Any] = {}
        self._loaded_inapplicable: set[str] = set()
        self._watched_window: QWidget | None = None
        self._editing_path: str | None = None
        self._signed_state = report.is_signed
        self._syncing = False
        self.rows: dict[str, FieldRow] = {}
        self.blocks: dict[str, BlockWidget] = {}
        self.defect_blocks: list[BlockWidget] = []
        # Optional action handlers the main window may inject (see set_handlers); defaults are looked up.
        self.pdf_handler: Callable[[m.HsgReport], bytes] | None = None
        self.export_handler: Callable[[m.HsgReport, Path], list[Path]] | None = None
        self.send_handler: Callable[[m.HsgReport], str] | None = None
        self.study = study  # folder / list of paths or datasets of the source study (export, PDF key images)
        self.data_dir = Path(data_dir) if data_dir is not None else None  # nodes.json for Send, outbox
        self.pdf_preview_dialog: QWidget | None = None
        self.last_sr_sop_instance_uid = ""  # set by Export / Send; an amendment references it

        self._nav_boxes: list[QGroupBox] = []
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.addWidget(self._build_header())
        self.issues_panel = IssuesPanel(self.ask_user_name, self)
        self.issues_panel.jump_requested.connect(self.focus_field)
        root.addWidget(self.issues_panel)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.body = QWidget()
        self.body_layout = QVBoxLayout(self.body)
        self.body_layout.setContentsMargins(0, 0, 8, 0)
        self._build_sections()
        self.body_layout.addStretch(1)
        fix_tab_order(self.body)
        self.scroll.setWidget(self.body)
        root.addWidget(self.scroll, 1)
        self.scroll.verticalScrollBar().valueChanged.connect(self._follow_section)
        root.addLayout(self._build_actions())

        for keys, delta in (("Ctrl+PgDown", 1), ("Ctrl+PgUp", -1)):
            sc = QShortcut(QKeySequence(keys), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda d=delta: self.step_section(d))

        self.workers = Workers(self)  # background jobs (Send); results come back on the GUI thread
        self.background_jobs = 0

        self._loaded_inapplicable = self._inapplicable_with_values()

        self._listener = _make_listener(self)
        report.add_listener(self._listener)
        self.destroyed.connect(lambda *_a, r=report, cb=self._listener: r.remove_listener(cb))
        self.sync_from_model()

    # ------------------------------------------------------------------ construction
    def _build_header(self) -> QWidget:
        box = QWidget(self)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.identity_label = QLabel(box)
        self.identity_label.setTextFormat(Qt.TextFormat.RichText)
        self.identity_label.setWordWrap(True)
        lay.addWidget(self.identity_label)
        self.status_label = QLabel(box)
        self.status_label.setWordWrap(True)
        status_row = QHBoxLayout()
        status_row.addWidget(self.status_label, 1)
        lay.addLayout(status_row)
        author = QHBoxLayout()
        self.author_label = QLabel("&Reporting radiologist", box)
        self.author_editor = TextEditor(box)
        self.author_editor.setObjectName("author_name")
        self.author_label.setBuddy(self.author_editor.focus_widget())
        self.author_editor.value_changed.connect(
            lambda v: self._user_edit("author_name", v or "", rb.Kind.TEXT)
        )
        author.addWidget(self.author_label)
        author.addWidget(self.author_editor, 1)
        self.section_nav = QComboBox(box)
        self.section_nav.setObjectName("section_nav")
        self.section_nav.setToolTip("Jump to a section (Ctrl+PgDown / Ctrl+PgUp: next / previous section)")
        self.section_nav.activated.connect(self._jump_to_section)
        nav_label = QLabel("&Go to", box)
        nav_label.setBuddy(self.section_nav)
        status_row.addWidget(nav_label)
        status_row.addWidget(self.section_nav)
        lay.addLayout(author)
        return box

    def _section_box(self, title: str) -> QGroupBox:
        box = QGroupBox(title, self.body)
        box.setObjectName(f"section:{title}")
        self._nav_boxes.append(box)
        self.section_nav.addItem(title.replace("&&", "&"), box.objectName())
        font = box.font()
        font.setBold(True)
        box.setFont(font)
        box.setStyleSheet(
            "QGroupBox { margin-top: 14px; } QGroupBox::title { subcontrol-origin: margin; left: 4px; }"
        )
        lay = QVBoxLayout(box)
        lay.setContentsMargins(4, 6, 4, 4)
        self.body_layout.addWidget(box)
        return box

    def _add_block(
        self, spec: BlockSpec, parent: QGroupBox, remove: Callable[[], None] | None = None
    ) -> BlockWidget:
        block = BlockWidget(
            self.report,
            spec,
            parent,
            remove=remove,
            mark=self.mark_on_image_requested.emit,
            unlink=self.unlink_region,
        )
        font = block.font()
        font.setBold(bool(spec.title))
        block.setFont(font)
        for row in block.rows:
            f = row.label.font()
            f.setBold(False)
            row.label.setFont(f)
            row.container.setFont(f)
            self.rows[row.path] = row
            row.editor.value_changed.connect(
                lambda value, path=row.path, kind=row.kind, opt=row.optional: self._user_edit(
                    path, value, kind, opt
                )
            )
        parent.layout().addWidget(block)
        return block

    def _build_sections(self) -> None:
        self.section_boxes: dict[str, QGroupBox] = {}
        for section in SECTIONS:
            box = self._section_box(section.title)
            self.section_boxes[section.key] = box
            for block_spec in section.blocks:
                block = self._add_block(block_spec, box)
                block.setFont(box.font() if block_spec.title else block.font())
                self.blocks[block_spec.path] = block
                if block_spec.path == "findings.cavity":
                    self._build_defects_area(box)
                if block_spec.path == "findings.adhesions":
                    self.afs_label = QLabel(block)
                    self.afs_label.setObjectName("afs_score")
                    block.form.insertRow(4, QLabel("AFS 1988 score", block), self.afs_label)
            if section.key == "safety":
                self.cycle_hint = QLabel(box)
                self.cycle_hint.setStyleSheet("QLabel { color: #555; }")
                self.blocks["safety"].form.insertRow(3, "", self.cycle_hint)
            if section.key == "dose":
                self.dose_hint = QLabel(box)
                self.dose_hint.setWordWrap(True)
                self.dose_hint.setStyleSheet("QLabel { color: #555; }")
                self.blocks["dose"].form.insertRow(1, "", self.dose_hint)
        peritoneum = self.blocks["findings.peritoneum"]
        self.spill_hint = QLabel(peritoneum)
        self.spill_hint.setWordWrap(True)
        self.spill_hint.setStyleSheet("QLabel { color: #555; }")
        self.use_derived_spill = QPushButton("Use derived", peritoneum)
        self.use_derived_spill.setToolTip("Set the overall spill from the two tube blocks")
        self.use_derived_spill.clicked.connect(self._apply_derived_spill)
        hint_row = QWidget(peritoneum)
        hl = QHBoxLayout(hint_row)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(self.spill_hint, 1)
        hl.addWidget(self.use_derived_spill)
        peritoneum.form.insertRow(1, "", hint_row)

        self._build_critical_result()

        box = self._section_box("G. Impression")
        self.impression_panel = ImpressionPanel(self.ask_user_name, box)
        box.layout().addWidget(self.impression_panel)
        box = self._section_box("H. Recommendations")
        self.recommendations_panel = RecommendationsPanel(box)
        box.layout().addWidget(self.recommendations_panel)
        box = self._section_box("J. Key images")
        self.key_images_panel = KeyImagesPanel(box)
        box.layout().addWidget(self.key_images_panel)
        for panel_box in (self.impression_panel, self.recommendations_panel, self.key_images_panel):
            f = panel_box.font()
            f.setBold(False)
            panel_box.setFont(f)

    def _build_critical_result(self) -> None:
        """Who was told about a critical result (failed sterilisation) and when — V11 asks for it."""
        section = CRITICAL_RESULT_SECTION
        box = self._section_box(section.title)
        box.setStyleSheet(box.styleSheet() + " QGroupBox { color: #b3261e; }")
        self.critical_box = box
        self.section_boxes[section.key] = box
        block = self._add_block(section.blocks[0], box)
        self.blocks[section.blocks[0].path] = block
        self.critical_when_label = QLabel(block)
        self.record_communication_button = QPushButton("Record communication now", block)
        self.record_communication_button.setToolTip("Stamp the time; needs 'communicated to'")
        self.record_communication_button.clicked.connect(self.record_critical_communication)
        row = QWidget(block)
        hl = QHBoxLayout(row)
        hl.setContentsMargins(0, 0, 0, 0)
        hl.addWidget(self.critical_when_label, 1)
        hl.addWidget(self.record_communication_button)
        block.form.addRow("", row)

    def record_critical_communication(self) -> None:
        """Mark the critical result as communicated now (V11 then becomes information, not a warning)."""
        cr = self.report.critical_result
        if not cr.communicated_to.strip():
            QMessageBox.information(
                self, "Critical result", "Enter whom the result was communicated to first."
            )
            return
        with self.report.edit("critical_result"):
            cr.flagged = True
            if not cr.reason.strip():
                cr.reason = "; ".join(i.message for i in self.issues if i.critical)
            if not cr.communicated_by.strip():
                cr.communicated_by = self.user_name or self.report.author_name
            cr.communicated_at = dt.datetime.now(dt.UTC)

    def _build_defects_area(self, section_box: QGroupBox) -> None:
        self.defects_box = QGroupBox("Filling defects", section_box)
        bold = self.defects_box.font()
        bold.setBold(True)
        self.defects_box.setFont(bold)
        lay = QVBoxLayout(self.defects_box)
        lay.setContentsMargins(6, 4, 6, 4)
        self.defects_empty = QLabel("No filling defects recorded.", self.defects_box)
        self.defects_empty.setStyleSheet("QLabel { color: #555; font-weight: normal; }")
        lay.addWidget(self.defects_empty)
        self.add_defect_button = QPushButton("&Add filling defect", self.defects_box)
        self.add_defect_button.setFont(self.font())
        self.add_defect_button.clicked.connect(self.add_filling_defect)
        lay.addWidget(self.add_defect_button, 0, Qt.AlignmentFlag.AlignLeft)
        section_box.layout().addWidget(self.defects_box)

    def _build_actions(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.pdf_button = QPushButton("PD&F preview", self)
        self.pdf_button.clicked.connect(self.show_pdf_preview)
        self.sign_button = QPushButton("&Sign…", self)
        self.sign_button.clicked.connect(self.sign_interactively)
        self.amend_button = QPushButton("A&mend…", self)
        self.amend_button.setToolTip("Start a corrected report that references this signed one")
        self.amend_button.clicked.connect(self.amend_interactively)
        self.export_button = QPushButton("&Export…", self)
        self.export_button.clicked.connect(self.export_interactively)
        self.send_button = QPushButton("Send &to PACS…", self)
        self.send_button.clicked.connect(self.send_interactively)
        for b in (self.pdf_button, self.export_button, self.send_button, self.sign_button, self.amend_button):
            b.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            row.addWidget(b)
        report_actions.configure_buttons(self)
        return row

    # ------------------------------------------------------------------ model -> widgets
    def sync_from_model(self) -> None:
        """Re-read every field from the model, re-validate, and update visibility and previews."""
        if self._syncing:
            return
        self._syncing = True
        try:
            r = self.report
            self._sync_defect_blocks()
            if self.author_editor.focus_widget().hasFocus() and self._editing_path == "author_name":
                pass
            else:
                self.author_editor.set_value(r.author_name)
            for path, row in self.rows.items():
                if path == self._editing_path:
                    continue
                try:
                    value = r.get_value(path)
                except (KeyError, IndexError, AttributeError):
                    continue
                row.editor.set_value(value)
            for block in self._all_blocks():
                block.setVisible(applies(block.spec, r))
                for row in block.rows:
                    row.set_visible(applies(row.spec, r) or row.path in self._loaded_inapplicable)
                    if row.spec.offered is not None and isinstance(row.editor, EnumEditor):
                        row.editor.set_offered(row.spec.offered(r))
                block.refresh_links(r)
            self._sync_computed()
            self._refresh_nav()
            self.issues = validate(r, self.rule_config)
            self._show_issues()
            try:
                self.generated_impression = generate_impression(r)
            except Exception as exc:  # the preview must never take the form down
                log.exception("impression generation failed")
                self.generated_impression = [m.ImpressionSentence(text=f"(impression preview failed: {exc})")]
            self.impression_panel.refresh(r, self.generated_impression)
            self.recommendations_panel.refresh(r)
            self.key_images_panel.refresh(r)
            self._sync_status()
        finally:
            self._syncing = False

    def _all_blocks(self) -> list[BlockWidget]:
        return [*self.blocks.values(), *self.defect_blocks]

    def _sync_defect_blocks(self) -> None:
        defects = self.report.findings.filling_defects
        if len(defects) == len(self.defect_blocks):
            return
        for block in self.defect_blocks:
            for row in block.rows:
                self.rows.pop(row.path, None)
            block.setParent(None)
            block.deleteLater()
        self.defect_blocks = []
        lay = self.defects_box.layout()
        for i in range(len(defects)):
            spec = BlockSpec(
                f"findings.filling_defects[{i}]", f"Filling defect {i + 1}", defect_fields(i), links=True
            )
            block = self._add_block(spec, self.defects_box, remove=lambda i=i: self.remove_filling_defect(i))
            lay.removeWidget(block)
            lay.insertWidget(lay.count() - 1, block)
            self.defect_blocks.append(block)
        self.defects_empty.setVisible(not defects)
        fix_tab_order(self.body)  # the new defect rows sit in the Tab order where they are on screen

    def _sync_computed(self) -> None:
        r = self.report
        adh = r.findings.adhesions
        if adh.afs_score is not None:
            stage = adh.afs_stage.value if adh.afs_stage else "?"
            names = {"I": "mild", "II": "moderate", "III": "severe"}
            self.afs_label.setText(f"<b>{adh.afs_score}</b> — stage {stage} ({names.get(stage, '')})")
        elif adh.afs_type is m.AfsAdhesionType.NOT_ASSESSABLE_ON_HSG:
            self.afs_label.setText("not computed: adhesion type not assessable on HSG")
        else:
            self.afs_label.setText("computed when extent, type and menstrual pattern are given")
        afs_row_visible = adh.present is True
        self.blocks["findings.adhesions"].form.setRowVisible(self.afs_label, afs_row_visible)

        computed = m.compute_cycle_day(r.safety.lmp_date, r.identity.study_date)
        cycle_row = self.rows["safety.cycle_day"]
        if computed is not None:
            cycle_row.editor.line.setPlaceholderText(f"{computed} (computed)")
            self.cycle_hint.setText(
                f"Computed: day {computed} (study {r.identity.study_date.isoformat()})"
                + ("" if r.safety.cycle_day is None else " — overridden")
            )
        else:
            cycle_row.editor.line.setPlaceholderText("from LMP + study date")
            self.cycle_hint.setText("")
        self.blocks["safety"].form.setRowVisible(self.cycle_hint, bool(self.cycle_hint.text()))

        d = r.dose
        if d.dap_source_value is not None and d.dap_source_unit is not None:
            src = enum_label(d.dap_source) if d.dap_source else "?"
            self.dose_hint.setText(
                f"DAP source: {d.dap_source_value:g} {_unit_text(d.dap_source_unit.value)} ({src.lower()})"
            )
        else:
            self.dose_hint.setText("")
        self.blocks["dose"].form.setRowVisible(self.dose_hint, bool(self.dose_hint.text()))

        derived = r.derived_peritoneal_spill()
        current = r.findings.peritoneum.peritoneal_spill_overall
        if derived is None:
            self.spill_hint.setText("Derived from the tubes: (complete both tube blocks)")
        else:
            self.spill_hint.setText(f"Derived from the tubes: {enum_label(derived)}")
        self.use_derived_spill.setEnabled(derived is not None and derived is not current and not r.is_signed)

    def _show_issues(self) -> None:
        by_row: dict[str, list[Issue]] = {}
        by_block: dict[str, list[Issue]] = {}
        for issue in self.issues:
            row = self.rows.get(issue.field_path)
            if row is not None and row.is_visible:
                by_row.setdefault(row.path, []).append(issue)
                continue
            block = self._block_for(issue.field_path)
            if block is not None:
                by_block.setdefault(block.path, []).append(issue)
        for path, row in self.rows.items():
            row.messages.show_issues(by_row.get(path, []), self.report)
        for block in self._all_blocks():
            block.messages.show_issues(by_block.get(block.path, []), self.report)
        self.issues_panel.refresh(self.report, self.issues)
        cr = self.report.critical_result
        self.critical_box.setVisible(cr.flagged or any(i.critical for i in self.issues))
        self._refresh_nav()
        if cr.communicated_at is not None:
            self.critical_when_label.setText(f"Communicated {cr.communicated_at.astimezone():%Y-%m-%d %H:%M}")
        else:
            self.critical_when_label.setText("Not yet recorded as communicated")
        self.record_communication_button.setEnabled(not self.report.is_signed)

    def _block_for(self, field_path: str) -> BlockWidget | None:
        best: BlockWidget | None = None
        for block in self._all_blocks():
            p = block.path
            if field_path == p or field_path.startswith(p + ".") or field_path.startswith(p + "["):
                if best is None or len(p) > len(best.path):
                    best = block
        return best

    def _sync_status(self) -> None:
        r = self.report
        ident = r.identity
        who = ident.patient_name.replace("^", " ").strip() or "(no patient name)"
        study = ident.study_date.isoformat() if ident.study_date else "no study date"
        acc = f" · Acc {ident.accession_number}" if ident.accession_number else ""
        self.identity_label.setText(
            f"<b>{_esc(who)}</b> · ID {_esc(ident.patient_id or '—')} · {study}{_esc(acc)}"
        )
        errors = self.error_count()
        if r.is_signed:
            sig = r.signature
            when = sig.verification_datetime.strftime("%Y-%m-%d %H:%M") if sig.verification_datetime else ""
            text = f"SIGNED by {sig.verifying_observer_name} {when} — read-only; amend to change."
            self.status_label.setStyleSheet("QLabel { color: #1b5e20; font-weight: bold; }")
        else:
            saved = ""
            if self.last_save_error:
                saved = f" — DRAFT NOT SAVED: {self.last_save_error}"
                self.status_label.setStyleSheet("QLabel { color: #b3261e; font-weight: bold; }")
            else:
                self.status_label.setStyleSheet("QLabel { color: #444; }")
                if self.last_draft_path is not None:
                    saved = f" — autosaved {dt.datetime.now().strftime('%H:%M:%S')}"
            text = ("Amendment draft" if r.is_amendment else "Draft") + saved
            if self.last_edit_error:
                text += f" — edit not accepted: {self.last_edit_error}"
                self.status_label.setStyleSheet("QLabel { color: #b3261e; }")
        self.status_label.setText(text)
        editable = not r.is_signed
        for row in self.rows.values():
            row.editor.setEnabled(editable)
        self.author_editor.setEnabled(editable)
        self.add_defect_button.setEnabled(editable)
        for block in self._all_blocks():
            if block.mark_button is not None:
                block.mark_button.setEnabled(editable)
            if block.remove_button is not None:
                block.remove_button.setEnabled(editable)
        unacked = self.open_warnings()
        self.sign_button.setVisible(not r.is_signed)
        self.amend_button.setVisible(r.is_signed)
        if self._signed_state != r.is_signed:
            self._signed_state = r.is_signed
            report_actions.configure_buttons(self)
        self.sign_button.setEnabled(editable and errors == 0)
        if r.is_signed:
            self.sign_button.setToolTip("Already signed")
        elif errors:
            self.sign_button.setToolTip(f"{errors} error(s) must be fixed before signing")
        elif unacked:
            self.sign_button.setToolTip(f"{len(unacked)} warning(s) will need an acknowledgement")
        else:
            self.sign_button.setToolTip("Sign the report as verifying observer")

    # ------------------------------------------------------------------ widgets -> model
    def _user_edit(self, path: str, value: Any, kind: rb.Kind, optional: bool = True) -> None:
        if self._syncing or self.report.is_signed:
            return
        if value is None and kind is rb.Kind.TEXT:
            value = ""
        if value is None and not optional and kind in (rb.Kind.INT, rb.Kind.FLOAT):
            return  # a required number cannot be empty; keep the model's value until a number is typed
        self._editing_path = path
        try:
            if path == "dose.dap_total_gy_cm2":
                self._set_dap(value)
            else:
                self.report.set_value(path, value)
        except (ValueError, KeyError, m.ReportLockedError) as exc:
            # Not modal: the model kept its value; say so in the status line and show the model's value again.
            self.last_edit_error = f"{path}: {exc}"
            log.warning("edit refused: %s", self.last_edit_error)
            self._editing_path = None
            self.sync_from_model()
        else:
            if self.last_edit_error:
                self.last_edit_error = ""
                self._sync_status()
        finally:
            self._editing_path = None

    def _set_dap(self, value: float | None) -> None:
        """A typed DAP is a manual Gy·cm² value; record it as such so V23's unit check sees a consistent pair."""
        d = self.report.dose
        with self.report.edit("dose.dap_total_gy_cm2"):
            if value is None:
                d.dap_total_gy_cm2 = None
                d.dap_source_value = None
                d.dap_source_unit = None
                d.dap_source = None
            else:
                d.set_dap(value, m.DapUnit.GY_CM2, m.DoseSource.MANUAL)

    def _apply_derived_spill(self) -> None:
        derived = self.report.derived_peritoneal_spill()
        if derived is not None:
            self.report.set_value("findings.peritoneum.peritoneal_spill_overall", derived)

    def add_filling_defect(self) -> None:
        self.report.add_filling_defect()
        if self.defect_blocks:
            QTimer.singleShot(0, lambda: self.focus_field(self.defect_blocks[-1].rows[0].path))

    def remove_filling_defect(self, index: int) -> None:
        self.report.remove_filling_defect(index)

    # ------------------------------------------------------------------ model listener
    def _on_model_changed(self, _report: m.HsgReport, _path: str) -> None:
        self.dirty = True
        if self._adjusting:
            return  # a change made by _apply_conditions itself; the outer call saves and syncs once
        if not self.report.is_signed:
            self._apply_conditions()
        self.save_draft()
        self.sync_from_model()

    # ------------------------------------------------------------------ viewer contract
    def attach_region(self, field_path: str, region: ImageRegion) -> None:
        """Link ``region`` (drawn on the current frame) to the finding at ``field_path``."""
        path = self._finding_path(field_path)
        sop_class = next(
            (
                s.sop_class_uid
                for s in self.report.identity.source_instances
                if s.sop_instance_uid == region.sop_instance_uid
            ),
            "",
        )
        link = m.ImageLink(
            sop_instance_uid=region.sop_instance_uid,
            frame_number=region.frame_number,
            sop_class_uid=sop_class,
            region=region,
        )
        self.report.add_image_link(path, link)

    def link_measurement(self, field_path: str, measurement: Measurement) -> None:
        """Link the finding at ``field_path`` to a measurement of the report by id (no copy: moving the ROI
        moves what the finding links to); the measurement joins ``report.measurements`` if it is not there."""
        path = self._finding_path(field_path)
        region = measurement.region
        sop_class = next(
            (
                s.sop_class_uid
                for s in self.report.identity.source_instances
                if s.sop_instance_uid == region.sop_instance_uid
            ),
            "",
        )
        if self.report.measurement(measurement.id) is None:
            self.report.add_measurement(measurement)
        link = m.ImageLink(
            sop_instance_uid=region.sop_instance_uid,
            frame_number=region.frame_number,
            sop_class_uid=sop_class,
            measurement_id=measurement.id,
        )
        self.report.add_image_link(path, link)

    def _finding_path(self, field_path: str) -> str:
        """The nearest part of ``field_path`` that can carry image links (a field path maps to its block)."""
        parts = rb.split_path(field_path)
        while parts:
            candidate = ".".join(parts)
            try:
                if hasattr(rb.get_path(self.report, candidate), "image_links"):
                    return _model_path(parts)
            except rb.PathError:
                pass
            parts = parts[:-1]
        raise KeyError(f"{field_path!r} is not a finding that can link to an image")

    def unlink_region(self, field_path: str, index: int = -1) -> None:
        """Remove one image link (default: the newest) from the finding at ``field_path``."""
        path = self._finding_path(field_path)
        links = list(self.report.get_value(f"{path}.image_links"))
        if not links:
            return
        removed = links.pop(index)
        region = self.report.link_region(removed)  # a linked measurement's region as it is now
        self.report.set_value(f"{path}.image_links", links)
        self.region_unlinked.emit(path, region)

    def add_key_image(
        self, sop_instance_uid: str, sop_class_uid: str, frame_number: int = 1, note: str = ""
    ) -> None:
        self.report.add_key_image(m.KeyImage(sop_instance_uid, sop_class_uid, frame_number, note))

    def set_handlers(
        self,
        *,
        pdf: Callable[[m.HsgReport], bytes] | None = None,
        export: Callable[[m.HsgReport, Path], list[Path]] | None = None,
        send: Callable[[m.HsgReport], str] | None = None,
    ) -> None:
        """Inject action handlers (PDF bytes, export to a directory, send to PACS) and re-enable buttons."""
        self.pdf_handler, self.export_handler, self.send_handler = pdf, export, send
        report_actions.configure_buttons(self)

    def set_report(self, report: m.HsgReport, *, save: bool = False) -> None:
        """Show another report (a study's recovered draft or new prefilled report, an amendment).

        ``save``: write it to the draft store at once (an amendment is new work). A report that is only
        opened is first written on its first change, so merely viewing studies leaves no draft files."""
        self.report.remove_listener(self._listener)
        self.report = report
        self._stash.clear()
        self._loaded_inapplicable = self._inapplicable_with_values()
        self._listener = _make_listener(self)
        report.add_listener(self._listener)
        self.destroyed.connect(lambda *_a, r=report, cb=self._listener: r.remove_listener(cb))
        self._signed_state = not report.is_signed  # forces the action buttons to be re-evaluated
        self.dirty = False
        self.last_save_error = ""
        self.last_edit_error = ""
        if save and not report.is_signed:
            self.dirty = True
            self.save_draft()
        self.sync_from_model()
        self.report_replaced.emit(report)

    def set_study(self, study: Any, data_dir: Path | str | None = None) -> None:
        """Attach the source study (a folder, or a list of paths / datasets) used by Export, Send and the PDF."""
        self.study = study
        if data_dir is not None:
            self.data_dir = Path(data_dir)
        report_actions.configure_buttons(self)

    # ------------------------------------------------------------------ user helpers
    def ask_user_name(self) -> str | None:
        """Who is editing (audit trail): the reporting radiologist, asked once if unknown."""
        if self.user_name:
            return self.user_name
        if self.report.author_name:
            return self.report.author_name
        name, ok = QInputDialog.getText(self, "Your name", "Name for the audit trail:")
        if ok and name.strip():
            self.user_name = name.strip()
            return self.user_name
        return None

    def focus_field(self, field_path: str) -> None:
        row = self.rows.get(field_path)
        target: QWidget | None = None
        if row is not None and row.is_visible:
            target = row.editor.focus_widget()
        else:
            block = self._block_for(field_path)
            if block is not None:
                target = block
        if target is not None:
            self.scroll.ensureWidgetVisible(target, 20, 40)
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ actions
    def show_pdf_preview(self) -> None:
        report_actions.show_pdf_preview(self)

    def export_interactively(self) -> None:
        report_actions.export_interactively(self)

    def send_interactively(self) -> None:
        report_actions.send_interactively(self)


def _model_path(parts: list[str]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out


def _unit_text(ucum: str) -> str:
    """UCUM → display: ``dGy.cm2`` → ``dGy·cm²``."""
    return ucum.replace(".", "·").replace("m2", "m²")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _make_listener(form: ReportForm) -> Callable[[m.HsgReport, str], None]:
    """A model listener that holds the form weakly and tolerates its C++ side being gone."""
    ref = weakref.ref(form)

    def listener(report: m.HsgReport, path: str) -> None:
        f = ref()
        if f is None:
            report.remove_listener(listener)
            return
        try:
            f._on_model_changed(report, path)
        except RuntimeError:  # widget deleted by Qt
            report.remove_listener(listener)

    return listener
