"""Pixel size in millimetres for measurements, and how trustworthy it is.

In projection radiography (RF, XA, DX, CR) the detector pixel pitch, Imager Pixel Spacing (0018,1164), measures
the *detector*; anatomy sits between the X-ray source and the detector and is magnified, so distances measured
with it overstate the anatomy by the magnification factor (typically 1.1–1.3 in fluoroscopy). Rules, first match
wins (PS3.3 C.8.7.1, 10.7.1.3):

1. Imager Pixel Spacing ÷ Estimated Radiographic Magnification Factor (0018,1114) → "corrected for magnification"
   (the modality's estimate of the size at the isocentre / object plane).
2. Imager Pixel Spacing alone → "at detector" (too large by the unknown magnification; the report says so).
3. Pixel Spacing (0028,0030) → "pixel spacing" (the modality calibrated it), also from the Pixel Measures
   functional group of enhanced multi-frame images.
4. Otherwise "uncalibrated": lengths are in pixels.

Values are (row spacing, column spacing) = (vertical, horizontal) as in DICOM. Malformed values (wrong count,
not positive, not a number) are ignored so the next rule applies.
"""

from __future__ import annotations

import math

from pydicom.dataset import Dataset

from hsg_workstation.dicom_io.reader import positive_number
from hsg_workstation.measurements import Calibration, CalibrationBasis


def _pair(value: object) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        items = [float(v) for v in value]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if len(items) != 2 or not all(math.isfinite(v) and v > 0 for v in items):
        return None
    return items[0], items[1]


def _functional_group_pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    for group in ds.get("SharedFunctionalGroupsSequence") or []:
        for measures in group.get("PixelMeasuresSequence") or []:
            pair = _pair(measures.get("PixelSpacing"))
            if pair:
                return pair
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if per_frame:
        for measures in per_frame[0].get("PixelMeasuresSequence") or []:
            pair = _pair(measures.get("PixelSpacing"))
            if pair:
                return pair
    return None


def calibration_from_dataset(ds: Dataset) -> Calibration:
    """The calibration of an image header; see the module docstring for the rules."""
    imager = _pair(ds.get("ImagerPixelSpacing"))
    if imager:
        ermf = positive_number(ds.get("EstimatedRadiographicMagnificationFactor"))
        if ermf:
            return Calibration(imager[0] / ermf, imager[1] / ermf, CalibrationBasis.MAGNIFICATION_CORRECTED)
        return Calibration(imager[0], imager[1], CalibrationBasis.DETECTOR)
    spacing = _pair(ds.get("PixelSpacing")) or _functional_group_pixel_spacing(ds)
    if spacing:
        return Calibration(spacing[0], spacing[1], CalibrationBasis.PIXEL_SPACING)
    return Calibration.uncalibrated()
