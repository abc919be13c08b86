"""The report form's "Go to" section navigation (and Ctrl+PgDown / Ctrl+PgUp).

Why apart from the form's widgets: moving between sections is a subject of its own — which sections are offered
(only those on screen), keeping "Go to" on the section at the top of the view, focusing a section's first editor
so typing can start at once. ``ReportForm`` mixes this in; it owns ``section_nav`` (the pick-list), ``scroll``
and ``_nav_boxes`` (the section group boxes in reading order).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGroupBox, QScrollArea


class SectionNavigation:
    """Mixin for ``ReportForm``."""

    section_nav: QComboBox
    scroll: QScrollArea
    _nav_boxes: list[QGroupBox]

    def _shown_sections(self) -> list[QGroupBox]:
        return [b for b in self._nav_boxes if not b.isHidden()]

    def _refresh_nav(self) -> None:
        """ "Go to" lists only the sections on screen (a hidden one, e.g. the critical result, is not offered)."""
        shown = self._shown_sections()
        wanted = [b.objectName() for b in shown]
        have = [self.section_nav.itemData(i) for i in range(self.section_nav.count())]
        if wanted == have:
            return
        current = self.section_nav.currentData()
        self.section_nav.blockSignals(True)
        self.section_nav.clear()
        for b in shown:
            self.section_nav.addItem(b.title().replace("&&", "&"), b.objectName())
        index = self.section_nav.findData(current)
        self.section_nav.setCurrentIndex(max(index, 0))
        self.section_nav.blockSignals(False)

    def _jump_to_section(self, index: int) -> None:
        key = self.section_nav.itemData(index)
        target = next((b for b in self._shown_sections() if b.objectName() == key), None)
        if target is None:
            return
        self.scroll.verticalScrollBar().setValue(target.y())
        nxt = target.nextInFocusChain()
        for _ in range(200):  # focus the section's first editor so typing can start at once
            if (
                nxt.isVisibleTo(self)
                and nxt.focusPolicy() & Qt.FocusPolicy.TabFocus
                and target.isAncestorOf(nxt)
            ):
                nxt.setFocus(Qt.FocusReason.TabFocusReason)
                break
            nxt = nxt.nextInFocusChain()

    def _follow_section(self, y: int) -> None:
        """Keep "Go to" showing the section at the top of the view."""
        boxes = self._shown_sections()
        current = next((b for b in reversed(boxes) if b.y() <= y + 5), boxes[0] if boxes else None)
        if current is not None:
            self.section_nav.blockSignals(True)
            self.section_nav.setCurrentIndex(self.section_nav.findData(current.objectName()))
            self.section_nav.blockSignals(False)

    def step_section(self, delta: int) -> None:
        """Jump to the next (+1) or previous (-1) section from the one at the top of the view."""
        y = self.scroll.verticalScrollBar().value()
        boxes = self._shown_sections()
        if not boxes:
            return
        current = max((i for i, b in enumerate(boxes) if b.y() <= y + 5), default=0)
        target = boxes[max(0, min(len(boxes) - 1, current + delta))]
        self._jump_to_section(self.section_nav.findData(target.objectName()))
