"""Issue 11 / 14: a measurement drawn in the viewer is a report measurement — one object, not a copy. With a draft
report bound, the store's measurements ARE ``report.measurements``; a finding links one by id; moving the ROI
changes what the report, its TID 1500 SR and the "Mark on image" value read; a signed report keeps its values
(the viewer change is viewer-only, and said so). Qt-free: the session runs without a viewer."""

from __future__ import annotations

import pytest
from pydicom.uid import generate_uid

from hsg_workstation.measurements import (
    Calibration,
    CalibrationBasis,
    ImageRegion,
    Measurement,
    MeasurementKind,
    RegionType,
)
from hsg_workstation.reporting.measurement_sr import build_measurement_sr
from hsg_workstation.reporting.model import HsgReport, ImageLink
from hsg_workstation.session.measurements import MeasurementStore
from tests.reporting.conftest import make_rf

CAL = Calibration(0.5, 0.5, CalibrationBasis.DETECTOR)


def _study():
    rf = make_rf(generate_uid())
    return str(rf.StudyInstanceUID), str(rf.SOPInstanceUID), rf


def _ellipse(uid: str, short_px: float, *, mid: str = "") -> Measurement:
    """A horizontal ellipse 40 px long on frame 2; ``short_px`` its short axis."""
    pts = ((10.0, 30.0), (50.0, 30.0), (30.0, 30.0 - short_px / 2), (30.0, 30.0 + short_px / 2))
    m = Measurement(MeasurementKind.ELLIPSE, ImageRegion(uid, 2, RegionType.ELLIPSE, pts), CAL)
    return m if not mid else Measurement(m.kind, m.region, m.calibration, id=mid)


def _bound(report: HsgReport, study: str, uid: str) -> tuple[MeasurementStore, list[tuple[str, str]]]:
    store = MeasurementStore()
    events: list[tuple[str, str]] = []
    store.added.connect(lambda _s, m: events.append(("added", m.id)))
    store.changed.connect(lambda _s, m: events.append(("changed", m.id)))
    store.removed.connect(lambda _s, m: events.append(("removed", m.id)))
    store.bind(study, report, known={uid}, sop_class_of=lambda _u: "1.2.840.10008.5.1.4.1.1.12.2")
    return store, events


def _group_points(sr) -> list[list[float]]:
    """The SCOORD graphic data of every measurement group of a TID 1500 SR."""
    out = []

    def walk(items):
        for it in items:
            if it.ValueType == "SCOORD":
                out.append([round(float(v), 3) for v in it.GraphicData])
            walk(getattr(it, "ContentSequence", []))

    walk(sr.ContentSequence)
    return out


def test_drawn_measurement_is_the_reports_object_and_moving_it_changes_report_and_sr() -> None:
    study, uid, rf = _study()
    report = HsgReport()
    store, events = _bound(report, study, uid)
    drawn = store.add(study, _ellipse(uid, 20.0))
    assert report.measurements == [drawn] and report.measurements[0] is drawn  # the record, not a copy
    assert events == [("added", drawn.id)]
    report.add_image_link(
        "findings.tubes.left", ImageLink(uid, 2, "RF", measurement_id=drawn.id, label="hydrosalpinx")
    )
    link = report.findings.tubes.left.image_links[0]
    assert link.region is None and link.measurement is None  # the finding holds a reference only

    moved = drawn.moved(((12.0, 40.0), (60.0, 40.0), (36.0, 28.0), (36.0, 52.0)))
    store.update(study, moved)
    assert report.measurement(drawn.id) is moved
    assert report.link_region(link) == moved.region
    assert events[-1] == ("changed", drawn.id)
    sr = build_measurement_sr(report, [rf])
    assert sr is not None
    points = _group_points(sr)
    # the finding's group and no second copy: the moved geometry, once
    assert points == [[12.0, 40.0, 60.0, 40.0, 36.0, 28.0, 36.0, 52.0]]


def test_mark_on_image_value_follows_the_roi_unless_the_reader_typed_another() -> None:
    study, uid, _rf = _study()
    report = HsgReport()
    report.set_value("findings.tubes.left.hydrosalpinx", True)
    store, _events = _bound(report, study, uid)
    m = store.add(study, _ellipse(uid, 20.0))  # short axis 20 px × 0.5 mm = 10 mm
    report.add_image_link("findings.tubes.left", ImageLink(uid, 2, "RF", measurement_id=m.id))
    report.set_value("findings.tubes.left.hydrosalpinx_diameter_mm", 10.0)  # what "Mark on image" filled
    wider = _ellipse(uid, 30.0, mid=m.id)
    store.update(study, wider)
    assert report.findings.tubes.left.hydrosalpinx_diameter_mm == pytest.approx(15.0)
    report.set_value("findings.tubes.left.hydrosalpinx_diameter_mm", 14.0)  # the reader's own value
    store.update(study, _ellipse(uid, 40.0, mid=m.id))
    assert report.findings.tubes.left.hydrosalpinx_diameter_mm == pytest.approx(14.0)


def test_signed_report_keeps_its_values_and_the_move_is_viewer_only() -> None:
    study, uid, rf = _study()
    report = HsgReport()
    store, events = _bound(report, study, uid)
    m = store.add(study, _ellipse(uid, 20.0))
    report.add_image_link("findings.cavity", ImageLink(uid, 2, "RF", measurement_id=m.id))
    before = build_measurement_sr(report, [rf])
    report.status = report.status.SIGNED  # as sign() leaves it (sign needs a complete report)
    report._lock()
    refusals: list[str] = []
    store.refused.connect(lambda _s, text: refusals.append(text))
    moved = m.moved(((0.0, 0.0), (40.0, 0.0), (20.0, -10.0), (20.0, 10.0)))
    store.update(study, moved)
    assert report.measurement(m.id) is m  # the signed report is unchanged
    assert store.measurement(study, m.id) == moved  # the viewer shows the move
    assert events[-1] == ("changed", m.id)
    assert refusals and "viewer only" in refusals[0]
    assert _group_points(build_measurement_sr(report, [rf])) == _group_points(before)
    store.remove(study, m.id)  # a deletion is viewer-only too
    assert report.measurements == [m] and store.measurements(study) == []
    # an amendment continues from the signed values; the viewer is told what differs
    amended = report.amend(reason="typo")
    store.bind(study, amended, known={uid})
    assert [x.id for x in store.measurements(study)] == [m.id]
    assert store.measurement(study, m.id) == m
    assert events[-1] == ("added", m.id)


def test_deleting_a_measurement_removes_the_findings_link_to_it() -> None:
    study, uid, _rf = _study()
    report = HsgReport()
    store, events = _bound(report, study, uid)
    m = store.add(study, _ellipse(uid, 20.0))
    report.add_image_link("findings.cavity", ImageLink(uid, 2, "RF", measurement_id=m.id))
    store.remove(study, m.id)
    assert report.measurements == [] and report.findings.cavity.image_links == []
    assert events[-1] == ("removed", m.id)
    with pytest.raises(KeyError, match="no measurement"):
        report.add_image_link("findings.cavity", ImageLink(uid, 2, "RF", measurement_id=m.id))


def test_measurements_drawn_before_a_report_join_it_and_a_replaced_report_is_diffed() -> None:
    study, uid, _rf = _study()
    store = MeasurementStore()
    early = store.add(study, _ellipse(uid, 20.0))
    report = HsgReport()
    store.bind(study, report, known={uid})
    assert report.measurements == [early]
    # undo: the form gets a report restored from a snapshot; binding it tells the viewer what moved
    snapshot = report.to_json()
    store.update(study, _ellipse(uid, 30.0, mid=early.id))
    changed: list[Measurement] = []
    store.changed.connect(lambda _s, m: changed.append(m))
    store.bind(study, HsgReport.from_json(snapshot), known={uid})
    assert changed == [early] and store.measurement(study, early.id) == early
    # a report edit made elsewhere (the form, a template) reaches the viewer through the same events
    removed: list[str] = []
    store.removed.connect(lambda _s, m: removed.append(m.id))
    bound = store.bound_report(study)
    assert bound is not None
    bound.remove_measurement(early.id)
    assert removed == [early.id] and store.measurements(study) == []


def test_a_link_by_id_round_trips_through_the_report_sr() -> None:
    """The SR is the export-time snapshot: it carries the measurement (geometry, calibration basis) and the
    finding's reference to it; read back, the link names the same measurement."""
    from hsg_workstation.reporting.sr import build_sr
    from hsg_workstation.reporting.sr_import import report_from_sr

    study, uid, rf = _study()
    report = HsgReport()
    store, _events = _bound(report, study, uid)
    m = store.add(study, _ellipse(uid, 20.0))
    report.add_image_link("findings.cavity", ImageLink(uid, 2, str(rf.SOPClassUID), measurement_id=m.id))
    back = report_from_sr(build_sr(report, [rf]))
    (link,) = back.findings.cavity.image_links
    assert link.measurement_id == m.id and back.link_measurement(link) == m
    assert back.link_measurement(link).calibration.basis is CalibrationBasis.DETECTOR
