"""Reading-core benchmark: header indexing, time to first frame, and memory of decoding a series.

Prints ONE JSON object. Every number has its baseline measured in the same run on the same files:

* ``index_files_per_s`` — the local database's header indexing (``LocalDatabase.rebuild_index`` on a store of
  ``--files`` instances: scan + validate the header, build the index row, batched SQLite insert) next to
  ``index_baseline_files_per_s``, a plain ``pydicom.dcmread(path, stop_before_pixels=True)`` loop over the same
  files. Target: ratio ≥ 0.9. ``import_files_per_s`` (copy into the store with fsync, then index) is reported too.
* ``first_frame_ms`` — open a 60-frame 1024² uint16 RF loop and get frame 1 through the modality LUT
  (``FrameSource(path).modality_frame(0)``: header read + validation + one-frame decode), next to
  ``first_frame_baseline_ms`` = ``pydicom.pixels.pixel_array(path, index=0)``. Median of repeats, warm page cache.
  Target: ratio ≤ 1.2.
* ``series_peak_mb`` — tracemalloc peak while decoding every frame of that loop one by one (as cine playback
  does), against ``series_raw_mb`` = the raw pixel bytes. Target ≤ 1.3×. ``series_full_decode_peak_mb`` shows
  what ``dcmread(...).pixel_array`` (all frames at once) costs for comparison.

The machine is shared while benchmarks run, so the two sides of each comparison are interleaved and the best
(indexing) or median (first frame) of several rounds is reported.

    .venv/bin/python benchmarks/io.py [--files 400] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import pixel_array
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.pixels import FrameSource

RF_STORAGE = "1.2.840.10008.5.1.4.1.1.12.2"
DX_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def realistic_header(sop_class: str, study: str, series: str, number: int) -> Dataset:
    """A header shaped like a fluoroscopy unit's (about 90 elements with a few sequences), synthetic identities."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = "1.2.826.0.1.3680043.8.498.1"
    ds.file_meta.ImplementationVersionName = "HSGBENCH_1"
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "SINGLE PLANE"]
    ds.InstanceCreationDate, ds.InstanceCreationTime = "20260115", "101500"
    ds.SOPClassUID = sop_class
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = "20260115"
    ds.StudyTime, ds.SeriesTime, ds.AcquisitionTime, ds.ContentTime = (
        "101500",
        "101510",
        "1015" + f"{number:02d}",
        "101530",
    )
    ds.AccessionNumber = f"ACC{number:06d}"
    ds.Modality = "RF" if sop_class == RF_STORAGE else "DX"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.Manufacturer, ds.InstitutionName = "Synthetic Fluoro", "Test Hospital"
    ds.InstitutionAddress = "1 Test Street, Testville"
    ds.ReferringPhysicianName = "Referrer^Test"
    ds.StationName, ds.StudyDescription = "FLUORO1", "HSG hysterosalpingography"
    ds.ProcedureCodeSequence = Sequence([_code("RPID123", "RADLEX", "HSG")])
    ds.SeriesDescription, ds.InstitutionalDepartmentName = "Fill sequence", "Radiology"
    ds.PerformingPhysicianName = "Radiologist^Test"
    ds.OperatorsName = "Tech^Test"
    ds.ManufacturerModelName, ds.SoftwareVersions = "Model X", "1.0"
    ds.PatientName, ds.PatientID = "Synthetic^Patient", f"PID{number % 17:05d}"
    ds.IssuerOfPatientID = "TEST"
    ds.PatientBirthDate, ds.PatientSex, ds.PatientAge = "19900101", "F", "036Y"
    ds.PatientSize, ds.PatientWeight = "1.65", "60"
    ds.BodyPartExamined = "PELVIS"
    ds.KVP, ds.DistanceSourceToDetector, ds.DistanceSourceToPatient = "75", "1100", "950"
    ds.ExposureTime, ds.XRayTubeCurrent, ds.Exposure = "10", "5", "1"
    ds.FilterType, ds.Grid, ds.FocalSpots = "CU_0.1", "IN", "0.6"
    ds.ImagerPixelSpacing = [0.3, 0.3]
    ds.EstimatedRadiographicMagnificationFactor = "1.16"
    ds.PositionerPrimaryAngle, ds.PositionerSecondaryAngle = "0", "0"
    ds.FieldOfViewShape, ds.FieldOfViewDimensions = "RECTANGLE", [300, 300]
    ds.ImageAndFluoroscopyAreaDoseProduct = "0.5"
    ds.AnatomicRegionSequence = Sequence([_code("T-D6000", "SRT", "Pelvis")])
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.StudyID, ds.SeriesNumber, ds.AcquisitionNumber, ds.InstanceNumber = "1", 1, 1, number
    ds.PatientOrientation = ["L", "F"]
    ds.ImageComments = "synthetic benchmark image"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = [2048, 1500], [4096, 2000]
    ds.WindowCenterWidthExplanation = ["FULL", "CONTRAST"]
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
    ds.LossyImageCompression = "00"
    return ds


def write_image(path: Path, ds: Dataset, pixels: np.ndarray) -> None:
    frames, rows, columns = pixels.shape
    ds.Rows, ds.Columns = rows, columns
    if frames > 1:
        ds.NumberOfFrames = frames
        ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
        ds.FrameTime, ds.CineRate, ds.RecommendedDisplayFrameRate = "133.3", 8, 8  # IS: whole frames/s
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def bench_index(work: Path, files: int, rounds: int) -> dict:
    src = work / "src"
    rng = np.random.default_rng(1)
    study = generate_uid()
    series = [generate_uid() for _ in range(max(files // 40, 1))]
    for i in range(files):
        sop_class = RF_STORAGE if i % 4 else DX_PRESENTATION
        ds = realistic_header(sop_class, study if i % 50 else generate_uid(), series[i % len(series)], i + 1)
        write_image(src / f"{i:05d}.dcm", ds, rng.integers(0, 4096, (1, 64, 64), dtype=np.uint16))
    data = work / "data"
    db = LocalDatabase(data)
    t = time.perf_counter()
    results = db.import_paths([src])
    import_s = time.perf_counter() - t
    db.close()
    assert [r.status for r in results] == ["imported"] * files, "benchmark import failed"
    stored = sorted((data / "store").rglob("*.dcm"))

    def baseline() -> float:
        t0 = time.perf_counter()
        for f in stored:
            pydicom.dcmread(f, stop_before_pixels=True)
        return time.perf_counter() - t0

    def ours() -> float:
        for f in data.glob("index.sqlite*"):
            f.unlink()
        database = LocalDatabase(data)
        t0 = time.perf_counter()
        res = database.rebuild_index()
        elapsed = time.perf_counter() - t0
        database.close()
        assert len(res) == files and all(r.status == "imported" for r in res)
        return elapsed

    base_s, ours_s = [], []
    for _ in range(rounds):  # interleaved: both sides see the same machine load
        base_s.append(baseline())
        ours_s.append(ours())
    return {
        "index_files": files,
        "index_files_per_s": round(files / min(ours_s), 1),
        "index_baseline_files_per_s": round(files / min(base_s), 1),
        "index_ratio": round(min(base_s) / min(ours_s), 3),
        "index_median_ratio": round(statistics.median(base_s) / statistics.median(ours_s), 3),
        "import_files_per_s": round(files / import_s, 1),
    }


def bench_frames(work: Path, rounds: int) -> dict:
    path = work / "rf_loop.dcm"
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 4096, (60, 1024, 1024), dtype=np.uint16)
    write_image(path, realistic_header(RF_STORAGE, generate_uid(), generate_uid(), 1), pixels)
    del pixels
    raw_bytes = 60 * 1024 * 1024 * 2
    # Warm the page cache and the decoders once for both sides.
    pixel_array(str(path), index=0)
    FrameSource(path).modality_frame(0)

    base_ms, ours_ms = [], []
    for _ in range(rounds * 10):
        t0 = time.perf_counter()
        a = pixel_array(str(path), index=0)
        base_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        b = FrameSource(path).modality_frame(0)
        ours_ms.append((time.perf_counter() - t0) * 1000)
        assert np.array_equal(a, b)

    source = FrameSource(path)
    tracemalloc.start()
    tracemalloc.reset_peak()
    checksum = 0
    for i in range(source.number_of_frames):
        frame = source.modality_frame(i)
        checksum += int(frame[0, 0])
        del frame
    _, series_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    full = pydicom.dcmread(path).pixel_array
    _, full_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del full
    return {
        "first_frame_ms": round(statistics.median(ours_ms), 2),
        "first_frame_baseline_ms": round(statistics.median(base_ms), 2),
        "first_frame_ratio": round(statistics.median(ours_ms) / statistics.median(base_ms), 3),
        "first_frame_min_ms": round(min(ours_ms), 2),
        "first_frame_baseline_min_ms": round(min(base_ms), 2),
        "first_frame_min_ratio": round(min(ours_ms) / min(base_ms), 3),
        "series_frames": source.number_of_frames,
        "series_peak_mb": round(series_peak / 1e6, 2),
        "series_raw_mb": round(raw_bytes / 1e6, 2),
        "series_peak_ratio": round(series_peak / raw_bytes, 4),
        "series_full_decode_peak_mb": round(full_peak / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=400, help="instances for the indexing benchmark")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per comparison")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    work = Path(tempfile.mkdtemp(prefix="hsg-io-bench-"))
    try:
        result = {
            "benchmark": "io",
            **bench_index(work, args.files, args.rounds),
            **bench_frames(work, args.rounds),
        }
        result["targets_met"] = {
            "index_ge_0.9x_plain": result["index_ratio"] >= 0.9,
            "first_frame_le_1.2x_plain": result["first_frame_ratio"] <= 1.2,
            "memory_le_1.3x_raw": result["series_peak_ratio"] <= 1.3,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
