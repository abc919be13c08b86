"""Graphics views of :class:`~hsg_workstation.measurements.Measurement` objects (pyqtgraph ROIs + labels).

The items never own data: a handle drag ends in ``on_edit(new_points)``, which the viewport turns into
``store.update(measurement.moved(points))`` — the single mapper from view to model. The store then calls back
and the label is refreshed from the model, so what is drawn is always what the report will read.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFont

from hsg_workstation.measurements import Measurement, MeasurementKind
from hsg_workstation.session.measurements import measurement_text

PEN = pg.mkPen(QColor(255, 210, 0), width=2)
HOVER_PEN = pg.mkPen(QColor(255, 255, 120), width=2)
Points = tuple[tuple[float, float], ...]


def _label() -> pg.TextItem:
    item = pg.TextItem(color=(255, 230, 80), anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 150))
    f = QFont()
    f.setPointSize(9)
    item.setFont(f)
    return item


class MeasurementGraphic:
    """ROI + label for one measurement, children of the viewport's image-space group."""

    def __init__(
        self,
        measurement: Measurement,
        parent: pg.GraphicsObject,
        on_edit: Callable[[Measurement, Points], None],
        pixels: np.ndarray | None,
        on_remove: Callable[[Measurement], None] | None = None,
    ) -> None:
        self.measurement = measurement
        self._on_edit = on_edit
        self._on_remove = on_remove
        self._parent = parent
        self.pixels = pixels
        self.items: list = []
        self.roi = self._make_roi(measurement)
        if self.roi is not None:
            self.roi.setParentItem(parent)
            self.roi.sigRegionChangeFinished.connect(self._edited)
            # right-click on the shape offers "Remove ROI"; the store removes it, the view follows
            self.roi.sigRemoveRequested.connect(
                lambda *_a: self._on_remove and self._on_remove(self.measurement)
            )
            self.items.append(self.roi)
        self.arrow: pg.ArrowItem | None = None
        if measurement.kind is MeasurementKind.ARROW:
            self.arrow = pg.ArrowItem(headLen=14, tailLen=0, pen=PEN, brush=pg.mkBrush(255, 210, 0))
            self.arrow.setParentItem(parent)
            self.items.append(self.arrow)
        self.label = _label()
        self.label.setParentItem(parent)
        self.items.append(self.label)
        self.update(measurement)

    def set_interactive(self, on: bool) -> None:
        """While a drawing tool is armed the shapes ignore the mouse, so a new ellipse started on a line draws
        the ellipse instead of dragging the line (pyqtgraph's scene skips disabled items; the press reaches the
        view and its tool). Disabled ROIs paint as before."""
        if self.roi is not None:
            self.roi.setEnabled(on)

    def _make_roi(self, m: Measurement):
        pts = [QPointF(*p) for p in m.region.points]
        kw = {"pen": PEN, "hoverPen": HOVER_PEN, "movable": True, "removable": True}
        if m.kind in (MeasurementKind.LENGTH, MeasurementKind.ARROW):
            return pg.LineSegmentROI(positions=[(p.x(), p.y()) for p in pts], **kw)
        if m.kind is MeasurementKind.ANGLE:
            return pg.PolyLineROI([(p.x(), p.y()) for p in pts], closed=False, **kw)
        if m.kind is MeasurementKind.POLYGON:
            return pg.PolyLineROI([(p.x(), p.y()) for p in pts], closed=True, **kw)
        if m.kind is MeasurementKind.ELLIPSE:
            (c0, r0), (c1, r1), (c2, r2), (c3, r3) = m.region.points
            centre = ((c0 + c1) / 2, (r0 + r1) / 2)
            a = math.hypot(c1 - c0, r1 - r0)
            b = math.hypot(c3 - c2, r3 - r2)
            angle = math.degrees(math.atan2(r1 - r0, c1 - c0))
            roi = pg.EllipseROI((centre[0] - a / 2, centre[1] - b / 2), (a, b), **kw)
            roi.setAngle(angle, center=(0.5, 0.5))
            return roi
        return None

    def current_points(self) -> Points:
        """Read the ROI geometry back as model points (image coordinates)."""
        roi, kind = self.roi, self.measurement.kind
        if kind in (MeasurementKind.LENGTH, MeasurementKind.ARROW):
            pts = [roi.mapToParent(h.pos()) for h in roi.getHandles()]
        elif kind in (MeasurementKind.ANGLE, MeasurementKind.POLYGON):
            pts = [roi.mapToParent(h.pos()) for h in roi.getHandles()]
        else:  # ellipse in ROI-local coordinates spans (0, 0)-(w, h)
            w, h = roi.size()
            local = [(0, h / 2), (w, h / 2), (w / 2, 0), (w / 2, h)]
            pts = [roi.mapToParent(QPointF(x, y)) for x, y in local]
        return tuple((float(p.x()), float(p.y())) for p in pts)

    def _edited(self, *_args) -> None:
        pts = self.current_points()
        if not np.allclose(pts, self.measurement.region.points, atol=1e-6):
            self._on_edit(self.measurement, pts)

    def update(self, measurement: Measurement) -> None:
        self.measurement = measurement
        pts = measurement.region.points
        self.label.setText(measurement_text(measurement, self.pixels))
        if measurement.kind is MeasurementKind.LENGTH:
            # centred above the middle of the line, so it never sits on an end point another label may use
            self.label.setAnchor((0.5, 1.0))
            self.label.setPos((pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2 - 3)
        elif measurement.kind is MeasurementKind.ANGLE:
            self.label.setPos(pts[1][0] + 4, pts[1][1])
        else:
            anchor = max(pts, key=lambda p: p[0])
            self.label.setPos(anchor[0] + 4, anchor[1])
        if self.arrow is not None:
            (c0, r0), (c1, r1) = pts[0], pts[1]
            self.arrow.setPos(c1, r1)
            # ArrowItem points along +x at angle 0; rotate so the head points at the tip (second point).
            self.arrow.setStyle(angle=math.degrees(math.atan2(r0 - r1, c0 - c1)))
            self.label.setPos(c0 + 4, r0)

    def remove(self) -> None:
        for it in self.items:
            scene = it.scene()
            it.setParentItem(None)
            if scene is not None:
                scene.removeItem(it)
        self.items = []
