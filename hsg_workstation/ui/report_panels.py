"""Report form panels that are not plain fields: the rule-message list, the impression (live preview + the
radiologist's edited sentences), recommendations and key images.

Each panel reads the report in ``refresh(report, ...)`` and writes back only through the model's own mutators
(``edit_impression_sentence``, ``regenerate_impression``, ``acknowledge`` ...), so the model keeps its audit
trail (which impression sentences were generated and which were changed) and its lock after signing.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.rules import Issue, Severity
from hsg_workstation.reporting.wording import findings_on_image, is_analysis_text

SEVERITY_COLOUR = {
    Severity.ERROR: "#b3261e",
    Severity.WARNING: "#8a5300",
    Severity.INFO: "#1f5fa8",
}
SEVERITY_BACKGROUND = {
    Severity.ERROR: "#fde7e6",
    Severity.WARNING: "#fff3d6",
    Severity.INFO: "#e6f0fb",
}
SEVERITY_SYMBOL = {Severity.ERROR: "✖", Severity.WARNING: "▲", Severity.INFO: "ℹ"}


def issue_html(issue: Issue, acknowledged: bool = False) -> str:
    colour = SEVERITY_COLOUR[issue.severity]
    ack = " <i>(acknowledged)</i>" if acknowledged else ""
    return (
        f"<span style='color:{colour}'>{SEVERITY_SYMBOL[issue.severity]} <b>{issue.rule_id}</b> "
        f"{_escape(issue.message)}{ack}</span>"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_EMPTY_STYLE = "QLabel { background: transparent; border-radius: 3px; padding: 2px 4px; }"


class IssueLabel(QLabel):
    """Inline rule messages beside a field. Once shown, the label keeps its place (empty) when its messages go:
    a message vanishing above the pointer used to pull the next field under it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setVisible(False)
        self.issues: list[Issue] = []

    def reserve_line(self) -> None:
        """Always take one line (empty when there is nothing to say), so a message appearing never pushes the
        fields below it."""
        self.setStyleSheet(_EMPTY_STYLE)
        # one line as a message is shown (symbol, bold rule id), measured, then emptied
        self.setText(issue_html(Issue("V00", Severity.ERROR, "", "x is required to sign")))
        self.setStyleSheet(
            f"QLabel {{ background: {SEVERITY_BACKGROUND[Severity.ERROR]}; border-radius: 3px; padding: 2px 4px; }}"
        )
        self.ensurePolished()
        self.setMinimumHeight(self.sizeHint().height())
        self.setText("")
        self.setStyleSheet(_EMPTY_STYLE)
        self.setVisible(True)

    def show_issues(self, issues: list[Issue], report: m.HsgReport) -> None:
        self.issues = list(issues)
        if not issues:
            if self.isVisibleTo(self.parentWidget()) if self.parentWidget() else False:
                # keep the space taken (one line), transparent and empty
                self.setMinimumHeight(max(self.minimumHeight(), self.height()))
                self.setStyleSheet(_EMPTY_STYLE)
                self.setText("")
            else:
                self.clear()
                self.setVisible(False)
            return
        worst = min(issues, key=lambda i: list(Severity).index(i.severity)).severity
        self.setStyleSheet(
            f"QLabel {{ background: {SEVERITY_BACKGROUND[worst]}; border-radius: 3px; padding: 2px 4px; }}"
        )
        self.setText(
            "<br>".join(issue_html(i, report.is_acknowledged(i.rule_id, i.field_path)) for i in issues)
        )
        self.setVisible(True)


class IssuesPanel(QWidget):
    """All rule messages; click one to jump to its field; acknowledge a selected warning with a reason."""

    jump_requested = Signal(str)  # field path

    def __init__(self, ask_who: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ask_who = ask_who
        self._report: m.HsgReport | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.summary, 1)
        layout.addLayout(row)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemActivated.connect(self._jump)
        self.list.itemClicked.connect(self._jump)
        self.list.currentItemChanged.connect(self._update_buttons)
        layout.addWidget(self.list)
        self.ack_button = QPushButton("Ackno&wledge…", self)
        self.ack_button.setToolTip(
            "Acknowledge the selected warning: record that you read it and why the report is still correct"
        )
        self.ack_button.clicked.connect(self.acknowledge_current)
        row.addWidget(self.ack_button)
        self.issues: list[Issue] = []

    def refresh(self, report: m.HsgReport, issues: list[Issue]) -> None:
        self._report = report
        self.issues = list(issues)
        errors = sum(i.severity is Severity.ERROR for i in issues)
        warnings = [i for i in issues if i.severity is Severity.WARNING]
        open_warnings = sum(not report.is_acknowledged(i.rule_id, i.field_path) for i in warnings)
        infos = sum(i.severity is Severity.INFO for i in issues)
        self.summary.setText(
            f"<span style='color:{SEVERITY_COLOUR[Severity.ERROR]}'><b>{errors}</b> error(s)</span> · "
            f"<span style='color:{SEVERITY_COLOUR[Severity.WARNING]}'><b>{open_warnings}</b> warning(s) to "
            f"acknowledge</span> ({len(warnings)} in all) · "
            f"<span style='color:{SEVERITY_COLOUR[Severity.INFO]}'>{infos} note(s)</span>"
        )
        current = self.list.currentItem()
        current_key = current.data(Qt.ItemDataRole.UserRole + 1) if current else None
        self.list.blockSignals(True)
        self.list.clear()
        for issue in issues:
            acked = report.is_acknowledged(issue.rule_id, issue.field_path)
            text = f"{SEVERITY_SYMBOL[issue.severity]} {issue.rule_id}  {issue.message}"
            if acked:
                text += "  (acknowledged)"
            item = QListWidgetItem(text)
            item.setForeground(QColor(SEVERITY_COLOUR[issue.severity]))
            item.setData(Qt.ItemDataRole.UserRole, issue)
            item.setData(Qt.ItemDataRole.UserRole + 1, (issue.rule_id, issue.field_path))
            item.setToolTip(issue.field_path)
            self.list.addItem(item)
            if (issue.rule_id, issue.field_path) == current_key:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.list.setVisible(bool(issues))
        # Grow with the number of messages up to ~6 lines, so a nearly finished report keeps its space.
        rows = sum(self.list.sizeHintForRow(i) for i in range(min(self.list.count(), 6)))
        self.list.setFixedHeight(max(rows + 2 * self.list.frameWidth() + 2, 24))
        self._update_buttons()

    def _current_issue(self) -> Issue | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _update_buttons(self, *_args: object) -> None:
        issue = self._current_issue()
        self.ack_button.setEnabled(
            issue is not None
            and issue.severity is Severity.WARNING
            and self._report is not None
            and not self._report.is_signed
        )

    def _jump(self, item: QListWidgetItem) -> None:
        issue = item.data(Qt.ItemDataRole.UserRole)
        if issue is not None:
            self.jump_requested.emit(issue.field_path)

    def acknowledge_current(self) -> None:
        issue = self._current_issue()
        if issue is None or self._report is None:
            return
        who = self._ask_who()
        if not who:
            return
        reason, ok = QInputDialog.getText(
            self, f"Acknowledge {issue.rule_id}", f"{issue.message}\n\nReason this report is still correct:"
        )
        if ok and reason.strip():
            self._report.acknowledge(issue.rule_id, issue.field_path, reason, who)


class ImpressionPanel(QWidget):
    """The live generated impression beside the report's own (editable, audited) sentences."""

    def __init__(self, ask_who: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ask_who = ask_who
        self._report: m.HsgReport | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        preview_label = QLabel("Generated from the findings (live preview):", self)
        layout.addWidget(preview_label)
        self.preview = QTextBrowser(self)
        self.preview.setMaximumHeight(120)
        self.preview.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        layout.addWidget(self.preview)
        self.stale = QLabel(self)
        self.stale.setWordWrap(True)
        self.stale.setStyleSheet("QLabel { color: #8a5300; }")
        layout.addWidget(self.stale)
        report_label = QLabel("Report impression (double-click or F2 to edit a sentence):", self)
        layout.addWidget(report_label)
        self.sentences = QListWidget(self)
        self.sentences.setWordWrap(True)
        self.sentences.setAlternatingRowColors(True)  # where one sentence ends and the next begins
        self.sentences.setMinimumHeight(70)
        self.sentences.setMaximumHeight(150)
        self.sentences.setEditTriggers(
            QListWidget.EditTrigger.DoubleClicked
            | QListWidget.EditTrigger.EditKeyPressed
            | QListWidget.EditTrigger.SelectedClicked
        )
        self.sentences.itemChanged.connect(self._sentence_edited)
        report_label.setBuddy(self.sentences)
        layout.addWidget(self.sentences)
        row = QHBoxLayout()
        self.use_generated = QPushButton("&Use generated", self)
        self.use_generated.setToolTip(
            "Replace the generated sentences with the current preview; sentences you edited or added are kept"
        )
        self.use_generated.clicked.connect(self.regenerate)
        self.add_button = QPushButton("Add sentence", self)
        self.add_button.clicked.connect(self._add)
        self.remove_button = QPushButton("Remove sentence", self)
        self.remove_button.clicked.connect(self._remove)
        for b in (self.use_generated, self.add_button, self.remove_button):
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)
        self.generated: list[m.ImpressionSentence] = []

    def refresh(self, report: m.HsgReport, generated: list[m.ImpressionSentence]) -> None:
        self._report = report
        self.generated = generated
        critical_style = " style='color:#b3261e'"
        html = "".join(f"<li{critical_style if s.critical else ''}>{_escape(s.text)}</li>" for s in generated)
        self.preview.setHtml(
            f"<ol style='margin-left:-20px'>{html}</ol>" if html else "<i>(no sentences)</i>"
        )
        current_generated = [s for s in report.impression.sentences if s.generated]
        stale = [s.text for s in current_generated] != [
            s.text for s in generated if s.source_key not in self._kept_keys(report)
        ]
        if not report.impression.sentences:
            self.stale.setText("The report has no impression yet — press “Use generated” or add a sentence.")
        elif stale:
            self.stale.setText("The findings changed since the impression was generated.")
        else:
            self.stale.setText("")
        self.stale.setVisible(bool(self.stale.text()))
        self.sentences.blockSignals(True)
        self.sentences.clear()
        for s in report.impression.sentences:
            item = QListWidgetItem(s.text)
            flags = item.flags() | Qt.ItemFlag.ItemIsEditable
            if report.is_signed:
                flags &= ~Qt.ItemFlag.ItemIsEditable
            item.setFlags(flags)
            if not s.generated:
                font = QFont(item.font())
                font.setItalic(True)
                item.setFont(font)
                item.setToolTip(
                    "Edited or added by the radiologist"
                    + (f"; generated: {s.generated_text}" if s.generated_text else "")
                )
            if s.critical:
                item.setForeground(QColor(SEVERITY_COLOUR[Severity.ERROR]))
            self.sentences.addItem(item)
        self.sentences.blockSignals(False)
        editable = not report.is_signed
        for b in (self.use_generated, self.add_button, self.remove_button):
            b.setEnabled(editable)

    @staticmethod
    def _kept_keys(report: m.HsgReport) -> set[str]:
        return {s.source_key for s in report.impression.sentences if not s.generated and s.source_key}

    def regenerate(self) -> None:
        if self._report is None:
            return
        who = self._ask_who()
        if who is None:
            return
        self._report.regenerate_impression(who)

    def _sentence_edited(self, item: QListWidgetItem) -> None:
        if self._report is None:
            return
        index = self.sentences.row(item)
        text = item.text().strip()
        who = self._ask_who() or ""
        if not text:
            self._report.remove_impression_sentence(index, who, "emptied in the form")
        else:
            self._report.edit_impression_sentence(index, text, who)

    def _add(self) -> None:
        if self._report is None:
            return
        text, ok = QInputDialog.getMultiLineText(self, "Add impression sentence", "Sentence:")
        if ok and text.strip():
            self._report.add_impression_sentence(text.strip(), self._ask_who() or "")

    def _remove(self) -> None:
        if self._report is None:
            return
        row = self.sentences.currentRow()
        if row < 0:
            return
        reason, ok = QInputDialog.getText(
            self, "Remove impression sentence", "Reason (kept in the audit log):"
        )
        if ok:
            self._report.remove_impression_sentence(row, self._ask_who() or "", reason)


class RecommendationsPanel(QWidget):
    """One recommendation per line; suggested ones come from the site's phrase library."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._report: m.HsgReport | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QPlainTextEdit(self)
        self.edit.setTabChangesFocus(True)
        self.edit.setPlaceholderText("One recommendation per line")
        self.edit.setFixedHeight(self.edit.fontMetrics().lineSpacing() * 4 + 12)
        self.edit.textChanged.connect(self._edited)
        layout.addWidget(self.edit)
        row = QHBoxLayout()
        self.suggest = QPushButton("Add suggested", self)
        self.suggest.setToolTip("Append the recommendations the findings trigger (site phrase library)")
        self.suggest.clicked.connect(self._add_suggested)
        row.addWidget(self.suggest)
        row.addStretch(1)
        layout.addLayout(row)
        self._silent = False

    def refresh(self, report: m.HsgReport) -> None:
        self._report = report
        text = "\n".join(r.text for r in report.recommendations)
        if self.edit.toPlainText().rstrip("\n") != text:
            self._silent = True
            self.edit.setPlainText(text)
            self._silent = False
        self.edit.setReadOnly(report.is_signed)
        self.suggest.setEnabled(not report.is_signed)

    def _edited(self) -> None:
        if self._silent or self._report is None or self._report.is_signed:
            return
        old = {r.text: r for r in self._report.recommendations}
        lines = [line.strip() for line in self.edit.toPlainText().splitlines() if line.strip()]
        new = [old.get(line) or m.Recommendation(text=line) for line in lines]
        if [r.text for r in new] != [r.text for r in self._report.recommendations]:
            self._report.set_value("recommendations", new)

    def _add_suggested(self) -> None:
        if self._report is None:
            return
        from hsg_workstation.reporting.impression import generate_recommendations

        have = {r.text for r in self._report.recommendations}
        extra = [r for r in generate_recommendations(self._report) if r.text not in have]
        if extra:
            self._report.set_value("recommendations", [*self._report.recommendations, *extra])


class KeyImagesPanel(QWidget):
    """Key images chosen in the viewer (``ReportForm.add_key_image``); removable here."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._report: m.HsgReport | None = None
        # SOP Instance UID -> the series' name in the viewer ("RF 2: HSG fill sequence"); set by the report dock
        self.labeler: Callable[[str], str] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget(self)
        self.list.setMaximumHeight(90)
        layout.addWidget(self.list)
        row = QHBoxLayout()
        self.hint = QLabel("Add key images from the viewer.", self)
        self.hint.setStyleSheet("QLabel { color: #555; }")
        self.remove_button = QPushButton("Remove key image", self)
        self.remove_button.clicked.connect(self._remove)
        row.addWidget(self.hint)
        row.addStretch(1)
        row.addWidget(self.remove_button)
        layout.addLayout(row)

    def refresh(self, report: m.HsgReport) -> None:
        self._report = report
        self.list.clear()
        for k in report.key_images:
            self.list.addItem(self.key_image_label(report, k))
        self.list.setVisible(bool(report.key_images))
        self.remove_button.setEnabled(bool(report.key_images) and not report.is_signed)

    def key_image_label(self, report: m.HsgReport, k: m.KeyImage) -> str:
        """'RF 2: HSG fill sequence, frame 17 — Left tube: patent, free spill': the series by its name, what the
        image shows from the recorded findings, the reader's note (never a UID tail or suggestion text)."""
        name = self.labeler(k.sop_instance_uid) if self.labeler is not None else ""
        if not name:
            uids = [s.sop_instance_uid for s in report.identity.source_instances]
            name = (
                f"study image {uids.index(k.sop_instance_uid) + 1}" if k.sop_instance_uid in uids else "image"
            )
        shown = findings_on_image(report, k.sop_instance_uid, int(k.frame_number))
        if k.note and not is_analysis_text(k.note):
            shown.append(k.note)
        return f"{name}, frame {k.frame_number}" + (f" — {'; '.join(shown)}" if shown else "")

    def _remove(self) -> None:
        if self._report is None:
            return
        row = self.list.currentRow()
        if row < 0 and self._report.key_images:
            row = len(self._report.key_images) - 1
        if row >= 0:
            keys = list(self._report.key_images)
            del keys[row]
            self._report.set_value("key_images", keys)
