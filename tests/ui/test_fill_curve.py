"""The fill-curve widget: curve and markers from an analysis, cursor from outside, marker clicks."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from hsg_workstation.analysis import AnalysisRequest, analyze_frames
from hsg_workstation.measurements import Calibration, CalibrationBasis
from hsg_workstation.ui.fill_curve import FillCurveWidget
from tests.analysis.phantom import make_phantom

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def analysis():
    ph = make_phantom(size=128, frames=24)
    return analyze_frames(
        AnalysisRequest.from_frames(
            ph.frames,
            calibration=Calibration(1.0, 1.0, CalibrationBasis.PIXEL_SPACING),
            patient_orientation=["L", "F"],
        )
    )


def _marker_view_pos(w: FillCurveWidget, name: str) -> QPoint:
    frame = w.marker_frames()[name]
    y = w.curve.yData[frame - 1]
    vb = w.plot.getPlotItem().vb
    scene = vb.mapViewToScene(QPointF(frame, y))
    return w.plot.mapFromScene(scene)


def _shown_with(qtbot, analysis) -> FillCurveWidget:
    """The widget on screen at a fixed size with ``analysis`` plotted, ready for mapping clicks."""
    w = FillCurveWidget()
    qtbot.addWidget(w)
    w.resize(600, 220)
    w.show()
    qtbot.waitExposed(w)
    w.set_analysis(analysis)
    qtbot.wait(50)  # let the view box apply the new ranges before mapping coordinates
    return w


def test_curve_markers_and_cursor(qtbot, analysis) -> None:
    w = FillCurveWidget()
    qtbot.addWidget(w)
    w.resize(600, 220)
    w.show()
    w.set_analysis(analysis)
    assert list(w.curve.xData) == list(range(1, analysis.frames + 1))
    assert w.marker_frames() == {k: v.frame for k, v in analysis.key_frames.items()}
    w.set_frame(7)
    assert w.cursor.value() == 7 and w.frame == 7
    w.set_analysis(None)
    assert w.marker_frames() == {} and len(w.curve.xData or []) == 0


def test_clicking_a_marker_emits_its_frame(qtbot, analysis) -> None:
    w = _shown_with(qtbot, analysis)
    pos = _marker_view_pos(w, "max_distension")
    with qtbot.waitSignal(w.keyFrameClicked, timeout=2000) as blocker:
        QTest.mouseMove(w.plot.viewport(), pos)
        QTest.mouseClick(w.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    assert blocker.args == ["max_distension", analysis.max_distension_frame]


def test_clicking_the_curve_requests_that_frame(qtbot, analysis) -> None:
    w = _shown_with(qtbot, analysis)
    vb = w.plot.getPlotItem().vb
    pos = w.plot.mapFromScene(vb.mapViewToScene(QPointF(3, 0.5 * max(w.curve.yData))))
    with qtbot.waitSignal(w.frameRequested, timeout=2000) as blocker:
        QTest.mouseMove(w.plot.viewport(), pos)
        QTest.mouseClick(w.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    assert blocker.args == [3]


@pytest.mark.parametrize("size", [(290, 190), (600, 220)])
def test_labels_never_overlap_labels_or_markers(qtbot, size) -> None:
    """Issue 11 at 1366×768: the plot gets ~300 px for 40 frames with key frames a frame or two apart; no label
    may cover another label or a marker, and at least half of them stay named on the curve."""
    ph = make_phantom(size=128, frames=40)
    result = analyze_frames(
        AnalysisRequest.from_frames(
            ph.frames,
            calibration=Calibration(1.0, 1.0, CalibrationBasis.PIXEL_SPACING),
            patient_orientation=["L", "F"],
        )
    )
    w = FillCurveWidget()
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    w.set_analysis(result)
    qtbot.wait(50)
    w.layout_labels()
    vb = w.plot.getPlotItem().vb
    shown = w.labels_shown()
    assert len(shown) >= len(w.marker_frames()) // 2
    markers = [vb.mapViewToScene(QPointF(p.pos().x(), p.pos().y())) for p in w.markers.points()]
    for i, (text, rect) in enumerate(shown):
        assert vb.sceneBoundingRect().adjusted(-1, -1, 1, 1).contains(rect), text
        for other_text, other in shown[i + 1 :]:
            assert not rect.intersects(other), (text, other_text)
        for m in markers:  # a marker's centre is never under a label
            assert not rect.adjusted(1, 1, -1, -1).contains(m), text
