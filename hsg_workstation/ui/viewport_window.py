"""Window / level and inversion of a viewport (``WindowLevelMixin``, a part of
:class:`~hsg_workstation.ui.viewport.Viewport`, split out by subject).

The window is the ``ViewportState``'s (levels + the VOI preset that says which function, ``VoiMode``); this
part writes it there and renders it: a linear window on a raw frame is a ``setLevels`` with no pixel work, a
SIGMOID window or a VOI LUT item redraws the frame through the pipeline's uint8 table. A right-drag (the
configured button) moves the window: right = wider, down = higher centre (RadiAnt / Weasis convention).
"""

from __future__ import annotations

import numpy as np

from hsg_workstation.session.viewport_state import VoiMode
from hsg_workstation.ui import frames as fr

INVERTED_LUT = np.arange(255, -1, -1, dtype=np.uint8)


class WindowLevelMixin:
    """Window / level, presets and inversion of a :class:`Viewport` (uses its ``state`` and ``image_item``)."""

    # -- window / level -------------------------------------------------------------------------------
    @property
    def voi_mode(self) -> VoiMode:
        """LINEAR (fast path: levels only), SIGMOID or VOI_LUT (uint8 via the pipeline's table)."""
        return self.state.voi_mode

    @property
    def window(self) -> tuple[float, float]:
        """(center, width) currently applied."""
        if self.voi is not None and self.voi_mode is not VoiMode.LINEAR:
            return (self.voi.center, self.voi.width)
        return fr.levels_to_window(*self.levels)

    def _write_window(self, levels: tuple[float, float], voi: fr.VoiPreset | None) -> None:
        """The window goes to the state; marked as shown first, so the state's event is not rendered twice."""
        self._shown_window = (levels, voi)
        self.state.set_window(levels, voi)

    def set_levels(self, lo: float, hi: float) -> None:
        """Linear window by (black, white) levels; a VOI LUT becomes a linear window, SIGMOID stays SIGMOID."""
        if hi <= lo:
            hi = lo + 1.0
        levels = (float(lo), float(hi))
        c, w = fr.levels_to_window(*levels)
        if self.voi_mode is VoiMode.SIGMOID:
            self._write_window(
                levels, fr.VoiPreset("Custom", c, w, "adjusted by the user", "custom", fr.SIGMOID)
            )
            if self.frame is not None:
                self._set_image(self.frame)
        else:
            was_table = self.voi_mode is not VoiMode.LINEAR
            self._write_window(
                levels, fr.VoiPreset("Custom", c, w, "adjusted by the user", "custom", fr.LINEAR)
            )
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
        if preset.function in (fr.LINEAR, fr.LINEAR_EXACT, fr.SIGMOID):
            levels = preset.levels
        else:  # VOI LUT: levels describe the LUT's input range, used as the start of a later drag
            levels = fr.window_to_levels(preset.center, preset.width)
        self._write_window(levels, preset)
        if repaint:
            self._render_window()

    def _render_window(self) -> None:
        """Show the state's window: levels only on the fast path (a raw frame drawn), else a redrawn table."""
        self._shown_window = (self.state.levels, self.state.voi)
        if self.frame is not None:
            if (
                self.voi_mode is VoiMode.LINEAR
                and self.image_item.image is not None
                and self.image_item.image.dtype != np.uint8
            ):
                self.image_item.setLevels(self.levels)
            else:
                self._set_image(self.frame)
        self.levelsChanged.emit(*self.levels)
        self._update_overlays()

    def auto_levels(self) -> None:
        """Percentile window of the current frame (1–99 %), robust to the odd saturated pixel."""
        if self.frame is not None:
            self.set_levels(*fr.percentile_levels(self.frame))

    def reset_levels(self) -> None:
        if self.header is not None:
            self._apply_preset_obj(self.header.default_preset())

    def _wl_drag_start(self) -> None:
        self._drag_origin = self.window

    def _wl_drag(self, dx: float, dy: float) -> None:
        """Right = wider window, down = higher center (RadiAnt/Weasis convention); sensitivity scales with range."""
        c0, w0 = getattr(self, "_drag_origin", self.window)
        span = (self.header.pixel_max - self.header.pixel_min) if self.header else 4096.0
        k = max(span / 1024.0, 0.05)
        self.set_window(c0 + dy * k, max(1.0, w0 + dx * k))

    # -- inversion-------------------------------------------------------------------------------------
    def _write_inverted(self, on: bool) -> None:
        self._shown_inverted = on
        self.state.inverted = on

    def toggle_invert(self) -> None:
        self._write_inverted(not self.inverted)
        self._apply_lut()

    def _apply_lut(self, update_overlays: bool = True) -> None:
        self._shown_inverted = self.inverted
        mono1 = bool(self.header and self.header.invert)
        lut = INVERTED_LUT if (self.inverted != mono1) else None
        if (lut is None) != (self.image_item.lut is None):
            self.image_item.setLookupTable(lut)
        if update_overlays:
            self._update_overlays()
