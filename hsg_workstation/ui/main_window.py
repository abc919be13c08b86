"""The reading workstation's main window: study browser, series thumbnails, 1–4 viewports, cine bar, key frames.

Everything a reader uses every minute is one key away (see :mod:`shortcuts`) and also in a menu and, for the
frequent ones, the toolbar. The window holds no image state itself: the active :class:`Viewport` does, and
the Qt-free :class:`MeasurementStore` holds measurements and key frames for the report.

The actions / menus / toolbar (``window_actions.py``) and the dock layout and its persistence
(``window_layout.py``) are mixed in from modules of their own; this module keeps the window's state and what
happens on a study open / close, the viewports, the cine bar wiring and the key-frame / measurement lists.

Why ~630 lines still: those four are wired to each other through the window's signals (a study open resets the
viewports, the cine bar follows the active viewport, the lists follow the session); moving them apart would turn
those connections into a protocol between modules for no reader's benefit. The window's state itself is the
reading session's (``session.reading_session``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.dicom_io.model import DisplaySet, DisplaySetKind, Study
from hsg_workstation.session.measurements import KeyFrame, MeasurementStore, measurement_text
from hsg_workstation.session.reading_session import ReadingSession
from hsg_workstation.session.viewport_state import Tool, as_tool
from hsg_workstation.ui.cine_bar import CineBar
from hsg_workstation.ui.loader import shared_pool, shutdown_shared_pool
from hsg_workstation.ui.settings_dialog import WL_BUTTONS, SettingsDialog, ViewerSettings
from hsg_workstation.ui.shortcuts import SHORTCUTS, shortcuts_html
from hsg_workstation.ui.study_browser import StudyBrowser
from hsg_workstation.ui.thumbnails import SeriesThumbnails
from hsg_workstation.ui.viewport import TOOLS, Viewport
from hsg_workstation.ui.wheel_guard import install_wheel_guard
from hsg_workstation.ui.window_actions import LAYOUTS, WindowActions
from hsg_workstation.ui.window_layout import WindowLayout

ACTIVE_STYLE = "Viewport { border: 2px solid #3d8ee8; }"
INACTIVE_STYLE = "Viewport { border: 2px solid #202020; }"


class MainWindow(WindowActions, WindowLayout, QMainWindow):
    studyOpened = Signal(str)
    studyClosed = Signal()
    aboutToClose = Signal()  # docked panels stop their network/threads here
    activeFrameChanged = Signal(object, int)  # viewport, 0-based frame index (the active viewport only)
    viewportsChanged = Signal()  # viewports built / removed, or a viewport shows another display set

    def __init__(
        self,
        database,
        settings: QSettings | None = None,
        store: MeasurementStore | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("HSG Workstation")
        install_wheel_guard()  # the wheel never changes an unfocused pick-list (it scrolls the form)
        self.database = database
        self.qsettings = settings if settings is not None else QSettings("hsg-workstation", "viewer")
        self.viewer_settings = ViewerSettings.load(self.qsettings)
        # the Qt-free reading session owns the open study, its display sets, each viewport's state, the
        # measurements, key images and the bound report (session/reading_session.py); this window renders it
        self.session = ReadingSession(store or MeasurementStore())
        self.store = self.session.store
        self.viewports: list[Viewport] = []
        self.active: Viewport | None = None
        self.layout_name = str(self.qsettings.value("viewer/layout", "1x1"))
        if self.layout_name not in LAYOUTS:
            self.layout_name = "1x1"
        self.actions_by_id: dict[str, QAction] = {}

        # central: viewport grid + cine bar
        central = QWidget()
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        self.empty_label = QLabel("Open a study from the study browser (double-click).")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #aaa; background: #111;")
        self.grid.addWidget(self.empty_label, 0, 0)
        self.cine_bar = CineBar()
        v = QVBoxLayout(central)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(0)
        v.addWidget(self.grid_host, 1)
        v.addWidget(self.cine_bar)
        self.setCentralWidget(central)
        self._wire_cine_bar()

        # docks: the side columns run the full height (the report form and the series list get it); the bottom
        # area (fill curve, suggestions) sits under the viewports only.
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.TopRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setCorner(Qt.Corner.TopLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.browser = StudyBrowser(database)
        self.browser.studyActivated.connect(self.open_study)
        self.browser_dock = self._dock("Studies", self.browser, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.thumbnails = SeriesThumbnails()
        self.thumbnails.displaySetActivated.connect(self._thumbnail_clicked)
        self.thumbs_dock = self._dock("Series", self.thumbnails, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.key_list = QListWidget()
        self.key_list.itemActivated.connect(self._key_frame_activated)
        self.key_list.itemDoubleClicked.connect(self._key_frame_activated)
        key_host = QWidget()
        kl = QVBoxLayout(key_host)
        kl.setContentsMargins(2, 2, 2, 2)
        kl.addWidget(self.key_list)
        row = QHBoxLayout()
        self.key_button = QPushButton("Mark key frame (K)")
        self.key_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.key_button.clicked.connect(self.toggle_key_frame)
        row.addWidget(self.key_button)
        kl.addLayout(row)
        self.keys_dock = self._dock("Key frames", key_host, Qt.DockWidgetArea.RightDockWidgetArea)
        self.meas_list = QListWidget()
        self.meas_list.itemActivated.connect(self._measurement_activated)
        self.meas_list.itemDoubleClicked.connect(self._measurement_activated)
        meas_host = QWidget()
        ml = QVBoxLayout(meas_host)
        ml.setContentsMargins(2, 2, 2, 2)
        ml.addWidget(self.meas_list)
        del_btn = QPushButton("Delete selected")
        del_btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        del_btn.clicked.connect(self._delete_selected_measurement)
        ml.addWidget(del_btn)
        self.meas_dock = self._dock("Measurements", meas_host, Qt.DockWidgetArea.RightDockWidgetArea)
        self.extra_docks: dict[str, QDockWidget] = {}
        # controllers of the docked panels, set by ui/app.py dock_optional_panels (None when one failed to build)
        self.report_dock = None
        self.fill_curve = None
        self.analysis = None

        self.pixel_label = QLabel()
        self.statusBar().addPermanentWidget(self.pixel_label)
        self.status_label = QLabel()
        self.statusBar().addPermanentWidget(self.status_label)

        self._build_actions()
        self._build_menus_and_toolbar()

        self.store.added.connect(self._store_changed)
        self.store.removed.connect(self._store_changed)
        self.store.changed.connect(self._store_changed)
        self.store.key_frames_changed.connect(self._key_frames_changed)

        # A loop opens on its middle frame (the filled cavity), not on frame 1 (a grey square before contrast);
        # ui/app.py turns it on for the application, tests that step from frame 1 leave it off.
        self.open_on_filled_frame = False
        geometry = self.qsettings.value("window/geometry")
        if geometry is not None and self.saved_layout_fits():
            self.restoreGeometry(geometry)
        else:
            self.resize(min(1400, self._available().width()), min(900, self._available().height()))
        self.first_start = not self.restore_dock_state()
        self.browser.refresh()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.replace(' ', '_').lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def add_panel(
        self, title: str, widget: QWidget, area=Qt.DockWidgetArea.RightDockWidgetArea
    ) -> QDockWidget:
        """Dock another area's widget (PACS, report, fill curve) next to the viewer."""
        dock = self._dock(title, widget, area)
        self.extra_docks[title] = dock
        return dock

    # -- the open study: the session's ----------------------------------------------------------------------
    @property
    def study(self) -> Study | None:
        return self.session.study

    @property
    def display_sets(self) -> list[DisplaySet]:
        return self.session.display_sets

    # -- study lifecycle ------------------------------------------------------------------------------
    def open_study(self, study_uid: str) -> None:
        """Open a study: display sets from the database, the loop in the first viewport, spots in the others."""
        study = self.database.study(study_uid) if hasattr(self.database, "study") else None
        if study is None:
            study = next((s for s in self.database.studies() if s.study_instance_uid == study_uid), None)
        if study is None:
            self.statusBar().showMessage(f"Study {study_uid} is not in the local database")
            return
        self.close_study()
        self.session.open(study, self.database.display_sets(study_uid))
        self._build_viewports()
        if self.open_on_filled_frame:
            self._show_filled_frame()
        self.thumbnails.ap_display = self.viewer_settings.ap_display
        self.thumbnails.set_display_sets(self.display_sets)
        self._refresh_key_list()
        self._refresh_measurement_list()
        self.setWindowTitle(f"HSG Workstation — {study.patient_name.replace('^', ' ')} {study.study_date}")
        self.statusBar().showMessage(f"Opened study with {len(self.display_sets)} display sets", 4000)
        self.focus_viewport()
        self.studyOpened.emit(study_uid)

    def _show_filled_frame(self) -> None:
        """Loops in the viewports go to their middle frame: the cavity is filled there, frame 1 is before the
        contrast arrives."""
        for vp in self.viewports:
            ds = vp.display_set
            if ds is not None and ds.kind is DisplaySetKind.CINE and vp.frame_count > 2:
                vp.show_frame(vp.frame_count // 2)

    def refresh_display_sets(self, study_uid: str) -> None:
        """More of the open study arrived (a retrieve that opened it at its first instance went on): the new
        display sets join the thumbnail strip; the viewports keep what the reader is looking at."""
        if self.study is None or self.study.study_instance_uid != study_uid:
            return
        fresh = list(self.database.display_sets(study_uid))
        if [d.label for d in fresh] == [d.label for d in self.display_sets]:
            return
        self.session.set_display_sets(fresh)
        self.thumbnails.set_display_sets(self.display_sets)

    def focus_viewport(self) -> None:
        """Give the keyboard to the active viewport. Why: after start-up or a double-click in the study list the
        focus sits in the search box, which takes Space, K and the digits as text, so the reader's first
        key presses would type into the search instead of playing the loop or marking a key frame."""
        if self.active is not None:
            self.active.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def close_study(self) -> None:
        """Stop every decoder thread and timer and delete the viewports (nothing of the study survives)."""
        for vp in self.viewports:
            vp.close_viewport()
            self.grid.removeWidget(vp)
            vp.setParent(None)
            vp.deleteLater()
        self.viewports = []
        self.active = None
        self.thumbnails.set_display_sets([])
        shared_pool().clear()  # no decoded pixels of a closed study stay in memory (nor arrive later)
        if self.study is not None:
            self.session.close()
            self.studyClosed.emit()
        self.empty_label.show()
        self.key_list.clear()
        self.meas_list.clear()
        self._sync_cine_bar()
        self.viewportsChanged.emit()

    def _image_display_sets(self) -> list[int]:
        """Viewport order: the loops, then spot images taken after the first loop (what a reader compares the
        loop with), then the earlier stacks (the scout), then documents."""
        cines = [i for i, d in enumerate(self.display_sets) if d.kind is DisplaySetKind.CINE]
        stacks = [i for i, d in enumerate(self.display_sets) if d.kind is DisplaySetKind.STACK]
        first_cine = cines[0] if cines else -1
        order = cines + [i for i in stacks if i > first_cine] + [i for i in stacks if i < first_cine]
        order += [i for i, d in enumerate(self.display_sets) if d.kind is DisplaySetKind.DOCUMENT]
        return order

    def _new_viewport(self) -> Viewport:
        vp = Viewport(
            self.store,
            pool=shared_pool(self.viewer_settings.cache_mb * 1024 * 1024),
            state=self.session.add_viewport(),
        )
        vp.vb.wl_button = WL_BUTTONS[self.viewer_settings.wl_button]
        vp.cine.loop = self.viewer_settings.loop
        vp.cine.fps_override = self.viewer_settings.fps_override or None
        vp.set_overlays_visible(self.viewer_settings.overlays)
        vp.ap_display = self.viewer_settings.ap_display
        vp.instance_paths = self._instance_paths()
        vp.activated.connect(lambda v=vp: self.set_active(v))
        vp.frameChanged.connect(lambda _i, v=vp: self._viewport_frame_changed(v))
        vp.playingChanged.connect(lambda _p, v=vp: self._sync_cine_bar() if v is self.active else None)
        vp.bufferingChanged.connect(
            lambda text, v=vp: self.cine_bar.set_buffering(text) if v is self.active else None
        )
        vp.levelsChanged.connect(lambda *_a, v=vp: self._update_status() if v is self.active else None)
        vp.statusMessage.connect(lambda text: self.statusBar().showMessage(text, 6000))
        vp.pixelInfo.connect(self.pixel_label.setText)
        vp.toolFinished.connect(self._tool_finished)
        return vp

    def _build_viewports(self) -> None:
        rows, cols = LAYOUTS[self.layout_name]
        wanted = rows * cols if self.study is not None else 0
        while len(self.viewports) > wanted:
            vp = self.viewports.pop()
            self.session.remove_viewport(vp.state)
            vp.close_viewport()
            self.grid.removeWidget(vp)
            vp.setParent(None)
            vp.deleteLater()
        order = self._image_display_sets()
        while len(self.viewports) < wanted:
            vp = self._new_viewport()
            n = len(self.viewports)
            self.viewports.append(vp)
            ds = self.display_sets[order[n]] if n < len(order) else None
            vp.set_display_set(ds, self.study)
        for i, vp in enumerate(self.viewports):
            self.grid.addWidget(vp, i // cols, i % cols)
        for r in range(2):  # equal cells whatever they show (a document view would otherwise shrink images)
            self.grid.setRowStretch(r, 1 if r < rows else 0)
        for c in range(2):
            self.grid.setColumnStretch(c, 1 if c < cols else 0)
        self.empty_label.setVisible(not self.viewports)
        if self.active not in self.viewports:
            self.set_active(self.viewports[0] if self.viewports else None)
        self.viewportsChanged.emit()

    def set_layout(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; expected one of {list(LAYOUTS)}")
        self.layout_name = name
        for n in LAYOUTS:
            self.actions_by_id[f"layout_{n}"].setChecked(n == name)
        self.qsettings.setValue("viewer/layout", name)
        if self.study is not None:
            self._build_viewports()

    def set_active(self, vp: Viewport | None) -> None:
        self.active = vp
        self.session.set_active(vp.state if vp is not None else None)
        for v in self.viewports:
            v.setStyleSheet(ACTIVE_STYLE if (v is vp and len(self.viewports) > 1) else INACTIVE_STYLE)
        if vp is not None and vp.display_set is not None and vp.display_set in self.display_sets:
            self.thumbnails.setCurrentRow(self.display_sets.index(vp.display_set))
        self._sync_cine_bar()

    def _thumbnail_clicked(self, index: int) -> None:
        if self.active is not None and 0 <= index < len(self.display_sets):
            self.active.set_display_set(self.display_sets[index], self.study)
            self._sync_cine_bar()
            self.viewportsChanged.emit()
            self.focus_viewport()  # the list would take ←/→, Space, Home/End that the reader means for the cine

    # -- cine bar -------------------------------------------------------------------------------------
    def _wire_cine_bar(self) -> None:
        cb = self.cine_bar
        cb.firstClicked.connect(self._on_active("first"))
        cb.prevClicked.connect(self._on_active("step", -1))
        cb.playClicked.connect(self._on_active("toggle_play"))
        cb.nextClicked.connect(self._on_active("step", 1))
        cb.lastClicked.connect(self._on_active("last"))
        cb.frameSelected.connect(self._slider_frame)
        cb.rangeChanged.connect(self._set_range)
        cb.loopChanged.connect(self._set_loop)
        cb.fpsChanged.connect(self._set_fps)

    def _slider_frame(self, index: int) -> None:
        """Scrubbing the slider pauses playback (the reader is looking for a frame)."""
        if self.active is not None:
            self.active.pause()
            self.active.show_frame(index)

    def _set_range(self, first: int, last: int) -> None:
        if self.active is not None:
            self.active.cine.set_range(first, last)
            if self.active.cine.playing:
                self.active.pause()
                self.active.play()

    def _set_loop(self, on: bool) -> None:
        for vp in self.viewports:
            vp.cine.loop = on

    def _set_fps(self, fps: float) -> None:
        if self.active is not None:
            self.active.cine.fps_override = fps or None
            if self.active.cine.playing:
                self.active.pause()
                self.active.play()
            self._sync_cine_bar()

    def _viewport_frame_changed(self, vp: Viewport) -> None:
        if vp is self.active:
            self._sync_cine_bar()
            self._update_key_button()
            self.activeFrameChanged.emit(vp, vp.index)

    def _sync_cine_bar(self) -> None:
        vp = self.active
        if vp is None or not vp.frames:
            self.cine_bar.set_state(0, 0, False, (0, 0), "")
            self.cine_bar.set_buffering("")
            self._update_status()
            return
        timing = tip = ""
        if vp.header is not None and vp.display_set.kind is DisplaySetKind.CINE:
            source = vp.header.timing
            short = "override" if vp.cine.fps_override else source.attribute_name
            timing = f"{vp.cine.nominal_fps:.1f} fps ({short})"
            tip = f"{vp.cine.nominal_fps:.1f} fps ({'override' if vp.cine.fps_override else source.source})"
        self.cine_bar.set_state(vp.index, vp.frame_count, vp.cine.playing, vp.cine.range, timing, tip)
        self.cine_bar.set_buffering(vp.buffering_text)
        self._update_status()

    def _update_status(self) -> None:
        vp = self.active
        if vp is None or vp.header is None:
            self.status_label.setText("")
            return
        c, w = vp.window
        cal = vp.calibration()
        self.status_label.setText(
            f"Frame {vp.index + 1}/{vp.frame_count}   W {w:.0f} C {c:.0f}   "
            f"{'calibrated: ' + cal.basis.value if cal.is_calibrated else 'uncalibrated — px'}"
        )

    # -- tools, key frames, measurements --------------------------------------------------------------
    def set_tool(self, tool: Tool | str | None) -> None:
        tool = as_tool(tool)  # an unknown name is refused here, before any action changes
        for t in TOOLS:
            self.actions_by_id[t].setChecked(t == tool)
        # Enter closes a polygon only while that tool is armed; otherwise the window-wide shortcut would take
        # Enter from the study list (open study) and the report form
        self.actions_by_id["finish"].setEnabled(tool is Tool.POLYGON)
        for vp in self.viewports:
            vp.set_tool(tool)

    def cancel_tool(self) -> None:
        self.set_tool(None)

    def _tool_finished(self) -> None:
        # Calibrate is one-shot; measurement tools stay armed for the next one (Esc leaves).
        if self.actions_by_id["calibrate"].isChecked():
            self.set_tool(None)

    def toggle_key_frame(self) -> bool | None:
        vp = self.active
        if vp is None or vp.current_ref is None or self.study is None:
            return None
        ref = vp.current_ref
        uid = self.study.study_instance_uid
        # the message first: listeners of the change (the report dock) may put a more important one over it
        will_be_on = not self.store.is_key_frame(uid, ref.sop_instance_uid, ref.frame_number)
        self.statusBar().showMessage(
            f"Frame {ref.frame_number} {'marked as' if will_be_on else 'removed from'} key images", 3000
        )
        return self.store.toggle_key_frame(
            uid,
            KeyFrame(ref.sop_instance_uid, ref.frame_number, vp.display_set.label if vp.display_set else ""),
        )

    def _key_frames_changed(self, study_uid: str) -> None:
        if self.study is not None and study_uid == self.study.study_instance_uid:
            self._refresh_key_list()

    def _refresh_key_list(self) -> None:
        self.key_list.clear()
        if self.study is None:
            return
        for k in self.store.key_frames(self.study.study_instance_uid):
            # frame number first: still readable when a narrow dock cuts the series label
            item = QListWidgetItem(f"frame {k.frame_number} — {k.display_set_label}")
            item.setToolTip(item.text())
            item.setData(Qt.ItemDataRole.UserRole, k)
            self.key_list.addItem(item)
        self._update_key_button()

    def _update_key_button(self) -> None:
        vp = self.active
        on = bool(
            vp is not None
            and vp.current_ref is not None
            and self.study is not None
            and self.store.is_key_frame(
                self.study.study_instance_uid, vp.current_ref.sop_instance_uid, vp.current_ref.frame_number
            )
        )
        self.key_button.setText("Unmark key frame (K)" if on else "Mark key frame (K)")

    def jump_to(self, sop_instance_uid: str, frame_number: int) -> bool:
        """Show a frame (key frame / measurement) in the active viewport, switching display set if needed."""
        if self.active is None:
            return False
        for ds in self.display_sets:
            for i, ref in enumerate(ds.frames):
                if ref.sop_instance_uid == sop_instance_uid and ref.frame_number == frame_number:
                    if self.active.display_set != ds:
                        self.active.set_display_set(ds, self.study)
                        self.viewportsChanged.emit()
                    self.active.pause()
                    self.active.show_frame(i)
                    return True
        return False

    def _key_frame_activated(self, item: QListWidgetItem) -> None:
        k: KeyFrame = item.data(Qt.ItemDataRole.UserRole)
        self.jump_to(k.sop_instance_uid, k.frame_number)
        self.focus_viewport()

    def _store_changed(self, study_uid: str, _m) -> None:
        if self.study is not None and study_uid == self.study.study_instance_uid:
            self._refresh_measurement_list()

    def _refresh_measurement_list(self) -> None:
        self.meas_list.clear()
        if self.study is None:
            return
        for m in self.store.measurements(self.study.study_instance_uid):
            text = measurement_text(m).split("\n")[0] if m.kind.value != "arrow" else f"“{m.label}”"
            item = QListWidgetItem(f"{m.kind.value}, frame {m.region.frame_number}: {text}")
            item.setData(Qt.ItemDataRole.UserRole, m)
            self.meas_list.addItem(item)

    def _measurement_activated(self, item: QListWidgetItem) -> None:
        m = item.data(Qt.ItemDataRole.UserRole)
        self.jump_to(m.region.sop_instance_uid, m.region.frame_number)
        self.focus_viewport()

    def _delete_selected_measurement(self) -> None:
        item = self.meas_list.currentItem()
        if item is not None and self.study is not None:
            self.store.remove(self.study.study_instance_uid, item.data(Qt.ItemDataRole.UserRole).id)

    # -- misc -----------------------------------------------------------------------------------------
    def toggle_overlays(self) -> None:
        on = self.actions_by_id["overlays"].isChecked()
        self.viewer_settings.overlays = on
        for vp in self.viewports:
            vp.set_overlays_visible(on)

    def show_settings(self) -> None:
        dlg = SettingsDialog(self.viewer_settings, self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dlg.value())

    def apply_settings(self, s: ViewerSettings) -> None:
        self.viewer_settings = s
        s.save(self.qsettings)
        self.actions_by_id["overlays"].setChecked(s.overlays)
        self.cine_bar.loop.setChecked(s.loop)
        shared_pool(s.cache_mb * 1024 * 1024)
        for vp in self.viewports:
            vp.vb.wl_button = WL_BUTTONS[s.wl_button]
            vp.cine.loop = s.loop
            vp.cine.fps_override = s.fps_override or None
            vp.set_overlays_visible(s.overlays)
            if vp.ap_display != s.ap_display:
                vp.set_ap_display(s.ap_display)
        if self.thumbnails.ap_display != s.ap_display:
            self.thumbnails.ap_display = s.ap_display
            self.thumbnails.set_display_sets(self.display_sets)

    def _instance_paths(self) -> dict[str, Path]:
        """SOP Instance UID → file of the open study's images (a KO document names what it selects)."""
        return {inst.sop_instance_uid: Path(inst.path) for d in self.display_sets for inst in d.instances}

    def show_shortcuts(self) -> QDialog:
        dlg = QDialog(self)
        dlg.setWindowTitle("Keyboard shortcuts")
        text = QTextBrowser()
        text.setHtml(shortcuts_html())
        lay = QVBoxLayout(dlg)
        lay.addWidget(text)
        dlg.resize(520, 640)
        dlg.show()
        self._shortcuts_dialog = dlg
        return dlg

    def _about(self) -> None:
        QMessageBox.about(self, "HSG Workstation", "Reading workstation for hysterosalpingography.")

    def import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import DICOM folder")
        if folder:
            self.import_paths([folder])

    def import_paths(self, paths: list[str | Path]):
        """Import off the UI thread with a progress dialog (Cancel stops before the next file)."""
        from PySide6.QtWidgets import QProgressDialog

        from hsg_workstation.ui.importer import ImportJob, summarize

        job = ImportJob(self.database, list(paths), self)
        dlg = QProgressDialog("Importing…", "Cancel", 0, 0, self)
        dlg.setWindowTitle("Import")
        dlg.setMinimumDuration(400)
        dlg.canceled.connect(job.cancel)

        def progress(done: int, total: int, path: str) -> None:
            dlg.setMaximum(max(total, 1))
            dlg.setValue(done)
            dlg.setLabelText(f"Importing {done}/{total}\n{Path(path).name if path else ''}")

        def finished(results) -> None:
            dlg.reset()
            dlg.deleteLater()
            job.wait(5)
            self.statusBar().showMessage(summarize(results), 12000)
            self.browser.refresh()
            self.import_results = results
            job.deleteLater()

        job.progress.connect(progress)
        job.finished.connect(finished)
        self.import_job = job
        self.aboutToClose.connect(job.cancel)
        job.start()
        return job

    def closeEvent(self, ev) -> None:  # noqa: N802
        self.save_state()
        self.aboutToClose.emit()
        self.browser.stop()
        self.close_study()
        shutdown_shared_pool()  # every decoder thread and worker process ends with the window
        QTimer.singleShot(0, lambda: None)
        super().closeEvent(ev)


__all__ = ["MainWindow", "LAYOUTS", "SHORTCUTS"]
