"""The analysis overlay on a real generated frame: alignment at the working scale, labels per frame, toggle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF

from hsg_workstation.analysis import analyze_dataset
from hsg_workstation.ui.analysis_overlay import CAVITY, SPILL, TUBE, AnalysisOverlayItem, overlay_labels
from tests.analysis.conftest import generated

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def case():
    g = generated("normal", 0)
    # working_size 128 on a 256² loop: the analysis works at half resolution (working_scale 2)
    r = analyze_dataset(g.datasets[1], scout=g.datasets[0], working_size=128)
    return g, r


def test_labels_follow_the_frame(case) -> None:
    g, r = case
    assert r.working_scale == 2
    assert overlay_labels(r, 0) is None and overlay_labels(r, r.frames + 1) is None
    first = overlay_labels(r, 1)
    assert first is not None and not first.any()  # nothing detected before the contrast arrives
    last = overlay_labels(r, r.frames)
    assert (last == CAVITY).any() and (last == SPILL).any()  # the normal case spills on both sides
    onset = min(s.spill_onset_frame for s in r.sides.values())
    before = overlay_labels(r, max(1, onset - 3))
    assert (before == SPILL).sum() < (last == SPILL).sum()
    fill = min(s.first_fill_frame for s in r.sides.values())
    assert any((overlay_labels(r, f) == TUBE).any() for f in range(fill, r.frames + 1))


def test_overlay_lines_up_with_the_full_resolution_image(qtbot, case, tmp_path: Path) -> None:
    g, r = case
    loop = g.datasets[1].pixel_array
    mi = r.max_distension_frame
    w = pg.GraphicsLayoutWidget()
    qtbot.addWidget(w)
    w.resize(512, 512)
    view = w.addViewBox(lockAspect=True, invertY=True)
    image = pg.ImageItem(axisOrder="row-major")
    frame = np.ascontiguousarray(loop[mi - 1])
    image.setImage(frame, autoLevels=False, levels=(float(frame.min()), float(frame.max())))
    view.addItem(image)
    overlay = AnalysisOverlayItem(r)
    view.addItem(overlay)
    overlay.set_frame(mi)
    assert overlay.frame == mi
    rows, cols = frame.shape
    # the working-resolution labels cover the same scene rectangle as the full-resolution frame
    assert overlay.mapRectToParent(overlay.boundingRect()) == QRectF(0, 0, cols, rows)
    assert image.mapRectToParent(image.boundingRect()) == QRectF(0, 0, cols, rows)
    view.setRange(QRectF(0, 0, cols, rows), padding=0)
    w.show()
    qtbot.waitExposed(w)
    png = tmp_path / "overlay.png"
    assert w.grab().save(str(png))
    qimg = w.grab().toImage()
    # a pixel deep inside the full-res cavity of the max frame is tinted cyan (blue > red) in the screenshot
    full = r.max_distension_mask
    from scipy import ndimage as ndi

    core = ndi.binary_erosion(full, iterations=6)
    rr, cc = np.argwhere(core)[len(np.argwhere(core)) // 2]
    pt = view.mapViewToScene(pg.QtCore.QPointF(cc + 0.5, rr + 0.5))
    px = w.mapFromScene(pt)
    c = qimg.pixelColor(px.x(), px.y())
    assert c.blue() > c.red() + 40, (c.red(), c.green(), c.blue())
    # toggled off: the same pixel shows the plain grey image
    overlay.setVisible(False)
    c2 = w.grab().toImage().pixelColor(px.x(), px.y())
    assert abs(c2.red() - c2.blue()) <= 2
    # cleared with no analysis
    overlay.set_result(None)
    assert overlay.image is None
