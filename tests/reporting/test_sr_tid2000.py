"""SR content format 4 follows the TID 2000 / 2002 / 2001 rows everywhere; format 3 did not (the row checker in
``tid2000.py`` finds its departures, so a check that passes format 4 is not one that passes anything)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.reporting.measurement_sr import build_measurement_sr
from hsg_workstation.reporting.sr import as_recorded_in_sr, build_sr
from hsg_workstation.reporting.sr_import import read_sr
from hsg_workstation.reporting.vocabulary import concept

from .conftest import full_report
from .tid2000 import kinds, tid2000_violations

FIXTURES = Path(__file__).parent / "fixtures"
V3_FILES = sorted((FIXTURES / "sr_v3").glob("*.dcm"))


@pytest.mark.parametrize("signed", [False, True])
def test_format_4_follows_the_tid_2000_rows(source_datasets, signed: bool) -> None:
    rf, dx = source_datasets
    report = full_report(rf, dx, signed=signed)
    msr = build_measurement_sr(report, source_datasets)
    assert msr is not None
    sr = build_sr(report, source_datasets, measurement_sr=msr)
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "2000"
    assert tid2000_violations(sr) == []
    # the TID 1500 SR is named by a TEXT item (TID 2002 has no COMPOSITE row) and listed as evidence
    name = concept("doc:measurement_report").value
    uids = [
        str(item.TextValue)
        for elem in sr.iterall()
        if elem.keyword == "ContentSequence"
        for item in elem.value
        if item.get("ValueType") == "TEXT" and item.ConceptNameCodeSequence[0].CodeValue == name
    ]
    assert uids == [str(msr.SOPInstanceUID)]
    back = read_sr(sr)
    assert back.format_version == 4 and back.warnings == [] and not back.incomplete
    assert back.report == as_recorded_in_sr(report)


def test_the_row_check_reports_format_3s_departures() -> None:
    """Run against the format 3 fixtures: every one departs; the full report shows each kind named in
    docs/report.md (nested containers, NUM / DATE / DATETIME / UIDREF / SCOORD under a heading, CODE parts with
    HAS PROPERTIES / HAS CONCEPT MOD children)."""
    assert len(V3_FILES) == 35
    for path in V3_FILES:
        assert tid2000_violations(dcmread(path)), path.name
    found = kinds(tid2000_violations(dcmread(FIXTURES / "sr_v3" / "full.signed.dcm")))
    assert {
        "CONTAINER",
        "NUM",
        "DATE",
        "DATETIME",
        "UIDREF",
        "SCOORD",
        "HAS PROPERTIES",
        "HAS CONCEPT MOD",
    } <= found
    assert any("'HSG structured data'" in v for v in tid2000_violations(dcmread(V3_FILES[0])))


def test_a_single_departure_in_a_format_4_tree_is_found(source_datasets) -> None:
    rf, dx = source_datasets
    buf = io.BytesIO()
    build_sr(full_report(rf, dx), source_datasets).save_as(buf, enforce_file_format=True)
    buf.seek(0)
    sr = dcmread(buf)  # plain pydicom (highdicom's content items re-validate on assignment)
    assert tid2000_violations(sr) == []
    heading = sr.ContentSequence[-1]
    date = dcmread(FIXTURES / "sr_v3" / "full.signed.dcm")
    stray = next(
        item
        for elem in date.iterall()
        if elem.keyword == "ContentSequence"
        for item in elem.value
        if item.get("ValueType") == "DATE"
    )
    stray.RelationshipType = "CONTAINS"
    heading.ContentSequence.append(stray)
    (violation,) = tid2000_violations(sr)
    assert "DATE" in violation


def _plain(sr) -> object:
    buf = io.BytesIO()
    sr.save_as(buf, enforce_file_format=True)
    buf.seek(0)
    return dcmread(buf)


def _part_heading(sr, part: str):
    key = concept("doc:part").value
    for it in sr.ContentSequence:
        items = list(it.get("ContentSequence", []))
        if items and items[0].ValueType == "TEXT" and items[0].ConceptNameCodeSequence[0].CodeValue == key:
            if str(items[0].TextValue) == part:
                return it
    raise AssertionError(part)


def test_a_part_path_the_model_does_not_know_is_kept_as_text(source_datasets) -> None:
    """A later version's new part (or a damaged path) is not a failure: kept in findings.other with a warning."""
    rf, dx = source_datasets
    sr = _plain(build_sr(full_report(rf, dx), source_datasets))
    _part_heading(sr, "findings.peritoneum").ContentSequence[0].TextValue = "findings.uterosacral_nodules[0]"
    result = read_sr(sr)
    assert not result.incomplete
    assert result.report.findings.peritoneum != full_report(rf, dx).findings.peritoneum  # not read
    assert "Peritoneum: section with" in result.report.findings.other
    assert any("not understood" in w for w in result.warnings)


def test_a_malformed_region_text_names_the_item(source_datasets) -> None:
    from hsg_workstation.reporting.sr_import import SrImportError

    rf, dx = source_datasets
    sr = _plain(build_sr(full_report(rf, dx), source_datasets))
    region = concept("field:ImageLink.region").value
    heading = _part_heading(sr, "findings.tubes.right.image_links[0]")
    item = next(c for c in heading.ContentSequence if c.ConceptNameCodeSequence[0].CodeValue == region)
    item.TextValue = "POINT [[50.1, NaN]]"
    with pytest.raises(SrImportError, match=r"findings\.tubes\.right\.image_links\[0\].*not finite"):
        read_sr(sr)
    item.TextValue = "CIRCLE [[1, 2]]"
    with pytest.raises(SrImportError, match="does not start with a graphic type"):
        read_sr(sr)
    item.TextValue = "POINT [[50.1, 20.0]]"
    del item.ContentSequence
    with pytest.raises(SrImportError, match="region text without its IMAGE"):
        read_sr(sr)


def test_a_bad_iso_date_names_the_item(source_datasets) -> None:
    from hsg_workstation.reporting.sr_import import SrImportError

    rf, dx = source_datasets
    sr = _plain(build_sr(full_report(rf, dx), source_datasets))
    created = concept("field:HsgReport.created_at").value
    heading = _part_heading(sr, "report")
    item = next(c for c in heading.ContentSequence if c.ConceptNameCodeSequence[0].CodeValue == created)
    item.TextValue = "5 January 2026"
    with pytest.raises(SrImportError, match="'5 January 2026' is not an ISO 8601 datetime"):
        read_sr(sr)


def test_a_length_whose_points_32_bit_cannot_hold_round_trips_exactly(source_datasets) -> None:
    """The TID 1400 SCOORD holds 32-bit floats; the exact points travel as TEXT beside it and win on import."""
    import dataclasses

    from hsg_workstation.measurements import ImageRegion, RegionType

    rf, dx = source_datasets
    report = full_report(rf, dx, signed=False)
    m = report.measurements[0]
    points = ((10.1, 10.3), (40.7, 50.123456789))
    report.measurements[0] = dataclasses.replace(
        m, region=ImageRegion(dx.SOPInstanceUID, 1, RegionType.POLYLINE, points)
    )
    sr = build_sr(report, source_datasets)
    assert tid2000_violations(sr) == []
    exact = concept("doc:exact_points").value
    heading = _part_heading(_plain(sr), "measurements[0]")
    assert [
        str(c.TextValue) for c in heading.ContentSequence if c.ConceptNameCodeSequence[0].CodeValue == exact
    ] == ["[[10.1, 10.3], [40.7, 50.123456789]]"]
    back = read_sr(sr)
    assert back.warnings == [] and back.report == as_recorded_in_sr(report)
    assert back.report.measurements[0].region.points == points
