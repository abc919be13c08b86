"""Local database at department scale: list / search of 2 000 studies with 100 000 instances, and import speed.

* The index is filled with 2 000 studies x 50 instances through the database's own row insert
  (``StudyIndex.add_rows``, the path every import takes after reading a header) — generated headers, no pixels.
* ``list_ms``: the newest 100 studies with their counts (what the study browser shows first).
* ``search_ms``: a patient-name prefix search and a one-month date-range search (each over all 2 000 studies).
* ``import_files_per_s``: ``LocalDatabase.import_paths`` of ``--files`` small header-only DICOM files (copied into
  the store, indexed), next to ``dcmread_files_per_s``: plain ``pydicom.dcmread(stop_before_pixels=True)`` of the
  same files, same run. Targets: list and search <= 50 ms, import >= 1x the plain read rate.

Prints one JSON object: ``.venv/bin/python benchmarks/db.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, generate_uid  # noqa: E402

from hsg_workstation.dicom_io.database import LocalDatabase  # noqa: E402
from hsg_workstation.dicom_io.index import IndexRow  # noqa: E402
from hsg_workstation.dicom_io.model import Instance, SopKind  # noqa: E402

RF = "1.2.840.10008.5.1.4.1.1.12.2"


def fill_index(db: LocalDatabase, studies: int, per_study: int) -> None:
    rows: list[IndexRow] = []
    for s in range(studies):
        study_uid = f"1.2.826.0.1.3680043.10.1.{s}"
        date = f"2024{1 + s % 12:02d}{1 + s % 28:02d}"
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
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
