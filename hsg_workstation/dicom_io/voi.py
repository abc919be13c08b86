"""The display window of an image: a VOI preset (window centre / width and its function, or a VOI LUT item)
and the conversion between a DICOM window and the (black, white) levels a renderer wants.

Qt-free data: the reading session's ``ViewportState`` holds the preset applied to each viewport, and the Qt
viewport renders it (``ui/frames.py`` re-exports these names for the viewer).
"""

from __future__ import annotations

from dataclasses import dataclass

from hsg_workstation.dicom_io import pixels

LINEAR, LINEAR_EXACT, SIGMOID, LUT = pixels.LINEAR, pixels.LINEAR_EXACT, pixels.SIGMOID, pixels.LUT


@dataclass(frozen=True, slots=True)
class VoiPreset:
    """A window (center, width, function) or a VOI LUT item, with the explanation the reader sees."""

    name: str
    center: float
    width: float
    explanation: str = ""
    source: str = "file"  # "file" (header window), "voi_lut" (VOI LUT Sequence item), "builtin"
    function: str = LINEAR  # LINEAR | LINEAR_EXACT | SIGMOID | LUT
    lut_index: int | None = None

    @property
    def levels(self) -> tuple[float, float]:
        return window_to_levels(self.center, self.width, self.function)

    def as_pixels(self) -> pixels.VoiPreset:
        return pixels.VoiPreset(
            self.name, self.center, self.width, self.function, self.explanation, self.lut_index
        )


def window_to_levels(center: float, width: float, function: str = LINEAR) -> tuple[float, float]:
    """DICOM window (PS3.3 C.11.2.1.2) → the (black, white) pair pyqtgraph's levels want."""
    if function not in (LINEAR, LINEAR_EXACT):
        function = LINEAR
    lo, hi = pixels.window_levels(center, max(width, 1.0), function)
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def levels_to_window(lo: float, hi: float) -> tuple[float, float]:
    """Inverse of :func:`window_to_levels` for LINEAR (center, width)."""
    width = max(hi - lo + 1.0, 1.0)
    return (lo + hi + 1.0) / 2.0, width
