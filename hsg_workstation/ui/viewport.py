"""The image viewport: one display set (cine loop, spot-image stack or document) in a pyqtgraph view.

Display path: a row-major ImageItem that gets the decoded frame plus explicit levels — never autoLevels
(it samples the image and can miss the bright catheter tip). Window/level changes are ``setLevels`` only.
The ImageItem and every measurement graphic are children of one ``image space`` group; rotate/flip set a
transform on that group, so measurements stay glued to the anatomy and image coordinates stay those of the
DICOM pixel grid (column, row) whatever the view orientation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QTransform
from PySide6.QtWidgets import QInputDialog, QLabel, QVBoxLayout, QWidget

from hsg_workstation.dicom_io import frame_cache as fc
from hsg_workstation.dicom_io.model import DisplaySet, DisplaySetKind, FrameRef, Study
from hsg_workstation.dicom_io.orientation import (
    ap_display_flips,
    display_badge,
    displayed_edges,
)
from hsg_workstation.measurements import (
    Calibration,
    ImageRegion,
    Measurement,
    MeasurementKind,
    RegionType,
)
from hsg_workstation.session.measurements import MeasurementStore, manual_calibration
from hsg_workstation.ui import frames as fr
from hsg_workstation.ui import lod
from hsg_workstation.ui.cine import CineClock
from hsg_workstation.ui.loader import FrameKey, FrameLoader, frame_key
from hsg_workstation.ui.measure_items import PEN, MeasurementGraphic

# Row-major or DICOM rows and columns swap. Antialiasing stays per item (ROIs do it themselves), not global:
# a global switch would also slow every other pyqtgraph plot in the app.
pg.setConfigOptions(imageAxisOrder="row-major")

TOOLS = ("length", "angle", "ellipse", "polygon", "arrow", "calibrate")
REGION_OF = {
    MeasurementKind.LENGTH: RegionType.POLYLINE,
    MeasurementKind.ANGLE: RegionType.POLYLINE,
    MeasurementKind.POLYGON: RegionType.POLYGON,
    MeasurementKind.ELLIPSE: RegionType.ELLIPSE,
    MeasurementKind.ARROW: RegionType.POLYLINE,
    MeasurementKind.POINT: RegionType.POINT,
}
PREFETCH = 12  # native frames decode in ~1 ms: a short read-ahead keeps up with any cine rate
INVERTED_LUT = np.arange(255, -1, -1, dtype=np.uint8)


class ReadingViewBox(pg.ViewBox):
    """ViewBox whose mouse gestures follow the reading workstation: W/L drag on a configurable button,
    pan on the others, and left-button gestures routed to the active measurement tool."""

    def __init__(self, viewport: Viewport) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self._viewport = viewport
        self.wl_button = Qt.MouseButton.RightButton

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802 - Qt/pyqtgraph naming
        vp = self._viewport
        if ev.button() == Qt.MouseButton.LeftButton and vp.tool in (
            "length",
            "arrow",
            "calibrate",
            "ellipse",
        ):
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
        if ev.button() == Qt.MouseButton.LeftButton and vp.tool in ("angle", "polygon"):
            ev.accept()
            vp._tool_click(vp.scene_to_image(ev.scenePos()), ev.double())
            return
        vp.activated.emit()
        super().mouseClickEvent(ev)


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


class Viewport(QWidget):
    """One view of one display set; owns its decoder thread and cine clock."""

    frameChanged = Signal(int)  # 0-based index requested (the picture follows once decoded)
    framePainted = Signal(
        int
    )  # 0-based index now on screen (overlays that must match the picture follow this)
    levelsChanged = Signal(float, float)
    playingChanged = Signal(bool)
    activated = Signal()
    toolFinished = Signal()
    statusMessage = Signal(str)
    pixelInfo = Signal(str)  # "x, y: value" under the mouse (status bar)
    calibrationRequested = Signal(object, object)  # p0, p1 (image coordinates) when no length is given
    bufferingChanged = Signal(str)  # "buffering n / N" while the loop is being decoded ahead, "" when done

    def __init__(
        self,
        store: MeasurementStore | None = None,
        parent: QWidget | None = None,
        pool: fc.FramePool | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store or MeasurementStore()
        self.study: Study | None = None
        self.display_set: DisplaySet | None = None
        self.header: fr.ImageHeader | None = None
        self.frames: tuple[FrameRef, ...] = ()
        self.index = 0
        self.displayed_index = -1
        self.frame: np.ndarray | None = None
        self.levels: tuple[float, float] = (0.0, 1.0)
        self.voi: fr.VoiPreset | None = None
        self.inverted = False
        self.overlays_visible = True
        self.tool: str | None = None
        self._tool_points: list[tuple[float, float]] = []
        self._tool_preview: pg.GraphicsObject | None = None
        self._graphics: dict[str, MeasurementGraphic] = {}
        self.error: str | None = None
        self._closed = False
        self.request_text = None  # optional callable(prompt) -> str | None; tests set it to avoid dialogs
        self.request_length_mm = None  # optional callable() -> float | None

        self.loader = FrameLoader(parent=self, pool=pool)
        self.buffering_text = ""
        # level of detail of a large film: (full frame, factor, drawn reduction) and the drawn image's rect
        self._lod: tuple[np.ndarray | None, int, np.ndarray | None] = (None, 1, None)
        self._drawn_rect: tuple[int, int, int] | None = None
        self._ahead: list[FrameKey] = []  # the decode-ahead window last asked for (for "buffering n / N")
        self.loader.frameReady.connect(self._on_frame_ready)
        self.loader.frameFailed.connect(self._on_frame_failed)
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.setInterval(40)
        self._prefetch_timer.timeout.connect(self._start_prefetch)
        self.cine = CineClock(self)
        self.cine.frameDue.connect(self._on_frame_due)
        self.cine.playingChanged.connect(self.playingChanged)

        self.view = pg.GraphicsView(self)
        self.view.setBackground("k")
        self.view.setAntialiasing(False)
        self.vb = ReadingViewBox(self)
        self.view.setCentralItem(self.vb)
        self.image_space = pg.ItemGroup()
        self.vb.addItem(self.image_space)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.image_item.setParentItem(self.image_space)
        self.vb.sigRangeChanged.connect(self._update_zoom_overlays)
        self.view.scene().sigMouseMoved.connect(self._mouse_moved)
        self._rotation = 0
        self._flip_h = False
        self._flip_v = False
        # Show every image in the AP convention (patient's left on the image's right), with a badge when that
        # meant flipping; the main window sets it from the viewer settings (on by default for HSG).
        self.ap_display = True
        # sop_instance_uid -> path of the open study's images (the KO document view names what it selects)
        self.instance_paths: dict[str, Path] = {}

        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 1, 1, 1)
        lay.addWidget(self.view)
        self.setStyleSheet("Viewport { border: 1px solid #333; }")

        tl, tr_, bl, br = (
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignBottom,
        )
        self.overlay = {
            "tl": _overlay_label(self.view, tl),
            "tr": _overlay_label(self.view, tr_),
            "bl": _overlay_label(self.view, bl),
            "br": _overlay_label(self.view, br),
        }
        self.scale_bar = ScaleBar(self.view)
        # Patient orientation: letters at the edge middles and a badge ("Flipped for display", "Orientation
        # unknown"); not hidden with the corner overlays — left and right must always be visible.
        self.markers = {edge: _marker_label(self.view) for edge in ("left", "right", "top", "bottom")}
        self.orientation_badge = _overlay_label(self.view, Qt.AlignmentFlag.AlignCenter)
        self.orientation_badge.setStyleSheet(
            "color: #111; background: rgba(255, 200, 40, 230); padding: 2px 6px; font-weight: bold;"
        )
        self.orientation_badge.hide()
        self.message = QLabel(self.view)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ffb060; background: rgba(0,0,0,170); padding: 12px;")
        self.message.hide()
        self.view.installEventFilter(self)

        self.store.added.connect(self._on_store_added)
        self.store.changed.connect(self._on_store_changed)
        self.store.removed.connect(self._on_store_removed)

    # -- lifecycle ------------------------------------------------------------------------------------
    def set_display_set(self, display_set: DisplaySet | None, study: Study | None = None) -> None:
        """Show a display set (first frame asap); a failing series shows a message instead of raising."""
        self.cine.stop()
        self._clear_graphics()
        self.cancel_tool()
        self.study = study
        self.display_set = display_set
        self.frames = display_set.frames if display_set else ()
        self.header = None
        self.frame = None
        self.error = None
        self.index = 0
        self.displayed_index = -1
        self.image_item.clear()
        self._drawn_rect = None
        self._lod = (None, 1, None)
        self._ahead = []
        self._show_message(None)
        self._show_document(None)
        if display_set is None:
            self._update_overlays()
            if study is not None:
                self.message.setStyleSheet("color: #9a9a9a; background: transparent; padding: 12px;")
                self._show_message(
                    "Empty viewport — click it, then a series thumbnail, to show a series here."
                )
            return
        self.message.setStyleSheet("color: #ffb060; background: rgba(0,0,0,170); padding: 12px;")
        if display_set.kind is DisplaySetKind.DOCUMENT and display_set.instances:
            self._show_document(display_set.instances[0])
            self._update_overlays()
            return
        if display_set.kind is DisplaySetKind.DOCUMENT or not self.frames:
            self._show_message(f"{display_set.label}\n\nNothing to display: the series has no image frames.")
            self._update_overlays()
            return
        try:
            self.header = self.loader.header(str(self.frames[0].path))
        except Exception as exc:  # noqa: BLE001
            self._fail(f"Cannot display series “{display_set.label}”:\n{exc}")
            return
        if display_set.kind is DisplaySetKind.CINE:
            self.cine.set_durations(self.header.timing.frame_durations_ms[: len(self.frames)])
        else:
            self.cine.set_durations([1000.0] * len(self.frames))
        self._apply_preset_obj(self.header.default_preset(), repaint=False)
        self._reset_orientation()
        self.inverted = False
        self._apply_lut(update_overlays=False)  # MONOCHROME1 / INVERSE shown inverted from the first paint
        self.show_frame(0)

    def _show_document(self, instance) -> None:
        """SR / PDF / KO: a readable document replaces the image area (``ui/document_view.py``)."""
        if instance is None:
            if getattr(self, "document_view", None) is not None:
                self.document_view.hide()
                self.view.show()
            return
        from hsg_workstation.ui.document_view import DocumentView

        if getattr(self, "document_view", None) is None:
            self.document_view = DocumentView(self)
            self.layout().addWidget(self.document_view)
            self.document_view.viewport().installEventFilter(self)  # a click makes this viewport active
        self.view.hide()
        self.document_view.show()
        self.document_view.instance_paths = self.instance_paths
        self.document_view.ap_display = self.ap_display
        self.document_view.show_instance(instance)

    def close_viewport(self) -> None:
        """Stop playback, the decoder thread and every timer; called when the study is closed."""
        if self._closed:
            return
        self._closed = True
        self.cine.stop()
        self._prefetch_timer.stop()
        try:
            self.store.added.disconnect(self._on_store_added)
            self.store.changed.disconnect(self._on_store_changed)
            self.store.removed.disconnect(self._on_store_removed)
        except Exception:  # noqa: BLE001 - already disconnected
            pass
        self.loader.shutdown()
        if getattr(self, "document_view", None) is not None:
            self.document_view.wait()  # a PDF page rendering in flight
        self._clear_graphics()

    def _fail(self, text: str) -> None:
        """Show why this series cannot be displayed; the status bar gets the full text with the path."""
        self.error = text
        self.statusMessage.emit(text.replace("\n", " "))
        shown = text
        for ref in {r.path for r in self.frames}:
            # store paths are long UIDs; the name is enough here, with break opportunities so it wraps
            shown = shown.replace(str(ref), ref.name.replace(".", ".\u200b"))
        self._show_message(shown)
        self._update_overlays()

    def _show_message(self, text: str | None) -> None:
        if not text:
            self.message.hide()
            return
        self.message.setText(text)
        self.message.show()
        self._place_overlays()

    # -- frames ---------------------------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        return len(self.frames)

    @property
    def current_ref(self) -> FrameRef | None:
        return self.frames[self.index] if self.frames else None

    def show_frame(self, index: int) -> None:
        """Go to a frame: paint now if decoded, else ask the pool (with decode-ahead) and paint on arrival."""
        if not self.frames or self._closed:
            return
        index = max(0, min(index, len(self.frames) - 1))
        self.index = index
        key = frame_key(self.frames[index])
        arr = self.loader.cached(key)
        if arr is None and self.frame is None and self._inline_first_frame():
            # First frame of an uncompressed or RLE image: a read of one frame's bytes (~1 ms) or a 5–15 ms RLE
            # decode by a memory-safe decoder — cheaper than the hop to a decoder and back. Other compressed
            # first frames decode in a worker process (their C decoders may crash on a corrupt stream).
            try:
                arr = self.loader.decode_now(key)
            except Exception:  # noqa: BLE001 - the loader path below reports the failure in the viewport
                arr = None
        if arr is not None:
            first = self.frame is None
            self._paint(index, arr)
            if not first:
                self._request_ahead(index)
        else:
            failure = self.loader.failure(key)
            if failure:
                self._fail(f"Cannot display frame {index + 1} of “{self.display_set.label}”:\n{failure}")
            if self.frame is None:
                # The first frame alone: decode-ahead starts once it is painted, so on 2 cores nothing competes
                # with the frame the reader is waiting for.
                self.loader.request([key])
            else:
                self._request_ahead(index)
            self._update_overlays()  # (a painted frame already updated them)
        self.frameChanged.emit(index)

    def _start_prefetch(self) -> None:
        if self.frames and not self._closed and not self.cine.playing:
            self._request_ahead(self.index)

    def _inline_first_frame(self) -> bool:
        h = self.header
        if h is None or str(h.path) != str(self.frames[0].path):
            return False
        return h.rows * h.columns <= 4096 * 4096 and fc.cheap_in_process(h.source.header)

    def _ahead_limit(self) -> int:
        """Frames to decode ahead: the whole loop, or as many as fit in the cache budget (a long loop)."""
        h = self.header
        if h is None:
            return PREFETCH
        itemsize = 2 if h.source.bits_stored <= 16 else 4
        samples = 3 if h.is_color else 1
        return fc.window_frames(self.loader.cache, fc.frame_bytes(h.rows, h.columns, samples, itemsize))

    def _prefetch_keys(self, index: int) -> list[FrameKey]:
        """The frames after ``index`` in playback order (wrapping inside the loop range while playing)."""
        first, last = self.cine.range if self.cine.playing else (0, len(self.frames) - 1)
        span = max(last - first + 1, 1)
        out = []
        for k in range(1, min(self._ahead_limit(), span)):
            j = index + k
            if j > last:
                j = first + (j - last - 1) % span
            out.append(frame_key(self.frames[j]))
        return out

    def _request_ahead(self, index: int) -> None:
        """Ask the pool for this frame, then the loop in play order from it (supersedes the older request)."""
        ahead = [frame_key(self.frames[index]), *self._prefetch_keys(index)]
        if len(ahead) == len(self._ahead) and not self.buffering_text and set(ahead) == set(self._ahead):
            # a loop that fits, fully decoded, playing round: same frames, nothing to ask (saves the pool a
            # re-queue on every frame at 30 fps)
            if self.loader.pool.done_count(ahead) == len(ahead):
                self._ahead = ahead
                return
        self._ahead = ahead
        self.loader.request(ahead)
        self._update_buffering()

    def _update_buffering(self) -> None:
        ahead = self._ahead
        text = ""
        if len(ahead) > 1 and not self._closed:
            done = self.loader.pool.done_count(ahead)
            if done < len(ahead):
                text = f"buffering {done} / {len(ahead)}"
        if text != self.buffering_text:
            self.buffering_text = text
            self.bufferingChanged.emit(text)

    def _on_frame_ready(self, key: FrameKey) -> None:
        if self._closed or not self.frames:
            return
        if key == frame_key(self.frames[self.index]) and (
            self.displayed_index != self.index or self.cine.holding
        ):
            arr = self.loader.cached(key)
            if arr is not None:
                self._paint(self.index, arr)
                if self.cine.holding:
                    self.cine.resume()
        self._update_buffering()

    def _on_frame_due(self, index: int) -> None:
        """The cine wants ``index``: paint it, or hold the clock until it is decoded (never skip past it)."""
        key = frame_key(self.frames[index])
        if self.loader.cached(key) is None and self.loader.failure(key) is None:
            if index == self.displayed_index and self.frame is not None:
                self.cine.notify_painted(index)  # on screen already (evicted since): nothing to wait for
                self._request_ahead(index)
                return
            self.cine.hold()
        self.show_frame(index)

    def _on_frame_failed(self, key: FrameKey, message: str) -> None:
        if self._closed or not self.frames:
            return
        if key == frame_key(self.frames[self.index]):
            self._fail(f"Cannot display frame {key[1] + 1} of “{self.display_set.label}”:\n{message}")
            if self.cine.holding:
                self.cine.resume()  # one frame lost, with its message; the loop goes on
        self._update_buffering()

    def _paint(self, index: int, arr: np.ndarray) -> None:
        first_paint = self.frame is None
        if self.header is not None and self.current_ref is not None:
            p = str(self.current_ref.path)
            if str(self.header.path) != p:
                try:
                    previous = self.header.patient_orientation
                    self.header = self.loader.header(p)
                    if self.header.patient_orientation != previous:
                        self._reset_orientation()  # a stack may mix orientations: markers per image
                    self._apply_lut(update_overlays=False)  # a stack may mix MONOCHROME1 and MONOCHROME2
                except Exception:  # noqa: BLE001
                    pass
        self.frame = arr
        self.displayed_index = index
        if self.error and self.error.startswith("Cannot display frame"):
            self.error = None
            self._show_message(None)
        self._set_image(arr)
        if first_paint:
            self._fitting = True  # one overlay update below, not one per range-change signal
            try:
                self.fit()
            finally:
                self._fitting = False
            self._check_lod()  # a large film is drawn reduced at the fitted zoom
        self._refresh_measurements()
        self.cine.notify_painted(index)
        self._update_overlays()
        self.framePainted.emit(index)
        if first_paint and not self.cine.playing:
            # Start prefetching once the first frame is on screen, not while it is being painted: on 2 cores
            # the decoder thread would otherwise compete with the first paint the reader is waiting for.
            # (a worker-process decode does not compete with the UI thread: start at once)
            routed = self.current_ref is not None and self.loader.routed_to_process(
                str(self.current_ref.path)
            )
            self._prefetch_timer.start(0 if routed else 40)

    def _set_image(self, arr: np.ndarray) -> None:
        full = arr
        arr = self._lod_image(full)
        if self.header is not None and self.header.is_color:
            self.image_item.setImage(arr, autoLevels=False, levels=(0, 255))
        elif self.voi_mode == "linear":
            self.image_item.setImage(arr, autoLevels=False, levels=self.levels)
        else:
            self.image_item.setImage(
                fr.table_image(self.header, arr, self.voi), autoLevels=False, levels=(0, 255)
            )
        # the drawn image always covers the frame's pixel grid (columns × rows), reduced or not
        rect = (arr.shape[1] * self._lod[1], arr.shape[0] * self._lod[1], self._lod[1])
        if rect != self._drawn_rect:  # (a new transform on every cine frame would re-index the scene)
            self._drawn_rect = rect
            self.image_item.setRect(QRectF(0, 0, rect[0], rect[1]))

    def _lod_image(self, full: np.ndarray) -> np.ndarray:
        """The frame as drawn: a block-mean reduction of a large image while zoomed out (``ui/lod.py``)."""
        factor = lod.lod_factor(full.shape[0], full.shape[1], self.zoom_factor)
        if factor == 1:
            self._lod = (None, 1, None)
            return full
        cached_for, cached_factor, small = self._lod
        if cached_for is not full or cached_factor != factor:
            small = lod.reduce_mean(full, factor)
            self._lod = (full, factor, small)
        return small

    def _check_lod(self) -> None:
        """After a zoom: redraw a large image at the level of detail the new zoom needs."""
        f = self.frame
        if f is None or f.shape[0] * f.shape[1] <= lod.LOD_MIN_PIXELS:
            return
        if lod.lod_factor(f.shape[0], f.shape[1], self.zoom_factor) != self._lod[1]:
            self._set_image(f)

    # -- window / level -------------------------------------------------------------------------------
    @property
    def voi_mode(self) -> str:
        """ "linear" (fast path: levels only), "sigmoid" or "voi_lut" (uint8 via the pipeline's table)."""
        if self.voi is None or self.voi.function in (fr.LINEAR, fr.LINEAR_EXACT):
            return "linear"
        return "sigmoid" if self.voi.function == fr.SIGMOID else "voi_lut"

    @property
    def window(self) -> tuple[float, float]:
        """(center, width) currently applied."""
        if self.voi is not None and self.voi_mode != "linear":
            return (self.voi.center, self.voi.width)
        return fr.levels_to_window(*self.levels)

    def set_levels(self, lo: float, hi: float) -> None:
        """Linear window by (black, white) levels; a VOI LUT becomes a linear window, SIGMOID stays SIGMOID."""
        if hi <= lo:
            hi = lo + 1.0
        self.levels = (float(lo), float(hi))
        c, w = fr.levels_to_window(*self.levels)
        if self.voi_mode == "sigmoid":
            self.voi = fr.VoiPreset("Custom", c, w, "adjusted by the user", "custom", fr.SIGMOID)
            if self.frame is not None:
                self._set_image(self.frame)
        else:
            was_table = self.voi_mode != "linear"
            self.voi = fr.VoiPreset("Custom", c, w, "adjusted by the user", "custom", fr.LINEAR)
            if was_table and self.frame is not None:
                self._set_image(self.frame)
            else:
                self.image_item.setLevels(self.levels)
        self.levelsChanged.emit(*self.levels)
        self._update_overlays()

    def set_window(self, center: float, width: float) -> None:
        self.set_levels(*fr.window_to_levels(center, width))

    def presets(self) -> tuple[fr.VoiPreset, ...]:
        return self.header.presets if self.header else ()

    def apply_preset(self, number: int) -> bool:
        """Apply preset ``number`` (1-based, as the 1–9 keys)."""
        presets = self.presets()
        if not 1 <= number <= len(presets):
            return False
        p = presets[number - 1]
        self._apply_preset_obj(p)
        self.statusMessage.emit(f"W/L preset {number}: {p.name} — {p.explanation}")
        return True

    def _apply_preset_obj(self, preset: fr.VoiPreset, repaint: bool = True) -> None:
        self.voi = preset
        if preset.function in (fr.LINEAR, fr.LINEAR_EXACT, fr.SIGMOID):
            self.levels = preset.levels
        else:  # VOI LUT: levels describe the LUT's input range, used as the start of a later drag
            self.levels = fr.window_to_levels(preset.center, preset.width)
        if repaint and self.frame is not None:
            if (
                self.voi_mode == "linear"
                and self.image_item.image is not None
                and self.image_item.image.dtype != np.uint8
            ):
                self.image_item.setLevels(self.levels)
            else:
                self._set_image(self.frame)
        if repaint:
            self.levelsChanged.emit(*self.levels)
            self._update_overlays()

    def auto_levels(self) -> None:
        """Percentile window of the current frame (1–99 %), robust to the odd saturated pixel."""
        if self.frame is not None:
            self.set_levels(*fr.percentile_levels(self.frame))

    def reset_levels(self) -> None:
        if self.header is not None:
            self._apply_preset_obj(self.header.default_preset())

    def reset_view(self) -> None:
        """R: back to how the image first appeared — file window, no rotation/flip/inversion, fitted."""
        self._reset_orientation()
        self.inverted = False
        self._apply_lut(update_overlays=False)
        self.reset_levels()
        self.fit()

    def _wl_drag_start(self) -> None:
        self._drag_origin = self.window

    def _wl_drag(self, dx: float, dy: float) -> None:
        """Right = wider window, down = higher center (RadiAnt/Weasis convention); sensitivity scales with range."""
        c0, w0 = getattr(self, "_drag_origin", self.window)
        span = (self.header.pixel_max - self.header.pixel_min) if self.header else 4096.0
        k = max(span / 1024.0, 0.05)
        self.set_window(c0 + dy * k, max(1.0, w0 + dx * k))

    # -- view geometry --------------------------------------------------------------------------------
    def fit(self) -> None:
        rect = self.image_space.mapRectToParent(
            self.image_item.mapRectToParent(self.image_item.boundingRect())
        )
        if rect.width() > 0:
            self.vb.setRange(rect=rect, padding=0.0)

    def zoom(self, factor: float) -> None:
        self.vb.scaleBy((1.0 / factor, 1.0 / factor))

    @property
    def zoom_factor(self) -> float:
        """Screen pixels per image pixel."""
        px = self.vb.viewPixelSize()
        return 1.0 / px[0] if px[0] else 1.0

    def one_to_one(self) -> None:
        self.zoom(1.0 / self.zoom_factor)

    def rotate90(self) -> None:
        self._rotation = (self._rotation + 90) % 360
        self._apply_orientation()

    def flip_horizontal(self) -> None:
        self._flip_h = not self._flip_h
        self._apply_orientation()

    def flip_vertical(self) -> None:
        self._flip_v = not self._flip_v
        self._apply_orientation()

    def _reset_orientation(self) -> None:
        """No rotation; flipped only as the AP display convention asks for this image's Patient Orientation."""
        self._rotation = 0
        orientation = self.header.patient_orientation if self.header is not None else None
        self._flip_h, self._flip_v = ap_display_flips(orientation) if self.ap_display else (False, False)
        self._apply_orientation()

    def set_ap_display(self, on: bool) -> None:
        """Turn the AP display convention on/off; resets rotation and flips to what it implies."""
        self.ap_display = on
        self._reset_orientation()

    @property
    def display_flips(self) -> tuple[int, bool, bool]:
        """(rotation, flip_h, flip_v) of the view transform (stored coordinates are never changed)."""
        return self._rotation, self._flip_h, self._flip_v

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

    def _apply_orientation(self) -> None:
        if self.header is None:
            self._update_markers()
            return
        w, h = self.header.columns, self.header.rows
        t = QTransform()
        t.translate(w / 2, h / 2)
        # Flips act on what the reader sees (after the rotation), as on a light box.
        t.scale(-1 if self._flip_h else 1, -1 if self._flip_v else 1)
        t.rotate(self._rotation)
        t.translate(-w / 2, -h / 2)
        self.image_space.setTransform(t)
        self.fit()
        self._update_markers()
        self._place_overlays()

    def toggle_invert(self) -> None:
        self.inverted = not self.inverted
        self._apply_lut()

    def _apply_lut(self, update_overlays: bool = True) -> None:
        mono1 = bool(self.header and self.header.invert)
        lut = INVERTED_LUT if (self.inverted != mono1) else None
        if (lut is None) != (self.image_item.lut is None):
            self.image_item.setLookupTable(lut)
        if update_overlays:
            self._update_overlays()

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

    def scene_to_image(self, scene_pos: QPointF) -> tuple[float, float]:
        p = self.image_space.mapFromScene(scene_pos)
        return (float(p.x()), float(p.y()))

    def image_to_widget(self, point: tuple[float, float]) -> QPointF:
        """Where an image point is on the view widget (tests drive the mouse with it)."""
        scene = self.image_space.mapToScene(QPointF(*point))
        return QPointF(self.view.mapFromScene(scene))

    # -- overlays -------------------------------------------------------------------------------------
    def set_overlays_visible(self, visible: bool) -> None:
        self.overlays_visible = visible
        for lab in self.overlay.values():
            lab.setVisible(visible)
        self.scale_bar.setVisible(visible)

    def calibration(self) -> Calibration:
        if self.header is None:
            return Calibration.uncalibrated()
        if self.study is not None:
            override = self.store.calibration_override(
                self.study.study_instance_uid, self.header.sop_instance_uid
            )
            if override is not None:
                return override
        return self.header.calibration

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
        mode = {"linear": "", "sigmoid": " (SIGMOID)", "voi_lut": " (VOI LUT)"}[self.voi_mode]
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
        badge = self.orientation_badge
        # under the top marker, centred: never covered by the corner texts
        badge.move((w - badge.width()) // 2, mk["top"].y() + mk["top"].height() + 4)
        self.message.setMaximumWidth(max(200, w - 40))
        self.message.adjustSize()
        self.message.move((w - self.message.width()) // 2, (h - self.message.height()) // 2)

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802
        if obj is self.view and ev.type() == QEvent.Type.Resize:
            if not self._closed:
                self._place_overlays()  # the new size is already set when the resize event is delivered
        elif ev.type() == QEvent.Type.MouseButtonPress and obj is not self.view:
            self.activated.emit()  # the document view's viewport
        return False

    # -- cine -----------------------------------------------------------------------------------------
    def play(self) -> None:
        if self.frame_count > 1 and not self.cine.playing:
            self.cine.play(self.index)

    def pause(self) -> None:
        self.cine.stop()
        self._update_overlays()

    def toggle_play(self) -> None:
        self.pause() if self.cine.playing else self.play()

    def step(self, delta: int) -> None:
        self.pause()
        if self.frames:
            self.show_frame((self.index + delta) % len(self.frames))

    def first(self) -> None:
        self.pause()
        self.show_frame(self.cine.range[0] if self.cine.range != (0, 0) else 0)

    def last(self) -> None:
        self.pause()
        self.show_frame(self.cine.range[1] if self.cine.range != (0, 0) else len(self.frames) - 1)

    # -- measurements ---------------------------------------------------------------------------------
    def set_tool(self, tool: str | None) -> None:
        if tool is not None and tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}; expected one of {TOOLS}")
        self.cancel_tool()
        self.tool = tool
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
        if self.tool == "ellipse":
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
        if tool == "length":
            self.add_measurement(MeasurementKind.LENGTH, (p0, p1))
        elif tool == "arrow":
            text = self._ask_text("Arrow label:")
            if text is not None:
                self.add_measurement(MeasurementKind.ARROW, (p0, p1), label=text)
        elif tool == "ellipse":
            c = ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2)
            self.add_measurement(
                MeasurementKind.ELLIPSE,
                ((p0[0], c[1]), (p1[0], c[1]), (c[0], p0[1]), (c[0], p1[1])),
            )
        elif tool == "calibrate":
            mm = self.request_length_mm() if self.request_length_mm else self._ask_length()
            if mm:
                self.calibrate(p0, p1, mm)
        self.toolFinished.emit()

    def _tool_click(self, p: tuple[float, float], double: bool) -> None:
        if self.tool == "angle":
            self._tool_points.append(p)
            self._preview(self._tool_points)
            if len(self._tool_points) == 3:
                pts = tuple(self._tool_points)
                self.cancel_tool()
                self.add_measurement(MeasurementKind.ANGLE, pts)
                self.toolFinished.emit()
        elif self.tool == "polygon":
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
        if self.tool == "polygon" and len(self._tool_points) >= 3:
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
