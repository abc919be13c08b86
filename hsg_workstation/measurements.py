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


class RegionType(StrEnum):
    """SR SCOORD graphic types used here."""

    POINT = "POINT"
    POLYLINE = "POLYLINE"  # open: a length (2 points) or an angle (3 points)
    POLYGON = "POLYGON"  # closed polyline; first point repeated at the end when written to SR
    ELLIPSE = "ELLIPSE"  # four points: major axis end points, then minor axis end points


@dataclass(frozen=True, slots=True)
class ImageRegion:
    """A region on one frame of one instance."""

    sop_instance_uid: str
    frame_number: int  # 1-based
    region_type: RegionType
    points: tuple[tuple[float, float], ...]  # (column, row)


class MeasurementKind(StrEnum):
    LENGTH = "length"
    ANGLE = "angle"
    ELLIPSE = "ellipse"
    POLYGON = "polygon"
    ARROW = "arrow"  # arrow with a text label
    POINT = "point"


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measurement or annotation on a frame, with its calibration basis. Immutable: edits make a copy."""

    kind: MeasurementKind
    region: ImageRegion
    calibration: Calibration
    label: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def moved(self, points: tuple[tuple[float, float], ...]) -> Measurement:
        return replace(self, region=replace(self.region, points=points))
