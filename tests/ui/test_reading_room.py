"""Issue 11 on the real main window with the report docked (offscreen, real Qt events): the wheel never changes an
unfocused control (point 2), the window fits 1366×768 with Sign visible (point 4), first start on a filled
frame (point 4)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.session.measurements import MeasurementStore
from hsg_workstation.ui.app import dock_optional_panels
from hsg_workstation.ui.main_window import MainWindow
from tests.ui.helpers import wait_until

pytestmark = pytest.mark.timeout(180)
SAMPLES = Path(__file__).parents[2] / "sample_data"


@pytest.fixture
def room(qtbot, data_dir: Path, tmp_path: Path):
    """The main window with the report form docked and the normal sample study open."""
    folder = tmp_path / "normal"
    shutil.copytree(SAMPLES / "normal", folder)
    db = LocalDatabase(data_dir)
    db.import_paths([folder])
    settings = QSettings(str(tmp_path / "viewer.ini"), QSettings.Format.IniFormat)
    w = MainWindow(db, settings, MeasurementStore())
    qtbot.addWidget(w)
    dock_optional_panels(w, db, data_dir)
    w.resize(1366, 768)
    w.show()
    w.open_study(db.studies()[0].study_instance_uid)
    wait_until(lambda: w.active is not None and w.active.displayed_index >= 0)
    wait_until(lambda: w.report_dock is not None and w.report_dock.form.isEnabled())
    yield w
    w.close()
    db.close()


def _wheel(widget, steps: int = -1) -> None:
    """A wheel turn over the middle of ``widget``, delivered to the top-level window like real input (so Qt finds
    the widget under the pointer and propagates an ignored event to its parents)."""
    top = widget.window()
    handle = top.windowHandle()
    local = QPointF(widget.mapTo(top, QPoint(widget.width() // 2, widget.height() // 2)))
    glob = QPointF(top.mapToGlobal(local.toPoint()))
    ev = QWheelEvent(
        local,
        glob,
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(handle, ev)
    QApplication.processEvents()


def test_wheel_over_unfocused_pick_list_scrolls_the_form_and_changes_nothing(room) -> None:
    form = room.report_dock.form
    combo = form.rows["safety.cycle_pattern"].editor.combo
    form.scroll.ensureWidgetVisible(combo)
    QApplication.processEvents()
    room.focus_viewport()
    assert not combo.hasFocus()
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel cannot take the focus either
    before_index = combo.currentIndex()
    before_value = form.report.safety.cycle_pattern
    bar = form.scroll.verticalScrollBar()
    before_scroll = bar.value()
    assert before_scroll > 0  # (so a wheel turn upwards can scroll)
    _wheel(combo, +1)
    assert combo.currentIndex() == before_index
    assert form.report.safety.cycle_pattern == before_value
    assert bar.value() != before_scroll  # the wheel went to the form: it scrolled
    # once the reader clicks into it, the wheel is the control's again
    form.scroll.ensureWidgetVisible(combo)
    QApplication.processEvents()
    QTest.mouseClick(combo, Qt.MouseButton.LeftButton)
    QApplication.processEvents()
    if combo.view().isVisible():
        combo.hidePopup()
    combo.setFocus()
    _wheel(combo, -1)
    assert combo.currentIndex() != before_index


def test_window_fits_1366x768_with_the_report_full_height_and_sign_visible(room) -> None:
    hint = room.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768
    room.resize(1366, 768)
    QApplication.processEvents()
    assert room.width() <= 1366 and room.height() <= 768
    form = room.report_dock.form
    dock = room.report_dock.dock
    # a tab of its own in the right column, raised, running (nearly) the whole height of the dock area
    assert dock in room.tabifiedDockWidgets(room.keys_dock)
    assert not dock.visibleRegion().isEmpty()
    assert dock.height() > 0.75 * (room.height() - room.menuBar().height() - room.statusBar().height() - 40)
    sign = form.sign_button
    top_left = sign.mapTo(room, QPoint(0, 0))
    assert sign.isVisible() and sign.visibleRegion().boundingRect().size() == sign.size()
    assert 0 <= top_left.x() and top_left.x() + sign.width() <= room.width()
    assert 0 <= top_left.y() and top_left.y() + sign.height() <= room.height()
    assert room.statusBar().isVisible() and room.statusBar().mapTo(room, QPoint(0, 0)).y() < room.height()


def test_cramped_layout_is_not_restored_on_another_screen(qtbot, data_dir, tmp_path) -> None:
    db = LocalDatabase(data_dir)
    ini = str(tmp_path / "v.ini")
    try:
        w = MainWindow(db, QSettings(ini, QSettings.Format.IniFormat))
        qtbot.addWidget(w)
        w.show()
        w.save_state()
        w.close()
        again = MainWindow(db, QSettings(ini, QSettings.Format.IniFormat))
        qtbot.addWidget(again)
        assert again.saved_layout_fits() and not again.first_start  # same screen: remembered
        again.close()
        qs = QSettings(ini, QSettings.Format.IniFormat)
        qs.setValue("window/screen_size", "1366x700")  # saved on a smaller screen than this one
        qs.sync()
        other = MainWindow(db, QSettings(ini, QSettings.Format.IniFormat))
        qtbot.addWidget(other)
        avail = other.screen().availableGeometry()
        if (avail.width(), avail.height()) != (1366, 700):
            assert not other.saved_layout_fits() and other.first_start
        other.close()
    finally:
        db.close()


def test_app_opens_the_loop_on_a_filled_frame(qtbot, data_dir, tmp_path) -> None:
    from hsg_workstation.ui.app import create_main_window

    folder = tmp_path / "samples"
    shutil.copytree(SAMPLES / "normal", folder / "normal")
    window, db = create_main_window(str(data_dir), sample_dir=folder)
    qtbot.addWidget(window)
    try:
        vp = window.active
        wait_until(lambda: vp.displayed_index == vp.frame_count // 2)
        # the shown frame has the contrast in it (iodine is dark on these MONOCHROME2 loops): hundreds more
        # dark pixels than frame 1, taken before the contrast arrives
        from hsg_workstation.ui.loader import frame_key

        first = vp.loader.decode_now(frame_key(vp.frames[0]))
        assert int((vp.frame < 1000).sum()) > int((first < 1000).sum()) + 200
    finally:
        window.close_study()
        window.close()
        db.close()
