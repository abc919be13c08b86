"""Test helpers: open a study in a MainWindow, drive the mouse with held buttons (QTest cannot)."""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if predicate():
            return
        time.sleep(0.005)
    raise AssertionError("condition not met in time")


def _send(widget: QWidget, etype, pos: QPointF, button, buttons) -> None:
    glob = QPointF(widget.mapToGlobal(pos.toPoint()))
    ev = QMouseEvent(etype, pos, glob, button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def drag(
    widget: QWidget, start: QPointF, end: QPointF, button=Qt.MouseButton.LeftButton, steps: int = 8
) -> None:
    """Press at ``start``, move in steps with the button held, release at ``end`` (widget coordinates)."""
    _send(widget, QEvent.Type.MouseButtonPress, start, button, button)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        time.sleep(0.012)  # pyqtgraph drops moves closer than its mouseRateLimit (100 Hz)
        _send(widget, QEvent.Type.MouseMove, p, Qt.MouseButton.NoButton, button)
        QApplication.processEvents()
    _send(widget, QEvent.Type.MouseButtonRelease, end, button, Qt.MouseButton.NoButton)
    QApplication.processEvents()


def click(widget: QWidget, pos: QPointF, double: bool = False) -> None:
    b = Qt.MouseButton.LeftButton
    _send(widget, QEvent.Type.MouseButtonPress, pos, b, b)
    _send(widget, QEvent.Type.MouseButtonRelease, pos, b, Qt.MouseButton.NoButton)
    if double:
        _send(widget, QEvent.Type.MouseButtonDblClick, pos, b, b)
        _send(widget, QEvent.Type.MouseButtonRelease, pos, b, Qt.MouseButton.NoButton)
    QApplication.processEvents()


def to_point(p: QPointF) -> QPoint:
    return p.toPoint()
