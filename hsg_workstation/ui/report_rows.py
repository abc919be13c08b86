"""Rows and blocks of the report form: one row = label (with mnemonic) + typed editor + inline rule messages;
one block = the rows about one finding, with "Mark on image" / "Unlink last" when the finding can carry image
links. The editor of each row is chosen from the model's type hint, so the model stays the single source of
what a field can hold.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.rules import validate
from hsg_workstation.ui import report_binding as rb
from hsg_workstation.ui.report_editors import (
    BoolEditor,
    DateEditor,
    DateTimeEditor,
    EnumEditor,
    FloatEditor,
    IntEditor,
    LongTextEditor,
    MultiEnumEditor,
    TextEditor,
    TriStateEditor,
    ValueEditor,
    enum_label,
)
from hsg_workstation.ui.report_panels import IssueLabel
from hsg_workstation.ui.report_sections import BlockSpec, FieldSpec

if TYPE_CHECKING:
    from collections.abc import Callable


def make_editor(report: m.HsgReport, spec: FieldSpec, parent: QWidget | None = None) -> ValueEditor:
    """Choose the editor from the model's type hint for ``spec.path``."""
    kind, extra, optional = rb.classify(rb.field_type(report, spec.path))
    if kind is rb.Kind.ENUM:
        # "—" (unanswered) only where the model allows None; required-with-default fields have no empty state.
        return EnumEditor(extra, optional=optional, parent=parent)
    if kind is rb.Kind.MULTI_ENUM:
        enum_cls, container = extra
        columns = 1 if max((len(enum_label(e)) for e in enum_cls), default=0) > 26 else 2
        return MultiEnumEditor(enum_cls, columns=columns, container=container, parent=parent)
    if kind is rb.Kind.OPTIONAL_BOOL:
        return TriStateEditor(parent)
    if kind is rb.Kind.BOOL:
        return BoolEditor("", parent)
    if kind is rb.Kind.INT:
        return IntEditor(int(spec.minimum), int(spec.maximum), parent=parent)
    if kind is rb.Kind.FLOAT:
        return FloatEditor(spec.unit, float(spec.minimum), float(spec.maximum), parent=parent)
    if kind is rb.Kind.DATE:
        return DateEditor(parent)
    if kind is rb.Kind.DATETIME:
        return DateTimeEditor(parent)
    if spec.lines:
        return LongTextEditor(spec.lines, parent=parent)
    return TextEditor(parent)


_REQUIRED: frozenset[str] | None = None


def required_paths() -> frozenset[str]:
    """Fields an empty report must fill to be signed (rule V00 on a blank report), computed once."""
    global _REQUIRED
    if _REQUIRED is None:
        _REQUIRED = frozenset(i.field_path for i in validate(m.HsgReport()) if i.rule_id == "V00")
    return _REQUIRED


class FieldRow:
    """One form row: label (with mnemonic), editor, and the inline rule messages under the editor."""

    def __init__(self, report: m.HsgReport, spec: FieldSpec, form: QFormLayout, parent: QWidget) -> None:
        self.spec = spec
        self.path = spec.path
        kind, _extra, optional = rb.classify(rb.field_type(report, spec.path))
        self.kind, self.optional = kind, optional
        self.container = QWidget(parent)
        box = QVBoxLayout(self.container)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        self.editor = make_editor(report, spec, self.container)
        self.editor.setObjectName(spec.path)
        if spec.tooltip:
            self.editor.setToolTip(spec.tooltip)
        box.addWidget(self.editor)
        self.messages = IssueLabel(self.container)
        box.addWidget(self.messages)
        if spec.when is not None or spec.path in required_paths():
            # this row's "required to sign" message comes and goes with the answers: its line is reserved
            self.messages.reserve_line()
        label_text = spec.label + (f" ({spec.unit})" if spec.unit and kind is not rb.Kind.FLOAT else "")
        self.label = QLabel(label_text, parent)
        self.label.setBuddy(self.editor.focus_widget())
        self.label.setToolTip(spec.path)
        form.addRow(self.label, self.container)
        self.form = form

    def set_visible(self, visible: bool) -> None:
        """A row that does not apply is greyed out, never hidden: showing / hiding rows moved every field below
        under the reader's pointer (ticking an indication made 'Duration of infertility' appear and the next
        click tick PID instead of 'none')."""
        self.label.setEnabled(visible)
        self.container.setEnabled(visible)

    @property
    def is_visible(self) -> bool:
        """Whether the row applies (is editable); it is always on screen."""
        return self.container.isEnabled()


class BlockWidget(QGroupBox):
    """A titled group of rows about one finding; optionally with "Mark on image" and its linked regions."""

    def __init__(
        self,
        report: m.HsgReport,
        spec: BlockSpec,
        parent: QWidget | None = None,
        remove: Callable[[], None] | None = None,
        *,
        mark: Callable[[str], None] | None = None,
        unlink: Callable[[str], None] | None = None,
    ) -> None:
        """``mark(path)`` / ``unlink(path)``: what "Mark on image" / "Unlink last" do for this finding (the form
        passes its signal and method; the block knows nothing else of the form)."""
        super().__init__(spec.title, parent)
        self.spec = spec
        self.path = spec.path
        if not spec.title:
            self.setFlat(True)
            self.setStyleSheet("QGroupBox { border: 0; margin-top: 0; padding-top: 0; }")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 4)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # A narrow dock puts a long row's field under its label instead of scrolling sideways.
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.form.setVerticalSpacing(4)
        outer.addLayout(self.form)
        self.rows: list[FieldRow] = [FieldRow(report, f, self.form, self) for f in spec.fields]
        self.messages = IssueLabel(self)
        outer.addWidget(self.messages)
        self.mark_button: QPushButton | None = None
        self.unlink_button: QPushButton | None = None
        self.links_label: QLabel | None = None
        self.remove_button: QPushButton | None = None
        if (spec.links and mark is not None and unlink is not None) or remove is not None:
            row = QHBoxLayout()
            if spec.links and mark is not None and unlink is not None:
                self.mark_button = QPushButton("Mark on image", self)
                self.mark_button.setToolTip(
                    "Draw a region on the current frame and link it to this finding (SR SCOORD + image reference)"
                )
                self.mark_button.clicked.connect(lambda: mark(self.path))
                self.links_label = QLabel(self)
                self.links_label.setStyleSheet("QLabel { color: #555; }")
                self.unlink_button = QPushButton("Unlink last", self)
                self.unlink_button.setToolTip("Remove the most recently linked region of this finding")
                self.unlink_button.clicked.connect(lambda: unlink(self.path))
                row.addWidget(self.mark_button)
                row.addWidget(self.links_label)
                row.addWidget(self.unlink_button)
            row.addStretch(1)
            if remove is not None:
                self.remove_button = QPushButton("Remove", self)
                self.remove_button.setToolTip("Remove this filling defect")
                self.remove_button.clicked.connect(remove)
                row.addWidget(self.remove_button)
            outer.addLayout(row)

    def refresh_links(self, report: m.HsgReport) -> None:
        if self.links_label is None:
            return
        try:
            links = report.get_value(f"{self.path}.image_links")
        except (KeyError, AttributeError, IndexError):
            links = []
        n = len(links)
        self.links_label.setText("" if not n else f"{n} linked region{'s' if n != 1 else ''}")
        self.links_label.setToolTip(_describe_links(report, links) if n else "")
        if self.unlink_button is not None:
            self.unlink_button.setVisible(n > 0)
            self.unlink_button.setEnabled(n > 0 and not report.is_signed)


def _describe_links(report: m.HsgReport, links: list[m.ImageLink]) -> str:
    parts = []
    for link in links:
        region = report.link_region(link)  # a linked measurement as it is now
        kind = region.region_type.value.lower() if region else "image"
        parts.append(f"{kind} on frame {link.frame_number} of …{link.sop_instance_uid[-8:]}")
    return "\n".join(parts)
