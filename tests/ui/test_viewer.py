"""Viewer behaviour on small synthetic studies: cine timing, W/L, measurements, key frames, keys, layouts."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import generate_uid
from PySide6.QtCore import QPointF, QSettings, Qt, QTimer

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.frame_cache import THREAD_LANE_NAME as THREAD_LANE
from hsg_workstation.dicom_io.model import DisplaySetKind
from hsg_workstation.measurements import CalibrationBasis, MeasurementKind
from hsg_workstation.session.measurements import MeasurementStore
from hsg_workstation.ui.loader import shared_pool
from hsg_workstation.ui.main_window import MainWindow
from tests.ui.conftest import make_rf
from tests.ui.helpers import click, drag, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def database(data_dir: Path, study_dir: Path):
    db = LocalDatabase(data_dir)
    db.import_paths([study_dir])
    yield db
    db.close()


@pytest.fixture
def window(qtbot, database, settings_path: Path):
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    w = MainWindow(database, settings, MeasurementStore())
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    w.open_study(database.studies()[0].study_instance_uid)
    wait_until(lambda: w.active is not None and w.active.displayed_index == 0)
    yield w
    w.close()


def loaded_loader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hsg-decode") and t.is_alive()]


def study_left_nothing_in_the_pool() -> bool:
    """After a study closes the app-wide decode pool keeps only idle lanes: no queue, no listener, no pixels."""
    pool = shared_pool()
    return pool.idle() and len(pool.cache) == 0 and pool._listeners == []


def test_open_study_shows_first_frame_of_loop_with_file_window(window) -> None:
    vp = window.active
    assert vp.display_set.kind is DisplaySetKind.CINE
    assert vp.frame_count == 12
    assert vp.frame.shape == (64, 64)
    # frame 0 of the generated loop is the column index: value == column
    assert vp.frame[5, 7] == 7
    assert vp.levels == (0.0, 4095.0)  # C 2048 / W 4096 from the file, not autoLevels
    assert vp.image_item.levels is not None and tuple(vp.image_item.levels) == (0.0, 4095.0)
    texts = vp.overlay_texts()
    assert "TEST HSG" in texts["tl"] and "2026-01-15" in texts["tl"]
    assert "Frame 1/12" in texts["tr"]
    assert "W 4096" in texts["bl"]
    assert "at detector" in texts["br"]
    assert vp.scale_bar.text.endswith("mm")
    assert [window.thumbnails.item(i).text() for i in range(window.thumbnails.count())][0].startswith("RF 1")


def test_cine_plays_frames_in_order_with_frame_time_vector(window) -> None:
    vp = window.active
    # Frame Time Vector [0, 50×5, 150×6]: frames 1–5 last 50 ms, frames 6–12 last 150 ms
    assert vp.cine._durations == [50.0] * 5 + [150.0] * 7
    starts = np.concatenate([[0.0], np.cumsum(vp.cine._durations)]) / 1000.0
    vp.play()
    wait_until(lambda: vp.cine.stats.due >= 10, timeout=10)
    vp.pause()
    shown = vp.cine.stats.shown
    indices = [i for i, _ in shown]
    assert indices[0] == 0
    assert all(b > a for a, b in zip(indices, indices[1:], strict=False))  # in order (a busy CPU may skip)
    assert len(shown) + vp.cine.stats.dropped >= 10
    for i, t in shown:
        assert t >= starts[i] - 0.002  # never before its slot in the Frame Time Vector
    assert not vp.cine.playing
    assert "t = " in vp.overlay_texts()["tr"]
    # the cine bar names the attribute (chosen by FrameTiming.origin, not by cutting the description); the
    # tooltip has the tag
    window._sync_cine_bar()
    label = window.cine_bar.timing_label
    assert label.full_text().endswith("fps (Frame Time Vector)") and "(0018,1065)" in label.toolTip()
    # what is shown is the whole text, or its beginning ending in "…" when the bar has no room (1366 px)
    shown = label.text()
    assert shown == label.full_text() or (shown.endswith("…") and label.full_text().startswith(shown[:-1]))
    assert label.fontMetrics().horizontalAdvance(shown) <= label.width()


def test_fps_override_and_subrange_loop(window) -> None:
    vp = window.active
    window.cine_bar.fps.setValue(20.0)  # 50 ms per frame, ignoring the tags
    window.cine_bar.range_first.setValue(3)
    window.cine_bar.range_last.setValue(5)  # frames 3..5 (1-based) = indices 2..4
    vp.show_frame(2)
    vp.play()
    wait_until(lambda: vp.cine.stats.due >= 8, timeout=10)
    vp.pause()
    indices = [i for i, _ in vp.cine.stats.shown]
    assert indices[0] == 2
    assert set(indices) <= {2, 3, 4}  # never leaves the sub-range
    assert any(a == 4 and b == 2 for a, b in zip(indices, indices[1:], strict=False))  # loops back
    # a frame is never shown before its slot: 50 ms each from the start of play
    # (the k-th painted frame's slot starts at k × 50 ms or later — drops only delay)
    for serial, (_i, t) in enumerate(vp.cine.stats.shown):
        assert t >= 0.050 * serial - 0.002
    assert vp.cine.nominal_fps == pytest.approx(20.0)


def test_decoding_happens_off_the_ui_thread(window, monkeypatch) -> None:
    from hsg_workstation.ui import frames as fr

    seen: set[str] = set()
    original = fr.decode_frame

    def spy(header, index):
        seen.add(threading.current_thread().name)
        return original(header, index)

    monkeypatch.setattr(fr, "decode_frame", spy)
    window.set_layout("1x2")  # a new viewport decodes the spot images from scratch
    second = window.viewports[1]
    wait_until(lambda: second.displayed_index == 0)
    # The first frame of an uncompressed image is read directly (cheaper than the thread hop) ...
    seen.clear()
    second.show_frame(1)  # ... every other frame comes from the decoder thread (prefetch or on demand)
    wait_until(lambda: second.displayed_index == 1)
    assert seen <= {THREAD_LANE}
    third = window.viewports[0]
    third.set_display_set(window.display_sets[-1], window.study)  # another series, not yet decoded
    wait_until(lambda: third.displayed_index == 0)
    wait_until(lambda: shared_pool().idle())
    shared_pool().cache.clear()  # the cache is shared: the other viewport decoded this series already
    seen.clear()
    third.show_frame(3)
    wait_until(lambda: third.displayed_index == 3)
    assert "MainThread" not in seen and THREAD_LANE in seen


def test_newer_request_supersedes_prefetch(window, monkeypatch) -> None:
    """A jump while a long prefetch is queued is served next, not after the queue."""
    import time as _time

    from hsg_workstation.ui import frames as fr

    decoded: list[int] = []
    original = fr.decode_frame

    def slow(header, index):
        _time.sleep(0.03)
        decoded.append(index)
        return original(header, index)

    window.set_layout("1x2")
    vp = window.viewports[1]  # the spot stack: only its first frame is decoded so far
    big = window.display_sets[0]  # the 12-frame loop, not yet in this viewport's cache
    monkeypatch.setattr(fr, "decode_frame", slow)
    vp.set_display_set(big, window.study)  # first frame read directly (uncompressed)
    wait_until(lambda: vp.displayed_index == 0)
    wait_until(lambda: shared_pool().idle())
    shared_pool().cache.clear()  # the cache is shared: the first viewport decoded this loop already
    vp.loader.request([("x", 0)] + [(str(big.frames[i].path), i) for i in range(1, 11)])  # long prefetch
    decoded.clear()
    vp.show_frame(11)
    wait_until(lambda: vp.displayed_index == 11, timeout=10)
    assert 11 in decoded[:2]  # at most the frame already being decoded came first


def test_wl_drag_with_right_button_changes_window(window) -> None:
    vp = window.active
    c0, w0 = vp.window
    widget = vp.view.viewport()
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    drag(widget, centre, centre + QPointF(100, 50), button=Qt.MouseButton.RightButton)
    c1, w1 = vp.window
    k = 4095.0 / 1024.0
    assert w1 == pytest.approx(w0 + 100 * k, abs=2 * k)
    assert c1 == pytest.approx(c0 + 50 * k, abs=2 * k)
    assert tuple(vp.image_item.levels) == pytest.approx(vp.levels)
    assert f"W {w1:.0f}" in vp.overlay_texts()["bl"]


def test_wl_button_is_configurable(window) -> None:
    from hsg_workstation.ui.settings_dialog import ViewerSettings

    window.apply_settings(ViewerSettings(wl_button="middle"))
    vp = window.active
    before = vp.window
    widget = vp.view.viewport()
    c = QPointF(widget.width() / 2, widget.height() / 2)
    drag(widget, c, c + QPointF(80, 0), button=Qt.MouseButton.RightButton)  # now pans
    assert vp.window == before
    drag(widget, c, c + QPointF(80, 0), button=Qt.MouseButton.MiddleButton)
    assert vp.window[1] > before[1]


def test_presets_auto_and_reset(window, qtbot) -> None:
    vp = window.active
    presets = vp.presets()
    assert presets[0].name == "Fluoro default" and presets[0].source == "file"
    assert any(p.source == "builtin" and p.explanation for p in presets)
    qtbot.keyClick(window, Qt.Key.Key_2)
    assert vp.voi.name == presets[1].name
    vp.auto_levels()
    lo, hi = vp.levels
    assert 0 <= lo < hi <= 63  # frame 0 holds values 0..63
    vp.rotate90()
    vp.toggle_invert()
    vp.zoom(3.0)
    qtbot.keyClick(window, Qt.Key.Key_R)
    assert vp.levels == (0.0, 4095.0)
    assert vp.image_space.transform().isIdentity() and not vp.inverted
    p = vp.image_space.mapToParent(QPointF(63.5, 0.5))
    assert (p.x(), p.y()) == pytest.approx((63.5, 0.5))


def _known_length_window(qtbot, tmp_path: Path, ermf: float | None, spacing: float | None):
    d = tmp_path / f"len-{ermf}-{spacing}"
    d.mkdir()
    make_rf(d / "img.dcm", frames=3, study_uid=generate_uid(), imager_spacing=spacing, ermf=ermf, size=128)
    db = LocalDatabase(tmp_path / f"db-{ermf}-{spacing}")
    db.import_paths([d])
    w = MainWindow(db, QSettings(str(tmp_path / f"s-{ermf}-{spacing}.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.open_study(db.studies()[0].study_instance_uid)
    wait_until(lambda: w.active.displayed_index == 0)
    return w, db


@pytest.mark.parametrize(
    ("ermf", "spacing", "basis", "expected_mm"),
    [
        (None, 0.2, CalibrationBasis.DETECTOR, 10.0),  # 50 px × 0.2 mm
        (1.25, 0.2, CalibrationBasis.MAGNIFICATION_CORRECTED, 8.0),  # 50 px × 0.2 / 1.25
        (None, None, CalibrationBasis.UNCALIBRATED, 50.0),  # pixels
    ],
)
def test_length_measurement_in_each_calibration_state(
    qtbot, tmp_path, ermf, spacing, basis, expected_mm
) -> None:
    w, db = _known_length_window(qtbot, tmp_path, ermf, spacing)
    try:
        vp = w.active
        m = vp.add_measurement(MeasurementKind.LENGTH, ((10.0, 10.0), (40.0, 50.0)))  # 3-4-5 triangle, 50 px
        assert m.calibration.basis is basis
        g = vp.visible_measurements()[0]
        text = g.label.textItem.toPlainText()
        if basis is CalibrationBasis.UNCALIBRATED:
            assert text == "50.0 px (uncalibrated — px)"
        else:
            assert text == f"{expected_mm:.1f} mm ({basis.value})"
        assert m.calibration.length(*m.region.points) == pytest.approx(expected_mm)
    finally:
        w.close_study()
        db.close()


def test_length_drawn_with_the_mouse(window) -> None:
    vp = window.active
    window.set_tool("length")
    widget = vp.view.viewport()
    a, b = vp.image_to_widget((8.0, 20.0)), vp.image_to_widget((38.0, 20.0))
    drag(widget, a, b)
    ms = window.store.measurements(vp.study.study_instance_uid)
    assert len(ms) == 1 and ms[0].kind is MeasurementKind.LENGTH
    (c0, r0), (c1, r1) = ms[0].region.points
    assert math.hypot(c1 - c0, r1 - r0) == pytest.approx(30.0, abs=0.5)
    assert ms[0].calibration.length((c0, r0), (c1, r1)) == pytest.approx(6.0, abs=0.1)  # 0.2 mm/px
    assert ms[0].region.frame_number == 1
    # Esc leaves the tool
    window.actions_by_id["cancel"].trigger()
    assert vp.tool is None


def test_angle_polygon_ellipse_and_arrow(window) -> None:
    vp = window.active
    angle = vp.add_measurement(MeasurementKind.ANGLE, ((30.0, 10.0), (10.0, 10.0), (10.0, 40.0)))
    from hsg_workstation.session.measurements import angle_degrees, measurement_text, roi_statistics

    assert angle_degrees(angle.region.points, angle.calibration) == pytest.approx(90.0)
    poly = vp.add_measurement(
        MeasurementKind.POLYGON, ((10.0, 10.0), (30.0, 10.0), (30.0, 20.0), (10.0, 20.0))
    )
    stats = roi_statistics(poly, vp.frame)
    assert stats.area == pytest.approx(200 * 0.04)  # 20×10 px at 0.2 mm
    assert stats.area_unit == "mm²"
    assert (stats.mean, stats.minimum, stats.maximum) == (pytest.approx(19.5), 10, 29)  # value == column
    assert stats.pixel_count == 200
    ell = vp.add_measurement(
        MeasurementKind.ELLIPSE, ((10.0, 30.0), (50.0, 30.0), (30.0, 20.0), (30.0, 40.0))
    )
    es = roi_statistics(ell, vp.frame)
    assert es.area == pytest.approx(math.pi * 20 * 10 * 0.04)
    assert es.pixel_count == pytest.approx(math.pi * 20 * 10, rel=0.05)
    assert es.mean == pytest.approx(29.5, abs=0.6)
    vp.request_text = lambda prompt: "left tube spill"
    window.set_tool("arrow")
    widget = vp.view.viewport()
    drag(widget, vp.image_to_widget((50.0, 50.0)), vp.image_to_widget((40.0, 40.0)))
    arrows = [
        m for m in window.store.measurements(vp.study.study_instance_uid) if m.kind is MeasurementKind.ARROW
    ]
    assert len(arrows) == 1 and arrows[0].label == "left tube spill"
    assert "area" in measurement_text(poly, vp.frame) and "mean 19.5" in measurement_text(poly, vp.frame)
    assert window.meas_list.count() == 4
    assert len(vp.visible_measurements()) == 4
    # measurements belong to their frame
    vp.show_frame(3)
    wait_until(lambda: vp.displayed_index == 3)
    assert vp.visible_measurements() == []
    vp.show_frame(0)
    wait_until(lambda: vp.displayed_index == 0)
    assert len(vp.visible_measurements()) == 4


def test_polygon_with_clicks(window) -> None:
    vp = window.active
    window.set_tool("polygon")
    widget = vp.view.viewport()
    for p in ((10.0, 10.0), (30.0, 10.0), (30.0, 30.0)):
        click(widget, vp.image_to_widget(p))
    window.actions_by_id["finish"].trigger()
    ms = window.store.measurements(vp.study.study_instance_uid)
    assert len(ms) == 1 and ms[0].kind is MeasurementKind.POLYGON and len(ms[0].region.points) == 3


def test_manual_calibration_rebases_measurements(window) -> None:
    vp = window.active
    m = vp.add_measurement(MeasurementKind.LENGTH, ((0.0, 0.0), (30.0, 40.0)))
    vp.calibrate((0.0, 10.0), (20.0, 10.0), 10.0)  # 20 px = 10 mm → 0.5 mm/px
    rebased = window.store.measurements(vp.study.study_instance_uid)[0]
    assert rebased.id == m.id
    assert rebased.calibration.basis is CalibrationBasis.MANUAL
    assert rebased.calibration.length(*rebased.region.points) == pytest.approx(25.0)
    assert vp.visible_measurements()[0].label.textItem.toPlainText() == "25.0 mm (manual calibration)"
    assert "manual calibration" in vp.overlay_texts()["br"]
    # the calibration tool with the mouse
    vp.request_length_mm = lambda: 5.0
    window.set_tool("calibrate")
    drag(vp.view.viewport(), vp.image_to_widget((0.0, 20.0)), vp.image_to_widget((40.0, 20.0)))
    cal = vp.calibration()
    assert cal.column_spacing_mm == pytest.approx(5.0 / 40.0, rel=0.03)
    assert vp.tool is None  # calibrate is one-shot


def test_editing_a_roi_writes_back_to_the_store(window) -> None:
    vp = window.active
    m = vp.add_measurement(MeasurementKind.LENGTH, ((10.0, 10.0), (20.0, 10.0)))
    g = vp.visible_measurements()[0]
    g.roi.setPos(QPointF(5.0, 0.0), finish=True)
    updated = window.store.measurements(vp.study.study_instance_uid)[0]
    assert updated.id == m.id
    assert np.allclose(updated.region.points, ((15.0, 10.0), (25.0, 10.0)))


def test_key_frames_mark_list_and_jump(window, qtbot) -> None:
    vp = window.active
    vp.show_frame(4)
    wait_until(lambda: vp.displayed_index == 4)
    qtbot.keyClick(window, Qt.Key.Key_K)
    uid = vp.study.study_instance_uid
    assert [k.frame_number for k in window.store.key_frames(uid)] == [5]
    assert window.key_list.count() == 1 and "frame 5" in window.key_list.item(0).text()
    assert window.key_button.text().startswith("Unmark")
    window.key_button.click()  # the button unmarks
    assert window.store.key_frames(uid) == []
    qtbot.keyClick(window, Qt.Key.Key_K)
    vp.show_frame(0)
    wait_until(lambda: vp.displayed_index == 0)
    window._key_frame_activated(window.key_list.item(0))
    assert vp.index == 4


def test_keyboard_shortcuts(window, qtbot) -> None:
    vp = window.active
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert vp.index == 1
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert vp.index == 0
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert vp.index == 11
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert vp.index == 0
    z = vp.zoom_factor
    qtbot.keyClick(window, Qt.Key.Key_Plus)
    assert vp.zoom_factor == pytest.approx(z * 1.25, rel=0.02)
    qtbot.keyClick(window, Qt.Key.Key_Minus)
    assert vp.zoom_factor == pytest.approx(z, rel=0.02)
    qtbot.keyClick(window, Qt.Key.Key_I)
    assert vp.inverted and vp.image_item.lut is not None and "INV" in vp.overlay_texts()["bl"]
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert vp.cine.playing
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not vp.cine.playing
    qtbot.keyClick(window, Qt.Key.Key_L)
    assert vp.tool == "length"
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert vp.tool is None
    qtbot.keyClick(window, Qt.Key.Key_O)
    assert not vp.overlay["tl"].isVisible()
    # typing in the search box is text, not shortcuts
    window.browser.search.setFocus()
    qtbot.keyClicks(window.browser.search, "k 1")
    assert window.browser.search.text() == "k 1"
    assert window.store.key_frames(vp.study.study_instance_uid) == []
    dlg = window.show_shortcuts()
    from PySide6.QtWidgets import QTextBrowser

    page = dlg.findChild(QTextBrowser).toPlainText()
    for key in ("Space", "Home", "Esc", "1 … 9"):
        assert key in page
    dlg.close()


def test_rotate_flip_fit_one_to_one(window) -> None:
    vp = window.active
    vp.rotate90()
    # image point (63.5, 0.5) (top-right pixel) goes to the bottom-right after a clockwise quarter turn
    p = vp.image_space.mapToParent(QPointF(63.5, 0.5))
    assert (p.x(), p.y()) == pytest.approx((63.5, 63.5))
    vp.flip_horizontal()
    p = vp.image_space.mapToParent(QPointF(63.5, 0.5))
    assert (p.x(), p.y()) == pytest.approx((0.5, 63.5))
    vp.one_to_one()
    assert vp.zoom_factor == pytest.approx(1.0, rel=0.02)
    vp.fit()
    assert vp.zoom_factor > 2


def test_layouts_bad_series_and_remembered_layout(window, database, settings_path, qtbot) -> None:
    series3 = next(d for d in window.display_sets if "Broken" in d.label)
    stored = series3.frames[0].path
    stored.write_bytes(stored.read_bytes()[: stored.stat().st_size * 2 // 3])  # damaged on disk after import
    window.set_layout("2x2")
    assert len(window.viewports) == 4
    kinds = [vp.display_set.kind if vp.display_set else None for vp in window.viewports]
    assert kinds[0] is DisplaySetKind.CINE
    assert DisplaySetKind.STACK in kinds
    broken = next(vp for vp in window.viewports if vp.display_set and "Broken" in vp.display_set.label)
    wait_until(lambda: broken.error is not None)
    assert "Broken" in broken.error and broken.message.isVisible()
    assert "truncated" in broken.error  # says what is wrong ...
    shown = broken.message.text().replace("\u200b", "")
    assert stored.name in shown and str(stored) not in shown  # ... and where
    stack = next(
        vp for vp in window.viewports if vp.display_set and vp.display_set.kind is DisplaySetKind.STACK
    )
    wait_until(lambda: stack.displayed_index == 0)
    assert stack.frame_count == 2 and stack.error is None
    window.set_layout("1x2")
    assert len(window.viewports) == 2
    window.resize(701, 503)  # (inside the offscreen screen, 800×600, so restoreGeometry keeps it)
    size = (window.width(), window.height())  # (the docks' minimum width may widen it)
    window.close()  # saves geometry + layout
    again = MainWindow(database, QSettings(str(settings_path), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert again.layout_name == "1x2"
    assert again.actions_by_id["layout_1x2"].isChecked()
    # restoreGeometry keeps the saved size but clamps it to the (800×600 offscreen) screen
    assert again.height() == size[1]
    assert 700 < again.width() <= min(size[0], again.screen().availableGeometry().width())
    again.close()


def test_close_study_while_playing_leaves_nothing_behind(window) -> None:
    vp = window.active
    vp.play()
    vp.show_frame(5)
    window.set_layout("2x2")
    wait_until(lambda: len(vp.cine.stats.shown) >= 2)
    assert len(loaded_loader_threads()) >= 1
    viewports = list(window.viewports)
    window.close_study()
    wait_until(study_left_nothing_in_the_pool)
    window.close()  # the window takes the pool's threads and worker processes with it
    assert loaded_loader_threads() == []
    assert window.viewports == [] and window.active is None
    assert all(v.parent() is None for v in viewports)
    # (the status bar's own message timeout is not the study's)
    active_timers = [
        (t.parent(), t.interval())
        for t in window.findChildren(QTimer)
        if t.isActive() and t.parent() is not window.statusBar()
    ]
    assert active_timers == []
    assert all(not v.cine._timer.isActive() for v in viewports)
    # and the widgets themselves are gone once Qt runs its deferred deletions
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not any(shiboken6.isValid(v) for v in viewports)
    assert window.findChildren(type(viewports[0])) == []


def test_study_browser_search_and_sort(qtbot, tmp_path, settings_path) -> None:
    d = tmp_path / "two"
    d.mkdir()
    make_rf(d / "a.dcm", frames=2, study_uid=generate_uid(), patient_name="ALPHA^ANN")
    make_rf(d / "b.dcm", frames=2, study_uid=generate_uid(), patient_name="BETA^BEA")
    db = LocalDatabase(tmp_path / "db2")
    db.import_paths([d])
    w = MainWindow(db, QSettings(str(settings_path), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    try:
        assert w.browser.model.rowCount() == 2
        w.browser.search.setText("beta")
        w.browser.refresh()
        assert w.browser.model.rowCount() == 1
        assert w.browser.model.index(0, 0).data() == "BETA BEA"
        w.browser.search.setText("")
        w.browser.date_from.setText("2027-01-01")
        w.browser.refresh()
        assert w.browser.model.rowCount() == 0
        w.browser.date_from.setText("")
        w.browser.refresh()
        w.browser.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        names = [w.browser.proxy.index(r, 0).data() for r in range(2)]
        assert names == ["BETA BEA", "ALPHA ANN"]
    finally:
        db.close()


def test_sigmoid_and_monochrome1(qtbot, tmp_path) -> None:
    d = tmp_path / "sig"
    d.mkdir()
    uid = generate_uid()
    make_rf(d / "s.dcm", frames=2, study_uid=uid, sigmoid=True, window=(30.0, 20.0))
    db = LocalDatabase(tmp_path / "dbs")
    db.import_paths([d])
    w = MainWindow(db, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    try:
        w.open_study(uid)
        vp = w.active
        wait_until(lambda: vp.displayed_index == 0)
        assert vp.voi_mode == "sigmoid"
        img = vp.image_item.image
        assert img.dtype == np.uint8
        expected = np.rint(255.0 / (1.0 + np.exp(-4.0 * (np.arange(64) - 30.0) / 20.0))).astype(np.uint8)
        assert np.array_equal(img[0], expected)
        assert "SIGMOID" in vp.overlay_texts()["bl"]
    finally:
        w.close_study()
        db.close()


def test_samples_imported_on_first_start(data_dir, study_dir) -> None:
    from hsg_workstation.ui.app import import_samples_if_empty

    db = LocalDatabase(data_dir)
    try:
        assert db.is_empty()
        assert import_samples_if_empty(db, study_dir) == 4
        assert import_samples_if_empty(db, study_dir) == 0  # not empty any more: nothing re-imported
        assert len(db.studies()) == 1
    finally:
        db.close()


def test_first_start_window_opens_samples_with_report_dock(qtbot, data_dir, study_dir) -> None:
    from hsg_workstation.ui.app import create_main_window

    window, db = create_main_window(str(data_dir), sample_dir=study_dir)
    qtbot.addWidget(window)
    try:
        assert window.study is not None  # never opens empty
        # the loop opens on its middle frame (the filled cavity), not on frame 1 (issue 11)
        middle = window.active.frame_count // 2
        wait_until(lambda: window.active.displayed_index == middle)
        if getattr(window, "report_dock", None) is not None:  # the report form is another area's widget
            form = window.report_dock.form
            assert form.isEnabled()
            assert form.report.identity.study_instance_uid == window.study.study_instance_uid
            window.toggle_key_frame()
            assert any(k.frame_number == middle + 1 for k in form.report.key_images)
        import importlib.util

        if importlib.util.find_spec("hsg_workstation.ui.pacs_panel") is not None:
            assert "PACS" in window.extra_docks
            assert "nodes" in window.actions_by_id
    finally:
        window.close_study()
        db.close()


def test_voi_lut_file_and_monochrome1(qtbot, tmp_path) -> None:
    """A vendor file with a VOI LUT Sequence shows through the LUT; MONOCHROME1 is shown inverted, once."""
    import shutil

    from pydicom.data import get_testdata_file

    from hsg_workstation.dicom_io import pixels

    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(get_testdata_file("vlut_04.dcm"), d / "vlut.dcm")
    make_rf(d / "mono1.dcm", frames=2, study_uid=generate_uid(), photometric="MONOCHROME1")
    db = LocalDatabase(tmp_path / "dbv")
    db.import_paths([d])
    w = MainWindow(db, QSettings(str(tmp_path / "v.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    try:
        by_name = {s.patient_name: s.study_instance_uid for s in db.studies()}
        vlut_uid = next(uid for name, uid in by_name.items() if name != "TEST^HSG")
        w.open_study(vlut_uid)
        vp = w.active
        wait_until(lambda: vp.displayed_index == 0)
        lut_presets = [i for i, p in enumerate(vp.presets(), 1) if p.source == "voi_lut"]
        assert lut_presets, "the file's VOI LUT is offered as a preset"
        vp.apply_preset(lut_presets[0])
        assert vp.voi_mode == "voi_lut" and "VOI LUT" in vp.overlay_texts()["bl"]
        source = pixels.FrameSource(vp.frames[0].path)
        expected = source.render_uint8(0, next(p for p in source.voi_presets() if p.function == pixels.LUT))
        assert np.array_equal(vp.image_item.image, expected)
        # a W/L drag from a LUT continues as a linear window
        vp.set_window(1000.0, 500.0)
        assert vp.voi_mode == "linear"
        assert np.array_equal(vp.image_item.image, vp.frame)  # raw values + levels again
        assert tuple(vp.image_item.levels) == pytest.approx(vp.levels)

        w.open_study(by_name["TEST^HSG"])
        vp = w.active
        wait_until(lambda: vp.displayed_index == 0)
        assert vp.header.invert and not vp.inverted
        assert vp.image_item.lut is not None and vp.image_item.lut[0] == 255  # shown inverted
        vp.toggle_invert()  # I on a MONOCHROME1 image shows it un-inverted
        assert vp.image_item.lut is None
    finally:
        w.close_study()
        db.close()


def test_bad_date_in_search_is_a_message(window) -> None:
    window.browser.date_from.setText("not-a-date")
    window.browser.refresh()
    text = window.browser.count_label.text()
    assert text.startswith("Search failed") or text.endswith("studies")  # never an exception


def test_settings_round_trip_and_applied(window, settings_path) -> None:
    from hsg_workstation.ui.settings_dialog import SettingsDialog, ViewerSettings

    dlg = SettingsDialog(ViewerSettings(), window)
    dlg.wl_button.setCurrentText("left")
    dlg.fps.setValue(12.5)
    dlg.overlays.setChecked(False)
    window.apply_settings(dlg.value())
    vp = window.active
    assert vp.vb.wl_button == Qt.MouseButton.LeftButton
    assert vp.cine.fps_override == 12.5 and not vp.overlay["tl"].isVisible()
    again = ViewerSettings.load(QSettings(str(settings_path), QSettings.Format.IniFormat))
    assert (again.wl_button, again.fps_override, again.overlays) == ("left", 12.5, False)


def test_loop_off_stops_at_the_last_frame(window) -> None:
    vp = window.active
    window.cine_bar.loop.setChecked(False)
    window.cine_bar.fps.setValue(100.0)
    vp.show_frame(8)
    vp.play()
    wait_until(lambda: not vp.cine.playing, timeout=10)
    assert vp.index == 11


def test_wheel_zoom_and_pan(window) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    vp = window.active
    widget = vp.view.viewport()
    z0 = vp.zoom_factor
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    ev = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, ev)
    assert vp.zoom_factor > z0 * 1.1
    before = vp.vb.viewRange()[0][0]
    drag(widget, centre, centre + QPointF(60, 0), button=Qt.MouseButton.LeftButton)  # no tool: pan
    assert vp.vb.viewRange()[0][0] < before


def test_report_mark_on_image_links_the_drawn_region(qtbot, data_dir, study_dir) -> None:
    import importlib.util

    if importlib.util.find_spec("hsg_workstation.ui.report_form") is None:
        pytest.fail("report form module missing: the dock wiring cannot be checked")
    from hsg_workstation.ui.app import create_main_window

    window, db = create_main_window(str(data_dir), sample_dir=study_dir)
    qtbot.addWidget(window)
    try:
        # the application opens loops on their middle (filled) frame (issue 11); start from frame 1
        wait_until(
            lambda: window.active is not None and window.active.displayed_index == window.active.index, 20
        )
        window.active.show_frame(0)
        wait_until(lambda: window.active.displayed_index == 0)
        form = window.report_dock.form
        form.mark_on_image_requested.emit("findings.tubes.left.patency")
        assert window.active.tool == "ellipse"
        vp = window.active
        drag(vp.view.viewport(), vp.image_to_widget((10.0, 10.0)), vp.image_to_widget((40.0, 30.0)))
        links = form.report.findings.tubes.left.image_links
        assert len(links) == 1
        m = window.store.measurements(vp.study.study_instance_uid)[0]
        assert links[0].sop_instance_uid == m.region.sop_instance_uid == vp.current_ref.sop_instance_uid
        assert links[0].frame_number == 1
        assert vp.tool is None
        form.unlink_region("findings.tubes.left")  # "Unlink last": the drawing made for the finding goes too
        assert form.report.findings.tubes.left.image_links == []
        assert window.store.measurements(vp.study.study_instance_uid) == []
    finally:
        window.close()
        db.close()


def test_import_runs_off_the_ui_thread_and_lists_the_study(window, tmp_path) -> None:
    d = tmp_path / "new"
    d.mkdir()
    make_rf(d / "x.dcm", frames=2, study_uid=generate_uid(), patient_name="NEW^PATIENT")
    (d / "junk.dcm").write_bytes(b"not dicom at all")
    before = window.browser.model.rowCount()
    job = window.import_paths([d])
    wait_until(lambda: hasattr(window, "import_results") and not job.is_running(), timeout=30)
    assert window.browser.model.rowCount() == before + 1
    msg = window.statusBar().currentMessage()
    assert "Imported 1 files" in msg and "junk.dcm" in msg


def test_slider_scrub_pauses_playback(window) -> None:
    vp = window.active
    vp.play()
    assert vp.cine.playing
    window.cine_bar.slider.setValue(7)
    assert not vp.cine.playing and vp.index == 7


def test_measurements_stay_on_the_anatomy_when_rotated_and_pixel_readout(window) -> None:
    vp = window.active
    m = vp.add_measurement(MeasurementKind.LENGTH, ((10.0, 10.0), (40.0, 10.0)))
    vp.rotate90()
    vp.flip_vertical()
    stored = window.store.measurements(vp.study.study_instance_uid)[0]
    assert stored.region.points == m.region.points  # model stays in DICOM pixel coordinates
    g = vp.visible_measurements()[0]
    assert np.allclose(g.current_points(), m.region.points, atol=1e-6)
    # the graphic moved on screen with the image
    p_img = vp.image_space.mapToParent(QPointF(40.0, 10.0))
    assert (p_img.x(), p_img.y()) != pytest.approx((40.0, 10.0))
    assert vp.pixel_at((7.5, 3.2)) == 7.0  # frame 0: value == column
    assert vp.pixel_at((-1.0, 3.0)) is None
    seen: list[str] = []
    vp.pixelInfo.connect(seen.append)
    vp._mouse_moved(vp.image_space.mapToScene(QPointF(7.5, 3.2)))
    assert seen and "value 7" in seen[-1] and "mm" in seen[-1]


def test_delete_measurement_from_list_and_from_the_shape(window, qtbot) -> None:
    vp = window.active
    uid = vp.study.study_instance_uid
    a = vp.add_measurement(MeasurementKind.LENGTH, ((5.0, 5.0), (25.0, 5.0)))
    vp.add_measurement(MeasurementKind.LENGTH, ((5.0, 25.0), (25.0, 25.0)))
    window.meas_list.setCurrentRow(1)
    qtbot.keyClick(window, Qt.Key.Key_Delete)
    assert [m.id for m in window.store.measurements(uid)] == [a.id]
    assert len(vp.visible_measurements()) == 1
    vp.visible_measurements()[0].roi.sigRemoveRequested.emit(vp.visible_measurements()[0].roi)
    assert window.store.measurements(uid) == [] and vp.visible_measurements() == []


MODAL_ACTIONS = {"import", "settings", "about", "quit", "nodes", "close_study"}


def test_every_action_is_safe_with_and_without_a_study(window) -> None:
    """Trigger every menu/toolbar action (except the modal dialogs) with a study open, then with none."""
    for with_study in (True, False):
        assert (window.study is not None) == with_study
        for aid, act in window.actions_by_id.items():
            if aid in MODAL_ACTIONS:
                continue
            act.trigger()
            if aid == "play":
                window.actions_by_id["play"].trigger()  # pause again
        window.cancel_tool()
        if getattr(window, "_shortcuts_dialog", None) is not None:
            window._shortcuts_dialog.close()
        window.actions_by_id["close_study"].trigger()
    assert window.viewports == []
    wait_until(study_left_nothing_in_the_pool)


def test_fill_curve_dock_analyses_off_thread_follows_cine_and_stops_on_close(
    qtbot, data_dir, study_dir
) -> None:
    import importlib.util

    if importlib.util.find_spec("hsg_workstation.ui.fill_curve") is None:
        pytest.fail("fill-curve widget missing: the dock wiring cannot be checked")
    from hsg_workstation.ui.app import create_main_window

    window, db = create_main_window(str(data_dir), sample_dir=study_dir)
    qtbot.addWidget(window)
    try:
        fc = window.fill_curve
        wait_until(lambda: fc.result is not None or "failed" in fc.widget.title.text(), timeout=60)
        assert fc.result is not None, fc.widget.title.text()
        assert len(fc.result.fill_curve) == 12
        window.active.show_frame(6)
        assert fc.widget.frame == 7  # follows the cine (1-based)
        fc.widget.frameRequested.emit(3)  # a click on the curve
        assert window.active.index == 2
        # closing while an analysis runs stops it
        fc.study_opened(window.study.study_instance_uid)
        fc._start_timer.stop()
        fc._start()
        assert fc.is_running()
        window.close_study()
        assert not fc.is_running()
        assert not [t for t in threading.enumerate() if t.name == "hsg-fill-analysis" and t.is_alive()]
    finally:
        window.close()
        db.close()


def test_screenshot_command_with_panels_offscreen(qtbot, study_dir, tmp_path, data_dir) -> None:
    from PySide6.QtGui import QImage

    from hsg_workstation.__main__ import main

    out = tmp_path / "panels.png"
    rc = main(
        ["screenshot", str(study_dir), str(out), "--size", "1000x700", "--panels", "--demo", "--frame", "3"]
    )
    assert rc == 0
    img = QImage(str(out))
    assert img.width() >= 1000 and img.height() >= 700  # docked panels can need more room than asked for
    assert main(["screenshot", str(study_dir), str(tmp_path / "x.png"), "--frame", "99"]) == 1  # clear error
    assert main(["screenshot", str(study_dir), str(tmp_path / "x.png"), "--size", "big"]) == 1
    assert main(["screenshot", "1.2.3.4", str(tmp_path / "x.png")]) == 1  # neither a path nor a known study
