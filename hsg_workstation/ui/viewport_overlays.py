"""What the viewport draws over the image: the four corner texts, the millimetre scale bar, the patient
orientation letters and the "flipped for display" badge (``OverlaysMixin``, a part of
:class:`~hsg_workstation.ui.viewport.Viewport`, split out by subject). Left and right are always shown: the
orientation markers are not hidden with the corner texts.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QLabel, QWidget

from hsg_workstation.dicom_io.model import DisplaySetKind
from hsg_workstation.dicom_io.orientation import display_badge, displayed_edges
from hsg_workstation.session.viewport_state import VoiMode


class ScaleBar(QWidget):
    """A bar of a round number of millimetres, as long on screen as it is on the image."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.px_length = 0.0
        self.text = ""
        self.resize(180, 28)

    def set_scale(self, screen_px_per_mm: float | None) -> None:
        if not screen_px_per_mm or screen_px_per_mm <= 0:
            self.px_length, self.text = 0.0, ""
        else:
            for mm in (1, 2, 5, 10, 20, 50, 100, 200):
                if mm * screen_px_per_mm >= 60:
                    break
            self.px_length = mm * screen_px_per_mm
            self.text = f"{mm} mm"
        self.update()

    def paintEvent(self, _ev) -> None:  # noqa: N802
        if self.px_length <= 0:
            return
        p = QPainter(self)
        x1 = self.width() - 4
        x0 = x1 - min(self.px_length, self.width() - 8)
        p.fillRect(QRectF(x0 - 4, 0, x1 - x0 + 8, self.height()), QColor(0, 0, 0, 120))
        p.setPen(QPen(QColor(255, 255, 255), 2))
        y = self.height() - 6
        p.drawLine(int(x0), y, int(x1), y)
        p.drawLine(int(x0), y - 5, int(x0), y)
        p.drawLine(int(x1), y - 5, int(x1), y)
        p.drawText(QRectF(x0, 0, x1 - x0, y - 4), Qt.AlignmentFlag.AlignCenter, self.text)
        p.end()


def _marker_label(parent: QWidget) -> QLabel:
    """An orientation letter (patient's R/L/H/F) at the middle of a viewport edge: large, bold, always shown."""
    lab = QLabel(parent)
    lab.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
    lab.setStyleSheet("color: #ffe14d; background: rgba(0, 0, 0, 150); padding: 1px 4px;")
    f = QFont()
    f.setPointSize(15)
    f.setBold(True)
    lab.setFont(f)
    lab.hide()
    return lab


def _overlay_label(parent: QWidget, align: Qt.AlignmentFlag) -> QLabel:
    lab = QLabel(parent)
    lab.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    lab.setAlignment(align)
    # A translucent plate keeps white text readable over bright (non-inverted) fluoroscopy backgrounds.
    lab.setStyleSheet("color: #f0f0f0; background: rgba(0, 0, 0, 120); padding: 1px 3px;")
    f = QFont()
    f.setPointSize(9)
    lab.setFont(f)
    return lab


class OverlaysMixin:
    """Corner texts, scale bar and orientation markers of a :class:`Viewport`."""

    # -- overlays (corner texts) -------------------------------------------------------------------------------------
    def set_overlays_visible(self, visible: bool) -> None:
        self.overlays_visible = visible
        for lab in self.overlay.values():
            lab.setVisible(visible)
        self.scale_bar.setVisible(visible)

    def overlay_texts(self) -> dict[str, str]:
        h = self.header
        if h is None:
            ds = self.display_set
            return {"tl": ds.label if ds else "", "tr": "", "bl": "", "br": ""}
        date = h.study_date
        if len(date) == 8:
            date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
        n = len(self.frames)
        t = self.cine.frame_time_s(self.index) if self.display_set.kind is DisplaySetKind.CINE else None
        frame_line = f"Frame {self.index + 1}/{n}" + (f"   t = {t:.2f} s" if t is not None else "")
        if self.cine.holding:
            frame_line += "   ⏸ buffering"
        elif self.cine.playing:
            frame_line += f"   ▶ {self.cine.nominal_fps:.1f} fps"
        c, w = self.window
        mode = {VoiMode.LINEAR: "", VoiMode.SIGMOID: " (SIGMOID)", VoiMode.VOI_LUT: " (VOI LUT)"}[
            self.voi_mode
        ]
        cal = self.calibration()
        cal_text = (
            f"Calibrated: {cal.basis.value} ({cal.column_spacing_mm:.3f} mm/px)"
            if cal.is_calibrated
            else "Uncalibrated — px"
        )
        return {
            "tl": f"{h.patient_name.replace('^', ' ')}\nID {h.patient_id}\n{date}",
            "tr": f"{h.modality}  Series {h.series_number}\n{self.display_set.label}\n{frame_line}",
            "bl": f"W {w:.0f}  C {c:.0f}{mode}{'  INV' if self.inverted else ''}\nZoom {self.zoom_factor:.2f}×",
            "br": cal_text,
        }

    def _update_overlays(self) -> None:
        if self._closed:
            return
        for k, text in self.overlay_texts().items():
            self.overlay[k].setText(text)
            self.overlay[k].adjustSize()
        self._update_markers()
        self._update_scale_bar()
        self._place_overlays()

    def _update_zoom_overlays(self, *_a) -> None:
        if self.header is not None and not self._closed and not getattr(self, "_fitting", False):
            self._check_lod()
            self._update_overlays()

    def _update_scale_bar(self) -> None:
        cal = self.calibration()
        if cal.is_calibrated and cal.column_spacing_mm:
            self.scale_bar.set_scale(self.zoom_factor / cal.column_spacing_mm)
        else:
            self.scale_bar.set_scale(None)

    def _place_overlays(self) -> None:
        """Four corners; in a narrow viewport (2×2 layout) the right-hand texts drop below the left-hand ones
        instead of overlapping them, and the scale bar sits above the bottom-right text."""
        w, h = self.view.width(), self.view.height()
        m = 6
        tl, tr_, bl, br = (self.overlay[k] for k in ("tl", "tr", "bl", "br"))
        tl.move(m, m)
        tr_y = m if tl.width() + tr_.width() + 3 * m <= w else m + tl.height() + 2
        tr_.move(w - tr_.width() - m, tr_y)
        br.move(w - br.width() - m, h - br.height() - m)
        bl_y = h - bl.height() - m
        if bl.width() + br.width() + 3 * m > w:
            bl_y = br.y() - bl.height() - 2
        bl.move(m, bl_y)
        bar_y = br.y() - self.scale_bar.height() - 2
        if bl_y < br.y() and bl.x() + bl.width() > w - self.scale_bar.width() - m:
            bar_y = min(bar_y, bl_y - self.scale_bar.height() - 2)
        self.scale_bar.move(w - self.scale_bar.width() - m, bar_y)
        mk = self.markers
        mk["left"].move(m, (h - mk["left"].height()) // 2)
        mk["right"].move(w - mk["right"].width() - m, (h - mk["right"].height()) // 2)
        mk["top"].move((w - mk["top"].width()) // 2, m)
        mk["bottom"].move((w - mk["bottom"].width()) // 2, h - mk["bottom"].height() - m)
        # a long corner text (the calibration basis, a long series label) must never cover the patient's
        # orientation: the marker moves inward past any text it would touch
        for edge, texts, inward in (("top", (tl, tr_), 1), ("bottom", (bl, br), -1)):
            marker = mk[edge]
            for text in sorted(texts, key=lambda t: t.y() * inward):
                if text.isVisible() and marker.geometry().intersects(text.geometry()):
                    y = text.y() + text.height() + 2 if inward > 0 else text.y() - marker.height() - 2
                    marker.move(marker.x(), y)
        badge = self.orientation_badge
        # under the top marker, centred: never covered by the corner texts
        badge.move((w - badge.width()) // 2, mk["top"].y() + mk["top"].height() + 4)
        self.message.setMaximumWidth(max(200, w - 40))
        self.message.adjustSize()
        self.message.move((w - self.message.width()) // 2, (h - self.message.height()) // 2)

    def orientation_markers(self) -> dict[str, str] | None:
        """Patient-direction letters at the displayed image's edges; None when the image has no orientation."""
        if self.header is None:
            return None
        return displayed_edges(self.header.patient_orientation, *self.display_flips)

    def orientation_badge_text(self) -> str:
        if self.header is None:
            return ""
        return display_badge(self.header.patient_orientation, *self.display_flips)

    def _update_markers(self) -> None:
        edges = self.orientation_markers() if not self._closed else None
        for edge, lab in self.markers.items():
            text = (edges or {}).get(edge, "")
            lab.setText(text)
            lab.adjustSize()
            lab.setVisible(bool(text) and self.header is not None)
        badge = self.orientation_badge_text() if not self._closed else ""
        self.orientation_badge.setText(badge)
        self.orientation_badge.adjustSize()
        self.orientation_badge.setVisible(bool(badge))
