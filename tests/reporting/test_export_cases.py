"""Every synthetic case end to end, as a draft, signed and amended report, checked by tools nobody here wrote:
dciodvfy (dicom3tools), dsrdump and dsr2html (DCMTK), highdicom (TID 1500), and our own importer.

The results table in docs/report.md is what this test asserts."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
import subprocess
from pathlib import Path

import highdicom as hd
import pytest
from pydicom import dcmread

from hsg_workstation.reporting import narrative
from hsg_workstation.reporting.export import export_all, load_study
from hsg_workstation.reporting.measurement_sr import measurement_groups
from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.reference import build_reference_report
from hsg_workstation.reporting.sr import as_recorded_in_sr
from hsg_workstation.reporting.sr_import import read_sr
from hsg_workstation.synthetic.study import CASES, write_case

from .conftest import dciodvfy_errors, dsrdump_check
from .tid2000 import tid2000_violations


def dciodvfy_unrecognized(path: Path) -> list[str]:
    """dciodvfy lines saying "Unrecognized", except the declared private scheme (no private tags since format 3)."""
    proc = subprocess.run(["/usr/bin/dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if "Unrecognized" in line and "<99HSG>" not in line
    ]


def dsr2html_text(path: Path) -> str:
    proc = subprocess.run(["/usr/bin/dsr2html", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    text = html.unescape(re.sub(r"<[^>]+>", " ", proc.stdout))
    return re.sub(r"\s+", " ", text)


def _amend(signed: HsgReport, old_uid: str) -> HsgReport:
    amended = signed.amend(old_uid, "Clarified wording after review")
    first = amended.impression.sentences[0].text
    reworded = "On review, " + first[0].lower() + first[1:]  # the old sentence is no longer a substring
    amended.edit_impression_sentence(0, reworded, who="Reader^Amy", reason="clarity")
    for ack in signed.acknowledgements:
        amended.acknowledge(ack.rule_id, ack.field_path, ack.reason, "Reader^Amy")
    amended.sign("Reader^Amy", dt.datetime(2026, 1, 6, 9, 30, tzinfo=dt.UTC), organization="Synthetic")
    return amended


def _section(text: str, heading: str) -> str:
    """dsr2html body text of one section: from its heading to its first footnote or the next heading."""
    rest = text[text.index(heading) + len(heading) :]
    ends = [" Footnote ", " Recommendations ", " Communication of Critical Results ", " Key Images "]
    cut = min((rest.find(e) for e in ends if rest.find(e) >= 0), default=len(rest))
    return rest[:cut]


def _check_sr(path: Path, report: HsgReport, removed: list[str]) -> None:
    assert dciodvfy_errors(path) == [], path.name
    assert dciodvfy_unrecognized(path) == [], path.name
    rc, bad = dsrdump_check(path)
    assert rc == 0 and bad == [], (path.name, bad)
    text = dsr2html_text(path)
    # the sentences stand in the section body itself, before any footnote of that section
    findings = _section(text, " Findings ")
    for sentence in narrative.section_sentences(report, "findings"):
        assert sentence in findings, (path.name, sentence)
    impressions = _section(text, " Impressions ")
    for sentence in report.impression.sentences:
        assert sentence.text in impressions, (path.name, sentence.text)
    raw = path.read_bytes()
    for old in removed:  # wording replaced before signing is not in the signed SR: not content, not anywhere
        assert old not in text and old.encode() not in raw, (path.name, old)
    assert not any(e.tag.is_private for e in dcmread(path).iterall()), path.name
    result = read_sr(path)
    assert tid2000_violations(dcmread(path)) == [], path.name
    assert result.format_version == 4 and result.warnings == [] and not result.incomplete
    assert result.report == as_recorded_in_sr(report)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("case", CASES)
def test_case_exports_validate_and_round_trip(tmp_path: Path, case: str) -> None:
    case_dir = write_case(case, tmp_path / "cases", size=128, frames=8, spot_images=2)
    truth = json.loads((case_dir / "truth.json").read_text(encoding="utf-8"))
    out = tmp_path / "out"
    headers = load_study(case_dir).headers
    draft = HsgReport.from_json(build_reference_report(truth, case_dir, signed=False))
    export_all(draft, case_dir, sr_path=out / "draft.dcm")
    ds = dcmread(out / "draft.dcm")
    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == (
        "PARTIAL",
        "UNVERIFIED",
        "PRELIMINARY",
    )
    _check_sr(out / "draft.dcm", draft, [])

    signed = HsgReport.from_json(build_reference_report(truth, case_dir, signed=True))
    with_pdf = case in ("bilateral_distal_hydrosalpinx", "endometrial_polyp")
    res = export_all(
        signed,
        case_dir,
        sr_path=out / "signed.dcm",
        measurement_sr_path=out / "measurements.dcm" if measurement_groups(signed, headers) else None,
        kos_path=out / "kos.dcm" if signed.key_images else None,
        encapsulated_pdf_path=out / "pdf.dcm" if with_pdf else None,
        pdf_path=out / "report.pdf" if with_pdf else None,
    )
    for p in res.written:
        if p.suffix == ".dcm":
            assert dciodvfy_errors(p) == [], (case, p.name)
            assert dciodvfy_unrecognized(p) == [], (case, p.name)
            head = dcmread(p, stop_before_pixels=True)
            assert head.StudyInstanceUID == signed.identity.study_instance_uid
            if "PatientAge" in headers[0]:
                assert head.PatientAge == headers[0].PatientAge, (case, p.name)
    ds = dcmread(out / "signed.dcm")
    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == ("COMPLETE", "VERIFIED", "FINAL")
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "2000"
    _check_sr(out / "signed.dcm", signed, [])

    if res.measurement_sr is not None:
        _check_measurements(out / "measurements.dcm", signed, headers)
        refs = [
            it
            for it in ds.iterall()
            if it.keyword == "ReferencedSOPInstanceUID" and it.value == res.measurement_sr.SOPInstanceUID
        ]
        assert refs  # the report references its measurement SR
    if with_pdf:
        pdf = dcmread(out / "pdf.dcm")
        assert pdf.VerificationFlag == "VERIFIED" and "(signed)" in pdf.DocumentTitle

    amended = _amend(signed, str(ds.SOPInstanceUID))
    res2 = export_all(
        amended,
        case_dir,
        sr_path=out / "amended.dcm",
        encapsulated_pdf_path=out / "pdf2.dcm" if with_pdf else None,
        predecessor=ds,
    )
    am = dcmread(out / "amended.dcm")
    assert (
        am.SeriesInstanceUID == ds.SeriesInstanceUID and int(am.InstanceNumber) == int(ds.InstanceNumber) + 1
    )
    pred = am.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert pred.ReferencedSOPInstanceUID == ds.SOPInstanceUID
    _check_sr(out / "amended.dcm", amended, [signed.impression.sentences[0].text])
    if with_pdf:
        pdf2 = res2.encapsulated_pdf
        assert pdf2 is not None and "(amended)" in pdf2.DocumentTitle and pdf2.PredecessorDocumentsSequence
        assert pdf2.SeriesInstanceUID == pdf.SeriesInstanceUID and int(pdf2.InstanceNumber) > int(
            pdf.InstanceNumber
        )
        assert dciodvfy_errors(out / "pdf2.dcm") == []


def _check_measurements(path: Path, report: HsgReport, headers: list) -> None:
    """highdicom reads every TID 1410 group back with its region, image reference, and measurement values."""
    assert dciodvfy_errors(path) == []
    rc, bad = dsrdump_check(path)
    assert rc == 0 and bad == []
    doc = hd.sr.srread(path)
    groups = doc.content.get_planar_roi_measurement_groups()
    assert len(groups) == len(measurement_groups(report, headers)) > 0
    study_uids = {str(h.SOPInstanceUID) for h in headers}
    n_values = 0
    for g in groups:
        image = g.roi.ContentSequence[0].ReferencedSOPSequence[0]
        assert image.ReferencedSOPInstanceUID in study_uids
        values = {m.name.meaning: float(m.value) for m in g.get_measurements()}
        for m in g.get_measurements():
            assert m.value > 0 and m.unit.value in ("mm", "mm2", "{pixel}", "deg")
            n_values += 1
        if "Long axis" in values:  # an ellipse: both axes and the area, consistent with each other
            assert values["Long axis"] >= values["Short axis"]
            expected = math.pi * values["Long axis"] * values["Short axis"] / 4
            assert values["Area"] == pytest.approx(expected, rel=1e-3)
    per_kind = {"length": 1, "angle": 1, "ellipse": 3, "polygon": 1}
    assert n_values == sum(per_kind.get(m.kind.value, 0) for m in report.measurements)
