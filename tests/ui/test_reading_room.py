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
