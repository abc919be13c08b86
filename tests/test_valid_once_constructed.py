"""Objects valid once constructed (highdicom's rule): an invalid region, measurement, calibration or node is
refused where it is made, with a message naming what is wrong — not later by the SR writer or an association."""

from __future__ import annotations

import json

import pytest

from hsg_workstation.errors import ConfigError
from hsg_workstation.measurements import (
    Calibration,
    CalibrationBasis,
    ImageRegion,
    Measurement,
    MeasurementKind,
    RegionType,
)
from hsg_workstation.pacs.nodes import NodeConfig, RemoteNode
from hsg_workstation.reporting.model import HsgReport, ReportJsonError

ELLIPSE4 = ((10.0, 20.0), (30.0, 20.0), (20.0, 15.0), (20.0, 25.0))
CAL = Calibration(0.2, 0.2, CalibrationBasis.DETECTOR)


def test_an_ellipse_with_three_points_is_refused() -> None:
    with pytest.raises(ValueError, match="ELLIPSE: needs 4 points, got 3"):
        ImageRegion("1.2.3", 1, RegionType.ELLIPSE, ELLIPSE4[:3])
    assert ImageRegion("1.2.3", 1, RegionType.ELLIPSE, ELLIPSE4).points == ELLIPSE4


@pytest.mark.parametrize(
    "frame, region_type, points, message",
    [
        (0, RegionType.POINT, ((1.0, 2.0),), "frame_number must be 1 or more"),
        (1, "ELLIPSE", ELLIPSE4, "region_type must be a RegionType"),
        (1, RegionType.POLYLINE, ((1.0, 2.0),), "POLYLINE: needs at least 2 points"),
        (1, RegionType.POLYGON, ((1.0, 2.0), (3.0, 4.0)), "POLYGON: needs at least 3 points"),
        (1, RegionType.POINT, ((1.0, float("nan")),), "two finite numbers"),
        (1, RegionType.POINT, ((1.0, 2.0, 3.0),), "two finite numbers"),
    ],
)
def test_bad_regions_are_refused(frame, region_type, points, message) -> None:
    with pytest.raises(ValueError, match=message):
        ImageRegion("1.2.3", frame, region_type, points)


def test_a_measurement_needs_a_calibration_basis_and_a_fitting_region() -> None:
    region = ImageRegion("1.2.3", 1, RegionType.POLYLINE, ((0.0, 0.0), (3.0, 4.0)))
    assert Measurement(MeasurementKind.LENGTH, region, CAL).calibration.length(
        (0, 0), (3, 4)
    ) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="length measurement: a calibration .* is required"):
        Measurement(MeasurementKind.LENGTH, region, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="angle measurement: needs a POLYLINE region of 3 points"):
        Measurement(MeasurementKind.ANGLE, region, CAL)
    with pytest.raises(ValueError, match="ellipse measurement: needs a ELLIPSE region"):
        Measurement(MeasurementKind.ELLIPSE, region, CAL)


def test_a_calibrated_basis_needs_its_spacings() -> None:
    assert not Calibration.uncalibrated().is_calibrated
    with pytest.raises(ValueError, match="'at detector': row_spacing_mm is missing"):
        Calibration(None, None, CalibrationBasis.DETECTOR)
    with pytest.raises(ValueError, match="column_spacing_mm must be a positive number"):
        Calibration(0.2, 0.0, CalibrationBasis.PIXEL_SPACING)
    with pytest.raises(ValueError, match="basis must be a CalibrationBasis"):
        Calibration(0.2, 0.2, "at detector")  # type: ignore[arg-type]


def test_a_report_json_with_a_three_point_ellipse_names_the_field() -> None:
    report = HsgReport()
    data = report.to_json()
    region = {
        "sop_instance_uid": "1.2.3",
        "frame_number": 1,
        "region_type": "ELLIPSE",
        "points": [[1, 2]] * 3,
    }
    data["findings"]["cavity"]["image_links"] = [{"sop_instance_uid": "1.2.3", "region": region}]
    with pytest.raises(
        ReportJsonError, match=r"findings\.cavity\.image_links\[0\]\.region: .*needs 4 points"
    ):
        HsgReport.from_json(json.loads(json.dumps(data)))


@pytest.mark.parametrize(
    "args, message",
    [
        (("pacs", "PACS", "pacs.local", None), "node 'pacs' port: port must be a number"),
        (("pacs", "PACS", "pacs.local", 0), "node 'pacs' port: port 0 is outside 1..65535"),
        (("pacs", "", "pacs.local", 104), "node 'pacs' ae_title: AE title is empty"),
        (("pacs", "PACS", " ", 104), "node 'pacs' host: host is empty"),
        ((" ", "PACS", "pacs.local", 104), "node: name is empty"),
    ],
)
def test_a_node_without_a_port_or_title_is_refused_where_it_is_made(args, message) -> None:
    with pytest.raises(ConfigError, match=message):
        RemoteNode(*args)


def test_nodes_json_with_a_bad_node_names_the_file() -> None:
    data = {"nodes": [{"name": "pacs", "ae_title": "PACS", "host": "h", "port": 70000}]}
    with pytest.raises(ConfigError, match="nodes.json: node 'pacs' port: port 70000"):
        NodeConfig.from_json(data, source="nodes.json")


def test_retrieve_requests_and_results_are_checked_where_made() -> None:
    from hsg_workstation.pacs.retrieve import RetrieveMethod, RetrieveRequest
    from hsg_workstation.pacs.types import RetrieveResult, RetrieveStatus

    assert RetrieveRequest("1.2", "C-MOVE").method is RetrieveMethod.MOVE
    assert RetrieveRequest("1.2", missing_only=True).describe() == "missing instances of the study by C-GET"
    with pytest.raises(ValueError, match="'missing only' works on the whole study"):
        RetrieveRequest("1.2", series_uid="1.2.3", missing_only=True)
    with pytest.raises(ValueError, match="'C-FIND' is not a valid RetrieveMethod"):
        RetrieveRequest("1.2", "C-FIND")
    result = RetrieveResult("complete", "ok")
    assert result.status is RetrieveStatus.COMPLETE and result.status == "complete" and result.ok
    assert result.to_json()["status"] == "complete"
    with pytest.raises(ValueError, match="retrieve status 'done' is not one of complete, partial"):
        RetrieveResult("done", "?")  # type: ignore[arg-type]
