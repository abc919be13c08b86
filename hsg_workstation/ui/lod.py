"""Level of detail for large single images: DX / CR spot films of 3000 × 3000 and more.

Why: pyqtgraph renders every pixel of the image on each W/L change (a lookup over the whole array, then the
QImage scaled to the screen). A 3000² film shown in a ~900-pixel viewport puts 9 M pixels through that path
for under 1 M screen pixels — 8–9× the work of a 1024² fluoroscopy frame. While the view is zoomed out, the
viewport paints a block-mean reduction that still has at least one image pixel per screen pixel (``factor`` =
⌊1 / zoom⌋); zoomed in to 1:1 or beyond it paints the full frame. The reduction is made once per frame and
factor; W/L on it is then as cheap as on a fluoroscopy frame. Measurements, the pixel read-out and the ROI
statistics always use the full-resolution frame (the reduced image is only what is drawn).
"""

from __future__ import annotations

import numpy as np

#: Images with more pixels than this get a reduced copy while zoomed out (1024² loops never do).
LOD_MIN_PIXELS = 2048 * 2048
MAX_FACTOR = 16


def lod_factor(rows: int, columns: int, zoom: float) -> int:
    """How many image pixels per side one drawn pixel stands for at ``zoom`` (screen px per image px)."""
    if rows * columns <= LOD_MIN_PIXELS or not zoom > 0:
        return 1
    return max(1, min(MAX_FACTOR, int(1.0 / zoom)))


def reduce_mean(arr: np.ndarray, factor: int) -> np.ndarray:
    """Block mean over ``factor`` × ``factor`` pixels (grey or RGB), in the input dtype; the last rows / columns
    that do not fill a block are left out (under one screen pixel at the zoom this is used at)."""
    if factor <= 1:
        return arr
    rows, cols = arr.shape[0] // factor * factor, arr.shape[1] // factor * factor
    view = arr[:rows, :cols]
    shape = (rows // factor, factor, cols // factor, factor, *arr.shape[2:])
    out = view.reshape(shape).mean(axis=(1, 3), dtype=np.float32)
    if arr.dtype.kind in "ui":
        out = np.rint(out).astype(arr.dtype)
    else:
        out = out.astype(arr.dtype, copy=False)
    return np.ascontiguousarray(out)
