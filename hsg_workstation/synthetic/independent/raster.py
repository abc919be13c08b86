"""Raster primitives in patient millimetres (thickness maps on a window of the stored pixel grid).

All functions return float32 arrays of projected thickness (mm) for one pixel window; the caller adds them to
a water-equivalent or iodine map. Shapes are projected solids (ellipsoid chords, cylinder chords), so edges
fall off the way a projection does rather than as hard steps.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.draw import polygon as draw_polygon

from .geometry import Geometry

Window = tuple[slice, slice]


def box(points: np.ndarray, margin: float) -> tuple[float, float, float, float]:
    p = np.asarray(points, dtype=float).reshape(-1, 2)
    return (p[:, 0].min() - margin, p[:, 0].max() + margin, p[:, 1].min() - margin, p[:, 1].max() + margin)


def local(x: np.ndarray, y: np.ndarray, cx: float, cy: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    dx, dy = x - np.float32(cx), y - np.float32(cy)
    return dx * c + dy * s, -dx * s + dy * c


def ellipsoid(
    geom: Geometry, cx: float, cy: float, a: float, b: float, angle: float, amp: float
) -> tuple[Window, np.ndarray] | None:
    """Projected thickness of an ellipsoid (semi-axes a, b in the image plane; ``amp`` = central thickness)."""
    r = max(a, b)
    win = geom.window(cx - r, cx + r, cy - r, cy + r)
    if win is None:
        return None
    x, y = geom.grid(win)
    u, v = local(x, y, cx, cy, angle)
    q = 1.0 - (u / a) ** 2 - (v / b) ** 2
    return win, (amp * np.sqrt(np.clip(q, 0.0, None))).astype(np.float32)


def ring(
    geom: Geometry,
    cx: float,
    cy: float,
    a: float,
    b: float,
    angle: float,
    width: float,
    amp: float,
    arc: tuple[float, float] = (-np.pi, np.pi),
) -> tuple[Window, np.ndarray] | None:
    """A Gaussian band of half-width ``width`` along an ellipse outline (cortex seen tangentially)."""
    r = max(a, b) + 3 * width
    win = geom.window(cx - r, cx + r, cy - r, cy + r)
    if win is None:
        return None
    x, y = geom.grid(win)
    u, v = local(x, y, cx, cy, angle)
    rho = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    d = (rho - 1.0) * np.float32(0.5 * (a + b))
    out = amp * np.exp(-((d / width) ** 2))
    th = np.arctan2(v, u)
    lo, hi = arc
    inside = (th >= lo) & (th <= hi) if lo <= hi else (th >= lo) | (th <= hi)
    return win, (out * inside).astype(np.float32)


def polygon_mask(geom: Geometry, poly: np.ndarray, margin: float = 2.0) -> tuple[Window, np.ndarray] | None:
    """Boolean mask of a patient-space polygon on its window."""
    win = geom.window(*box(poly, margin))
    if win is None:
        return None
    r, c = geom.to_pixel(poly[:, 0], poly[:, 1])
    shape = (win[0].stop - win[0].start, win[1].stop - win[1].start)
    rr, cc = draw_polygon(r - win[0].start, c - win[1].start, shape)
    mask = np.zeros(shape, dtype=bool)
    mask[rr, cc] = True
    return win, mask


def nearest_on_path(
    geom: Geometry, path: np.ndarray, reach: float
) -> tuple[Window, np.ndarray, np.ndarray] | None:
    """For every pixel within ``reach`` mm of a densely sampled path: distance (mm) and index of the nearest sample.

    Uses a Euclidean distance transform seeded at the samples' pixels (fast for long paths); the distance is
    then measured exactly to the nearest sample's sub-pixel position. Pixels farther than ``reach`` get
    distance = inf.
    """
    win = geom.window(*box(path, reach + 2 * geom.px))
    if win is None:
        return None
    shape = (win[0].stop - win[0].start, win[1].stop - win[1].start)
    r, c = geom.to_pixel(path[:, 0], path[:, 1])
    ri = np.rint(r - win[0].start).astype(int)
    ci = np.rint(c - win[1].start).astype(int)
    ok = (ri >= 0) & (ri < shape[0]) & (ci >= 0) & (ci < shape[1])
    if not ok.any():
        return None
    seed_idx = np.full(shape, -1, dtype=np.int64)
    seed_idx[ri[ok], ci[ok]] = np.nonzero(ok)[0]
    _dist, (ir, ic) = ndi.distance_transform_edt(seed_idx < 0, return_indices=True)
    nearest = seed_idx[ir, ic]
    rows = np.arange(shape[0], dtype=np.float32)[:, None] + win[0].start
    cols = np.arange(shape[1], dtype=np.float32)[None, :] + win[1].start
    d = np.hypot(rows - r[nearest], cols - c[nearest]).astype(np.float32) * np.float32(geom.px)
    d[d > reach] = np.inf
    return win, d, nearest


def stroke(
    geom: Geometry, path: np.ndarray, radius: np.ndarray | float, amp: float = 1.0
) -> tuple[Window, np.ndarray, np.ndarray] | None:
    """Projected chord thickness of a tube of (per-sample) ``radius`` along ``path``; returns (win, thick, idx).

    Below one pixel the chord is replaced by a Gaussian line of the same cross-section area, so thin tubes are
    neither lost between pixel centres nor drawn too wide.
    """
    rad = np.broadcast_to(np.asarray(radius, dtype=np.float32), (len(path),))
    got = nearest_on_path(geom, path, float(rad.max()) + 3 * geom.px)
    if got is None:
        return None
    win, d, idx = got
    r = rad[idx]
    sig = np.float32(0.5 * geom.px)
    # the chord measured half a pixel inwards: pixel-sized partial-volume softening of the edge
    de = np.clip(d - np.float32(0.3 * geom.px), 0.0, None)
    chord = 2.0 * np.sqrt(np.clip(r * r - de * de, 0.0, None))
    area = np.float32(np.pi) * r * r
    gauss = area / (np.float32(np.sqrt(2 * np.pi)) * sig) * np.exp(-0.5 * (d / sig) ** 2)
    thick = np.where(r >= geom.px, chord, gauss)
    thick = np.where(np.isfinite(d), thick, 0.0).astype(np.float32) * np.float32(amp)
    return win, thick, idx


def add(target: np.ndarray, item: tuple | None, scale: float = 1.0) -> None:
    """Add a (window, values, ...) raster into a full-size map in place."""
    if item is None:
        return
    win, values = item[0], item[1]
    target[win] += values if scale == 1.0 else values * np.float32(scale)


class Upsampler:
    """Linear interpolation from a coarse grid onto the full image by two gathers (no BLAS: matrix products
    thrash on a loaded two-core machine)."""

    def __init__(self, n_out: tuple[int, int], n_in: tuple[int, int]) -> None:
        self.axes = []
        for no, ni in zip(n_out, n_in, strict=True):
            pos = np.clip((np.arange(no) + 0.5) * ni / no - 0.5, 0, ni - 1)
            i0 = np.floor(pos).astype(np.intp)
            self.axes.append((i0, np.minimum(i0 + 1, ni - 1), (pos - i0).astype(np.float32)))

    def __call__(self, small: np.ndarray) -> np.ndarray:
        (r0, r1, wr), (c0, c1, wc) = self.axes
        t = small[r0] * (1 - wr)[:, None] + small[r1] * wr[:, None]
        # np.take keeps C order (t[:, idx] would come back Fortran-ordered and slow every later full-frame op)
        out = np.take(t, c0, axis=1)
        out *= 1 - wc
        out += np.take(t, c1, axis=1) * wc
        return out


def smooth_noise(shape: tuple[int, int], coarse: int, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency random texture (zero mean, unit-ish std) by interpolating a coarse random grid."""
    g = ndi.gaussian_filter(rng.standard_normal((coarse, coarse)), 1.0).astype(np.float32)
    g /= g.std() + 1e-6
    return Upsampler(shape, (coarse, coarse))(g)
