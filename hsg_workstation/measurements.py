"""Measurements and image regions: one Qt-free model shared by the viewer (draws them) and the report (links
findings to them), in the spirit of OHIF's MeasurementService — one source of truth, views on top.

Coordinates are image coordinates in pixels as (column, row) with (0, 0) at the top-left corner of the
top-left pixel — the same convention as DICOM SR SCOORD graphic data and as pyqtgraph scene coordinates with a
row-major ImageItem. Frames are 1-based (DICOM Referenced Frame Number).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum


class CalibrationBasis(StrEnum):
    """How a pixel distance becomes millimetres; travels with every measurement (shown and reported)."""

    MAGNIFICATION_CORRECTED = "corrected for magnification"  # ImagerPixelSpacing / ERMF
    DETECTOR = "at detector"  # ImagerPixelSpacing alone
    PIXEL_SPACING = "pixel spacing"  # PixelSpacing (already calibrated by the modality)
    MANUAL = "manual calibration"  # user drew a line over a known length
    UNCALIBRATED = "uncalibrated"  # pixels only


@dataclass(frozen=True, slots=True)
class Calibration:
    """Millimetres per pixel along rows (vertical) and columns (horizontal), and where the numbers came from."""

    row_spacing_mm: float | None
    column_spacing_mm: float | None
    basis: CalibrationBasis

    def __post_init__(self) -> None:
        """Valid once made (highdicom's rule): a basis always; a calibrated basis needs both spacings > 0."""
        if not isinstance(self.basis, CalibrationBasis):
            raise ValueError(f"calibration: basis must be a CalibrationBasis, got {self.basis!r}")
        for name in ("row_spacing_mm", "column_spacing_mm"):
            value = getattr(self, name)
            if value is None:
                if self.basis is not CalibrationBasis.UNCALIBRATED:
                    raise ValueError(f"calibration {self.basis.value!r}: {name} is missing")
            elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
                raise ValueError(f"calibration: {name} must be a positive number of mm, got {value!r}")

    @classmethod
    def uncalibrated(cls) -> Calibration:
        return cls(None, None, CalibrationBasis.UNCALIBRATED)

    @property
    def is_calibrated(self) -> bool:
        return self.basis is not CalibrationBasis.UNCALIBRATED and bool(self.row_spacing_mm)

    def length(self, p0: tuple[float, float], p1: tuple[float, float]) -> float:
        """Distance between two (column, row) points in mm, or in pixels when uncalibrated."""
        dc, dr = p1[0] - p0[0], p1[1] - p0[1]
        if not self.is_calibrated:
            return math.hypot(dc, dr)
        return math.hypot(dc * (self.column_spacing_mm or 0.0), dr * (self.row_spacing_mm or 0.0))

    @property
    def unit(self) -> str:
        """UCUM unit of lengths measured with this calibration."""
        return "mm" if self.is_calibrated else "{pixel}"


Point = tuple[float, float]


def angle_degrees(points: tuple[Point, ...], calibration: Calibration) -> float:
    """Angle at the middle vertex of three points, in physical space (anisotropic spacing respected: on 0.2 × 0.1 mm
    pixels a 45° angle in pixels is 63.4° on the patient). One function for the viewer, the SR and the PDF."""
    (c0, r0), (c1, r1), (c2, r2) = points[:3]
    cs = (calibration.column_spacing_mm or 1.0) if calibration.is_calibrated else 1.0
    rs = (calibration.row_spacing_mm or 1.0) if calibration.is_calibrated else 1.0
    v1 = ((c0 - c1) * cs, (r0 - r1) * rs)
    v2 = ((c2 - c1) * cs, (r2 - r1) * rs)
    n1, n2 = math.hypot(*v1), math.hypot(*v2)
    if n1 == 0 or n2 == 0:
        return 0.0
    cos = max(-1.0, min(1.0, (v1[0] * v2[0] + v1[1] * v2[1]) / (n1 * n2)))
    return math.degrees(math.acos(cos))


def polygon_area(points: tuple[Point, ...], calibration: Calibration) -> float:
    """Shoelace area in mm² (or px² uncalibrated)."""
    if len(points) < 3:
        return 0.0
    cs = (calibration.column_spacing_mm or 1.0) if calibration.is_calibrated else 1.0
    rs = (calibration.row_spacing_mm or 1.0) if calibration.is_calibrated else 1.0
    xy = [(x * cs, y * rs) for x, y in points]
    twice = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(xy, xy[1:] + xy[:1], strict=True))
    return abs(twice) / 2.0


def ellipse_axes(points: tuple[Point, ...], calibration: Calibration) -> tuple[float, float]:
    """(long axis, short axis) of an ellipse given as two axes' end points (SR ELLIPSE order), in mm or px —
    whichever pair the reader dragged longer is the long axis."""
    first = calibration.length(points[0], points[1])
    second = calibration.length(points[2], points[3])
    return (max(first, second), min(first, second))


def ellipse_area(points: tuple[Point, ...], calibration: Calibration) -> float:
    """Area of an ellipse given as its two axes' end points, in mm² (or px² uncalibrated)."""
    long_axis, short_axis = ellipse_axes(points, calibration)
    return math.pi * (long_axis / 2.0) * (short_axis / 2.0)


class RegionType(StrEnum):
    """SR SCOORD graphic types used here."""

    POINT = "POINT"
    POLYLINE = "POLYLINE"  # open: a length (2 points) or an angle (3 points)
    POLYGON = "POLYGON"  # closed polyline; first point repeated at the end when written to SR
    ELLIPSE = "ELLIPSE"  # four points: major axis end points, then minor axis end points


# How many (column, row) points each graphic type has: (minimum, maximum or None for no limit).
REGION_POINT_COUNTS: dict[RegionType, tuple[int, int | None]] = {
    RegionType.POINT: (1, 1),
    RegionType.POLYLINE: (2, None),
    RegionType.POLYGON: (3, None),
    RegionType.ELLIPSE: (4, 4),
}


@dataclass(frozen=True, slots=True)
class ImageRegion:
    """A region on one frame of one instance."""

    sop_instance_uid: str
    frame_number: int  # 1-based
    region_type: RegionType
    points: tuple[tuple[float, float], ...]  # (column, row)

    def __post_init__(self) -> None:
        """Valid once made: a 1-based frame, a known graphic type, and as many finite points as it needs (an
        ELLIPSE with three points is refused here, not when the SR writer meets it)."""
        if not isinstance(self.region_type, RegionType):
            raise ValueError(f"image region: region_type must be a RegionType, got {self.region_type!r}")
        if (
            isinstance(self.frame_number, bool)
            or not isinstance(self.frame_number, int)
            or self.frame_number < 1
        ):
            raise ValueError(f"image region: frame_number must be 1 or more, got {self.frame_number!r}")
        points = tuple(tuple(p) for p in self.points)
        low, high = REGION_POINT_COUNTS[self.region_type]
        if len(points) < low or (high is not None and len(points) > high):
            wanted = f"{low}" if low == high else f"at least {low}"
            raise ValueError(
                f"image region {self.region_type.value}: needs {wanted} points, got {len(points)}"
            )
        for p in points:
            if len(p) != 2 or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in p
            ):
                raise ValueError(f"image region: a point must be two finite numbers (column, row), got {p!r}")
        object.__setattr__(self, "points", points)


class MeasurementKind(StrEnum):
    LENGTH = "length"
    ANGLE = "angle"
    ELLIPSE = "ellipse"
    POLYGON = "polygon"
    ARROW = "arrow"  # arrow with a text label
    POINT = "point"


# The graphic type and point count each kind of measurement is drawn with.
MEASUREMENT_REGIONS: dict[MeasurementKind, tuple[RegionType, int | None]] = {
    MeasurementKind.LENGTH: (RegionType.POLYLINE, 2),
    MeasurementKind.ANGLE: (RegionType.POLYLINE, 3),
    MeasurementKind.POLYGON: (RegionType.POLYGON, None),
    MeasurementKind.ELLIPSE: (RegionType.ELLIPSE, 4),
    MeasurementKind.ARROW: (RegionType.POLYLINE, 2),
    MeasurementKind.POINT: (RegionType.POINT, 1),
}


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measurement or annotation on a frame, with its calibration basis. Immutable: edits make a copy."""

    kind: MeasurementKind
    region: ImageRegion
    calibration: Calibration
    label: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        """Valid once made: a calibration basis always travels with the value, and the region fits the kind."""
        if not isinstance(self.kind, MeasurementKind):
            raise ValueError(f"measurement: kind must be a MeasurementKind, got {self.kind!r}")
        if not isinstance(self.calibration, Calibration):
            raise ValueError(f"{self.kind.value} measurement: a calibration (and its basis) is required")
        if not isinstance(self.region, ImageRegion):
            raise ValueError(f"{self.kind.value} measurement: region must be an ImageRegion")
        region_type, count = MEASUREMENT_REGIONS[self.kind]
        if self.region.region_type is not region_type or (
            count is not None and len(self.region.points) != count
        ):
            raise ValueError(
                f"{self.kind.value} measurement: needs a {region_type.value} region"
                + (f" of {count} points" if count else "")
                + f", got {self.region.region_type.value} with {len(self.region.points)}"
            )

    def moved(self, points: tuple[tuple[float, float], ...]) -> Measurement:
        return replace(self, region=replace(self.region, points=points))
