"""Overlay of the fill-sequence analysis on the displayed frame: detected cavity, tubes and spill.

Why an RGBA lookup on a label image: the analysis keeps its per-frame masks at a reduced working resolution
(``FillAnalysis.working_scale`` full-resolution pixels per working pixel). One small uint8 label image per frame,
coloured through a 4-entry RGBA lookup table and stretched with ``setRect`` to the full-resolution pixel grid,
costs a fraction of a millisecond per frame and lines up exactly with a row-major ``ImageItem`` of the stored
frame (scene coordinates = full-resolution (column, row), (0, 0) at the top-left corner of the first pixel).

Add it to the same ViewBox as the image (``view.addItem(overlay)``); it sits above the image (z = 10) and
ignores the mouse, so measuring tools underneath keep working. Frames are 1-based, as in the cine.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from hsg_workstation.analysis.result import FillAnalysis

NONE, CAVITY, TUBE, SPILL = 0, 1, 2, 3
# RGBA per label: transparent, cavity (cyan), extra-cavitary contrast / tubes (yellow), spill (magenta)
OVERLAY_LUT = np.array(
    [
        [0, 0, 0, 0],
        [0, 200, 255, 90],
        [255, 220, 0, 150],
        [255, 40, 200, 110],
    ],
    dtype=np.uint8,
)


def overlay_labels(result: FillAnalysis, frame: int) -> np.ndarray | None:
    """Label image (working resolution) of 1-based ``frame``: 0 none, 1 cavity, 2 tubes / other, 3 spill."""
    masks = result.cavity_masks
    if masks is None or not (1 <= frame <= masks.shape[0]):
        return None
    out = np.zeros(masks.shape[1:], np.uint8)
    extra = result.extra_labels
    if extra is not None and extra.shape == masks.shape:
        e = extra[frame - 1]
        out[e == 1] = TUBE
        out[e == 2] = SPILL
    out[masks[frame - 1]] = CAVITY
    return out


class AnalysisOverlayItem(pg.ImageItem):
    """Cavity / tubes / spill of the current frame, scaled onto the full-resolution image; toggle with
    ``setVisible``; ``set_frame(n)`` follows the cine."""

    def __init__(self, result: FillAnalysis | None = None) -> None:
        super().__init__(axisOrder="row-major")
        self.setZValue(10)
        self.setAcceptedMouseButtons(pg.QtCore.Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self.setLookupTable(OVERLAY_LUT)
        self._result: FillAnalysis | None = None
        self._frame = 1
        self.set_result(result)

    @property
    def frame(self) -> int:
        return self._frame

    def set_result(self, result: FillAnalysis | None) -> None:
        """Show ``result`` (``None`` clears the overlay, e.g. when another loop is loaded)."""
        self._result = result
        self.set_frame(self._frame)

    def set_frame(self, frame: int) -> None:
        """Draw the analysis of 1-based ``frame``; a frame outside the loop shows nothing."""
        self._frame = int(frame)
        labels = None if self._result is None else overlay_labels(self._result, self._frame)
        if labels is None:
            self.clear()
            return
        # levels 0..3 map the labels straight onto the 4 LUT entries
        self.setImage(labels, autoLevels=False, levels=(0, len(OVERLAY_LUT) - 1))
        scale = float(max(1, self._result.working_scale))
        h, w = labels.shape
        self.setRect(QRectF(0.0, 0.0, w * scale, h * scale))
