"""The mouse wheel never changes a control the reader has not focused.

Why: scrolling the report form with the wheel passes the pointer over pick-lists; Qt's combo and spin boxes take
the wheel (and a combo even takes the focus from it: WheelFocus), so "Cycle pattern" silently became
"Hormonal suppression" and the change was autosaved. One application-wide filter fixes every form, dialog and
dock at once:

* when a combo / spin box is polished its focus policy becomes StrongFocus (click or Tab, never the wheel);
* a wheel event over an unfocused one is handed to the scroll area around it, which scrolls instead.
A focused control still answers the wheel, as the reader expects after clicking into it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QWidget,
)

_GUARDED = (QComboBox, QAbstractSpinBox)


class WheelGuard(QObject):
    """Application event filter: see the module docstring."""

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 - Qt naming
        etype = ev.type()
        if etype == QEvent.Type.Wheel:
            target = _guarded_owner(obj)
            if target is not None and not target.hasFocus():
                _scroll_enclosing_area(target, ev)
                return True
        elif etype == QEvent.Type.Polish and isinstance(obj, _GUARDED):
            if obj.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                obj.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return False


def _scroll_enclosing_area(widget: QWidget, ev: QEvent) -> None:
    """Give the wheel turn to the scroll area around ``widget`` (its scroll bar), else drop it. Done here
    rather than by ignoring the event: Qt propagates only spontaneous wheel events to the parents."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    if parent is not None:
        bar = parent.verticalScrollBar()
        if bar is not None and bar.isVisible():
            QApplication.sendEvent(bar, ev.clone())
    ev.accept()


def _guarded_owner(obj: QObject) -> QWidget | None:
    """The combo / spin box the wheel event is for (a spin box's inner line edit counts as the spin box)."""
    if isinstance(obj, _GUARDED):
        return obj
    parent = obj.parent() if isinstance(obj, QWidget) else None
    if isinstance(parent, QAbstractSpinBox):
        return parent
    return None


_guard: WheelGuard | None = None


def install_wheel_guard(app: QApplication | None = None) -> WheelGuard:
    """Install the guard on the application once (idempotent)."""
    global _guard
    app = app or QApplication.instance()
    if _guard is None:
        _guard = WheelGuard()
    if app is not None:
        # (installed before the window builds its widgets, so every combo / spin box is polished under it)
        app.removeEventFilter(_guard)
        app.installEventFilter(_guard)
    return _guard


__all__ = ["WheelGuard", "install_wheel_guard"]
