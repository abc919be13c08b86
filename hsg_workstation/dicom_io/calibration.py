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
not positive, not a number, an unreadable VR) and implausible ones (a spacing outside 0.001–50 mm, a
magnification factor outside 0.5–20: 1e308 mm made every length infinite) are ignored so the next rule applies;
:func:`calibration_warnings` says in words which were ignored and why (the analysis reports it; this function
never raises — a corrupt calibration VR showed pydicom's raw message in the viewer).
"""

from __future__ import annotations

import math

from pydicom.dataset import Dataset

from hsg_workstation.dicom_io.reader import positive_number
from hsg_workstation.measurements import Calibration, CalibrationBasis

#: Plausible millimetres per pixel (a 4 µm microscope pixel … a 5 cm "pixel" no detector has).
MIN_SPACING_MM, MAX_SPACING_MM = 0.001, 50.0
#: Plausible Estimated Radiographic Magnification Factor (projection radiography: 1.0–2.0 in practice).
MIN_MAGNIFICATION, MAX_MAGNIFICATION = 0.5, 20.0

_KEYWORD_TAGS = {
    "ImagerPixelSpacing": "(0018,1164)",
    "PixelSpacing": "(0028,0030)",
    "EstimatedRadiographicMagnificationFactor": "(0018,1114)",
}


def _get(ds: Dataset, keyword: str, problems: list[str] | None = None) -> object:
    """``ds.get(keyword)``, with a value pydicom cannot convert (unknown VR, bad bytes) treated as absent."""
    try:
        return ds.get(keyword)
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types for a corrupt element
        if problems is not None:
            detail = str(exc).strip().splitlines()
            why = detail[0][:100] if detail else type(exc).__name__
            problems.append(f"{_name(keyword)}: unreadable value ({why}); ignored")
        return None


def _name(keyword: str) -> str:
    spaced = "".join(f" {c}" if c.isupper() else c for c in keyword).strip()
    return f"{spaced} {_KEYWORD_TAGS.get(keyword, '')}".strip()


def _pair(value: object, keyword: str = "", problems: list[str] | None = None) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        items = [float(v) for v in value]  # type: ignore[union-attr]
    except (TypeError, ValueError):
        return None
    if len(items) != 2 or not all(math.isfinite(v) and v > 0 for v in items):
        return None
    if not all(MIN_SPACING_MM <= v <= MAX_SPACING_MM for v in items):
        if problems is not None:
            problems.append(
                f"{_name(keyword)}: {items[0]:g} \\ {items[1]:g} mm is outside the plausible "
                f"{MIN_SPACING_MM:g}–{MAX_SPACING_MM:g} mm per pixel; ignored"
            )
        return None
    return items[0], items[1]


def _magnification(ds: Dataset, problems: list[str] | None) -> float | None:
    keyword = "EstimatedRadiographicMagnificationFactor"
    ermf = positive_number(_get(ds, keyword, problems))
    if ermf is not None and not MIN_MAGNIFICATION <= ermf <= MAX_MAGNIFICATION:
        if problems is not None:
            problems.append(
                f"{_name(keyword)}: {ermf:g} is outside the plausible {MIN_MAGNIFICATION:g}–"
                f"{MAX_MAGNIFICATION:g}; ignored"
            )
        return None
    return ermf


def _functional_group_pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    for group in ds.get("SharedFunctionalGroupsSequence") or []:
        for measures in group.get("PixelMeasuresSequence") or []:
            pair = _pair(_get(measures, "PixelSpacing"))
            if pair:
                return pair
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    if per_frame:
        for measures in per_frame[0].get("PixelMeasuresSequence") or []:
            pair = _pair(_get(measures, "PixelSpacing"))
            if pair:
                return pair
    return None


def calibration_from_dataset(ds: Dataset, problems: list[str] | None = None) -> Calibration:
    """The calibration of an image header; see the module docstring for the rules. Never raises; values
    ignored as malformed or implausible are described in ``problems`` when a list is given."""
    imager = _pair(_get(ds, "ImagerPixelSpacing", problems), "ImagerPixelSpacing", problems)
    if imager:
        ermf = _magnification(ds, problems)
        if ermf:
            return Calibration(imager[0] / ermf, imager[1] / ermf, CalibrationBasis.MAGNIFICATION_CORRECTED)
        return Calibration(imager[0], imager[1], CalibrationBasis.DETECTOR)
    spacing = _pair(_get(ds, "PixelSpacing", problems), "PixelSpacing", problems)
    if not spacing:
        try:
            spacing = _functional_group_pixel_spacing(ds)
        except Exception:  # noqa: BLE001 - a corrupt functional-group item: no calibration from it
            spacing = None
    if spacing:
        return Calibration(spacing[0], spacing[1], CalibrationBasis.PIXEL_SPACING)
    return Calibration.uncalibrated()


def calibration_warnings(ds: Dataset) -> list[str]:
    """Why calibration values of this header were ignored (unreadable or implausible), in words."""
    problems: list[str] = []
    calibration_from_dataset(ds, problems)
    return problems
