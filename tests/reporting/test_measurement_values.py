"""One set of measurement values for the viewer, the TID 1500 SR and the PDF (``hsg_workstation.measurements``).

Anisotropic pixels (0.2 mm columns × 0.1 mm rows) make pixel-space and physical-space values differ, so a value
computed in pixels anywhere shows here (issue 11 found the PDF's angle computed in pixels)."""

from __future__ import annotations

import math

import pytest

from hsg_workstation.measurements import (
    Calibration,
    CalibrationBasis,
    ImageRegion,
    Measurement,
    MeasurementKind,
    RegionType,
)
from hsg_workstation.reporting.measurement_sr import _measurements
from hsg_workstation.reporting.pdf_html import measurement_value
from hsg_workstation.session.values import measurement_text

CAL = Calibration(0.1, 0.2, CalibrationBasis.PIXEL_SPACING)  # rows 0.1 mm, columns 0.2 mm


def _m(kind: MeasurementKind, region_type: RegionType, points) -> Measurement:
    region = ImageRegion("1.2.3", 1, region_type, tuple(points))
    return Measurement(kind=kind, region=region, calibration=CAL)


def _sr(m: Measurement) -> dict[str, tuple[float, str]]:
    return {x.name.meaning: (float(x.value), x.unit.value) for x in _measurements(m)}


def test_an_angle_is_physical_in_the_sr_the_pdf_and_the_viewer() -> None:
    # 45° in pixels: vertex (0, 0), arms along +columns and along the diagonal; on the patient 0.2 × 0.1 mm
    # pixels make the diagonal arm (0.2, 0.1) → atan(0.1 / 0.2) = 26.6°
    m = _m(MeasurementKind.ANGLE, RegionType.POLYLINE, [(10.0, 0.0), (0.0, 0.0), (10.0, 10.0)])
    expected = math.degrees(math.atan2(0.1, 0.2))
    assert _sr(m)["Angle"][0] == pytest.approx(expected, abs=0.01)
    assert measurement_value(m) == f"{expected:.0f}°"
    assert f"{expected:.1f}°" in measurement_text(m)


def test_an_ellipse_has_long_and_short_axis_and_area_whichever_axis_was_drawn_first() -> None:
    # first axis 10 px along rows (1 mm), second 10 px along columns (2 mm): the second is the long axis
    m = _m(
        MeasurementKind.ELLIPSE,
        RegionType.ELLIPSE,
        [(50.0, 45.0), (50.0, 55.0), (45.0, 50.0), (55.0, 50.0)],
    )
    values = _sr(m)
    assert values["Long axis"] == (pytest.approx(2.0), "mm")
    assert values["Short axis"] == (pytest.approx(1.0), "mm")
    assert values["Area"] == (pytest.approx(math.pi * 1.0 * 0.5, rel=1e-3), "mm2")
    assert measurement_value(m).startswith("2.0 × 1.0 mm, 2 mm²")


def test_a_polygon_has_its_physical_area() -> None:
    m = _m(MeasurementKind.POLYGON, RegionType.POLYGON, [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)])
    assert _sr(m)["Area"] == (pytest.approx(2.0 * 1.0), "mm2")  # 10 px × 0.2 mm by 10 px × 0.1 mm
    assert measurement_value(m) == "2 mm²"
