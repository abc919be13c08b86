"""Fill-curve plot for the fill-sequence analysis: cavity area over the loop, a frame cursor and key-frame markers.

Standalone pyqtgraph widget; the main window docks it under the viewport and wires it to the cine:
``cine frame changed -> set_frame(n)`` (no signal back, so there is no feedback loop) and
``keyFrameClicked(name, n) / frameRequested(n) -> jump the cine to frame n``. Frames are 1-based, as everywhere
the analysis talks to the user. The markers are *suggestions* (the analysis' key frames), shown as such.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from hsg_workstation.analysis.result import FillAnalysis

MARKER_LABELS = {
    "early_uterine_filling": "early uterine",
    "late_uterine_early_tubal_filling": "late uterine / early tubal",
    "late_tubal_filling": "late tubal",
    "free_spill_left": "L free spill",
    "free_spill_right": "R free spill",
    "loculated_spill_left": "L loculated",
    "loculated_spill_right": "R loculated",
    "max_distension": "max distension",
    "first_tubal_filling_left": "L tube fills",
    "first_tubal_filling_right": "R tube fills",
    "first_spill_left": "L spill",
    "first_spill_right": "R spill",
    "delayed": "delayed",
}


class FillCurveWidget(QWidget):
    """Cavity area per frame with a cursor settable from outside and clickable key-frame markers."""

    keyFrameClicked = Signal(str, int)  # key-frame name, 1-based frame
    frameRequested = Signal(int)  # 1-based frame the user clicked on the curve

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        self.title = QLabel("Fill curve (suggestions)")
        self.title.setWordWrap(True)  # a long title must not set the window's minimum width (1366 px screens)
        lay.addWidget(self.title)
        self.plot = pg.PlotWidget(background="k")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        # a click on the curve jumps the cine; it must not take the keyboard from the viewport (Space, arrows)
        self.plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "frame")
        lay.addWidget(self.plot)
        self.curve = self.plot.plot([], [], pen=pg.mkPen((120, 200, 255), width=2))
        self.cursor = pg.InfiniteLine(pos=1, angle=90, movable=False, pen=pg.mkPen((255, 210, 0), width=1))
        self.plot.addItem(self.cursor)
        self.markers = pg.ScatterPlotItem(
            size=11, symbol="t1", brush=pg.mkBrush(255, 120, 80), hoverable=True
        )
        self.markers.sigClicked.connect(self._on_markers_clicked)
        self.plot.addItem(self.markers)
        self._labels: list[pg.TextItem] = []
        self.leaders = pg.PlotDataItem([], [], pen=pg.mkPen((150, 150, 150), width=1))
        self.plot.addItem(self.leaders)
        self._frames = 0
        self._frame = 1
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(max(7.0, self.font().pointSizeF() - 1))
        self.plot.scene().sigMouseClicked.connect(self._on_scene_clicked)
        # the plot area also changes without the widget resizing (the title wrapping to a second line)
        self.plot.getPlotItem().vb.sigResized.connect(lambda *_a: QTimer.singleShot(0, self.layout_labels))

    # --------------------------------------------------------------------------------------------- public API
    def set_analysis(self, result: FillAnalysis | None) -> None:
        """Show a new analysis (or clear with None)."""
        for item in self._labels:
            self.plot.removeItem(item)
        self._labels = []
        self.leaders.setVisible(False)
        if result is None or not result.fill_curve:
            self._frames = 0
            self.curve.setData([], [])
            self.markers.setData([])
            self.title.setText("Fill curve (no analysis)")
            return
        y = np.asarray(result.fill_curve, float)
        x = np.arange(1, y.size + 1)
        self._frames = int(y.size)
        self.curve.setData(x, y)
        unit = "mm²" if result.fill_curve_unit == "mm2" else "px²"
        self.plot.setLabel("left", f"cavity area ({unit})")
        spots = []
        top = float(y.max()) if y.size else 1.0
        ordered = sorted(result.key_frames.items(), key=lambda kv: kv[1].frame)
        for name, kf in ordered:
            if not 1 <= kf.frame <= y.size:
                continue
            spots.append(
                {"pos": (kf.frame, float(y[kf.frame - 1])), "data": (name, kf.frame, self._tip(name, kf))}
            )
            label = pg.TextItem(MARKER_LABELS.get(name, name), color=(230, 230, 230))
            label.setFont(self._label_font)
            label.setPos(kf.frame, float(y[kf.frame - 1]))
            label.setToolTip(self._tip(name, kf))
            self.plot.addItem(label)
            self._labels.append(label)
        self.markers.setData(spots)
        self.plot.setXRange(1, max(2, y.size), padding=0.02)
        self.plot.setYRange(0, max(top, 1.0) * 1.15, padding=0)
        self.layout_labels()
        self.title.setText(f"Fill curve — {len(spots)} suggested key frames (click a marker to jump)")
        self.set_frame(self._frame)

    def set_frame(self, frame: int) -> None:
        """Move the cursor to a 1-based frame (e.g. from the cine). Emits nothing."""
        self._frame = int(frame)
        self.cursor.setValue(self._frame)

    def layout_labels(self) -> None:
        """Place the marker labels so that none overlaps another label, a marker or a leader line, in screen pixels
        (the plot's size decides).

        Why: the analysis puts several key frames within a few frames of each other (tube fills, first spill,
        free spill on both sides) and a 1366 px screen gives the plot ~300 px for 40 frames, so labels at fixed
        offsets ran into each other. The labels are placed from the right. Each tries, in turn: starting at its
        marker and running right, then ending at it and running left — first on the side away from the curve's
        body (below a high marker, into the empty area under the plateau; above a low one), then on the other
        side — and steps away from the curve past whatever it would touch. A label moved off its marker gets a
        thin vertical line from the marker; a placement whose line would cross a label is not taken. A label
        with no place in the plot is hidden; its marker stays, with the same text in its tooltip.
        """
        if not self._labels:
            return
        vb = self.plot.getPlotItem().vb
        area = vb.sceneBoundingRect()
        if area.width() < 2 or area.height() < 2:
            return
        (y0, y1) = vb.viewRange()[1]
        gap, half = 4.0, 6.0
        markers = [vb.mapViewToScene(label.pos()) for label in self._labels]
        obstacles = [QRectF(m.x() - half, m.y() - half, 2 * half, 2 * half) for m in markers]
        placed: list[QRectF] = []  # labels placed so far
        lines: list[QRectF] = []  # their leader lines, as 1 px wide rectangles
        leaders: list[tuple[float, float]] = []  # marker -> label, in view coordinates, pairs
        for label in sorted(self._labels, key=lambda item: item.pos().x(), reverse=True):
            br = label.mapRectToScene(label.boundingRect())  # its size on screen (the text item's own
            w, h = br.width(), br.height()  # rectangle is ~10 % smaller than what is drawn)
            p = vb.mapViewToScene(label.pos())
            high = label.pos().y() > (y0 + y1) / 2
            own = QRectF(p.x() - half, p.y() - half, 2 * half, 2 * half)
            spot = None
            for below in (high, not high):
                for left in (p.x() - 3, p.x() + 3 - w):
                    rect = QRectF(left, p.y() + gap if below else p.y() - gap - h, w, h)
                    if rect.left() < area.left() or rect.right() > area.right():
                        continue
                    while True:  # step past whatever it touches, away from the curve
                        hit = [
                            o
                            for o in (*placed, *lines, *obstacles)
                            if o != own and o.intersects(rect.adjusted(0, -1, 0, 1))
                        ]
                        if not hit:
                            break
                        if below:
                            rect.moveTop(max(o.bottom() for o in hit) + 1)
                        else:
                            rect.moveBottom(min(o.top() for o in hit) - 1)
                    if rect.top() < area.top() or rect.bottom() > area.bottom():
                        continue
                    end_y = rect.top() if below else rect.bottom()
                    line = QRectF(p.x() - 0.5, min(p.y(), end_y), 1.0, abs(end_y - p.y()))
                    if any(line.intersects(o) for o in placed):
                        continue
                    spot = (rect, below, line)
                    break
                if spot is not None:
                    break
            label.setVisible(spot is not None)
            if spot is None:
                continue
            rect, below, line = spot
            placed.append(rect)
            label.setAnchor(((p.x() - rect.left()) / w, (p.y() - rect.top()) / h))
            if line.height() > gap + 0.5:  # moved away from its marker: a line says whose label it is
                lines.append(line)
                end = vb.mapSceneToView(QPointF(p.x(), rect.top() if below else rect.bottom()))
                leaders += [(label.pos().x(), label.pos().y()), (end.x(), end.y())]
        self.leaders.setData(
            [q[0] for q in leaders] or [0.0], [q[1] for q in leaders] or [0.0], connect="pairs"
        )
        self.leaders.setVisible(bool(leaders))

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(ev)
        QTimer.singleShot(0, self.layout_labels)  # once the plot has its new size

    def labels_shown(self) -> list[tuple[str, QRectF]]:
        """(text, scene rectangle) of every marker label on screen — for the tests' overlap check."""
        return [
            (label.textItem.toPlainText(), label.mapRectToScene(label.boundingRect()))
            for label in self._labels
            if label.isVisible()
        ]

    @property
    def frame(self) -> int:
        return self._frame

    def marker_frames(self) -> dict[str, int]:
        """Key-frame name -> 1-based frame of the markers shown."""
        return {p.data()[0]: int(p.data()[1]) for p in self.markers.points()}

    # -------------------------------------------------------------------------------------------- internals
    @staticmethod
    def _tip(name: str, kf) -> str:
        t = f", {kf.time_s:.1f} s" if kf.time_s is not None else ""
        return f"{MARKER_LABELS.get(name, name)}: frame {kf.frame}{t}\n{kf.reason}"

    def _on_markers_clicked(self, _item, points, _ev=None) -> None:
        if len(points):
            name, frame = points[0].data()[:2]
            self.keyFrameClicked.emit(str(name), int(frame))

    def _on_scene_clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self._frames == 0:
            return
        vb = self.plot.getPlotItem().vb
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        view = vb.mapSceneToView(ev.scenePos())
        if len(self.markers.pointsAt(view)):
            return  # a marker click: keyFrameClicked handles it
        x = view.x()
        frame = int(np.clip(round(x), 1, self._frames))
        self.frameRequested.emit(frame)
