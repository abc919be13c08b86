"""The image viewport: one display set (cine loop, spot-image stack or document) in a pyqtgraph view.

It renders one ``ViewportState`` of the reading session (``session/viewport_state.py``): the display set, the
current frame, the window / level, inversion, rotation / flips and the armed tool are the state's, not this
widget's — the widget writes every change there and renders a change made there by anyone else. Split by
subject: decode-ahead in ``viewport_feed.py``, window / level and inversion in ``viewport_window.py``, corner texts / scale bar / orientation markers in
``viewport_overlays.py``, the measurement tools in ``viewport_tools.py``.

Display path: a row-major ImageItem that gets the decoded frame plus explicit levels — never autoLevels
(it samples the image and can miss the bright catheter tip). Window/level changes are ``setLevels`` only.
The ImageItem and every measurement graphic are children of one ``image space`` group; rotate/flip set a
transform on that group, so measurements stay glued to the anatomy and image coordinates stay those of the
DICOM pixel grid (column, row) whatever the view orientation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from hsg_workstation.dicom_io import frame_cache as fc
from hsg_workstation.dicom_io.model import DisplaySet, DisplaySetKind, FrameRef, Study
from hsg_workstation.dicom_io.orientation import ap_display_flips
from hsg_workstation.measurements import Calibration
from hsg_workstation.session.measurements import MeasurementStore
from hsg_workstation.session.viewport_state import TOOLS, Tool, ViewportState, VoiMode
from hsg_workstation.ui import frames as fr
from hsg_workstation.ui import lod
from hsg_workstation.ui.cine import CineClock
from hsg_workstation.ui.loader import FrameKey, FrameLoader, frame_key
from hsg_workstation.ui.measure_items import MeasurementGraphic
from hsg_workstation.ui.viewport_feed import PREFETCH, FrameFeedMixin
from hsg_workstation.ui.viewport_overlays import OverlaysMixin, ScaleBar, _marker_label, _overlay_label
from hsg_workstation.ui.viewport_tools import REGION_OF, MeasureToolsMixin, ReadingViewBox
from hsg_workstation.ui.viewport_window import INVERTED_LUT, WindowLevelMixin

__all__ = ["INVERTED_LUT", "PREFETCH", "REGION_OF", "TOOLS", "ReadingViewBox", "Tool", "Viewport", "VoiMode"]

# Row-major or DICOM rows and columns swap. Antialiasing stays per item (ROIs do it themselves), not global:
# a global switch would also slow every other pyqtgraph plot in the app.
pg.setConfigOptions(imageAxisOrder="row-major")


class Viewport(FrameFeedMixin, WindowLevelMixin, OverlaysMixin, MeasureToolsMixin, QWidget):
    """One view of one display set; owns its decoder thread and cine clock, renders its ``ViewportState``."""

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
        state: ViewportState | None = None,
    ) -> None:
        super().__init__(parent)
        self.store = store or MeasurementStore()
        self.state = state if state is not None else ViewportState()
        self.header: fr.ImageHeader | None = None
        self.displayed_index = -1
        self.frame: np.ndarray | None = None
        self.overlays_visible = True
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
        # "buffering n / N" is redrawn at most every BUFFERING_REFRESH_MS while frames arrive (viewport_feed.py)
        self._buffering_timer = QTimer(self)
        self._buffering_timer.setSingleShot(True)
        self._buffering_timer.timeout.connect(self._update_buffering)
        self._buffering_shown_at = 0.0
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
        # what this widget last rendered of its state: a state event that differs came from elsewhere
        self._shown_display_set: DisplaySet | None = None
        self._shown_window: tuple = ((0.0, 1.0), None)
        self._shown_orientation: tuple[int, bool, bool] = (0, False, False)
        st = self.state
        st.display_set_changed.connect(self._state_display_set)
        st.frame_changed.connect(self._state_frame)
        st.window_changed.connect(self._state_window)
        st.inverted_changed.connect(self._state_inverted)
        st.orientation_changed.connect(self._state_orientation)
        st.tool_changed.connect(self._state_tool)

    # -- the state this widget renders (session/viewport_state.py) ---------------------------------------
    @property
    def study(self) -> Study | None:
        return self.state.study

    @property
    def display_set(self) -> DisplaySet | None:
        return self.state.display_set

    @property
    def frames(self) -> tuple[FrameRef, ...]:
        return self.state.frames

    @property
    def index(self) -> int:
        return self.state.index

    @property
    def levels(self) -> tuple[float, float]:
        return self.state.levels

    @property
    def voi(self) -> fr.VoiPreset | None:
        return self.state.voi

    @property
    def inverted(self) -> bool:
        return self.state.inverted

    @property
    def tool(self) -> Tool | None:
        return self.state.tool

    def _state_display_set(self, display_set: DisplaySet | None) -> None:
        if display_set is not self._shown_display_set and not self._closed:
            self.set_display_set(display_set, self.state.study)

    def _state_frame(self, index: int) -> None:
        if index != getattr(self, "_asked_index", -1) and not self._closed:
            self.show_frame(index)

    def _state_window(self, *_levels: float) -> None:
        if (self.state.levels, self.state.voi) != self._shown_window and not self._closed:
            self._render_window()

    def _state_inverted(self, on: bool) -> None:
        if on != getattr(self, "_shown_inverted", False) and not self._closed:
            self._apply_lut()

    def _state_orientation(self, *_value) -> None:
        if self.state.orientation != self._shown_orientation and not self._closed:
            self._apply_orientation()

    def _state_tool(self, tool: Tool | None) -> None:
        if tool is not getattr(self, "_armed_tool", None) and not self._closed:
            self.set_tool(tool)

    # -- lifecycle ------------------------------------------------------------------------------------
    def set_display_set(self, display_set: DisplaySet | None, study: Study | None = None) -> None:
        """Show a display set (first frame asap); a failing series shows a message instead of raising."""
        self.cine.stop()
        self._clear_graphics()
        self.cancel_tool()
        self._shown_display_set = display_set
        self._asked_index = 0
        self.state.set_display_set(display_set, study)
        self.header = None
        self.frame = None
        self.error = None
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
        self._write_inverted(False)
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
        self._asked_index = index
        self.state.index = index
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
        if first_paint:
            # The first frame is what the reader waits for: paint it now rather than when the event loop gets
            # to the update (measured 4-8 ms later on an RLE loop, after the decode-ahead request and the
            # overlay updates queued before it), and only then let decode-ahead start.
            self.view.viewport().repaint()
        if first_paint and not self.cine.playing:
            # Start prefetching once the first frame is on screen: on 2 cores the decoder thread would otherwise
            # compete with the first paint the reader is waiting for. (a worker-process decode does not compete
            # with the UI thread's later work: start at once)
            routed = self.current_ref is not None and self.loader.routed_to_process(
                str(self.current_ref.path)
            )
            self._prefetch_timer.start(0 if routed else 40)

    def _set_image(self, arr: np.ndarray) -> None:
        full = arr
        arr = self._lod_image(full)
        if self.header is not None and self.header.is_color:
            self.image_item.setImage(arr, autoLevels=False, levels=(0, 255))
        elif self.voi_mode is VoiMode.LINEAR:
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

    def reset_view(self) -> None:
        """R: back to how the image first appeared — file window, no rotation/flip/inversion, fitted."""
        self._reset_orientation()
        self._write_inverted(False)
        self._apply_lut(update_overlays=False)
        self.reset_levels()
        self.fit()

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

    def _write_orientation(self, rotation: int, flip_h: bool, flip_v: bool) -> None:
        """Rotation / flips go to the state, then the view transform follows (once, not again on the event)."""
        self._shown_orientation = (rotation % 360, bool(flip_h), bool(flip_v))
        self.state.set_orientation(rotation, flip_h, flip_v)
        self._apply_orientation()

    def rotate90(self) -> None:
        rotation, flip_h, flip_v = self.display_flips
        self._write_orientation(rotation + 90, flip_h, flip_v)

    def flip_horizontal(self) -> None:
        rotation, flip_h, flip_v = self.display_flips
        self._write_orientation(rotation, not flip_h, flip_v)

    def flip_vertical(self) -> None:
        rotation, flip_h, flip_v = self.display_flips
        self._write_orientation(rotation, flip_h, not flip_v)

    def _reset_orientation(self) -> None:
        """No rotation; flipped only as the AP display convention asks for this image's Patient Orientation."""
        orientation = self.header.patient_orientation if self.header is not None else None
        flip_h, flip_v = ap_display_flips(orientation) if self.ap_display else (False, False)
        self._write_orientation(0, flip_h, flip_v)

    def set_ap_display(self, on: bool) -> None:
        """Turn the AP display convention on/off; resets rotation and flips to what it implies."""
        self.ap_display = on
        self._reset_orientation()

    @property
    def display_flips(self) -> tuple[int, bool, bool]:
        """(rotation, flip_h, flip_v) of the view transform (stored coordinates are never changed)."""
        return self.state.orientation

    def _apply_orientation(self) -> None:
        self._shown_orientation = self.state.orientation
        rotation, flip_h, flip_v = self._shown_orientation
        if self.header is None:
            self._update_markers()
            return
        w, h = self.header.columns, self.header.rows
        t = QTransform()
        t.translate(w / 2, h / 2)
        # Flips act on what the reader sees (after the rotation), as on a light box.
        t.scale(-1 if flip_h else 1, -1 if flip_v else 1)
        t.rotate(rotation)
        t.translate(-w / 2, -h / 2)
        self.image_space.setTransform(t)
        self.fit()
        self._update_markers()
        self._place_overlays()

    def scene_to_image(self, scene_pos: QPointF) -> tuple[float, float]:
        p = self.image_space.mapFromScene(scene_pos)
        return (float(p.x()), float(p.y()))

    def image_to_widget(self, point: tuple[float, float]) -> QPointF:
        """Where an image point is on the view widget (tests drive the mouse with it)."""
        scene = self.image_space.mapToScene(QPointF(*point))
        return QPointF(self.view.mapFromScene(scene))

    # -- calibration of the shown image ----------------------------------------------------------------
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
