"""``hsg-workstation anonymize``: a bundled study with its report objects, anonymised, checked by dciodvfy, by a
byte search for every identifying value of the source, and by resolving every SR / KOS reference inside the
exported set."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "normal"
IDENTIFYING = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "AccessionNumber",
    "StudyID",
    "InstitutionName",
    "ReferringPhysicianName",
    "StationName",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
)


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hsg_workstation", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def study_with_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled normal study plus its SR, KOS and Encapsulated PDF; the report's notes name the patient."""
    folder = tmp_path_factory.mktemp("study")
    for f in SAMPLE.glob("*.dcm"):
        shutil.copy(f, folder / f.name)
    report = json.loads((SAMPLE / "report.json").read_text())
    report["clinical"]["notes"] = "Seen with HSG^Normal^^^SYNTHETIC (SYN-91268-0), accession SYN98461988."
    report_path = folder.parent / "report.json"
    report_path.write_text(json.dumps(report))
    data_dir = folder.parent / "data"
    done = _cli(
        "report", "export", str(report_path), "--study", str(folder), "--force",
        "--sr", str(folder / "sr.dcm"), "--kos", str(folder / "kos.dcm"),
        "--encapsulated-pdf", str(folder / "pdf.dcm"),
        data_dir=data_dir,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder


def _identifying_values(folder: Path) -> set[str]:
    values: set[str] = set()
    for f in folder.glob("*.dcm"):
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        for keyword in IDENTIFYING:
            v = str(ds.get(keyword, "") or "").strip()
            if len(v) >= 4:
                values.add(v)
    return values


def test_anonymized_study_keeps_no_identity_and_resolves_every_reference(
    study_with_report: Path, tmp_path: Path
) -> None:
    out = tmp_path / "anon"
    before = {f: f.read_bytes() for f in study_with_report.glob("*.dcm")}
    done = _cli("anonymize", str(study_with_report), str(out), "--json", data_dir=tmp_path / "data")
    assert done.returncode == 3, done.stderr  # partial: the Encapsulated PDF is not exported
    summary = json.loads(done.stdout)
    assert [Path(s["path"]).name for s in summary["skipped"]] == ["pdf.dcm"]
    assert "Encapsulated PDF" in summary["skipped"][0]["reason"]
    assert summary["studies"] == 1 and len(summary["written"]) == 7  # 5 images + SR + KOS
    assert summary["text_replacements"] >= 1
    assert {f: f.read_bytes() for f in study_with_report.glob("*.dcm")} == before  # sources untouched

    written = [Path(p) for p in summary["written"]]
    needles = _identifying_values(study_with_report)
    needles |= {"HSG^Normal", "Normal HSG", "SYN-91268-0", "SYN98461988", "19900101", "Synthetic Teaching"}
    for f in written:
        data = f.read_bytes().lower()
        leaked = [n for n in needles if n.lower().encode() in data]
        assert leaked == [], f"{f.name} still holds {leaked}"
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        assert ds.PatientIdentityRemoved == "YES"
        assert "113100" in {c.CodeValue for c in ds.DeidentificationMethodCodeSequence}
        assert not any(elem.tag.is_private for elem in ds.iterall())
        check = subprocess.run(["/usr/bin/dciodvfy", str(f)], capture_output=True, text=True, timeout=60)
        errors = [line for line in (check.stdout + check.stderr).splitlines() if line.startswith("Error")]
        assert errors == [], f"{f.name}: {errors}"

    instances = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in written}
    referenced: set[str] = set()
    for f in written:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        if ds.SOPClassUID.name.endswith("Selection Document") or "SR" in str(ds.Modality):
            for elem in ds.iterall():
                if elem.keyword == "ReferencedSOPInstanceUID":
                    referenced.add(str(elem.value))
    assert referenced and referenced <= instances
    # the report SR (content format 4) also names its source images in TEXT items: those follow the mapping too
    uids = set(instances)
    for f in written:
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        uids |= {str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)}
    in_text = {
        str(elem.value)
        for f in written
        for elem in pydicom.dcmread(f, stop_before_pixels=True).iterall()
        if elem.keyword == "TextValue"
        and re.fullmatch(r"[012](\.\d+)+", str(elem.value))
        and len(str(elem.value)) >= 16
        and not str(elem.value).startswith("1.2.840.10008.")  # SOP classes are standard, not identifying
    }
    assert in_text and in_text <= uids, in_text - uids


def test_pseudonym_is_stable_per_patient_and_dates_shift_exactly(
    study_with_report: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    loop = study_with_report / "02_loop.dcm"
    runs = []
    for name in ("a", "b"):
        done = _cli("anonymize", str(loop), str(tmp_path / name), "--keep-dates-shifted", "-30", "--json",
                    data_dir=data_dir)  # fmt: skip
        assert done.returncode == 0, done.stderr
        runs.append(pydicom.dcmread(json.loads(done.stdout)["written"][0], stop_before_pixels=True))
    source = pydicom.dcmread(loop, stop_before_pixels=True)
    assert runs[0].PatientName == runs[1].PatientName != source.PatientName
    assert runs[0].PatientID == runs[1].PatientID != source.PatientID
    assert runs[0].StudyInstanceUID == runs[1].StudyInstanceUID != source.StudyInstanceUID
    from datetime import date

    def day(da: str) -> date:
        return date(int(da[:4]), int(da[4:6]), int(da[6:]))

    assert (day(runs[0].StudyDate) - day(source.StudyDate)).days == -30
    other_key = _cli("anonymize", str(loop), str(tmp_path / "c"), "--json", data_dir=tmp_path / "other")
    third = pydicom.dcmread(json.loads(other_key.stdout)["written"][0], stop_before_pixels=True)
    assert third.PatientID != runs[0].PatientID  # the pseudonym is keyed per workstation


def test_unknown_source_is_a_clear_message(tmp_path: Path) -> None:
    done = _cli("anonymize", "1.2.3.999", str(tmp_path / "out"), data_dir=tmp_path / "data")
    assert done.returncode != 0
    assert "1.2.3.999: neither a file, a folder nor a study in the local database" in done.stderr
    assert "Traceback" not in done.stderr
