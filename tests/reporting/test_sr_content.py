"""SR content details: verification flags, amendments, finding site/laterality, regions on frames, coding policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from hsg_workstation.reporting import codes
from hsg_workstation.reporting.kos import build_kos
from hsg_workstation.reporting.sr import SrBuildError, as_recorded_in_sr, build_sr, report_series_uid
from hsg_workstation.reporting.sr_import import SrImportError, report_from_sr
from hsg_workstation.reporting.vocabulary import concept, vocabulary

from .conftest import dciodvfy_errors, dsrdump_check, full_report
from .tid2000 import tid2000_violations


def _walk(items):
    for it in items:
        yield it
        yield from _walk(it.get("ContentSequence", []))


def _cv(code: Dataset) -> str:
    return str(code.get("CodeValue") or code.get("LongCodeValue"))


def _codes(ds: Dataset):
    """Every coded entry anywhere in the dataset (concept names, values, units, modifiers)."""
    for elem in ds.iterall():
        if elem.VR == "SQ":
            for item in elem.value:
                value = item.get("CodeValue") or item.get("LongCodeValue")
                if "CodingSchemeDesignator" in item and value:
                    yield str(value), str(item.CodingSchemeDesignator)


def test_signed_sr_is_complete_verified_with_observer_and_time(source_datasets) -> None:
    rf, dx = source_datasets
    signed = build_sr(full_report(rf, dx, signed=True), source_datasets)
    assert signed.CompletionFlag == "COMPLETE" and signed.VerificationFlag == "VERIFIED"
    obs = signed.VerifyingObserverSequence[0]
    assert obs.VerifyingObserverName == "Reader^Anna"
    assert obs.VerificationDateTime.startswith("20260105110000")
    draft = build_sr(full_report(rf, dx), source_datasets)
    assert draft.CompletionFlag == "PARTIAL" and draft.VerificationFlag == "UNVERIFIED"
    assert "VerifyingObserverSequence" not in draft
    for sr in (signed, draft):
        assert sr.StudyInstanceUID == rf.StudyInstanceUID and sr.PatientID == rf.PatientID


@pytest.mark.timeout(120)
def test_amendment_references_predecessor_and_round_trips(tmp_path: Path, source_datasets) -> None:
    rf, dx = source_datasets
    first = full_report(rf, dx, signed=True)
    first_sr = build_sr(first, source_datasets)
    amended = first.amend(
        first_sr.SOPInstanceUID,
        reason="laterality corrected",
        sr_series_instance_uid=first_sr.SeriesInstanceUID,
    )
    sr = build_sr(amended, source_datasets)  # predecessor taken from the model
    ref = sr.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0]
    assert ref.SeriesInstanceUID == first_sr.SeriesInstanceUID
    assert ref.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == first_sr.SOPInstanceUID
    sr2 = build_sr(amended, source_datasets, predecessor=first_sr)  # or from the earlier SR dataset itself
    assert (
        sr2.PredecessorDocumentsSequence[0]
        .ReferencedSeriesSequence[0]
        .ReferencedSOPSequence[0]
        .ReferencedSOPInstanceUID
        == first_sr.SOPInstanceUID
    )
    out = tmp_path / "amended.dcm"
    sr.save_as(out, enforce_file_format=True)
    assert dciodvfy_errors(out) == []
    rc, bad = dsrdump_check(out)
    assert rc == 0 and bad == []
    assert report_from_sr(out) == as_recorded_in_sr(amended)


def test_amendment_knowing_only_the_earlier_sr_uid_references_its_real_series(source_datasets) -> None:
    """The form amends with just the last SR's SOP Instance UID; the reference must still name the series that
    SR is in (report SRs of a study share one derived series), not an invented one."""
    rf, dx = source_datasets
    first = full_report(rf, dx, signed=True)
    first_sr = build_sr(first, source_datasets)
    assert first_sr.SeriesInstanceUID == report_series_uid(rf.StudyInstanceUID)
    amended = first.amend(first_sr.SOPInstanceUID, reason="typo")  # no series UID known
    sr = build_sr(amended, source_datasets)
    ref = sr.PredecessorDocumentsSequence[0]
    assert ref.StudyInstanceUID == rf.StudyInstanceUID
    assert ref.ReferencedSeriesSequence[0].SeriesInstanceUID == first_sr.SeriesInstanceUID
    assert sr.SeriesInstanceUID == first_sr.SeriesInstanceUID and sr.SOPInstanceUID != first_sr.SOPInstanceUID


def test_wrong_predecessor_is_refused_with_the_reason(source_datasets) -> None:
    rf, dx = source_datasets
    first = full_report(rf, dx, signed=True)
    first_sr = build_sr(first, source_datasets)
    amended = first.amend(first_sr.SOPInstanceUID)
    with pytest.raises(SrBuildError, match="not a structured report"):
        build_sr(amended, source_datasets, predecessor=rf)  # an image, not an SR
    other = build_sr(first, source_datasets)
    other.StudyInstanceUID = "2.25.999"  # changing the SR must not change the source images
    assert all(ds.StudyInstanceUID == first.identity.study_instance_uid for ds in source_datasets)
    with pytest.raises(SrBuildError, match="belongs to study 2.25.999"):
        build_sr(amended, source_datasets, predecessor=other)
    with pytest.raises(SrBuildError, match="not the one this amendment replaces"):
        build_sr(amended, source_datasets, predecessor=build_sr(first, source_datasets))  # another SR
    assert build_sr(amended, source_datasets, predecessor=first_sr).PredecessorDocumentsSequence


def _headings(sr: Dataset) -> dict[str, Dataset]:
    """Format 4: report part path → its heading (first item TEXT "Report part")."""
    key = concept("doc:part").value
    out = {}
    for it in sr.ContentSequence:
        items = list(it.get("ContentSequence", []))
        if items and items[0].ValueType == "TEXT" and _cv(items[0].ConceptNameCodeSequence[0]) == key:
            out[str(items[0].TextValue)] = it
    return out


def test_tubes_have_finding_site_and_laterality_and_regions_reference_frames(source_datasets) -> None:
    """Format 4: each tube is its own heading with Finding Site and Laterality as CODE items; a region is TEXT
    (graphic type + exact points) INFERRED FROM its IMAGE with the 1-based frame; a length measurement is a TID 1400
    NUM INFERRED FROM SCOORD "Path" SELECTED FROM the IMAGE."""
    rf, dx = source_datasets
    sr = build_sr(full_report(rf, dx), source_datasets)
    parts = _headings(sr)
    for path, site, side in (
        ("findings.tubes.left", "113293009", "7771000"),
        ("findings.tubes.right", "2033006", "24028007"),
    ):
        heading = parts[path]
        assert _cv(heading.ConceptNameCodeSequence[0]) == concept("type:Tube").value
        coded = {
            _cv(c.ConceptNameCodeSequence[0]): _cv(c.ConceptCodeSequence[0])
            for c in heading.ContentSequence
            if c.ValueType == "CODE" and c.RelationshipType == "CONTAINS"
        }
        assert coded["363698007"] == site and coded["272741003"] == side
    items = list(_walk(sr.ContentSequence))
    region_name = concept("field:ImageLink.region").value
    regions = [
        it for it in items if it.ValueType == "TEXT" and _cv(it.ConceptNameCodeSequence[0]) == region_name
    ]
    assert regions
    frames = set()
    for r in regions:
        (image,) = r.ContentSequence
        assert image.ValueType == "IMAGE" and image.RelationshipType == "INFERRED FROM"
        ref = image.ReferencedSOPSequence[0]
        if ref.ReferencedSOPInstanceUID == rf.SOPInstanceUID:
            frames.add(int(ref.ReferencedFrameNumber))
    assert frames == {2, 3, 4}  # 1-based frames of the regions on the multi-frame image
    ellipse = next(r for r in regions if str(r.TextValue).startswith("ELLIPSE "))
    assert str(ellipse.TextValue) == "ELLIPSE [[20.5, 30.0], [30.5, 30.0], [25.5, 26.0], [25.5, 34.0]]"
    point = next(r for r in regions if str(r.TextValue).startswith("POINT "))
    assert str(point.TextValue) == "POINT [[50.123456789, 6.666666666666667]]"  # exact, no 32-bit rounding
    scoords = [it for it in items if it.ValueType == "SCOORD"]
    assert len(scoords) == 2  # the report's length measurement and the cavity link's (older) copy of one
    lengths = [
        it for it in items if it.ValueType == "NUM" and _cv(it.ConceptNameCodeSequence[0]) == "410668003"
    ]
    assert [list(n.ContentSequence) for n in lengths] == [[s] for s in scoords]
    for (
        s
    ) in scoords:  # TID 1400: NUM Length > INFERRED FROM SCOORD (121055, DCM, "Path") > SELECTED FROM IMAGE
        assert s.RelationshipType == "INFERRED FROM" and _cv(s.ConceptNameCodeSequence[0]) == "121055"
        (image,) = s.ContentSequence
        assert image.ValueType == "IMAGE" and image.RelationshipType == "SELECTED FROM"
    assert [float(n.MeasuredValueSequence[0].NumericValue) for n in lengths] == pytest.approx(
        [25.125, 25.125]
    )
    nums = [it for it in items if it.ValueType == "NUM"]
    dap = [n for n in nums if _cv(n.ConceptNameCodeSequence[0]) == "113722"]
    assert dap and dap[0].MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue == "Gy.cm2"
    derived = [
        it
        for it in items
        if it.ValueType == "CODE"
        and _cv(it.ConceptNameCodeSequence[0]) == "121071"
        and _cv(it.ConceptCodeSequence[0]) == "21711003"
    ]
    assert len(derived) == 1 and derived[0] in parts["findings.tubes.right"].ContentSequence
    hydro_name = concept("field:Tube.hydrosalpinx_diameter_mm").value
    hydro = [n for n in nums if _cv(n.ConceptNameCodeSequence[0]) == hydro_name]
    assert hydro[0].MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue == "mm"


def test_only_verified_standard_codes_and_99hsg_is_declared(source_datasets) -> None:
    rf, dx = source_datasets
    sr = build_sr(full_report(rf, dx, signed=True), source_datasets)
    allowed = {(e.value, e.scheme) for e in codes.ALL_STANDARD if e.verified}
    used = set(_codes(sr))
    standard = {(v, s) for v, s in used if s in ("SCT", "LN")}
    assert standard <= allowed, standard - allowed
    # the table itself: no SCT/LN entry in the SR tables that codes-verified.md does not mark verified
    listed_unverified = {"48236007", "237143006", "36742000", "22504001", "15545001", "14689000"}
    assert not {v for v, _ in standard} & listed_unverified
    assert any(s == "99HSG" for _, s in used)
    assert [i.CodingSchemeDesignator for i in sr.CodingSchemeIdentificationSequence] == ["99HSG"]


def test_bad_links_and_foreign_documents_give_clear_errors(tmp_path: Path, source_datasets) -> None:
    from hsg_workstation.reporting import model as m

    rf, dx = source_datasets
    report = full_report(rf, dx)
    report.key_images.append(m.KeyImage("1.2.3.4.5", rf.SOPClassUID, 1))
    with pytest.raises(SrBuildError, match=r"1\.2\.3\.4\.5.*not found"):
        build_sr(report, source_datasets)
    kos = build_kos(source_datasets, [(dx.SOPInstanceUID, 1)])
    kos.save_as(tmp_path / "kos.dcm", enforce_file_format=True)
    with pytest.raises(SrImportError, match="not a structured report"):
        report_from_sr(tmp_path / "kos.dcm")
    (tmp_path / "junk.dcm").write_bytes(b"not dicom at all")
    with pytest.raises(SrImportError, match="cannot read as DICOM"):
        report_from_sr(tmp_path / "junk.dcm")
    sr = build_sr(full_report(rf, dx), source_datasets)
    sr.ConceptNameCodeSequence[0].CodeValue = "18748-4"
    with pytest.raises(SrImportError, match="not an HSG report"):
        report_from_sr(sr)


def test_sr_file_is_read_back_by_highdicom(tmp_path: Path, source_datasets) -> None:
    import highdicom as hd

    rf, dx = source_datasets
    build_sr(full_report(rf, dx), source_datasets).save_as(tmp_path / "sr.dcm", enforce_file_format=True)
    doc = hd.sr.srread(tmp_path / "sr.dcm")
    assert doc.ContentSequence and dcmread(tmp_path / "sr.dcm").Modality == "SR"


def test_every_code_in_the_sr_is_from_the_vocabulary_and_short(source_datasets) -> None:
    """No concept outside the frozen vocabulary (plus units, language, observer type): a renamed Python field can
    never change a code, and every Code Value fits in 16 characters (no Long Code Value)."""
    rf, dx = source_datasets
    sr = build_sr(full_report(rf, dx, signed=True), source_datasets)
    known = set(vocabulary().concepts)
    extra_schemes = {"UCUM", "RFC5646"}
    content = Dataset()
    content.ContentSequence = sr.ContentSequence
    content.ConceptNameCodeSequence = sr.ConceptNameCodeSequence
    for value, scheme in _codes(content):
        if scheme in extra_schemes or (value, scheme) in {
            ("121006", "DCM"),
            ("121049", "DCM"),
            ("121005", "DCM"),
        }:
            continue
        if (value, scheme) in {("121008", "DCM"), ("126010", "DCM")}:
            continue
        assert f"{scheme}:{value}" in known, (value, scheme)
    for elem in sr.iterall():
        assert elem.keyword != "LongCodeValue"


@pytest.mark.parametrize("author", ["Reader^Anna", ""])
def test_root_and_headings_follow_tid_2000_rows(source_datasets, author: str) -> None:
    """TID 2000 (PS3.16 2026a, non-extensible, order significant): Procedure reported, Language, Observation
    Context (mandatory — the device when no author is named), then only CONTAINS CONTAINER headings; since format
    4 every heading, the coded detail's too, holds only TID 2002 / 2001 rows (``tid2000.tid2000_violations``)."""
    rf, dx = source_datasets
    report = full_report(rf, dx)
    report.author_name = author
    sr = build_sr(report, source_datasets)
    top = list(sr.ContentSequence)
    rels = [(it.RelationshipType, it.ValueType) for it in top]
    first_heading = rels.index(("CONTAINS", "CONTAINER"))
    assert rels[0] == ("HAS CONCEPT MOD", "CODE") and top[0].ConceptNameCodeSequence[0].CodeValue == "121058"
    assert rels[1] == ("HAS CONCEPT MOD", "CODE") and top[1].ConceptNameCodeSequence[0].CodeValue == "121049"
    assert all(r == "HAS OBS CONTEXT" for r, _ in rels[2:first_heading]) and first_heading > 2
    assert all(r == ("CONTAINS", "CONTAINER") for r in rels[first_heading:])
    assert top[first_heading].ConceptNameCodeSequence[0].CodeValue == concept("doc:format_heading").value
    assert tid2000_violations(sr) == []
    assert report_from_sr(sr) == as_recorded_in_sr(report)


def test_docs_mapping_table_is_current() -> None:
    """docs/report.md's field → concept table is the one the code generates (vocabulary + model)."""
    from hsg_workstation.reporting.sr import mapping_rows, mapping_table

    docs = (Path(__file__).parents[2] / "docs" / "report.md").read_text(encoding="utf-8")
    assert mapping_table() in docs
    rows = {r[0]: r for r in mapping_rows()}
    assert rows["findings.tubes.left.patency"][2] == "CODE"
    assert rows["findings.tubes.left.hydrosalpinx_diameter_mm"][4] == "mm"
    assert rows["identity.patient_name"][3].startswith("header only")
    assert rows["impression.edits"][3].startswith("not written")
