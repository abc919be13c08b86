"""Issue 11 on the real main window (offscreen, real mouse events): the ROIs drawn in the viewer are the report's
measurements — one object, not a copy. "Mark on image" fills the hydrosalpinx diameter; dragging the ROI's
handle afterwards changes the report, the diameter, the TID 1500 SR, the report SR and the PDF, all exported
after the move."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.measurements import MeasurementKind
from hsg_workstation.reporting.workflows import export_report
from hsg_workstation.session.measurements import MeasurementStore
from hsg_workstation.ui.app import dock_optional_panels
from hsg_workstation.ui.main_window import MainWindow
from tests.ui.helpers import drag, wait_until

pytestmark = pytest.mark.timeout(240)
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


def _handle_at(vp, roi, typ: str) -> QPointF:
    """Where a handle of an ROI (``typ`` 's' scale, 'f' free end point) is on the view's viewport widget."""
    handle = next(h for h in roi.getHandles() if h.typ == typ)
    return QPointF(vp.view.mapFromScene(handle.scenePos()))


def _walk(items):
    for it in items:
        yield it
        yield from _walk(getattr(it, "ContentSequence", []))


def _nums(ds, meaning: str) -> list[float]:
    return [
        round(float(it.MeasuredValueSequence[0].NumericValue), 1)
        for it in _walk(ds.ContentSequence)
        if it.ValueType == "NUM" and it.ConceptNameCodeSequence[0].CodeMeaning == meaning
    ]


def test_moving_the_roi_moves_the_report_sr_and_pdf(room, tmp_path: Path) -> None:
    form, vp, store = room.report_dock.form, room.active, room.store
    study = vp.study.study_instance_uid
    report = form.report
    report.set_value("findings.tubes.left.hydrosalpinx", True)
    form.sync_from_model()
    # "Mark on image": the reader draws the ellipse with the mouse; its short axis fills the diameter
    form.mark_on_image_requested.emit("findings.tubes.left")
    drag(vp.view.viewport(), vp.image_to_widget((60.0, 100.0)), vp.image_to_widget((100.0, 120.0)))
    ellipse = next(m for m in store.measurements(study) if m.kind is MeasurementKind.ELLIPSE)
    assert report.measurement(ellipse.id) is ellipse  # the report's measurement is the viewer's object
    (link,) = report.findings.tubes.left.image_links
    assert link.measurement_id == ellipse.id and link.region is None
    first_diameter = report.findings.tubes.left.hydrosalpinx_diameter_mm
    assert first_diameter is not None
    # a plain length measurement is a report measurement too
    room.set_tool("length")
    QApplication.processEvents()
    drag(vp.view.viewport(), vp.image_to_widget((40.0, 150.0)), vp.image_to_widget((120.0, 150.0)))
    room.set_tool(None)
    line = next(m for m in store.measurements(study) if m.kind is MeasurementKind.LENGTH)
    assert report.measurement(line.id) is line

    # the reader drags the ellipse's scale handle outward and the line's end point further right
    g = vp._graphics[ellipse.id]
    start = _handle_at(vp, g.roi, "s")
    drag(vp.view.viewport(), start, start + QPointF(25.0, 25.0))
    wait_until(lambda: store.measurement(study, ellipse.id) != ellipse)
    moved = store.measurement(study, ellipse.id)
    assert report.measurement(ellipse.id) is moved and report.link_region(link) == moved.region
    cal, p = moved.calibration, moved.region.points
    new_diameter = round(min(cal.length(p[0], p[1]), cal.length(p[2], p[3])), 1)
    assert new_diameter > first_diameter + 1.0
    assert report.findings.tubes.left.hydrosalpinx_diameter_mm == pytest.approx(new_diameter)
    assert f"diameter {new_diameter:g} mm from the moved ellipse" in room.statusBar().currentMessage()
    end = _handle_at(vp, vp._graphics[line.id].roi, "f")  # LineSegmentROI: two free handles
    drag(vp.view.viewport(), end, end + QPointF(0.0, 30.0))
    wait_until(lambda: store.measurement(study, line.id) != line)
    new_line = store.measurement(study, line.id)
    assert report.measurement(line.id) is new_line
    new_length = round(new_line.calibration.length(*new_line.region.points), 1)
    old_length = round(line.calibration.length(*line.region.points), 1)
    assert abs(new_length - old_length) > 1.0

    # export after the move: every output reads the moved measurements
    paths = sorted({str(inst.path) for ds in room.display_sets for inst in ds.instances})
    out = export_report(report, paths, directory=tmp_path / "out")
    msr = out.measurement_sr
    assert msr is not None and out.sr is not None
    assert _nums(msr, "Length") == [new_length]
    scoords = [it for it in _walk(msr.ContentSequence) if it.ValueType == "SCOORD"]
    ellipse_points = [
        tuple(round(v, 2) for v in s.GraphicData) for s in scoords if s.GraphicType == "ELLIPSE"
    ]
    assert ellipse_points == [tuple(round(v, 2) for xy in moved.region.points for v in xy)]
    assert new_diameter in _nums(out.sr, "Hydrosalpinx diameter")  # the report SR: the field as a NUM
    assert dcmread(next(p for p in out.written if p.name.endswith("_measurements.dcm"))).SOPInstanceUID == (
        msr.SOPInstanceUID
    )
    pdf = next(p for p in out.written if p.suffix == ".pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
    assert f"{new_length:.1f} mm" in text and f"{old_length:.1f} mm" not in text
    assert "Left tube: ellipse" in " ".join(text.split())  # the measurements table names the linked finding
    assert f"{round(new_diameter):.0f} mm" in text or f"{new_diameter:.1f} mm" in text

    # undo (Ctrl+Z on the viewer): one step per ROI move, the "Mark on image" value going back with its ROI
    room.focus_viewport()
    QTest.keyClick(room.active.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QApplication.processEvents()
    assert room.report_dock.form.report.measurement(line.id) == line
    assert store.measurement(study, line.id) == line
    QTest.keyClick(room.active.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QApplication.processEvents()
    undone = room.report_dock.form.report
    assert undone.measurement(ellipse.id) == ellipse and store.measurement(study, ellipse.id) == ellipse
    assert undone.findings.tubes.left.hydrosalpinx_diameter_mm == pytest.approx(first_diameter)
    assert np.allclose(vp._graphics[ellipse.id].current_points(), ellipse.region.points, atol=1e-6)
