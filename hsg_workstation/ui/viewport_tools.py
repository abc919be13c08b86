"""The viewport's measurement tools: the mouse gestures of the reading workstation (``ReadingViewBox``) and
drawing, editing and deleting measurements through the session's store (``MeasureToolsMixin``, a part of
:class:`~hsg_workstation.ui.viewport.Viewport`, split out by subject so the viewport stays readable).

The armed tool is the ``ViewportState``'s (``session/viewport_state.py``: a ``Tool`` enum); a measurement drawn
here is added to the store — the bound draft report's measurement — and a handle drag ends in
``store.update(measurement.moved(points))``, the single mapper from view to model.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QInputDialog

from hsg_workstation.measurements import (
    Calibration,
    ImageRegion,
    Measurement,
    MeasurementKind,
    RegionType,
)
from hsg_workstation.session.measurements import manual_calibration
from hsg_workstation.session.viewport_state import CLICK_TOOLS, DRAG_TOOLS, Tool, as_tool
from hsg_workstation.ui.measure_items import PEN, MeasurementGraphic

if TYPE_CHECKING:
    from hsg_workstation.ui.viewport import Viewport

REGION_OF = {
    MeasurementKind.LENGTH: RegionType.POLYLINE,
    MeasurementKind.ANGLE: RegionType.POLYLINE,
    MeasurementKind.POLYGON: RegionType.POLYGON,
    MeasurementKind.ELLIPSE: RegionType.ELLIPSE,
    MeasurementKind.ARROW: RegionType.POLYLINE,
    MeasurementKind.POINT: RegionType.POINT,
}


class ReadingViewBox(pg.ViewBox):
    """ViewBox whose mouse gestures follow the reading workstation: W/L drag on a configurable button,
    pan on the others, and left-button gestures routed to the active measurement tool."""

    def __init__(self, viewport: Viewport) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self._viewport = viewport
        self.wl_button = Qt.MouseButton.RightButton

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - Qt/pyqtgraph naming
        vp = self._viewport
        if ev.button() == Qt.MouseButton.LeftButton and vp.tool in DRAG_TOOLS:
            ev.accept()
            vp._tool_drag(ev)
            return
        if ev.button() == self.wl_button:
            ev.accept()
            if ev.isStart():
                vp._wl_drag_start()
            delta = ev.screenPos() - ev.buttonDownScreenPos()
            vp._wl_drag(delta.x(), delta.y())
            return
        if ev.button() in (
            Qt.MouseButton.LeftButton,
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.RightButton,
        ):
            # Pan with any non-W/L button (pyqtgraph's default right-drag zoom is not what readers expect).
            ev.accept()
            dif = ev.pos() - ev.lastPos()
            tr = self.childGroup.transform()
            tr = pg.functions.invertQTransform(tr)
            dif = tr.map(dif) - tr.map(QPointF(0, 0))
            self.translateBy(x=-dif.x(), y=-dif.y())
            return
        super().mouseDragEvent(ev, axis)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        vp = self._viewport
        if ev.button() == Qt.MouseButton.LeftButton and vp.tool in CLICK_TOOLS:
            ev.accept()
            vp._tool_click(vp.scene_to_image(ev.scenePos()), ev.double())
            return
        vp.activated.emit()
        super().mouseClickEvent(ev)


class MeasureToolsMixin:
    """Tools and measurement graphics of a :class:`Viewport` (uses its ``state``, ``store``, ``image_space``)."""

    # -- what is under the mouse ----------------------------------------------------------------------
    def pixel_at(self, point: tuple[float, float]) -> float | None:
        """Modality value of the pixel containing an image point, or None outside the image."""
        if self.frame is None:
            return None
        c, r = int(math.floor(point[0])), int(math.floor(point[1]))
        if 0 <= r < self.frame.shape[0] and 0 <= c < self.frame.shape[1]:
            v = self.frame[r, c]
            return float(v) if np.ndim(v) == 0 else float(np.mean(v))
        return None

    def _mouse_moved(self, scene_pos: QPointF) -> None:
        p = self.scene_to_image(scene_pos)
        v = self.pixel_at(p)
        if v is not None:
            cal = self.calibration()
            mm = ""
            if cal.is_calibrated:
                mm = f"  ({p[0] * cal.column_spacing_mm:.1f}, {p[1] * cal.row_spacing_mm:.1f} mm)"
            self.pixelInfo.emit(f"x {int(p[0])}  y {int(p[1])}{mm}  value {v:g}")

    # -- measurements ---------------------------------------------------------------------------------
    def set_tool(self, tool: str | Tool | None) -> None:
        """Arm a tool (a ``Tool`` or its name; an unknown name is refused) or None for editing / panning."""
        tool = as_tool(tool)
        self.cancel_tool()
        self._armed_tool = tool
        self.state.tool = tool
        for g in self._graphics.values():
            g.set_interactive(tool is None)
        self.view.setCursor(Qt.CursorShape.CrossCursor if tool else Qt.CursorShape.ArrowCursor)

    def cancel_tool(self) -> None:
        self._tool_points = []
        if self._tool_preview is not None:
            scene = self._tool_preview.scene()
            if scene is not None:
                scene.removeItem(self._tool_preview)
            self._tool_preview = None

    def _preview(self, points: list[tuple[float, float]], closed: bool = False) -> None:
        if self._tool_preview is None:
            self._tool_preview = pg.PlotCurveItem(pen=PEN, antialias=True)
            self._tool_preview.setParentItem(self.image_space)
        pts = points + ([points[0]] if closed and points else [])
        self._tool_preview.setData([p[0] for p in pts], [p[1] for p in pts])

    def _tool_drag(self, ev) -> None:
        p0 = self.scene_to_image(ev.buttonDownScenePos())
        p1 = self.scene_to_image(ev.scenePos())
        if self.tool is Tool.ELLIPSE:
            c = ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2)
            rx, ry = abs(p1[0] - p0[0]) / 2, abs(p1[1] - p0[1]) / 2
            th = np.linspace(0, 2 * math.pi, 48)
            self._preview([(c[0] + rx * math.cos(t), c[1] + ry * math.sin(t)) for t in th])
        else:
            self._preview([p0, p1])
        if ev.isFinish():
            self.cancel_tool()
            self._finish_two_point(p0, p1)

    def _finish_two_point(self, p0: tuple[float, float], p1: tuple[float, float]) -> None:
        if math.hypot(p1[0] - p0[0], p1[1] - p0[1]) < 1.0:
            return
        tool = self.tool
        if tool is Tool.LENGTH:
            self.add_measurement(MeasurementKind.LENGTH, (p0, p1))
        elif tool is Tool.ARROW:
            text = self._ask_text("Arrow label:")
            if text is not None:
                self.add_measurement(MeasurementKind.ARROW, (p0, p1), label=text)
        elif tool is Tool.ELLIPSE:
            c = ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2)
            self.add_measurement(
                MeasurementKind.ELLIPSE,
                ((p0[0], c[1]), (p1[0], c[1]), (c[0], p0[1]), (c[0], p1[1])),
            )
        elif tool is Tool.CALIBRATE:
            mm = self.request_length_mm() if self.request_length_mm else self._ask_length()
            if mm:
                self.calibrate(p0, p1, mm)
        self.toolFinished.emit()

    def _tool_click(self, p: tuple[float, float], double: bool) -> None:
        if self.tool is Tool.ANGLE:
            self._tool_points.append(p)
            self._preview(self._tool_points)
            if len(self._tool_points) == 3:
                pts = tuple(self._tool_points)
                self.cancel_tool()
                self.add_measurement(MeasurementKind.ANGLE, pts)
                self.toolFinished.emit()
        elif self.tool is Tool.POLYGON:
            pts = self._tool_points
            closing = len(pts) >= 3 and (double or math.hypot(p[0] - pts[0][0], p[1] - pts[0][1]) < 4)
            if not closing:
                pts.append(p)
                self._preview(pts, closed=False)
            if closing or double:
                if len(pts) >= 3:
                    done = tuple(pts)
                    self.cancel_tool()
                    self.add_measurement(MeasurementKind.POLYGON, done)
                    self.toolFinished.emit()

    def finish_polygon(self) -> None:
        """Enter closes the polygon being drawn."""
        if self.tool is Tool.POLYGON and len(self._tool_points) >= 3:
            done = tuple(self._tool_points)
            self.cancel_tool()
            self.add_measurement(MeasurementKind.POLYGON, done)
            self.toolFinished.emit()

    def _ask_text(self, prompt: str) -> str | None:
        if self.request_text is not None:
            return self.request_text(prompt)
        text, ok = QInputDialog.getText(self, "Annotation", prompt)
        return text if ok else None

    def _ask_length(self) -> float | None:
        mm, ok = QInputDialog.getDouble(
            self, "Calibrate", "Known length of the line (mm):", 10.0, 0.01, 1000.0, 2
        )
        return mm if ok else None

    def add_measurement(
        self, kind: MeasurementKind, points: tuple[tuple[float, float], ...], label: str = ""
    ) -> Measurement | None:
        """Create a measurement on the current frame with the current calibration, in the shared store."""
        ref = self.current_ref
        if ref is None or self.study is None:
            return None
        region = ImageRegion(ref.sop_instance_uid, ref.frame_number, REGION_OF[kind], tuple(points))
        m = Measurement(kind, region, self.calibration(), label=label)
        return self.store.add(self.study.study_instance_uid, m)

    def calibrate(self, p0: tuple[float, float], p1: tuple[float, float], known_mm: float) -> Calibration:
        """Manual calibration from a line over a known length; re-bases this instance's measurements."""
        assert self.study is not None and self.current_ref is not None
        cal = manual_calibration(p0, p1, known_mm)
        self.store.set_calibration(self.study.study_instance_uid, self.current_ref.sop_instance_uid, cal)
        self.statusMessage.emit(
            f"Manual calibration: {cal.column_spacing_mm:.4f} mm/px from a {known_mm:g} mm line"
        )
        self._update_overlays()
        return cal

    def delete_measurement(self, measurement_id: str) -> None:
        if self.study is not None:
            self.store.remove(self.study.study_instance_uid, measurement_id)

    def _edit_from_view(self, m: Measurement, points) -> None:
        if self.study is not None:
            self.store.update(self.study.study_instance_uid, m.moved(points))

    def _graphic(self, m: Measurement) -> MeasurementGraphic:
        g = MeasurementGraphic(m, self.image_space, self._edit_from_view, self.frame, self._remove_from_view)
        g.set_interactive(self.tool is None)
        return g

    def _remove_from_view(self, m: Measurement) -> None:
        if self.study is not None:
            self.store.remove(self.study.study_instance_uid, m.id)

    def _mine(self, study_uid: str, m: Measurement) -> bool:
        ref = self.current_ref
        return (
            self.study is not None
            and study_uid == self.study.study_instance_uid
            and ref is not None
            and m.region.sop_instance_uid == ref.sop_instance_uid
            and m.region.frame_number == ref.frame_number
        )

    def _on_store_added(self, study_uid: str, m: Measurement) -> None:
        if self._mine(study_uid, m) and m.id not in self._graphics:
            self._graphics[m.id] = self._graphic(m)

    def _on_store_changed(self, study_uid: str, m: Measurement) -> None:
        g = self._graphics.get(m.id)
        if g is not None:
            if not np.allclose(g.current_points(), m.region.points, atol=1e-6):
                g.remove()
                self._graphics[m.id] = self._graphic(m)
            else:
                g.update(m)
        self._update_overlays()

    def _on_store_removed(self, study_uid: str, m: Measurement) -> None:
        g = self._graphics.pop(m.id, None)
        if g is not None:
            g.remove()

    def visible_measurements(self) -> list[MeasurementGraphic]:
        return list(self._graphics.values())

    def _clear_graphics(self) -> None:
        for g in self._graphics.values():
            g.remove()
        self._graphics = {}

    def _refresh_measurements(self) -> None:
        ref = self.current_ref
        if ref is None or self.study is None:
            return
        wanted = {
            m.id: m
            for m in self.store.on_frame(
                self.study.study_instance_uid, ref.sop_instance_uid, ref.frame_number
            )
        }
        if not wanted and not self._graphics:
            return
        for mid in list(self._graphics):
            if mid not in wanted:
                self._graphics.pop(mid).remove()
        for mid, m in wanted.items():
            g = self._graphics.get(mid)
            if g is None:
                self._graphics[mid] = self._graphic(m)
            else:
                g.pixels = self.frame
                g.update(m)
