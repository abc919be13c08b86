"""The values of a measurement — length, angle, area, ROI statistics, the label next to it, a manual
calibration — computed in one place from the immutable :class:`~hsg_workstation.measurements.Measurement`, so
the number on screen, in the report's SR and in its PDF cannot disagree. Qt-free; numpy / scikit-image only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hsg_workstation.measurements import (
    Calibration,
    CalibrationBasis,
    Measurement,
    MeasurementKind,
    angle_degrees,
    ellipse_area,
    polygon_area,
)

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class RoiStatistics:
    """Pixel statistics inside a closed region, in the frame's modality values (after the modality LUT)."""

    area: float  # mm² when calibrated, else px²
    area_unit: str
    mean: float
    minimum: float
    maximum: float
    pixel_count: int


def basis_text(calibration: Calibration) -> str:
    """Short text shown next to every value so the reader knows what a millimetre means here."""
    if not calibration.is_calibrated:
        return "uncalibrated — px"
    return calibration.basis.value


def region_mask(kind: MeasurementKind, points: tuple[Point, ...], shape: tuple[int, int]) -> np.ndarray:
    """Boolean mask of the pixels whose centres lie inside the region (pixel centre = index + 0.5)."""
    rows, cols = shape
    rr, cc = np.mgrid[0:rows, 0:cols]
    yc, xc = rr + 0.5, cc + 0.5
    if kind is MeasurementKind.ELLIPSE:
        p = np.asarray(points, dtype=float)
        centre = (p[0] + p[1]) / 2.0
        major = p[1] - p[0]
        minor = p[3] - p[2]
        a, b = np.hypot(*major) / 2.0, np.hypot(*minor) / 2.0
        if a == 0 or b == 0:
            return np.zeros(shape, dtype=bool)
        ux, uy = major / (2.0 * a)
        dx, dy = xc - centre[0], yc - centre[1]
        u = dx * ux + dy * uy
        v = -dx * uy + dy * ux
        return (u / a) ** 2 + (v / b) ** 2 <= 1.0
    from skimage.draw import polygon as draw_polygon

    p = np.asarray(points, dtype=float)
    mask = np.zeros(shape, dtype=bool)
    # skimage samples integer coordinates; shift by half a pixel so it tests pixel centres.
    r, c = draw_polygon(p[:, 1] - 0.5, p[:, 0] - 0.5, shape=shape)
    mask[r, c] = True
    return mask


def roi_statistics(measurement: Measurement, pixels: np.ndarray | None) -> RoiStatistics | None:
    """Area and mean/min/max of a closed ROI; None for open shapes."""
    kind = measurement.kind
    if kind not in (MeasurementKind.ELLIPSE, MeasurementKind.POLYGON):
        return None
    cal = measurement.calibration
    pts = measurement.region.points
    area = ellipse_area(pts, cal) if kind is MeasurementKind.ELLIPSE else polygon_area(pts, cal)
    unit = "mm²" if cal.is_calibrated else "px²"
    if pixels is None:
        return RoiStatistics(area, unit, math.nan, math.nan, math.nan, 0)
    mask = region_mask(kind, pts, pixels.shape[:2])
    inside = pixels[mask]
    if inside.size == 0:
        return RoiStatistics(area, unit, math.nan, math.nan, math.nan, 0)
    return RoiStatistics(
        area, unit, float(inside.mean()), float(inside.min()), float(inside.max()), int(inside.size)
    )


def measurement_text(measurement: Measurement, pixels: np.ndarray | None = None) -> str:
    """The label drawn next to a measurement: value, unit and calibration basis."""
    cal = measurement.calibration
    pts = measurement.region.points
    kind = measurement.kind
    basis = basis_text(cal)
    if kind is MeasurementKind.LENGTH:
        unit = "mm" if cal.is_calibrated else "px"
        return f"{cal.length(pts[0], pts[1]):.1f} {unit} ({basis})"
    if kind is MeasurementKind.ANGLE:
        return f"{angle_degrees(pts, cal):.1f}°"
    if kind in (MeasurementKind.ELLIPSE, MeasurementKind.POLYGON):
        stats = roi_statistics(measurement, pixels)
        assert stats is not None
        text = f"area {stats.area:.1f} {stats.area_unit} ({basis})"
        if stats.pixel_count:
            text += f"\nmean {stats.mean:.1f}  min {stats.minimum:.0f}  max {stats.maximum:.0f}"
        return text
    return measurement.label


def manual_calibration(p0: Point, p1: Point, known_length_mm: float) -> Calibration:
    """Calibration from a line drawn over an object of known length (catheter tip, ruler).

    Isotropic: one mm/px for rows and columns, which is what a single line can tell.
    """
    px = math.hypot(p1[0] - p0[0], p1[1] - p0[1])
    if px <= 0 or known_length_mm <= 0:
        raise ValueError("calibration line must have a length > 0 and the known length must be > 0 mm")
    mm_per_px = known_length_mm / px
    return Calibration(mm_per_px, mm_per_px, CalibrationBasis.MANUAL)
