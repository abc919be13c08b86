"""Geometry helpers for the synthetic HSG generator: curves, ribbons and rasterisation in millimetres.

Anatomy is described in millimetres in the patient plane (x toward the patient's LEFT, y toward the FEET, origin
at the image centre) so that shapes keep their real size whatever matrix (256 … 1024) is asked for; only
:class:`PixelGrid` knows about pixels. Keeping this apart from the case logic lets the case definitions read like
anatomy, not like array code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.draw import disk, polygon

FloatArray = np.ndarray


@dataclass(frozen=True, slots=True)
class PixelGrid:
    """Maps patient-plane millimetres to (row, column) pixels of an unflipped image.

    ``mm_per_pixel`` is the spacing *in the patient plane* (detector spacing ÷ magnification), which is what
    anatomy sizes are expressed in.
    """

    size: int
    mm_per_pixel: float

    @property
    def centre(self) -> float:
        return (self.size - 1) / 2.0

    def to_pixels(self, xy_mm: FloatArray) -> FloatArray:
        """(N, 2) array of (x, y) mm → (N, 2) array of (row, col) float pixels."""
        xy = np.asarray(xy_mm, dtype=float).reshape(-1, 2)
        rows = self.centre + xy[:, 1] / self.mm_per_pixel
        cols = self.centre + xy[:, 0] / self.mm_per_pixel
        return np.stack([rows, cols], axis=1)

    def mm(self, value_mm: float) -> float:
        """A length in mm → pixels."""
        return value_mm / self.mm_per_pixel

    def coordinates_mm(self) -> tuple[FloatArray, FloatArray]:
        """Open (x, y) mm grids (broadcastable, float32) for analytic fields such as soft tissue."""
        idx = (np.arange(self.size, dtype=np.float32) - self.centre) * self.mm_per_pixel
        return idx[np.newaxis, :], idx[:, np.newaxis]


def rotation(angle_deg: float) -> FloatArray:
    a = np.deg2rad(angle_deg)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])


def catmull_rom(points: FloatArray, samples_per_segment: int = 40) -> FloatArray:
    """A smooth curve through every control point (centripetal-free, uniform Catmull-Rom).

    Used for tubes, catheter and veins: a curve that passes *through* the chosen anatomical waypoints is easier
    to reason about than a B-spline that only approaches them.
    """
    p = np.asarray(points, dtype=float)
    ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = []
    t = np.linspace(0.0, 1.0, samples_per_segment, endpoint=False)[:, None]
    for i in range(1, len(ext) - 2):
        p0, p1, p2, p3 = ext[i - 1], ext[i], ext[i + 1], ext[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    out.append(p[-1][None, :])
    return np.vstack(out)


def resample_by_arclength(curve: FloatArray, step: float) -> tuple[FloatArray, FloatArray]:
    """Resample a polyline at a fixed step; returns (points, cumulative arc length of each point)."""
    seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(np.ceil(s[-1] / step)) + 1)
    target = np.linspace(0.0, s[-1], n)
    x = np.interp(target, s, curve[:, 0])
    y = np.interp(target, s, curve[:, 1])
    return np.stack([x, y], axis=1), target


def quadratic_bezier(p0: FloatArray, ctrl: FloatArray, p1: FloatArray, n: int = 24) -> FloatArray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(ctrl) + t**2 * np.asarray(p1)


def ribbon_polygon(centreline: FloatArray, half_widths: FloatArray) -> FloatArray:
    """Closed outline of a band of varying width around a centreline (horns of a cavity, T-shaped arms)."""
    c = np.asarray(centreline, dtype=float)
    d = np.gradient(c, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1)
    hw = np.asarray(half_widths, dtype=float)[:, None]
    left = c + normal * hw
    right = c - normal * hw
    return np.vstack([left, right[::-1]])


def ellipse_polygon(
    centre: FloatArray, semi_axes: tuple[float, float], angle_deg: float = 0.0, n: int = 48
) -> FloatArray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pts = np.stack([semi_axes[0] * np.cos(t), semi_axes[1] * np.sin(t)], axis=1)
    return pts @ rotation(angle_deg).T + np.asarray(centre, dtype=float)


def rasterise_polygon(poly_rc: FloatArray, size: int, out: np.ndarray | None = None) -> np.ndarray:
    """Fill a polygon given in (row, col) pixels into a bool mask (OR-ed into ``out`` if given)."""
    mask = np.zeros((size, size), dtype=bool) if out is None else out
    rr, cc = polygon(poly_rc[:, 0], poly_rc[:, 1], shape=(size, size))
    mask[rr, cc] = True
    return mask


@dataclass(slots=True)
class TubeRaster:
    """A tubular structure (Fallopian tube, vein, catheter) rasterised once per case.

    ``arc_mm`` holds, per pixel, the arc length (mm from the origin) of the nearest centreline sample that covers
    it (inf outside), ``radius_mm`` that sample's radius. A fill front at arc length F then is simply
    ``arc_mm <= F`` — no re-drawing per frame, which keeps 300-frame loops cheap.
    """

    arc_mm: np.ndarray  # float32 (rows, cols), inf where not covered
    radius_mm: np.ndarray  # float32 (rows, cols)
    points_mm: FloatArray  # (N, 2) x, y centreline samples
    s_mm: FloatArray  # (N,) arc length of each sample
    length_mm: float


def rasterise_tube(
    grid: PixelGrid, points_mm: FloatArray, s_mm: FloatArray, radii_mm: FloatArray
) -> TubeRaster:
    size = grid.size
    arc = np.full((size, size), np.inf, dtype=np.float32)
    rad = np.zeros((size, size), dtype=np.float32)
    # Re-sample the centreline at half a pixel so the union of disks has no gaps at any matrix size.
    fine, fine_s = resample_by_arclength(np.asarray(points_mm, dtype=float), 0.5 * grid.mm_per_pixel)
    s_fine = np.interp(fine_s, _arclength(points_mm), s_mm)
    r_fine = np.interp(fine_s, _arclength(points_mm), radii_mm)
    rc = grid.to_pixels(fine)
    for (r, c), s, radius in zip(rc, s_fine, r_fine, strict=True):
        rr, cc = disk((r, c), max(grid.mm(radius), 0.75), shape=(size, size))
        if rr.size == 0:
            continue
        cur = arc[rr, cc]
        better = s < cur
        arc[rr[better], cc[better]] = s
        rad[rr[better], cc[better]] = radius
    return TubeRaster(arc, rad, points_mm, s_mm, float(s_mm[-1]))


def _arclength(points: FloatArray) -> FloatArray:
    seg = np.linalg.norm(np.diff(np.asarray(points, dtype=float), axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])
