"""Local database at department scale: list / search of 2 000 studies with 100 000 instances, and import speed.

* The index is filled with 2 000 studies x 50 instances through the database's own row insert
  (``StudyIndex.add_rows``, the path every import takes after reading a header) — generated headers, no pixels.
* ``list_ms``: the newest 100 studies with their counts (what the study browser shows first).
* ``search_ms``: a patient-name prefix search and a one-month date-range search (each over all 2 000 studies).
* ``import_files_per_s``: ``LocalDatabase.import_paths`` of ``--files`` small header-only DICOM files (copied into
  the store, indexed), next to ``dcmread_files_per_s``: plain ``pydicom.dcmread(stop_before_pixels=True)`` of the
  same files, same run. Targets: list and search <= 50 ms, import >= 1x the plain read rate.
* ``browser_refresh_ms``: the GUI study list (``StudyBrowser``, offscreen, 900x600, painted) refreshed after one
  new study was indexed — what happens after every import batch or retrieve: query the newest 1 000, merge the new
  row into the virtual model, repaint. Next to it, same run: ``browser_refresh_unchanged_ms`` (nothing new),
  ``browser_first_fill_ms`` (a new browser's first list) and the baseline ``old_item_model_refresh_ms`` — the
  previous browser's refresh (all matching studies into a QStandardItemModel, 8 items per study, the report state
  asked for every row). The report state is the real ``reporting.status.report_states`` over an empty drafts folder,
  as the report dock asks it; ``*_status_calls`` count how often it ran.

Prints one JSON object: ``.venv/bin/python benchmarks/db.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, generate_uid  # noqa: E402

from hsg_workstation.dicom_io.database import LocalDatabase  # noqa: E402
from hsg_workstation.dicom_io.index import IndexRow  # noqa: E402
from hsg_workstation.dicom_io.model import Instance, SopKind  # noqa: E402

RF = "1.2.840.10008.5.1.4.1.1.12.2"


def fill_index(db: LocalDatabase, studies: int, per_study: int) -> None:
    fill_index_studies(db, range(studies), per_study)


def fill_index_studies(db: LocalDatabase, numbers, per_study: int, study_date: str = "") -> None:  # type: ignore[no-untyped-def]
    rows: list[IndexRow] = []
    for s in numbers:
        study_uid = f"1.2.826.0.1.3680043.10.1.{s}"
        date = study_date or f"2024{1 + s % 12:02d}{1 + s % 28:02d}"
        values = (f"ID{s:05d}", f"PATIENT{s:05d}^JANE", "19900101", date, f"{s % 24:02d}0000",
                  f"ACC{s:06d}", "HSG Hysterosalpingography")  # fmt: skip
        for i in range(per_study):
            series_uid = f"{study_uid}.{i // 25}"
            inst = Instance(
                sop_instance_uid=f"{series_uid}.{i}",
                sop_class_uid=RF,
                series_instance_uid=series_uid,
                study_instance_uid=study_uid,
                path=Path("x"),
                kind=SopKind.IMAGE,
                instance_number=i + 1,
            )
            rows.append(IndexRow(inst, f"fake/{s}/{i}.dcm", "benchmark", values, "RF", i // 25 + 1, "loop"))
        if len(rows) >= 5000:
            db.index.add_rows(rows)
            rows = []
    if rows:
        db.index.add_rows(rows)


def old_item_model_refresh(db: LocalDatabase, status, table_parts) -> int:  # type: ignore[no-untyped-def]
    """The study browser's refresh before the virtual model (same-run baseline): every matching study, 8
    QStandardItems each, the report state asked for every row. Returns the row count."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QStandardItem

    model, _proxy, _table = table_parts
    studies = db.studies()
    model.setRowCount(0)
    for st in studies:
        state = status(st.study_instance_uid)
        values = (
            (st.patient_name.replace("^", " "), st.patient_name),
            (st.patient_id, st.patient_id),
            (st.study_date, st.study_date + st.study_time),
            (state, state),
            (st.accession_number, st.accession_number),
            (st.study_description, st.study_description),
            (" ".join(st.modalities), " ".join(st.modalities)),
            (str(st.instance_count), st.instance_count),
        )
        items = []
        for text, key in values:
            it = QStandardItem(text)
            it.setData(key, Qt.ItemDataRole.UserRole)
            it.setData(st.study_instance_uid, Qt.ItemDataRole.UserRole + 1)
            items.append(it)
        model.appendRow(items)
    return model.rowCount()


def browser_figures(db: LocalDatabase, drafts: Path) -> dict[str, float]:
    """Time the study list (new virtual model and the old item model) on the filled database."""
    from PySide6.QtWidgets import QApplication

    from hsg_workstation.reporting.status import report_states
    from hsg_workstation.ui.study_browser import COLUMNS, MAX_LISTED, StudyBrowser
    from hsg_workstation.ui.widgets import sortable_table

    app = QApplication.instance() or QApplication([])
    calls = {"n": 0}

    def status(uid: str) -> str:
        calls["n"] += 1
        state = report_states(db, drafts, [uid])[uid].state
        return "" if state == "none" else state

    def shown() -> StudyBrowser:
        b = StudyBrowser(db)
        b.report_status = status
        b.resize(900, 600)
        b.show()
        app.processEvents()
        return b

    browsers: list[StudyBrowser] = []

    def first_fill() -> None:
        b = shown()
        b.refresh()
        b.repaint()
        app.processEvents()
        browsers.append(b)

    calls["n"] = 0
    first_ms = best_ms(first_fill, repeat=3)
    first_calls = calls["n"] // 3
    browser = browsers[-1]
    assert browser.model.rowCount() == MAX_LISTED, browser.model.rowCount()

    def refresh() -> None:
        browser.refresh()
        browser.repaint()
        app.processEvents()

    calls["n"] = 0
    unchanged_ms = best_ms(refresh)
    unchanged_calls = calls["n"] // 7
    added = iter(range(900_000, 900_100))

    def import_then_refresh() -> None:
        fill_index_studies(db, [next(added)], 5, "20990101")
        t0 = time.perf_counter()
        refresh()
        times.append(time.perf_counter() - t0)

    times: list[float] = []
    calls["n"] = 0
    for _ in range(7):
        import_then_refresh()
    import_calls = calls["n"] // 7
    assert browser.study_uids()[0].endswith(".900006"), browser.study_uids()[:2]
    old_parts = sortable_table(COLUMNS, None)
    old_parts[2].resize(900, 600)
    old_parts[2].show()
    rows: list[int] = []

    def old() -> None:
        rows.append(old_item_model_refresh(db, status, old_parts))
        old_parts[2].repaint()
        app.processEvents()

    calls["n"] = 0
    old_ms = best_ms(old, repeat=3)
    old_calls = calls["n"] // 3
    for b in browsers:
        b.close()
    old_parts[2].close()
    new_ms = min(times) * 1000
    return {
        "browser_listed": MAX_LISTED,
        "browser_refresh_ms": round(new_ms, 2),
        "browser_refresh_status_calls": import_calls,
        "browser_refresh_unchanged_ms": round(unchanged_ms, 2),
        "browser_refresh_unchanged_status_calls": unchanged_calls,
        "browser_first_fill_ms": round(first_ms, 2),
        "browser_first_fill_status_calls": first_calls,
        "old_item_model_rows": rows[-1],
        "old_item_model_refresh_ms": round(old_ms, 2),
        "old_item_model_status_calls": old_calls,
        "old_vs_new_refresh": round(old_ms / new_ms, 1),
    }


def header_file(path: Path, study: int, number: int) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = RF
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = RF, ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = f"1.2.826.0.1.3680043.10.2.{study}"
    ds.SeriesInstanceUID = f"{ds.StudyInstanceUID}.1"
    ds.PatientName, ds.PatientID, ds.StudyDate, ds.StudyTime = (
        f"IMP{study}^X",
        f"I{study}",
        "20240101",
        "1200",
    )
    ds.Modality, ds.InstanceNumber, ds.Rows, ds.Columns = "RF", number, 8, 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = bytes(128)  # a header-sized file: the benchmark measures indexing, not pixel copying
    ds.save_as(path, enforce_file_format=True)


def best_ms(fn, repeat: int = 7) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--studies", type=int, default=2000)
    ap.add_argument("--per-study", type=int, default=50)
    ap.add_argument("--files", type=int, default=2000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hsg-db-bench-"))
    try:
        with LocalDatabase(work / "big") as db:
            t0 = time.perf_counter()
            fill_index(db, args.studies, args.per_study)
            fill_s = time.perf_counter() - t0
            newest: list = []
            list_ms = best_ms(lambda: newest.append(db.studies(limit=100)))
            assert len(newest[-1]) == 100 and newest[-1][0].study_date >= newest[-1][-1].study_date
            assert newest[-1][0].instance_count == args.per_study
            hits: list = []
            name_ms = best_ms(lambda: hits.append(db.studies("PATIENT0012")))
            assert len(hits[-1]) == 10, len(hits[-1])
            range_ms = best_ms(lambda: hits.append(db.studies(date_from="20240301", date_to="20240331")))
            assert hits[-1] and all("20240301" <= s.study_date <= "20240331" for s in hits[-1])
            (work / "drafts").mkdir()
            gui = browser_figures(db, work / "drafts")

        src = work / "files"
        src.mkdir()
        for i in range(args.files):
            header_file(src / f"{i:06d}.dcm", i // 20, i % 20 + 1)
        files = sorted(src.iterdir())
        t0 = time.perf_counter()
        for f in files:
            pydicom.dcmread(f, stop_before_pixels=True)
        read_s = time.perf_counter() - t0
        with LocalDatabase(work / "imp") as db:
            t0 = time.perf_counter()
            results = db.import_paths([src])
            import_s = time.perf_counter() - t0
            bad = [r for r in results if r.status != "imported"]
            assert not bad, bad[:2]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = {
        "studies": args.studies,
        "instances": args.studies * args.per_study,
        "fill_index_s": round(fill_s, 2),
        "list_ms": round(list_ms, 2),
        "search_name_ms": round(name_ms, 2),
        "search_date_range_ms": round(range_ms, 2),
        "search_ms": round(max(name_ms, range_ms), 2),
        "import_files": args.files,
        "import_files_per_s": round(args.files / import_s, 1),
        "dcmread_files_per_s": round(args.files / read_s, 1),
        "import_vs_dcmread": round((args.files / import_s) / (args.files / read_s), 3),
        **gui,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
