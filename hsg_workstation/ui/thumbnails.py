"""Series thumbnails of the open study, decoded off the UI thread by their own loader."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget

from hsg_workstation.dicom_io.model import DisplaySet, DisplaySetKind
from hsg_workstation.ui import frames as fr
from hsg_workstation.ui.loader import FrameKey, FrameLoader, frame_key

THUMB = 96


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
        self.item(i).setIcon(QIcon(QPixmap.fromImage(thumbnail_image(image, levels, header.invert))))

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
