"""Issue 11 point 1: orientation everywhere — markers from Patient Orientation in the viewports (rendered and
grabbed), the thumbnails, the PDF's key images and the KO captions; the AP display convention flips an image
stored R\\F for display only, with a badge, and measurements stay on the anatomy."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid
from PySide6.QtCore import QSettings
from PySide6.QtGui import QImage

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.orientation import (
    ap_display_flips,
    display_badge,
    displayed_edges,
    parse_patient_orientation,
)
from hsg_workstation.measurements import MeasurementKind
from hsg_workstation.session.measurements import MeasurementStore
from hsg_workstation.ui.main_window import MainWindow
from tests.ui.conftest import make_rf
from tests.ui.helpers import wait_until

pytestmark = pytest.mark.timeout(120)
SAMPLES = Path(__file__).parents[2] / "sample_data"


def _block_image(path: Path, orientation: list[str] | None, study_uid: str, frames: int = 3) -> Path:
    """A 64² RF loop: columns 0–19 bright (4000), the rest dark — the bright side is the image's left as stored."""
    make_rf(path, frames=frames, study_uid=study_uid)
    ds = pydicom.dcmread(path)
    arr = np.zeros((frames, 64, 64), np.uint16)
    arr[:, :, :20] = 4000
    ds.PixelData = arr.tobytes()
    if orientation is None:
        if "PatientOrientation" in ds:
            del ds.PatientOrientation
    else:
        ds.PatientOrientation = orientation
    ds.save_as(path, enforce_file_format=True)
    return path


def _open(qtbot, data_dir: Path, folder: Path, settings_path: Path) -> MainWindow:
    db = LocalDatabase(data_dir)
    db.import_paths([folder])
    w = MainWindow(db, QSettings(str(settings_path), QSettings.Format.IniFormat), MeasurementStore())
    qtbot.addWidget(w)
    w.resize(1100, 760)
    w.show()
    w.open_study(db.studies()[0].study_instance_uid)
    wait_until(lambda: w.active is not None and w.active.displayed_index >= 0)
    w._test_db = db
    return w


def _close(w: MainWindow) -> None:
    w.close()
    w._test_db.close()


def _halves(img: QImage, vp) -> tuple[float, float]:
    """Mean grey of the left and right half of the image area on the grabbed view (markers excluded)."""
    a = img.convertToFormat(QImage.Format.Format_Grayscale8)
    arr = np.frombuffer(a.constBits(), np.uint8).reshape(a.height(), a.bytesPerLine())[:, : a.width()]
    tl = vp.image_to_widget((0.0, 0.0))
    br = vp.image_to_widget((64.0, 64.0))
    x0, x1 = sorted((int(tl.x()), int(br.x())))
    y0, y1 = sorted((int(tl.y()), int(br.y())))
    inner = arr[y0 + (y1 - y0) // 4 : y1 - (y1 - y0) // 4, x0 + 4 : x1 - 4]
    mid = inner.shape[1] // 2
    return float(inner[:, : mid - 10].mean()), float(inner[:, mid + 10 :].mean())


def test_orientation_rules() -> None:
    rf = parse_patient_orientation(["R", "F"])
    lf = parse_patient_orientation("L\\F")
    assert parse_patient_orientation(None) is None and parse_patient_orientation(["X", "F"]) is None
    assert displayed_edges(lf) == {"right": "L", "left": "R", "bottom": "F", "top": "H"}
    assert displayed_edges(rf) == {"right": "R", "left": "L", "bottom": "F", "top": "H"}
    assert ap_display_flips(rf) == (True, False) and ap_display_flips(lf) == (False, False)
    assert displayed_edges(rf, 0, True, False)["left"] == "R"
    # a clockwise quarter turn puts the head (top) on the right
    assert displayed_edges(lf, 90)["right"] == "H"
    assert display_badge(rf, 0, True, False).startswith("Flipped for display")
    assert display_badge(None) == "Orientation unknown" and display_badge(lf) == ""


def test_viewport_flips_rf_image_for_display_with_markers_and_badge(
    qtbot, data_dir, tmp_path, settings_path
) -> None:
    folder = tmp_path / "rf"
    folder.mkdir()
    _block_image(folder / "loop.dcm", ["R", "F"], generate_uid())
    w = _open(qtbot, data_dir, folder, settings_path)
    try:
        vp = w.active
        assert vp.orientation_markers() == {"left": "R", "right": "L", "top": "H", "bottom": "F"}
        for edge, letter in (("left", "R"), ("right", "L")):
            assert vp.markers[edge].isVisible() and vp.markers[edge].text() == letter
        assert vp.markers["left"].x() < vp.view.width() / 2 < vp.markers["right"].x()
        assert vp.orientation_badge.isVisible() and "Flipped for display" in vp.orientation_badge.text()
        # rendered pixels: stored bright columns 0–19 (the patient's left) now show on the right half
        left, right = _halves(vp.view.grab().toImage(), vp)
        assert right > left + 100
        # a measurement drawn on the bright block stays on it and keeps stored pixel coordinates
        m = vp.add_measurement(MeasurementKind.LENGTH, ((5.0, 30.0), (15.0, 30.0)))
        assert m.region.points == ((5.0, 30.0), (15.0, 30.0))
        assert vp.image_to_widget((10.0, 30.0)).x() > vp.view.width() / 2
        # the option off: shown as stored, no badge, markers follow (L now on the left)
        vp.set_ap_display(False)
        qtbot.wait(50)
        left, right = _halves(vp.view.grab().toImage(), vp)
        assert left > right + 100
        assert vp.markers["left"].text() == "L" and not vp.orientation_badge.isVisible()
        # the reader's own flip is a view transform too: markers follow it
        vp.flip_horizontal()
        assert vp.markers["left"].text() == "R" and vp.orientation_badge.isVisible()
        # markers stay when the corner overlays are hidden (left/right always visible)
        vp.set_overlays_visible(False)
        assert vp.markers["left"].isVisible()
        vp.grab().save(str(tmp_path / "viewport.png"))
    finally:
        _close(w)


def test_image_without_orientation_says_so(qtbot, data_dir, tmp_path, settings_path) -> None:
    folder = tmp_path / "none"
    folder.mkdir()
    _block_image(folder / "loop.dcm", None, generate_uid())
    w = _open(qtbot, data_dir, folder, settings_path)
    try:
        vp = w.active
        assert vp.orientation_markers() is None
        assert not any(lab.isVisible() for lab in vp.markers.values())
        assert vp.orientation_badge.isVisible() and vp.orientation_badge.text() == "Orientation unknown"
        left, right = _halves(vp.view.grab().toImage(), vp)
        assert left > right + 100  # never flipped on a guess
        wait_until(lambda: 0 in w.thumbnails.orientation_edges)
        assert w.thumbnails.orientation_edges[0] is None
    finally:
        _close(w)


def test_myoma_sample_left_wall_defect_on_viewers_right(qtbot, data_dir, tmp_path, settings_path) -> None:
    """The bundled myoma loop is stored R\\F; its left-wall myoma must be on the viewer's right, under 'L'."""
    import json

    folder = tmp_path / "myoma"
    shutil.copytree(SAMPLES / "submucous_myoma", folder)
    truth = json.loads((folder / "truth.json").read_text())
    assert truth["patient_orientation"] == ["R", "F"]
    defect = truth["defects"][0]
    assert defect["location"].endswith("left")
    w = _open(qtbot, data_dir, folder, settings_path)
    try:
        vp = w.active
        assert vp.display_set.kind.value == "cine"
        assert vp.markers["right"].text() == "L" and vp.markers["left"].text() == "R"
        at = vp.image_to_widget((defect["column"], defect["row"]))
        # the defect is left of the stored image's centre column (stored R\F) and right of the view's centre
        assert defect["column"] < vp.header.columns / 2 + 30
        centre = vp.image_to_widget((vp.header.columns / 2, vp.header.rows / 2))
        assert at.x() > centre.x()
        wait_until(lambda: any(e for e in w.thumbnails.orientation_edges.values()))
        cine_row = next(i for i, d in enumerate(w.display_sets) if d.kind.value == "cine")
        wait_until(lambda: cine_row in w.thumbnails.orientation_edges)
        assert w.thumbnails.orientation_edges[cine_row]["right"] == "L"
    finally:
        _close(w)


def test_pdf_key_image_is_mirrored_with_markers_and_caption(tmp_path) -> None:
    from hsg_workstation.reporting.model import HsgReport, KeyImage
    from hsg_workstation.reporting.pdf import _key_image_caption, key_image_qimage

    uid = generate_uid()
    rf = _block_image(tmp_path / "rf.dcm", ["R", "F"], uid, frames=1)
    lf = _block_image(tmp_path / "lf.dcm", ["L", "F"], uid, frames=1)
    ds_rf = pydicom.dcmread(rf)
    report = HsgReport()
    key = KeyImage(str(ds_rf.SOPInstanceUID), str(ds_rf.SOPClassUID), 1)

    def halves(img: QImage) -> tuple[float, float]:
        a = img.convertToFormat(QImage.Format.Format_Grayscale8)
        arr = np.frombuffer(a.constBits(), np.uint8).reshape(a.height(), a.bytesPerLine())[:, : a.width()]
        band = arr[arr.shape[0] // 4 : arr.shape[0] // 3]  # above the side markers (at mid-height)
        return float(band[:, 40 : arr.shape[1] // 2 - 10].mean()), float(
            band[:, arr.shape[1] // 2 + 10 : -40].mean()
        )

    left, right = halves(key_image_qimage(report, key, rf))
    assert right > left + 100  # mirrored: the patient's left on the image's right
    left, right = halves(key_image_qimage(report, key, lf))
    assert left > right + 100  # already AP: untouched
    caption = _key_image_caption(1, key, rf)
    assert "patient's right on image left" in caption and "flipped from stored R\\F" in caption


def test_ko_caption_names_series_frame_and_orientation(tmp_path) -> None:
    from hsg_workstation.ui.document_view import image_caption

    rf = _block_image(tmp_path / "rf.dcm", ["R", "F"], generate_uid())
    text = image_caption(rf, 2)
    assert "series 1" in text and "frame 2" in text and "flipped from stored R\\F" in text
    assert image_caption(None, 2).startswith("image not in this study")
