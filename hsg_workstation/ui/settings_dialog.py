"""Viewer settings (QSettings-backed): W/L mouse button, fps override, overlays, decode cache size."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

WL_BUTTONS = {
    "right": Qt.MouseButton.RightButton,
    "middle": Qt.MouseButton.MiddleButton,
    "left": Qt.MouseButton.LeftButton,
}


@dataclass
class ViewerSettings:
    wl_button: str = "right"
    fps_override: float = 0.0  # 0 = timing from the DICOM tags
    overlays: bool = True
    cache_mb: int = 1024  # decoded-frame cache of all viewports together (frame_cache.DEFAULT_BUDGET_BYTES)
    loop: bool = True
    # AP display convention: patient's left on the image's right (images stored otherwise are flipped for
    # display, with a badge). On by default: an HSG is read as an AP projection.
    ap_display: bool = True

    @classmethod
    def load(cls, qs: QSettings) -> ViewerSettings:
        d = cls()

        def get(key, default, typ):
            v = qs.value(f"viewer/{key}", default)
            try:
                if typ is bool:
                    return v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes")
                return typ(v)
            except (TypeError, ValueError):
                return default

        wl = str(get("wl_button", d.wl_button, str))
        return cls(
            wl_button=wl if wl in WL_BUTTONS else "right",
            fps_override=max(0.0, get("fps_override", d.fps_override, float)),
            overlays=get("overlays", d.overlays, bool),
            # a new key: the old "cache_mb" was per viewport (384 MB); the shared budget starts at its default
            cache_mb=max(32, get("frame_cache_mb", d.cache_mb, int)),
            loop=get("loop", d.loop, bool),
            ap_display=get("ap_display", d.ap_display, bool),
        )

    def save(self, qs: QSettings) -> None:
        for k, v in self.__dict__.items():
            qs.setValue(f"viewer/{'frame_cache_mb' if k == 'cache_mb' else k}", v)
        qs.sync()


class SettingsDialog(QDialog):
    def __init__(self, settings: ViewerSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.wl_button = QComboBox()
        self.wl_button.addItems(list(WL_BUTTONS))
        self.wl_button.setCurrentText(settings.wl_button)
        self.fps = QDoubleSpinBox(minimum=0.0, maximum=120.0, decimals=1, singleStep=1.0)
        self.fps.setSpecialValueText("from DICOM tags")
        self.fps.setValue(settings.fps_override)
        self.overlays = QCheckBox("Show corner overlays")
        self.overlays.setChecked(settings.overlays)
        self.loop = QCheckBox("Loop cine")
        self.loop.setChecked(settings.loop)
        self.ap_display = QCheckBox("Display in the AP convention (patient's left on the image's right)")
        self.ap_display.setChecked(settings.ap_display)
        self.cache = QSpinBox(minimum=32, maximum=8192, suffix=" MB")
        self.cache.setValue(settings.cache_mb)
        form = QFormLayout(self)
        form.addRow("Window/level mouse button", self.wl_button)
        form.addRow("Cine speed override (fps)", self.fps)
        form.addRow("", self.overlays)
        form.addRow("", self.loop)
        form.addRow("", self.ap_display)
        form.addRow("Decoded-frame cache (all viewports)", self.cache)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def value(self) -> ViewerSettings:
        return ViewerSettings(
            wl_button=self.wl_button.currentText(),
            fps_override=self.fps.value(),
            overlays=self.overlays.isChecked(),
            cache_mb=self.cache.value(),
            loop=self.loop.isChecked(),
            ap_display=self.ap_display.isChecked(),
        )
