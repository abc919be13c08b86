"""Tab order of the report form: every field in reading order, filling-defect rows included.

Why: Qt's default Tab order is the order widgets were created. Filling-defect blocks are created when the
reader adds a defect, long after the rest of the form, so Tab jumped from the defect section straight to the
end of the form and the defect fields were reachable only with the mouse. Here the order is recomputed from the
layouts themselves (section → block → form row → editor → check box), so it always follows what is on screen.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLayout, QWidget


def _tabbable(w: QWidget) -> bool:
    return bool(w.focusPolicy() & Qt.FocusPolicy.TabFocus) and w.focusProxy() is None


def _walk(layout: QLayout) -> Iterator[QWidget]:
    for i in range(layout.count()):
        item = layout.itemAt(i)
        w = item.widget()
        if w is not None:
            if w.isHidden():
                continue
            if _tabbable(w):
                yield w
            if w.layout() is not None:
                yield from _walk(w.layout())
        elif item.layout() is not None:
            yield from _walk(item.layout())


def reading_order(root: QWidget) -> list[QWidget]:
    """The focusable widgets under ``root`` in layout (reading) order."""
    return list(_walk(root.layout())) if root.layout() is not None else []


def fix_tab_order(root: QWidget) -> list[QWidget]:
    """Chain Tab through ``root``'s widgets in reading order; returns that order (tests read it)."""
    order = reading_order(root)
    for a, b in zip(order, order[1:], strict=False):
        QWidget.setTabOrder(a, b)
    return order


__all__ = ["fix_tab_order", "reading_order"]
