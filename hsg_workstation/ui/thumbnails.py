"""Series thumbnails of the open study, decoded off the UI thread by their own loader."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from hsg_workstation.dicom_io.model import DisplaySet, DisplaySetKind
from hsg_workstation.dicom_io.orientation import (
    PatientOrientation,
    ap_display_flips,
    displayed_edges,
)
from hsg_workstation.ui import frames as fr
from hsg_workstation.ui.loader import FrameKey, FrameLoader, frame_key

THUMB = 96


def _orientations(flip_h: bool, flip_v: bool) -> Qt.Orientation:
    """QImage.flipped's argument (mirrored(bool, bool) is deprecated in Qt 6.9)."""
    o = Qt.Orientation(0)
    if flip_h:
        o |= Qt.Orientation.Horizontal
    if flip_v:
        o |= Qt.Orientation.Vertical
    return o


def thumbnail_image(arr: np.ndarray, levels: tuple[float, float], invert: bool = False) -> QImage:
    step = max(1, max(arr.shape[:2]) // THUMB)
    small = np.asarray(arr[::step, ::step], dtype=np.float32)
    lo, hi = levels
    g = np.clip((small - lo) * (255.0 / max(hi - lo, 1e-6)), 0, 255).astype(np.uint8)
    if invert:
        g = 255 - g
    g = np.ascontiguousarray(g)
    img = QImage(g.data, g.shape[1], g.shape[0], g.strides[0], QImage.Format.Format_Grayscale8)
    return img.copy()


def oriented_thumbnail(
    image: QImage, orientation: PatientOrientation | None, ap_display: bool = True
) -> tuple[QImage, dict[str, str] | None]:
    """The thumbnail as the viewport shows it (flipped to the AP convention when asked) with the patient
    directions painted at its edge middles, or "orientation ?" when the image has no Patient Orientation."""
    flip_h, flip_v = ap_display_flips(orientation) if ap_display else (False, False)
    if flip_h or flip_v:
        image = image.flipped(_orientations(flip_h, flip_v))
    pm = QImage(image.size(), QImage.Format.Format_RGB32)
    p = QPainter(pm)
    p.drawImage(0, 0, image)
    edges = displayed_edges(orientation, 0, flip_h, flip_v)
    font = p.font()
    font.setBold(True)
    font.setPointSize(8)
    p.setFont(font)
    w, h = pm.width(), pm.height()

    def letter(text: str, x: int, y: int, align: Qt.AlignmentFlag) -> None:
        p.fillRect(x, y, 14 if len(text) < 2 else 22, 13, QColor(0, 0, 0, 170))
        p.setPen(QColor(255, 225, 77))
        p.drawText(x, y, 14 if len(text) < 2 else 22, 13, align, text)

    if edges is None:
        p.fillRect(0, h - 14, w, 14, QColor(0, 0, 0, 170))
        p.setPen(QColor(255, 200, 40))
        p.drawText(0, h - 14, w, 14, Qt.AlignmentFlag.AlignCenter, "orientation ?")
    else:
        c = Qt.AlignmentFlag.AlignCenter
        letter(edges["left"], 0, h // 2 - 6, c)
        letter(edges["right"], w - (14 if len(edges["right"]) < 2 else 22), h // 2 - 6, c)
        letter(edges["top"], w // 2 - 7, 0, c)
        letter(edges["bottom"], w // 2 - 7, h - 13, c)
    p.end()
    return pm, edges


def _placeholder(text: str, color: QColor) -> QIcon:
    pm = QPixmap(THUMB, THUMB)
    pm.fill(QColor(25, 25, 25))
    p = QPainter(pm)
    p.setPen(color)
    p.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
    p.end()
    return QIcon(pm)


class SeriesThumbnails(QListWidget):
    """One entry per display set; ``displaySetActivated(index)`` on click."""

    displaySetActivated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.TopToBottom)
        self.setWrapping(False)
        self.setIconSize(QSize(THUMB, THUMB))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setSpacing(4)
        self.loader: FrameLoader | None = None
        self._pending: dict[FrameKey, int] = {}
        self.display_sets: list[DisplaySet] = []
        self.ap_display = True  # flip like the viewports (MainWindow sets it from the viewer settings)
        self.orientation_edges: dict[int, dict[str, str] | None] = {}  # row -> letters drawn (tests read it)
        self.itemClicked.connect(lambda it: self.displaySetActivated.emit(self.row(it)))

    def set_display_sets(self, display_sets: list[DisplaySet]) -> None:
        self.close_loader()
        self.clear()
        self.display_sets = list(display_sets)
        self._pending = {}
        if not display_sets:
            return
        self.loader = FrameLoader(parent=self)
        self.loader.frameReady.connect(self._ready)
        self.loader.frameFailed.connect(self._failed)
        keys = []
        for i, ds in enumerate(display_sets):
            item = QListWidgetItem(ds.label)
            item.setToolTip(ds.label)
            item.setSizeHint(QSize(THUMB + 70, THUMB + 44))
            if ds.kind is DisplaySetKind.DOCUMENT or not ds.frames:
                item.setIcon(_placeholder("document", QColor(160, 200, 255)))
            else:
                item.setIcon(_placeholder("loading…", QColor(150, 150, 150)))
                ref = ds.frames[len(ds.frames) // 2] if ds.kind is DisplaySetKind.CINE else ds.frames[0]
                key = frame_key(ref)
                self._pending[key] = i
                keys.append(key)
            self.addItem(item)
        self.loader.request(keys, background=True)
        for key in keys:  # decoded already (by a viewport): the shared cache has it, no signal will come
            if self.loader.cached(key) is not None:
                self._ready(key)

    def _ready(self, key: FrameKey) -> None:
        i = self._pending.pop(key, None)
        if i is None or self.loader is None:
            return
        arr = self.loader.cached(key)
        try:
            header = self.loader.header(key[0])
        except Exception:  # noqa: BLE001
            return
        if arr is None or header.is_color:
            return
        preset = header.default_preset()
        if preset.function in (fr.LINEAR, fr.LINEAR_EXACT):
            image, levels = arr, preset.levels
        else:
            image, levels = fr.table_image(header, arr, preset), (0.0, 255.0)
        thumb, edges = oriented_thumbnail(
            thumbnail_image(image, levels, header.invert), header.patient_orientation, self.ap_display
        )
        self.orientation_edges[i] = edges
        self.item(i).setIcon(QIcon(QPixmap.fromImage(thumb)))

    def _failed(self, key: FrameKey, message: str) -> None:
        i = self._pending.pop(key, None)
        if i is not None:
            self.item(i).setIcon(_placeholder("cannot decode", QColor(255, 140, 60)))
            self.item(i).setToolTip(f"{self.display_sets[i].label}\n{message}")

    def close_loader(self) -> None:
        if self.loader is not None:
            self.loader.shutdown()
            self.loader.deleteLater()
            self.loader = None
