"""Where the main window's docks go: the first-start layout, and when a saved layout may be restored.

Why apart from the window (it was 868 lines): the dock arrangement is a subject of its own — sizes on a first
start, a layout saved on another screen or by an older version not restored (a 1366×768 layout on a 1920×1080
screen, or the other way round with Sign off-screen), stale tab bars QMainWindow leaves behind. ``MainWindow``
mixes this in; it owns the docks (``browser_dock``, ``thumbs_dock``, ``keys_dock``, ``meas_dock``,
``extra_docks``), ``qsettings`` and ``layout_name``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QTabBar

# Bumped when the dock arrangement changes (3: the report is a full-height tab): an older saved state would
# bring back the old, cramped arrangement.
LAYOUT_VERSION = 3
# First-start width of the left column: a series thumbnail with its caption (THUMB + 70 px) and a scroll bar,
# the search box over the two date fields. Qt alone gives it ~140 px at 1366×768 (captions cut, scrolling).
LEFT_COLUMN_MIN_W = 200


class WindowLayout:
    """Mixin for ``MainWindow`` (a QMainWindow)."""

    def apply_first_start_layout(self) -> None:
        """Dock sizes for a first start (no saved state), applied once the window is shown (Qt ignores
        resizeDocks before): the series thumbnails are used on every study, the study list less often, and the
        key frame / measurement lists need a few rows, the report form the rest of the column."""
        left = (
            self.browser_dock
            if self.browser_dock.isVisible()
            else self.extra_docks.get("PACS", self.browser_dock)
        )
        self.resizeDocks([left, self.thumbs_dock], [260, 520], Qt.Orientation.Vertical)
        if left.width() < LEFT_COLUMN_MIN_W:  # a 1366 px screen: thumbnails and their captions uncut
            self.resizeDocks([left], [LEFT_COLUMN_MIN_W], Qt.Orientation.Horizontal)
        right = [self.keys_dock, self.meas_dock] + (
            [self.extra_docks["Report"]] if "Report" in self.extra_docks else []
        )
        self.resizeDocks(right, [130, 150, 700][: len(right)], Qt.Orientation.Vertical)
        bottom = [
            d
            for d in self.extra_docks.values()
            if self.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea and d.isVisible()
        ]
        QTimer.singleShot(0, self.hide_stale_tab_bars)  # once the new sizes are laid out
        if len(bottom) == 2:  # fill curve | suggestions: the suggestions' text needs the wider half
            width = max(self.centralWidget().width(), 400)
            self.resizeDocks(bottom, [int(width * 0.45), int(width * 0.55)], Qt.Orientation.Horizontal)

    def _available(self):
        screen = self.screen()
        return screen.availableGeometry() if screen is not None else self.geometry()

    def saved_layout_fits(self) -> bool:
        """Whether the saved window geometry and dock layout may be restored: saved by this layout version on a
        screen of this size. Why: a layout made on a 1366×768 laptop restored on a 1920×1080 screen keeps the
        cramped docks (and the other way round puts Sign off-screen); a new screen gets the first-start layout."""
        if str(self.qsettings.value("window/layout_version", "")) != str(LAYOUT_VERSION):
            return False
        try:
            w, h = (int(v) for v in str(self.qsettings.value("window/screen_size", "")).split("x"))
        except ValueError:
            return False
        avail = self._available()
        return (
            abs(w - avail.width()) <= 0.05 * avail.width()
            and abs(h - avail.height()) <= 0.05 * avail.height()
        )

    def hide_stale_tab_bars(self) -> int:
        """Hide dock tab bars no dock group uses any more; returns how many.

        Why: a tab group formed before the window had its size (PACS tabbed with Studies at start-up) leaves
        QMainWindow's first tab bar painted where the group was, over the series thumbnails. A tab bar in use
        sits right under its docks (tab position South, Qt's default); one under no visible dock is stale.
        """
        docks = [
            d.geometry()
            for d in self.findChildren(QDockWidget)
            if d.isVisible() and not d.isFloating() and d.geometry().top() >= 0
        ]
        hidden = 0
        for bar in self.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):
            g = bar.geometry()
            if not bar.isVisible():
                continue
            if not any(
                abs(d.bottom() + 1 - g.top()) <= 3 and d.left() <= g.center().x() <= d.right() for d in docks
            ):
                bar.hide()
                hidden += 1
        return hidden

    def restore_dock_state(self) -> bool:
        """Re-apply the saved dock layout. Called again by ``ui/app.py`` once the other areas' panels (report,
        fill curve, suggestions, PACS) are docked — Qt restores only docks that exist when restoreState runs."""
        if not self.saved_layout_fits():
            return False
        state = self.qsettings.value("window/state")
        return bool(state is not None and self.restoreState(state))

    # -- construction ---------------------------------------------------------------------------------

    def save_state(self) -> None:
        self.qsettings.setValue("window/geometry", self.saveGeometry())
        self.qsettings.setValue("window/state", self.saveState())
        avail = self._available()
        self.qsettings.setValue("window/screen_size", f"{avail.width()}x{avail.height()}")
        self.qsettings.setValue("window/layout_version", LAYOUT_VERSION)
        self.qsettings.setValue("viewer/layout", self.layout_name)
        self.qsettings.sync()
