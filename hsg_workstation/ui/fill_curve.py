"""Fill-curve plot for the fill-sequence analysis: cavity area over the loop, a frame cursor and key-frame markers.

Standalone pyqtgraph widget; the main window docks it under the viewport and wires it to the cine:
``cine frame changed -> set_frame(n)`` (no signal back, so there is no feedback loop) and
``keyFrameClicked(name, n) / frameRequested(n) -> jump the cine to frame n``. Frames are 1-based, as everywhere
the analysis talks to the user. The markers are *suggestions* (the analysis' key frames), shown as such.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
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
        lay.addWidget(self.title)
        self.plot = pg.PlotWidget(background="k")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
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
        self._frames = 0
        self._frame = 1
        self.plot.scene().sigMouseClicked.connect(self._on_scene_clicked)

    # --------------------------------------------------------------------------------------------- public API
    def set_analysis(self, result: FillAnalysis | None) -> None:
        """Show a new analysis (or clear with None)."""
        for item in self._labels:
            self.plot.removeItem(item)
        self._labels = []
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
        for k, (name, kf) in enumerate(ordered):
            if not 1 <= kf.frame <= y.size:
                continue
            spots.append(
                {"pos": (kf.frame, float(y[kf.frame - 1])), "data": (name, kf.frame, self._tip(name, kf))}
            )
            # staggered heights so that neighbouring suggestions stay readable; the last one hugs the right edge
            ax = 1.0 if kf.frame >= 0.95 * y.size else 0.5
            label = pg.TextItem(
                MARKER_LABELS.get(name, name), color=(230, 230, 230), anchor=(ax, 1.2 + 1.3 * (k % 2))
            )
            label.setPos(kf.frame, float(y[kf.frame - 1]))
            self.plot.addItem(label)
            self._labels.append(label)
        self.markers.setData(spots)
        self.plot.setXRange(1, max(2, y.size), padding=0.02)
        self.plot.setYRange(0, max(top, 1.0) * 1.15, padding=0)
        self.title.setText(f"Fill curve — {len(spots)} suggested key frames (click a marker to jump)")
        self.set_frame(self._frame)

    def set_frame(self, frame: int) -> None:
        """Move the cursor to a 1-based frame (e.g. from the cine). Emits nothing."""
        self._frame = int(frame)
        self.cursor.setValue(self._frame)

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
