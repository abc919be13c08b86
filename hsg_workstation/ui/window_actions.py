"""The main window's actions, menus and toolbar: every command one key away, in a menu, the frequent ones on
the toolbar.

Why apart from the window (it was 868 lines): which commands exist, their keys (``ui/shortcuts.py``), texts and
where they appear is a subject of its own; the window's slots do the work. ``MainWindow`` mixes this in; it owns
``actions_by_id``, the docks, ``active`` and the slots the actions call.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from hsg_workstation.ui.shortcuts import shortcut
from hsg_workstation.ui.viewport import TOOLS

LAYOUTS = {"1x1": (1, 1), "1x2": (1, 2), "2x2": (2, 2)}
# Toolbar texts (QAction.iconText): short enough that the whole toolbar fits a 1366 px wide window with no »
# overflow; the menus keep the full names and every button's tooltip names the action and its key.
TOOLBAR_TEXT = {
    "layout_1x1": "1×1",
    "layout_1x2": "1×2",
    "layout_2x2": "2×2",
    "one_to_one": "1:1",
    "rotate": "Rotate",
    "flip_h": "Flip H",
    "flip_v": "Flip V",
    "analysis_overlay": "Analysis",
    "ellipse": "Ellipse",
    "polygon": "Polygon",
    "arrow": "Arrow",
    "calibrate": "Calibrate",
    "key_frame": "Key frame",
}


class WindowActions:
    """Mixin for ``MainWindow`` (a QMainWindow)."""

    actions_by_id: dict[str, QAction]

    def _action(self, aid: str, text: str, slot: Callable, checkable: bool = False, keys=None) -> QAction:
        act = QAction(text, self)
        try:
            key = shortcut(aid)
        except KeyError:
            key = None
        seqs = [QKeySequence(k) for k in (keys or ([key] if key else []))]
        if seqs:
            act.setShortcuts(seqs)
            act.setToolTip(f"{text} ({seqs[0].toString()})")
        if aid in TOOLBAR_TEXT:
            act.setIconText(TOOLBAR_TEXT[aid])
            if not seqs:
                act.setToolTip(text)
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setCheckable(checkable)
        act.triggered.connect(lambda *_: slot())
        self.addAction(act)
        self.actions_by_id[aid] = act
        return act

    def _on_active(self, method: str, *args) -> Callable[[], None]:
        def run() -> None:
            if self.active is not None:
                getattr(self.active, method)(*args)

        return run

    def _build_actions(self) -> None:
        a = self._action
        a("import", "Import folder…", self.import_folder, keys=["Ctrl+I"])
        a("close_study", "Close study", self.close_study, keys=["Ctrl+W"])
        a("settings", "Settings…", self.show_settings, keys=["Ctrl+,"])
        a("quit", "Quit", self.close, keys=["Ctrl+Q"])
        a("play", "Play / pause", self._on_active("toggle_play"))
        a("prev", "Previous frame", self._on_active("step", -1))
        a("next", "Next frame", self._on_active("step", 1))
        a("first", "First frame", self._on_active("first"))
        a("last", "Last frame", self._on_active("last"))
        a("zoom_in", "Zoom in", self._on_active("zoom", 1.25), keys=["+", "=", "Ctrl++"])
        a("zoom_out", "Zoom out", self._on_active("zoom", 0.8), keys=["-", "Ctrl+-"])
        a("fit", "Fit", self._on_active("fit"))
        a("one_to_one", "1:1 pixels", self._on_active("one_to_one"))
        a("rotate", "Rotate 90°", self._on_active("rotate90"))
        a("flip_h", "Flip horizontal", self._on_active("flip_horizontal"))
        a("flip_v", "Flip vertical", self._on_active("flip_vertical"))
        a("invert", "Invert", self._on_active("toggle_invert"))
        a("reset_wl", "Reset W/L", self._on_active("reset_levels"))
        a("reset", "Reset view", self._on_active("reset_view"))
        a("auto_wl", "Auto W/L", self._on_active("auto_levels"))
        for n in range(1, 10):
            a(f"preset{n}", f"Preset {n}", self._preset_slot(n), keys=[str(n)])
        a("key_frame", "Mark / unmark key frame", self.toggle_key_frame)
        a(
            "delete_measurement",
            "Delete selected measurement",
            self._delete_selected_measurement,
            keys=["Delete"],
        )
        a("cancel", "Cancel tool", self.cancel_tool)
        a("finish", "Finish polygon", self._on_active("finish_polygon"), keys=["Return", "Enter"])
        a("overlays", "Overlays", self.toggle_overlays, checkable=True).setChecked(
            self.viewer_settings.overlays
        )
        a("loop", "Loop", lambda: self.cine_bar.loop.toggle())
        self.tool_group = QActionGroup(self)
        self.tool_group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        names = {
            "length": "Length",
            "angle": "Angle",
            "ellipse": "Ellipse ROI",
            "polygon": "Polygon ROI",
            "arrow": "Arrow + text",
            "calibrate": "Calibrate…",
        }
        for t in TOOLS:
            act = a(t, names[t], self._tool_slot(t), checkable=True)
            self.tool_group.addAction(act)
        for name in LAYOUTS:
            a(f"layout_{name}", f"Layout {name.replace('x', '×')}", self._layout_slot(name), checkable=True)
        self.actions_by_id[f"layout_{self.layout_name}"].setChecked(True)
        self.actions_by_id["finish"].setEnabled(False)  # see set_tool
        a("shortcuts", "Keyboard shortcuts", self.show_shortcuts, keys=["F1"])
        a("about", "About", self._about)

    def _preset_slot(self, n: int) -> Callable[[], None]:
        return lambda: self.active.apply_preset(n) if self.active else None

    def _tool_slot(self, tool: str) -> Callable[[], None]:
        return lambda: self.set_tool(tool if self.actions_by_id[tool].isChecked() else None)

    def _layout_slot(self, name: str) -> Callable[[], None]:
        return lambda: self.set_layout(name)

    def _build_menus_and_toolbar(self) -> None:
        ids = self.actions_by_id
        mb = self.menuBar()
        m = self.file_menu = mb.addMenu("&File")
        for k in ("import", "close_study"):
            m.addAction(ids[k])
        m.addSeparator()
        m.addAction(ids["settings"])
        m.addSeparator()
        m.addAction(ids["quit"])
        m = self.view_menu = mb.addMenu("&View")
        for k in ("layout_1x1", "layout_1x2", "layout_2x2"):
            m.addAction(ids[k])
        m.addSeparator()
        for k in (
            "zoom_in",
            "zoom_out",
            "fit",
            "one_to_one",
            "rotate",
            "flip_h",
            "flip_v",
            "invert",
            "overlays",
        ):
            m.addAction(ids[k])
        self.docks_menu = m.addMenu("Panels")
        for d in (self.browser_dock, self.thumbs_dock, self.keys_dock, self.meas_dock):
            self.docks_menu.addAction(d.toggleViewAction())
        m = mb.addMenu("&Image")
        self.presets_menu = m.addMenu("Window/level presets")
        self.presets_menu.aboutToShow.connect(self._fill_presets_menu)
        for k in ("auto_wl", "reset_wl", "reset"):
            m.addAction(ids[k])
        m = mb.addMenu("&Cine")
        for k in ("play", "prev", "next", "first", "last", "loop"):
            m.addAction(ids[k])
        m = mb.addMenu("&Tools")
        for t in TOOLS:
            m.addAction(ids[t])
        m.addSeparator()
        m.addAction(ids["cancel"])
        m.addAction(ids["delete_measurement"])
        m.addAction(ids["key_frame"])
        m = mb.addMenu("&Help")
        m.addAction(ids["shortcuts"])
        m.addAction(ids["about"])

        tb = self.toolbar = self.addToolBar("Main")
        tb.setObjectName("toolbar_main")
        for k in ("layout_1x1", "layout_1x2", "layout_2x2"):
            tb.addAction(ids[k])
        tb.addSeparator()
        for k in ("fit", "one_to_one", "rotate", "flip_h", "flip_v", "invert", "overlays"):
            tb.addAction(ids[k])
        tb.addSeparator()
        for k in ("auto_wl", "reset_wl"):
            tb.addAction(ids[k])
        tb.addSeparator()
        for t in TOOLS:
            tb.addAction(ids[t])
        tb.addSeparator()
        tb.addAction(ids["key_frame"])

    def add_toggle_action(self, aid: str, text: str, slot: Callable, checked: bool = False) -> QAction:
        """A checkable View-menu + toolbar action for a docked area's feature (key from ``ui/shortcuts.py``)."""
        act = self._action(aid, text, slot, checkable=True)
        act.setChecked(checked)
        self.view_menu.insertAction(self.actions_by_id["overlays"], act)
        self.toolbar.insertAction(self.actions_by_id["overlays"], act)
        return act

    def _fill_presets_menu(self) -> None:
        self.presets_menu.clear()
        if self.active is None:
            return
        for i, p in enumerate(self.active.presets(), start=1):
            act = self.presets_menu.addAction(
                f"{i}  {p.name}" + (f" — {p.explanation}" if p.explanation else "")
            )
            act.triggered.connect(lambda *_, n=i: self.active.apply_preset(n) if self.active else None)

    # -- study lifecycle ------------------------------------------------------------------------------
