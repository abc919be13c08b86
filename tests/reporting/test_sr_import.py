"""``report import``: every SR format this project wrote reads back forever; bad or foreign SRs give clear messages."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import highdicom as hd
import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.sr import build_sr
from hsg_workstation.reporting.sr_import import SrImportError, read_sr, report_from_sr
from hsg_workstation.reporting.vocabulary import concept

from .conftest import full_report

V1 = Path(__file__).parent / "fixtures" / "sr_v1"
V1_FILES = sorted(V1.glob("*.dcm"))
V2 = Path(__file__).parent / "fixtures" / "sr_v2"
V2_FILES = sorted(V2.glob("*.dcm"))
V3 = Path(__file__).parent / "fixtures" / "sr_v3"
V3_FILES = sorted(V3.glob("*.dcm"))


def test_there_is_a_format_1_fixture_for_every_case_and_lifecycle_state() -> None:
    from hsg_workstation.synthetic.study import CASES

    names = {p.name for p in V1_FILES}
    for case in CASES:
        for state in ("draft", "signed", "amended"):
            assert f"{case}.{state}.dcm" in names


@pytest.mark.parametrize("path", V1_FILES, ids=lambda p: p.stem)
def test_format_1_sr_imports_to_the_report_it_was_written_from(path: Path) -> None:
    expected = HsgReport.from_json(json.loads(path.with_suffix(".json").read_text(encoding="utf-8")))
    result = read_sr(path)
    assert result.format_version == 1
    assert result.warnings == [] and not result.incomplete
    assert result.report == expected
    assert result.report.to_json() == expected.to_json()


def test_there_is_a_format_2_fixture_for_every_case_and_lifecycle_state() -> None:
    from hsg_workstation.synthetic.study import CASES

    names = {p.name for p in V2_FILES}
    for case in CASES:
        for state in ("draft", "signed", "amended"):
            assert f"{case}.{state}.dcm" in names


@pytest.mark.parametrize("path", V2_FILES, ids=lambda p: p.stem)
def test_format_2_sr_imports_to_the_report_it_was_written_from(path: Path) -> None:
    """Format 2 (commit ad06cd8) kept the impression's audit trail in a private block; it still reads whole."""
    expected = HsgReport.from_json(json.loads(path.with_suffix(".json").read_text(encoding="utf-8")))
    result = read_sr(path)
    assert result.format_version == 2
    assert result.warnings == [] and not result.incomplete
    assert result.report == expected
    assert result.report.to_json() == expected.to_json()


def test_there_is_a_format_3_fixture_for_every_case_and_lifecycle_state() -> None:
    from hsg_workstation.synthetic.study import CASES

    names = {p.name for p in V3_FILES}
    for case in CASES:
        for state in ("draft", "signed", "amended"):
            assert f"{case}.{state}.dcm" in names


@pytest.mark.parametrize("path", V3_FILES, ids=lambda p: p.stem)
def test_format_3_sr_imports_to_the_report_it_was_written_from(path: Path) -> None:
    """Format 3 (commit 562c322: coded detail nested under one trailing "HSG structured data" heading) reads
    back to the report as that SR recorded it (the JSON beside it: ``as_recorded_in_sr`` of the written report)."""
    expected = HsgReport.from_json(json.loads(path.with_suffix(".json").read_text(encoding="utf-8")))
    result = read_sr(path)
    assert result.format_version == 3
    assert result.warnings == [] and not result.incomplete
    assert result.report == expected
    assert result.report.to_json() == expected.to_json()


def _part(sr: Dataset, part: str) -> Dataset:
    """The format 4 heading of one report part (its first item: TEXT "Report part" = ``part``)."""
    key = concept("doc:part").value
    for it in sr.ContentSequence:
        first = it.ContentSequence[0] if it.ValueType == "CONTAINER" and it.get("ContentSequence") else None
        if (
            first is not None
            and first.ValueType == "TEXT"
            and first.ConceptNameCodeSequence[0].CodeValue == key
            and str(first.TextValue) == part
        ):
            return it
    raise AssertionError(f"no heading for report part {part}")


def _save(sr: Dataset, path: Path) -> Path:
    sr.save_as(path, enforce_file_format=True)
    return path


def test_identity_comes_from_the_header_not_the_content(tmp_path: Path, source_datasets) -> None:
    rf, dx = source_datasets
    report = full_report(rf, dx, signed=True)
    sr = build_sr(report, source_datasets)
    content = Dataset()
    content.ContentSequence = sr.ContentSequence
    texts = [str(e.value) for e in content.iterall() if e.keyword in ("TextValue", "PersonName")]
    assert texts and not any(
        str(rf.PatientName) in t or "SYN-0001" in t for t in texts
    )  # no identity in content
    sr.PatientName = "Corrected^Name"  # a PACS corrected the header
    sr.PatientID = "SYN-NEW"
    back = report_from_sr(_save(sr, tmp_path / "sr.dcm"))
    assert back.identity.patient_name == "Corrected^Name" and back.identity.patient_id == "SYN-NEW"
    assert back.findings == report.findings
    # format 1 copied identity into the content; the header still wins
    v1 = dcmread(V1 / "normal.signed.dcm")
    v1.PatientID = "PACS-FIXED"
    assert report_from_sr(v1).identity.patient_id == "PACS-FIXED"


def test_another_producers_sr_with_the_same_title_is_refused(tmp_path: Path, source_datasets) -> None:
    rf, dx = source_datasets
    sr = build_sr(full_report(rf, dx, signed=True), source_datasets)
    sr.Manufacturer = "Other Vendor"
    with pytest.raises(SrImportError, match="written by 'Other Vendor', not by this program"):
        report_from_sr(sr)
    # an SR made by another tool with the HSG title and even our manufacturer string, but none of our content
    root = hd.sr.ContainerContentItem(name=concept("std:HSG_REPORT_TITLE"))
    text = hd.sr.TextContentItem(concept("std:IMPRESSION"), "Normal study.", relationship_type="CONTAINS")
    root.ContentSequence = [text]
    foreign = hd.sr.ComprehensiveSR(
        evidence=[rf],
        content=root,
        series_instance_uid=hd.UID(),
        series_number=5,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="HSG workstation",
    )
    with pytest.raises(SrImportError, match="no HSG workstation content"):
        report_from_sr(_save(foreign, tmp_path / "foreign.dcm"))


def test_unknown_items_are_kept_as_text_with_a_warning(source_datasets) -> None:
    rf, dx = source_datasets
    report = full_report(rf, dx)
    sr = build_sr(report, source_datasets)
    findings = _part(sr, "findings")
    new = hd.sr.TextContentItem(
        hd.sr.CodedConcept("HSG9001", "99HSG", "Tubal flow pattern"), "laminar", relationship_type="CONTAINS"
    )
    findings.ContentSequence.append(new)
    # keep the item count honest so only the unknown item is reported
    count_code = concept("doc:item_count").value
    info = sr.ContentSequence[[it.ValueType for it in sr.ContentSequence].index("CONTAINER")]
    count = next(it for it in info.ContentSequence if it.ConceptNameCodeSequence[0].CodeValue == count_code)
    count.TextValue = str(int(count.TextValue) + 1)
    result = read_sr(sr)
    assert not result.incomplete
    assert "Tubal flow pattern: laminar" in result.report.findings.other
    assert any("not understood" in w for w in result.warnings)


@pytest.mark.parametrize("fraction", [0.2, 0.45, 0.6, 0.75, 0.9, 0.97, 0.995])
def test_a_truncated_sr_is_refused_or_flagged_incomplete(
    tmp_path: Path, source_datasets, fraction: float
) -> None:
    rf, dx = source_datasets
    report = full_report(rf, dx, signed=True)
    path = _save(build_sr(report, source_datasets), tmp_path / "sr.dcm")
    data = path.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: int(len(data) * fraction)])
    try:
        result = read_sr(cut)
    except SrImportError as exc:
        assert "cut.dcm" in str(exc)
        return
    assert result.incomplete and result.warnings
    assert result.report != report


def test_cli_import_of_a_truncated_sr_exits_nonzero_and_says_what_is_missing(
    tmp_path: Path, source_datasets
) -> None:
    rf, dx = source_datasets
    path = _save(build_sr(full_report(rf, dx, signed=True), source_datasets), tmp_path / "sr.dcm")
    data = path.read_bytes()
    for fraction, cut in ((0.5, tmp_path / "half.dcm"), (0.96, tmp_path / "tail.dcm")):
        cut.write_bytes(data[: int(len(data) * fraction)])
        proc = subprocess.run(
            [sys.executable, "-m", "hsg_workstation", "report", "import", str(cut)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode != 0, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "incomplete" in proc.stderr or "truncated" in proc.stderr, proc.stderr
    ok = subprocess.run(
        [sys.executable, "-m", "hsg_workstation", "report", "import", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["status"] == "signed"


def _code(key: str) -> Dataset:
    c = concept(key)
    d = Dataset()
    d.CodeValue, d.CodingSchemeDesignator, d.CodeMeaning = c.value, c.scheme_designator, c.meaning
    return d


_SEQ = b"\x40\x00\x30\xa7SQ\x00\x00\xff\xff\xff\xff"  # (0040,A730) Content Sequence, undefined length
_ITEM, _ITEM_END = b"\xfe\xff\x00\xe0\xff\xff\xff\xff", b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
_SEQ_END = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"


def _elements(ds: Dataset) -> bytes:
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_dataset(fp, ds)
    return fp.getvalue()


def _deep_file(sr: Dataset, depth: int, path: Path) -> Path:
    """An HSG SR file whose findings hold a chain of ``depth`` nested items, written byte by byte (pydicom's own
    writer recurses per level and cannot write it)."""
    plain = _plain(sr)
    version = next(  # the "HSG report format" heading with the format version
        it
        for it in plain.ContentSequence
        if it.ConceptNameCodeSequence[0].CodeValue == concept("doc:format_heading").value
    )
    admin = _part(plain, "report")
    head = Dataset()
    head.RelationshipType, head.ValueType = "CONTAINS", "CODE"
    head.ConceptNameCodeSequence = DicomSequence([_code("field:Findings.cavity")])
    head.ConceptCodeSequence = DicomSequence([_code("type:UterineCavity")])
    level = _elements(head)
    chain = b""
    for _ in range(depth):
        chain = level + (_SEQ + _ITEM + chain + _ITEM_END + _SEQ_END if chain else b"")
    findings = Dataset()
    findings.RelationshipType, findings.ValueType, findings.ContinuityOfContent = (
        "CONTAINS",
        "CONTAINER",
        "SEPARATE",
    )
    findings.ConceptNameCodeSequence = DicomSequence([_code("type:Findings")])
    part = Dataset()
    part.RelationshipType, part.ValueType, part.TextValue = "CONTAINS", "TEXT", "findings"
    part.ConceptNameCodeSequence = DicomSequence([_code("doc:part")])
    inner = _SEQ + _ITEM + _elements(part) + _ITEM_END + _ITEM + chain + _ITEM_END + _SEQ_END
    root = _SEQ + _ITEM + _elements(version) + _ITEM_END + _ITEM + _elements(admin) + _ITEM_END
    root += _ITEM + _elements(findings) + inner + _ITEM_END + _SEQ_END
    del plain.ContentSequence
    buf = io.BytesIO()
    plain.save_as(buf, enforce_file_format=True)
    path.write_bytes(buf.getvalue() + root)
    return path


def _plain(sr: Dataset) -> Dataset:
    """A plain pydicom copy (highdicom's content items re-validate on assignment)."""
    buf = io.BytesIO()
    sr.save_as(buf, enforce_file_format=True)
    buf.seek(0)
    return dcmread(buf)


def _with_findings(sr: Dataset, items: list[Dataset]) -> Dataset:
    sr = _plain(sr)
    findings = _part(sr, "findings")
    findings.ContentSequence = DicomSequence([findings.ContentSequence[0], *items])
    return sr


def test_malformed_items_give_messages_not_tracebacks(tmp_path: Path, source_datasets) -> None:
    rf, dx = source_datasets
    sr = build_sr(full_report(rf, dx), source_datasets)
    with pytest.raises(SrImportError, match="nested too deeply"):  # pydicom's own reader would recurse
        read_sr(_deep_file(sr, 600, tmp_path / "deep600.dcm"))
    with pytest.raises(
        SrImportError, match="deeper than 40 levels"
    ):  # readable, but no HSG report is that deep
        read_sr(_deep_file(sr, 100, tmp_path / "deep100.dcm"))

    no_name = hd.sr.TextContentItem(concept("field:Findings.other"), "x", relationship_type="CONTAINS")
    del no_name["ConceptNameCodeSequence"]
    with pytest.raises(SrImportError, match=r"findings\[0\]: no Concept Name Code Sequence"):
        read_sr(_with_findings(sr, [no_name]))

    no_scheme = hd.sr.TextContentItem(concept("field:Findings.other"), "x", relationship_type="CONTAINS")
    del no_scheme.ConceptNameCodeSequence[0]["CodingSchemeDesignator"]
    with pytest.raises(SrImportError, match="no code value or no coding scheme designator"):
        read_sr(_with_findings(sr, [no_scheme]))

    no_type = hd.sr.TextContentItem(concept("field:Findings.other"), "x", relationship_type="CONTAINS")
    del no_type["ValueType"]
    with pytest.raises(SrImportError, match="no Value Type"):
        read_sr(_with_findings(sr, [no_type]))

    empty_seq = hd.sr.TextContentItem(concept("field:Findings.other"), "x", relationship_type="CONTAINS")
    empty_seq.ConceptNameCodeSequence = DicomSequence([])
    with pytest.raises(SrImportError, match="no Concept Name Code Sequence"):
        read_sr(_with_findings(sr, [empty_seq]))

    bad = _plain(sr)
    bad_dose = _part(bad, "dose")
    num = next(c for c in bad_dose.ContentSequence if c.ValueType == "NUM")
    num.MeasuredValueSequence[0].NumericValue = "inf"
    if "FloatingPointValue" in num.MeasuredValueSequence[0]:
        num.MeasuredValueSequence[0].FloatingPointValue = float("inf")
    with pytest.raises(SrImportError, match="not a finite number"):
        read_sr(bad)


def test_an_unknown_coded_value_is_kept_as_text_not_a_failure(source_datasets) -> None:
    """A future version's new enum value (here: tube patency) reads as "unanswered" plus the text, with a warning."""
    rf, dx = source_datasets
    sr = _plain(build_sr(full_report(rf, dx), source_datasets))
    patency = concept("field:Tube.patency").value
    item = None
    for elem in sr.iterall():
        if elem.keyword != "ContentSequence":
            continue
        for it in elem.value:
            if it.get("ValueType") == "CODE" and it.ConceptNameCodeSequence[0].CodeValue == patency:
                item = it
                break
        if item is not None:
            break
    assert item is not None
    code = item.ConceptCodeSequence[0]
    code.CodeValue, code.CodeMeaning = "HSG9998", "Partially patent"
    result = read_sr(sr)
    assert not result.incomplete
    tubes = result.report.findings.tubes
    assert None in (tubes.left.patency, tubes.right.patency)
    assert "Patency: Partially patent" in result.report.findings.other
    assert any("not understood" in w for w in result.warnings)


def test_a_newer_content_format_is_refused_by_name(source_datasets) -> None:
    rf, dx = source_datasets
    sr = build_sr(full_report(rf, dx, signed=True), source_datasets)
    version = concept("doc:schema_version")
    for heading in sr.ContentSequence:
        for item in heading.get("ContentSequence", []):
            if item.ConceptNameCodeSequence[0].CodeValue == version.value:
                item.TextValue = "5"
    with pytest.raises(SrImportError, match=r"format '5' is newer than this program reads \(1, 2, 3, 4\)"):
        read_sr(sr)


def test_format_4_has_no_private_attributes_and_keeps_sentence_provenance(source_datasets) -> None:
    """The impression's provenance travels as coded items (no text), the edit log not at all."""
    rf, dx = source_datasets
    report = full_report(rf, dx, signed=True)
    sr = build_sr(report, source_datasets)
    assert not any(e.tag.is_private for e in sr.iterall())
    back = read_sr(sr)
    assert back.format_version == 4 and back.warnings == []
    got = [(s.source_key, s.generated, s.critical) for s in back.report.impression.sentences]
    assert got == [(s.source_key, s.generated, s.critical) for s in report.impression.sentences]
    assert [(r.key, r.generated) for r in back.report.recommendations] == [
        (r.key, r.generated) for r in report.recommendations
    ]
    assert back.report.impression.edits == []
