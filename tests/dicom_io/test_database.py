"""LocalDatabase: import, dedup, queries, display sets, network bytes, threads."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.model import DisplaySetKind, SopKind

from .dicomfactory import (
    COMPREHENSIVE_SR,
    DX_PRESENTATION,
    ENCAPSULATED_PDF,
    KEY_OBJECT_SELECTION,
    make_document,
    make_image,
    tree_hashes,
)

STUDY = "1.2.826.0.1.3680043.8.498.1"
RF_SERIES = "1.2.826.0.1.3680043.8.498.1.1"
SPOT_SERIES = "1.2.826.0.1.3680043.8.498.1.2"
DOC_SERIES = "1.2.826.0.1.3680043.8.498.1.3"


def hsg_study(root: Path) -> Path:
    """One HSG exam: a loop, three spot images written out of order, and SR / PDF / KO."""
    make_image(root / "loop.dcm", frames=6, study_uid=STUDY, series_uid=RF_SERIES, series_description="Fill")
    spots = [("b.dcm", 3, "20260115101530"), ("a.dcm", 1, "20260115101510"), ("c.dcm", 2, "20260115101510")]
    for name, number, dt in spots:
        make_image(
            root / "spots" / name,
            sop_class=DX_PRESENTATION,
            modality="DX",
            photometric="MONOCHROME1",
            study_uid=STUDY,
            series_uid=SPOT_SERIES,
            series_number=2,
            instance_number=number,
            acquisition_datetime=dt,
        )
    for i, uid in enumerate((COMPREHENSIVE_SR, ENCAPSULATED_PDF, KEY_OBJECT_SELECTION)):
        make_document(
            root / "docs" / f"{i}.dcm", uid, study_uid=STUDY, series_uid=DOC_SERIES, series_number=3
        )
    return root


def test_import_folder_copies_into_store_and_indexes(
    db: LocalDatabase, tmp_path: Path, data_dir: Path
) -> None:
    src = hsg_study(tmp_path / "cd")
    before = tree_hashes(src)
    results = db.import_paths([src])
    assert [r.status for r in results] == ["imported"] * 7
    assert all(r.study_instance_uid == STUDY and r.sop_instance_uid for r in results)
    assert tree_hashes(src) == before  # sources untouched
    stored = [p for p in (data_dir / "store").rglob("*.dcm")]
    assert len(stored) == 7 and (data_dir / "index.sqlite").exists()
    assert all(str(p).startswith(str(data_dir / "store")) for p in stored)
    st = db.study(STUDY)
    assert st is not None
    assert (st.series_count, st.instance_count, st.patient_id, st.accession_number) == (
        3,
        7,
        "HSG0001",
        "ACC0001",
    )
    assert set(st.modalities) == {"RF", "DX", "SR"}
    assert [s.instance_count for s in db.series(STUDY)] == [1, 3, 3]
    assert db.sop_instance_uids(STUDY) == {r.sop_instance_uid for r in results}
    assert not db.is_empty()


def test_duplicates_by_sop_instance_uid(db: LocalDatabase, tmp_path: Path) -> None:
    src = hsg_study(tmp_path / "cd")
    db.import_paths([src])
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    results = db.import_paths([copy, src / "loop.dcm"])
    assert {r.status for r in results} == {"duplicate"} and len(results) == 8
    assert db.study(STUDY).instance_count == 7  # type: ignore[union-attr]


def test_display_sets(db: LocalDatabase, tmp_path: Path) -> None:
    db.import_paths([hsg_study(tmp_path / "cd")])
    sets = db.display_sets(STUDY)
    assert [s.kind for s in sets] == [DisplaySetKind.CINE, DisplaySetKind.STACK] + [
        DisplaySetKind.DOCUMENT
    ] * 3
    cine, stack = sets[0], sets[1]
    assert len(cine.frames) == 6 and [f.index for f in cine.frames] == list(range(6))
    assert cine.frames[-1].frame_number == 6 and cine.frames[0].path.exists()
    # ordered by acquisition date-time, then instance number: a(1, :10), c(2, :10), b(3, :30)
    assert [i.instance_number for i in stack.instances] == [1, 2, 3]
    assert all(f.index == 0 for f in stack.frames)
    assert {s.instances[0].kind for s in sets[2:]} == {
        SopKind.STRUCTURED_REPORT,
        SopKind.ENCAPSULATED_PDF,
        SopKind.KEY_OBJECT_SELECTION,
    }
    assert "cine, 6 frames" in cine.label and "3 images" in stack.label


def test_study_search_by_text_and_date(db: LocalDatabase, tmp_path: Path) -> None:
    make_image(
        tmp_path / "1.dcm", patient_name="Doe^Jane", patient_id="P1", accession="A77", study_date="20250110"
    )
    make_image(
        tmp_path / "2.dcm",
        patient_name="Roe^Ann",
        patient_id="P2",
        study_description="Tubal patency",
        study_date="20260301",
    )
    db.import_paths([tmp_path])
    names = lambda studies: sorted(s.patient_id for s in studies)  # noqa: E731
    assert names(db.studies()) == ["P1", "P2"]
    assert names(db.studies("jane doe")) == ["P1"]  # PN '^' and word order
    assert names(db.studies("A77")) == ["P1"]
    assert names(db.studies("patency")) == ["P2"]
    assert names(db.studies("p2")) == ["P2"]
    assert names(db.studies(date_from="2026-01-01")) == ["P2"]
    assert names(db.studies(date_to="20251231")) == ["P1"]
    assert names(db.studies("nobody")) == []
    assert db.studies()[0].patient_id == "P2"  # newest first
    with pytest.raises(ValueError, match="YYYYMMDD"):
        db.studies(date_from="last week")


def test_count_studies_matches_the_unlimited_list(db: LocalDatabase, tmp_path: Path) -> None:
    """The study list shows the newest N of M: the count must use the same filter as the list, without limit."""
    for i in range(5):
        make_image(
            tmp_path / f"{i}.dcm",
            study_uid=f"1.2.826.0.1.3680043.8.498.9.{i}",
            patient_name=f"Count^P{i}",
            patient_id=f"C{i}",
            study_date=f"2025010{i + 1}",
        )
    make_image(tmp_path / "other.dcm", study_uid="1.2.826.0.1.3680043.8.498.9.99", patient_name="Other^X")
    db.import_paths([tmp_path])
    for args in (("",), ("count",), ("count", "2025-01-02", "20250104"), ("nobody",), ("p1 count",)):
        assert db.count_studies(*args) == len(db.studies(*args))
    assert db.count_studies("count") == 5
    newest = db.studies("count", limit=2)
    assert [s.patient_id for s in newest] == ["C4", "C3"] and db.count_studies("count") > len(newest)
    with pytest.raises(ValueError, match="YYYYMMDD"):
        db.count_studies(date_from="last week")


def test_study_complete_flag_and_persistence(data_dir: Path, tmp_path: Path) -> None:
    db = LocalDatabase(data_dir)
    assert db.is_empty()
    db.import_paths([hsg_study(tmp_path / "cd")])
    db.set_study_complete(STUDY, False)
    db.close()
    again = LocalDatabase(data_dir)
    try:
        assert again.study(STUDY).complete is False  # type: ignore[union-attr]
        assert len(again.instances(SPOT_SERIES)) == 3
        again.set_study_complete(STUDY, True)
        assert again.study(STUDY).complete is True  # type: ignore[union-attr]
    finally:
        again.close()


def test_dicomdir_imports_referenced_files(db: LocalDatabase, tmp_path: Path) -> None:
    media = tmp_path / "media"
    shutil.copytree(Path(get_testdata_file("DICOMDIR")).parent, media)
    results = db.import_paths([media / "DICOMDIR"])
    by_status = {s: [r for r in results if r.status == s] for s in ("imported", "duplicate", "skipped")}
    assert by_status["skipped"][0].reason.endswith("its 31 referenced files are imported")
    assert len(by_status["imported"]) == 31
    records = pydicom.dcmread(media / "DICOMDIR").DirectoryRecordSequence
    study_records = {r.StudyInstanceUID for r in records if r.DirectoryRecordType == "STUDY"}
    assert {s.study_instance_uid for s in db.studies()} == study_records


def test_add_encoded_network_bytes(db: LocalDatabase, tmp_path: Path) -> None:
    path = make_image(tmp_path / "img.dcm", frames=2, study_uid=STUDY)
    data = path.read_bytes()
    first = db.add_encoded(data)
    assert first.status == "imported" and first.study_instance_uid == STUDY
    stored = Path(first.path)
    assert stored.read_bytes() == data  # written as received, not re-encoded
    assert db.add_encoded(data).status == "duplicate"
    bad = db.add_encoded(data[:-50], source="pacs")
    assert bad.status == "skipped" and "truncated" in bad.reason and "<pacs>" in bad.reason
    assert db.add_encoded(b"garbage").status == "skipped"


def test_add_encoded_from_many_threads(db: LocalDatabase, tmp_path: Path) -> None:
    """pynetdicom calls C-STORE handlers on its own threads; all must land, duplicates exactly once."""
    blobs = [
        make_image(tmp_path / f"{i}.dcm", rows=8, columns=8, study_uid=STUDY).read_bytes() for i in range(24)
    ]
    results: list = []
    lock = threading.Lock()

    def worker(chunk: list[bytes]) -> None:
        for blob in chunk:
            r = db.add_encoded(blob)
            with lock:
                results.append(r.status)

    threads = [threading.Thread(target=worker, args=(blobs[i::4] + blobs[:3],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results.count("imported") == 24
    assert results.count("duplicate") == 12
    assert len(db.sop_instance_uids(STUDY)) == 24


def test_progress_and_cancel(db: LocalDatabase, tmp_path: Path) -> None:
    for i in range(6):
        make_image(tmp_path / "src" / f"{i}.dcm", rows=8, columns=8)
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int, path: str) -> None:
        seen.append((done, total))
        if done == 3:
            cancel.set()

    results = db.import_paths([tmp_path / "src"], progress=progress, cancel=cancel)
    assert len(results) == 3 and seen[:4] == [(0, 6), (1, 6), (2, 6), (3, 6)]
    rest = db.import_paths([tmp_path / "src"])
    assert [r.status for r in rest] == ["duplicate"] * 3 + ["imported"] * 3


def test_missing_path_is_a_local_failure(db: LocalDatabase, tmp_path: Path) -> None:
    (r,) = db.import_paths([tmp_path / "nope"])
    assert r.status == "skipped" and r.local_failure and "no such file" in r.reason


def test_rebuild_index_finds_unindexed_store_files(data_dir: Path, tmp_path: Path) -> None:
    db = LocalDatabase(data_dir)
    db.import_paths([hsg_study(tmp_path / "cd")])
    db.close()
    (data_dir / "index.sqlite").unlink()
    for extra in data_dir.glob("index.sqlite-*"):
        extra.unlink()
    db = LocalDatabase(data_dir)
    try:
        assert db.is_empty()
        results = db.rebuild_index()
        assert [r.status for r in results] == ["imported"] * 7
        assert db.study(STUDY).instance_count == 7  # type: ignore[union-attr]
    finally:
        db.close()


def test_store_copy_is_byte_identical(db: LocalDatabase, tmp_path: Path) -> None:
    src = tmp_path / "ct.dcm"
    shutil.copy(get_testdata_file("CT_small.dcm"), src)
    (r,) = db.import_paths([src])
    (inst,) = db.instances(pydicom.dcmread(src, stop_before_pixels=True).SeriesInstanceUID)
    assert inst.path.read_bytes() == src.read_bytes() and inst.sop_instance_uid == r.sop_instance_uid


@pytest.mark.parametrize("escape", ["absolute", "dotdot", "symlink"])
def test_dicomdir_records_never_leave_the_medium(db: LocalDatabase, tmp_path: Path, escape: str) -> None:
    """A hostile or broken DICOMDIR must not make the import read files elsewhere on the machine."""
    media = tmp_path / "media"
    shutil.copytree(Path(get_testdata_file("DICOMDIR")).parent, media)
    outside = make_image(tmp_path / "elsewhere" / "secret.dcm", study_uid="9.9.9")
    dicomdir = pydicom.dcmread(media / "DICOMDIR")
    record = next(r for r in dicomdir.DirectoryRecordSequence if r.DirectoryRecordType == "IMAGE")
    target = media / Path(*record.ReferencedFileID)
    if escape == "absolute":
        record.ReferencedFileID = [str(outside)]
    elif escape == "dotdot":
        record.ReferencedFileID = ["..", "elsewhere", "secret.dcm"]
    else:
        target.unlink()
        target.symlink_to(outside)
    dicomdir.save_as(media / "DICOMDIR")
    results = db.import_paths([media / "DICOMDIR"])
    assert not any("secret" in r.path for r in results)
    assert "9.9.9" not in {s.study_instance_uid for s in db.studies()}
    assert sum(r.status == "imported" for r in results) == 30


def test_dicomdir_on_a_lower_case_mount(db: LocalDatabase, tmp_path: Path) -> None:
    """ISO 9660 names are upper case in the DICOMDIR; a Linux mount may show them in lower case."""
    media = tmp_path / "cdrom"
    shutil.copytree(Path(get_testdata_file("DICOMDIR")).parent, media)
    for path in sorted(media.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.name != "DICOMDIR" and path.name != path.name.lower():
            path.rename(path.with_name(path.name.lower()))
    results = db.import_paths([media / "DICOMDIR"])
    assert sum(r.status == "imported" for r in results) == 31


@pytest.mark.timeout(120)
def test_dicomdir_written_by_dcmmkdir(db: LocalDatabase, tmp_path: Path) -> None:
    """A DICOMDIR as a burning tool writes it (DCMTK dcmmkdir, General Purpose profile, 8-character upper-case
    file IDs) over a generated HSG study: every referenced file lands once, a missing one is skipped by name,
    and importing the DICOMDIR or the whole medium again gives duplicates only."""
    import subprocess

    from hsg_workstation.synthetic.study import write_case

    if shutil.which("dcmmkdir") is None:
        pytest.fail("dcmmkdir (Debian dcmtk) is required for this test")
    study_dir = write_case("unicornuate", tmp_path / "gen", size=64, frames=8, noise=0.0)
    media = tmp_path / "media"
    (media / "HSG" / "S1").mkdir(parents=True)
    for i, src in enumerate(sorted(study_dir.glob("*.dcm")), start=1):
        shutil.copy(src, media / "HSG" / "S1" / f"IM{i}")
    proc = subprocess.run(["dcmmkdir", "+r", "HSG"], cwd=media, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and (media / "DICOMDIR").is_file(), proc.stderr
    (media / "HSG" / "S1" / "IM5").unlink()  # a damaged disc: the DICOMDIR names a file that is not there
    before = tree_hashes(media)

    results = db.import_paths([media / "DICOMDIR"])
    by_name = {Path(r.path).name: r for r in results}
    assert by_name["DICOMDIR"].status == "skipped" and "referenced files" in by_name["DICOMDIR"].reason
    assert [by_name[f"IM{i}"].status for i in range(1, 5)] == ["imported"] * 4
    assert by_name["IM5"].status == "skipped" and "IM5" in by_name["IM5"].reason
    (study,) = db.studies()
    assert study.instance_count == 4 and study.patient_name == "HSG^Unicornuate^^^SYNTHETIC"
    again = [r for r in db.import_paths([media]) if r.status != "skipped"]
    assert len(again) == 4 and {r.status for r in again} == {
        "duplicate"
    }  # each file once, via DICOMDIR or not
    assert tree_hashes(media) == before


def test_index_is_sqlite_in_wal_mode_in_the_data_dir(
    db: LocalDatabase, data_dir: Path, tmp_path: Path
) -> None:
    """WAL lets the viewer read while a PACS retrieve writes (issue §3: "SQLite (WAL) in the user data dir")."""
    import sqlite3

    make_image(tmp_path / "a.dcm")
    db.import_paths([tmp_path / "a.dcm"])
    con = sqlite3.connect(data_dir / "index.sqlite")
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()


def test_search_text_is_literal(db: LocalDatabase, tmp_path: Path) -> None:
    make_image(tmp_path / "1.dcm", patient_id="A_1")
    make_image(tmp_path / "2.dcm", patient_id="AB1")
    db.import_paths([tmp_path])
    assert [s.patient_id for s in db.studies("A_1")] == ["A_1"]
    assert db.studies("%") == []


def test_connections_of_finished_threads_are_closed(db: LocalDatabase, tmp_path: Path) -> None:
    blobs = [make_image(tmp_path / f"{i}.dcm", rows=4, columns=4).read_bytes() for i in range(30)]
    for blob in blobs:  # one short-lived thread per "association", as pynetdicom does
        t = threading.Thread(target=db.add_encoded, args=(blob,))
        t.start()
        t.join(timeout=30)
    db.has_instance("1.2.3")  # this thread's connection prunes the dead ones
    assert len(db.index._all) <= 2
    assert len(db.studies()) == 30


def test_index_write_failure_is_reported_not_raised(
    db: LocalDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    make_image(tmp_path / "src" / "a.dcm")

    def broken(rows: object) -> list[bool]:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(db.index, "add_rows", broken)
    (r,) = db.import_paths([tmp_path / "src"])
    assert r.status == "skipped" and r.local_failure and "disk is full" in r.reason
    monkeypatch.undo()
    (again,) = db.import_paths([tmp_path / "src"])  # the stored copy is simply indexed on the next import
    assert again.status == "imported"
