"""Small typed editors for the report form: one per kind of model value (enum, multi-enum, bool, number, text, date).

Why our own thin editors instead of bare Qt widgets: every report field may be *unanswered* (``None``) — a
radiologist who has not looked at the left tube yet must not be recorded as "No" or "0". Each editor therefore
has an explicit empty state, one ``value()`` / ``set_value()`` pair speaking model values, and one
``value_changed`` signal that fires only on user edits (``set_value`` from the model is silent), so the
form can write user edits into the model without echo loops.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QDoubleValidator, QIntValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from hsg_workstation.reporting.enums import LEGACY_VALUES
from hsg_workstation.reporting.vocabulary import vocabulary

EMPTY_TEXT = "—"


def humanize(token: str) -> str:  # for tokens the vocabulary does not know
    """Turn an internal enum value (``secondary_infertility``) into pick-list text (``Secondary infertility``)."""
    text = str(token).replace("_", " ").strip()
    if not text:
        return token
    # Keep codes such as "U2a", "C0", "V1", "AFS" as written.
    if len(text) <= 4 and any(ch.isdigit() for ch in text):
        return text
    return text[0].upper() + text[1:]


def enum_label(member: enum.Enum) -> str:
    """Pick-list text of an enum member: its own ``label`` attribute when the model defines one."""
    label = getattr(member, "label", None)
    if isinstance(label, str) and label:
        return label
    if str(member.value):  # the report vocabulary holds the display label of every coded value (issue 12)
        concept = vocabulary().get(f"value:{type(member).__name__}.{member.value}")
        if concept is not None:
            return concept.label
    return humanize(str(member.value))


class ValueEditor(QWidget):
    """Base of all editors. ``value_changed`` is emitted only for user edits, never by ``set_value``."""

    value_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._silent = False
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def value(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        self._silent = True
        try:
            self._apply(value)
        finally:
            self._silent = False

    def _apply(self, value: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _emit(self, *_args: object) -> None:
        if not self._silent:
            self.value_changed.emit(self.value())

    def focus_widget(self) -> QWidget:
        """The widget a label's mnemonic should focus (QLabel.setBuddy)."""
        return self


class EnumEditor(ValueEditor):
    """A pick list of one enum; the first entry "—" means unanswered (``None``) when ``optional``."""

    def __init__(
        self, enum_cls: type[enum.Enum], optional: bool = True, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.enum_cls = enum_cls
        self.optional = optional
        self.combo = QComboBox(self)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(12)
        # Qt turns StrEnum item data into plain str; keep the members here and map by index instead.
        self._choices: list[enum.Enum | None] = [None] if optional else []
        # values kept only so older reports still read (e.g. anterior / posterior body) are not offered
        self._legacy = LEGACY_VALUES.get(enum_cls, frozenset())
        self._choices.extend(m for m in enum_cls if m.value not in self._legacy)
        for choice in self._choices:
            self.combo.addItem(EMPTY_TEXT if choice is None else enum_label(choice))
        self._layout.addWidget(self.combo)
        self.setFocusProxy(self.combo)
        self.combo.currentIndexChanged.connect(self._emit)

    def value(self) -> enum.Enum | None:
        index = self.combo.currentIndex()
        return self._choices[index] if 0 <= index < len(self._choices) else None

    def index_of(self, value: Any) -> int:
        if value is not None and not isinstance(value, self.enum_cls):
            value = self.enum_cls(value)
        return self._choices.index(value) if value in self._choices else -1

    def _apply(self, value: Any) -> None:
        if value is not None and self.index_of(value) < 0:
            member = value if isinstance(value, self.enum_cls) else self.enum_cls(value)
            if member.value in self._legacy:  # an older report's value: shown as it is, marked, never offered
                self._choices.append(member)
                self.combo.addItem(f"{enum_label(member)} (older report)")
        self.combo.setCurrentIndex(max(self.index_of(value), 0))

    def set_offered(self, offered: frozenset | None) -> None:
        """Grey out the values the report cannot support (listed, never pickable — neither by mouse nor keys);
        ``None`` offers every value. A value already recorded stays shown; the rules say why it cannot stand.
        With one value left, "—" is greyed out too (the model sets that value: see ``reporting.eshre``)."""
        model = self.combo.model()
        for i, choice in enumerate(self._choices):
            item = model.item(i) if hasattr(model, "item") else None
            if item is None:
                continue
            # with one value left there is nothing to decide: "—" (unanswered) is not offered either
            ok = offered is None or (choice in offered if choice is not None else len(offered) != 1)
            if item.isEnabled() != ok:
                item.setEnabled(ok)
                item.setToolTip("" if ok else "not supported by the findings recorded above")

    def offered(self) -> list[enum.Enum]:
        """The values that can be picked now (tests, benchmark)."""
        model = self.combo.model()
        return [c for i, c in enumerate(self._choices) if c is not None and model.item(i).isEnabled()]

    def focus_widget(self) -> QWidget:
        return self.combo


class MultiEnumEditor(ValueEditor):
    """A grid of check boxes for a multi-valued enum field (indications, contraindications, views ...).

    An ``exclusive`` member (``none``) clears the others when ticked, and is cleared when another is ticked:
    "none" plus "vasovagal" is a contradiction the form can prevent rather than report.
    """

    def __init__(
        self,
        enum_cls: type[enum.Enum],
        columns: int = 2,
        container: Callable[[Iterable[Any]], Any] = frozenset,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.enum_cls = enum_cls
        self.container = container
        grid_host = QWidget(self)
        grid = QGridLayout(grid_host)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        self.boxes: dict[enum.Enum, QCheckBox] = {}
        for i, member in enumerate(enum_cls):
            box = QCheckBox(enum_label(member).replace("&", "&&"), grid_host)
            box.toggled.connect(lambda checked, m=member: self._on_toggled(m, checked))
            grid.addWidget(box, i // columns, i % columns)
            self.boxes[member] = box
        self._layout.addWidget(grid_host)
        first = next(iter(self.boxes.values()), None)
        if first is not None:
            self.setFocusProxy(first)

    def _exclusive(self, member: enum.Enum) -> bool:
        return str(member.value).lower() == "none"

    def _on_toggled(self, member: enum.Enum, checked: bool) -> None:
        if self._silent:
            return
        if checked:
            self._silent = True
            try:
                for other, box in self.boxes.items():
                    if other is member:
                        continue
                    if self._exclusive(member) or self._exclusive(other):
                        box.setChecked(False)
            finally:
                self._silent = False
        self._emit()

    def value(self) -> Any:
        return self.container(m for m, box in self.boxes.items() if box.isChecked())

    def _apply(self, value: Any) -> None:
        chosen = {v if isinstance(v, self.enum_cls) else self.enum_cls(v) for v in (value or ())}
        for member, box in self.boxes.items():
            box.setChecked(member in chosen)

    def focus_widget(self) -> QWidget:
        return self.focusProxy() or self


class TriStateEditor(ValueEditor):
    """Yes / No / unanswered for ``bool | None`` fields (a check box cannot say "not yet answered")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox(self)
        self.combo.addItem(EMPTY_TEXT, None)
        self.combo.addItem("Yes", True)
        self.combo.addItem("No", False)
        self._layout.addWidget(self.combo)
        self.setFocusProxy(self.combo)
        self.combo.currentIndexChanged.connect(self._emit)

    def value(self) -> bool | None:
        return self.combo.currentData()

    def _apply(self, value: Any) -> None:
        self.combo.setCurrentIndex({None: 0, True: 1, False: 2}[None if value is None else bool(value)])

    def focus_widget(self) -> QWidget:
        return self.combo


class BoolEditor(ValueEditor):
    """A plain check box for non-optional booleans."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QCheckBox(text, self)
        self._layout.addWidget(self.box)
        self.setFocusProxy(self.box)
        self.box.toggled.connect(self._emit)

    def value(self) -> bool:
        return self.box.isChecked()

    def _apply(self, value: Any) -> None:
        self.box.setChecked(bool(value))

    def focus_widget(self) -> QWidget:
        return self.box


class _LineBased(ValueEditor):
    """Text box whose empty text means ``None``; text that does not parse is shown red and not written."""

    placeholder = ""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = QLineEdit(self)
        self.line.setPlaceholderText(self.placeholder)
        self.line.setClearButtonEnabled(False)
        self._layout.addWidget(self.line)
        self.setFocusProxy(self.line)
        self.line.textEdited.connect(self._on_edited)
        self._valid = True

    def _parse(self, text: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _format(self, value: Any) -> str:
        return "" if value is None else str(value)

    @property
    def is_valid(self) -> bool:
        return self._valid

    def _on_edited(self, text: str) -> None:
        try:
            self._parse(text.strip())
        except ValueError:
            self._valid = False
            self.line.setStyleSheet("QLineEdit { background: #fde2e1; }")
            self.line.setToolTip(f"Not a valid value: {text!r}")
            return
        self._valid = True
        self.line.setStyleSheet("")
        self.line.setToolTip("")
        self._emit()

    def value(self) -> Any:
        try:
            return self._parse(self.line.text().strip())
        except ValueError:
            return None

    def _apply(self, value: Any) -> None:
        text = self._format(value)
        if self.line.text() != text:
            self.line.setText(text)
        if not self._valid:
            self._valid = True
            self.line.setStyleSheet("")

    def focus_widget(self) -> QWidget:
        return self.line


class IntEditor(_LineBased):
    placeholder = "integer"

    def __init__(self, minimum: int = 0, maximum: int = 100000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.minimum, self.maximum = minimum, maximum
        self.line.setValidator(QIntValidator(minimum, maximum, self.line))
        self.line.setMaximumWidth(110)
        self.line.setAlignment(Qt.AlignmentFlag.AlignRight)
        self._layout.addStretch(1)

    def _parse(self, text: str) -> int | None:
        if not text:
            return None
        value = int(text)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(text)
        return value


class FloatEditor(_LineBased):
    placeholder = "number"

    def __init__(
        self, unit: str = "", minimum: float = 0.0, maximum: float = 1e6, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.minimum, self.maximum = minimum, maximum
        validator = QDoubleValidator(minimum, maximum, 3, self.line)
        validator.setNotation(QDoubleValidator.Notation.StandardNotation)
        self.line.setValidator(validator)
        self.line.setMaximumWidth(110)
        self.line.setAlignment(Qt.AlignmentFlag.AlignRight)
        if unit:
            from PySide6.QtWidgets import QLabel

            self._layout.addWidget(QLabel(unit, self))
        self._layout.addStretch(1)

    def _parse(self, text: str) -> float | None:
        if not text:
            return None
        value = float(text.replace(",", "."))
        if not self.minimum <= value <= self.maximum:
            raise ValueError(text)
        return value

    def _format(self, value: Any) -> str:
        if value is None:
            return ""
        return f"{float(value):g}"


class DateEditor(_LineBased):
    """ISO date (YYYY-MM-DD). A line edit rather than QDateEdit because QDateEdit cannot be empty."""

    placeholder = "YYYY-MM-DD"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line.setMaximumWidth(110)
        self._layout.addStretch(1)

    def _parse(self, text: str) -> dt.date | None:
        if not text:
            return None
        return dt.date.fromisoformat(text)

    def _format(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)


class DateTimeEditor(_LineBased):
    """Local date and time ``YYYY-MM-DD HH:MM`` (e.g. when the pregnancy test was done)."""

    placeholder = "YYYY-MM-DD HH:MM"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line.setMaximumWidth(150)
        self._layout.addStretch(1)

    def _parse(self, text: str) -> dt.datetime | None:
        if not text:
            return None
        return dt.datetime.fromisoformat(text.replace("T", " "))

    def _format(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return value.strftime("%Y-%m-%d %H:%M")
        return str(value)


class TextEditor(_LineBased):
    def _parse(self, text: str) -> str | None:
        return text or None


class LongTextEditor(ValueEditor):
    """Multi-line free text (clinical details, recommendations). Empty means ``""``, not ``None``."""

    def __init__(self, lines: int = 3, empty_is_none: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_is_none = empty_is_none
        self.edit = QPlainTextEdit(self)
        self.edit.setTabChangesFocus(True)  # keyboard users tab through the form, not into the text
        height = self.edit.fontMetrics().lineSpacing() * lines + 12
        self.edit.setFixedHeight(height)
        self._layout.addWidget(self.edit)
        self.setFocusProxy(self.edit)
        self.edit.textChanged.connect(self._emit)

    def value(self) -> str | None:
        text = self.edit.toPlainText()
        if self.empty_is_none and not text.strip():
            return None
        return text

    def _apply(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if self.edit.toPlainText() != text:
            self.edit.setPlainText(text)

    def focus_widget(self) -> QWidget:
        return self.edit
