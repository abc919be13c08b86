"""The Qt viewport renders the session's ``ViewportState`` (napari's QtDims(dims) test pattern): a change made on
the model is what the widget shows, and a gesture on the widget is written to the model. Real mouse events for
the gestures; the main window's session holds the open study and the state of every viewport."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.voi import VoiPreset
from hsg_workstation.measurements import MeasurementKind
from hsg_workstation.session.measurements import MeasurementStore
from hsg_workstation.session.viewport_state import Tool, VoiMode
from hsg_workstation.ui.main_window import MainWindow
from tests.ui.helpers import drag, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def window(qtbot, data_dir: Path, study_dir: Path, settings_path: Path):
    db = LocalDatabase(data_dir)
    db.import_paths([study_dir])
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    w = MainWindow(db, settings, MeasurementStore())
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    w.open_study(db.studies()[0].study_instance_uid)
    wait_until(lambda: w.active is not None and w.active.displayed_index == 0)
    yield w
    w.close()
    db.close()


def test_the_session_holds_the_open_study_and_each_viewports_state(window) -> None:
    session, vp = window.session, window.active
    assert session.study is window.study and session.display_sets is window.display_sets
    assert session.active is vp.state and vp.state in session.viewports
    assert vp.state.display_set is vp.display_set and vp.state.study is session.study
    window.close_study()
    assert session.study is None and session.viewports == [] and session.active is None


def test_a_change_made_on_the_state_is_rendered(window) -> None:
    vp = window.active
    state = vp.state
    state.index = 5  # e.g. a hanging protocol or the session jumping to a key frame
    wait_until(lambda: vp.displayed_index == 5)
    assert "Frame 6/" in vp.overlay_texts()["tr"]
    state.set_window((100.0, 300.0), VoiPreset("Custom", 200.5, 201.0))
    assert tuple(vp.image_item.levels) == (100.0, 300.0)
    assert "W 201  C 200" in vp.overlay_texts()["bl"]
    state.tool = Tool.LENGTH
    assert vp.view.cursor().shape() == Qt.CursorShape.CrossCursor
    state.tool = None
    assert vp.view.cursor().shape() == Qt.CursorShape.ArrowCursor
    before = vp.image_space.transform()
    state.set_orientation(0, not state.orientation[1], state.orientation[2])
    assert vp.image_space.transform() != before and vp.display_flips == state.orientation
    state.inverted = True
    assert vp.image_item.lut is not None and "INV" in vp.overlay_texts()["bl"]


def test_a_gesture_on_the_widget_is_written_to_the_state(window) -> None:
    vp = window.active
    state = vp.state
    frames: list[int] = []
    windows: list[tuple[float, float]] = []
    state.frame_changed.connect(frames.append)
    state.window_changed.connect(lambda lo, hi: windows.append((lo, hi)))
    vp.step(1)
    assert state.index == 1 and frames == [1]
    # right-drag = window / level (the configured W/L button), real mouse events
    view = vp.view.viewport()
    centre = vp.image_to_widget((32.0, 32.0))
    drag(view, centre, centre + type(centre)(40.0, 20.0), button=Qt.MouseButton.RightButton)
    assert windows and state.levels == vp.levels and state.voi_mode is VoiMode.LINEAR
    assert tuple(vp.image_item.levels) == pytest.approx(state.levels)
    window.set_tool("length")
    assert state.tool is Tool.LENGTH
    drag(view, vp.image_to_widget((10.0, 10.0)), vp.image_to_widget((50.0, 10.0)))
    m = next(m for m in window.store.measurements(vp.study.study_instance_uid))
    assert m.kind is MeasurementKind.LENGTH and m.region.frame_number == state.index + 1
    vp.rotate90()
    assert state.orientation[0] == 90 and vp.display_flips == state.orientation
