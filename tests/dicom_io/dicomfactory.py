"""Small synthetic DICOM files for the reading-core tests (built with pydicom; no patient data)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

RF_STORAGE = "1.2.840.10008.5.1.4.1.1.12.2"  # X-Ray Radiofluoroscopic Image Storage
DX_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"


def base_dataset(
    sop_class: str,
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    modality: str = "RF",
    patient_name: str = "Test^Alpha",
    patient_id: str = "HSG0001",
    accession: str = "ACC0001",
    study_date: str = "20260115",
    study_description: str = "HSG",
    series_number: int = 1,
    series_description: str = "",
    instance_number: int | None = 1,
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.Modality = modality
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19900101"
    ds.AccessionNumber = accession
    ds.StudyDate = study_date
    ds.StudyTime = "101500"
    ds.StudyDescription = study_description
    ds.SeriesNumber = series_number
    if series_description:
        ds.SeriesDescription = series_description
    if instance_number is not None:
        ds.InstanceNumber = instance_number
    return ds


def make_image(
    path: Path,
    *,
    rows: int = 32,
    columns: int = 32,
    frames: int = 1,
    sop_class: str = RF_STORAGE,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    pixels: np.ndarray | None = None,
    windows: Sequence[tuple[float, float, str]] = (),
    acquisition_datetime: str | None = None,
    extra: dict | None = None,
    **base: object,
) -> Path:
    """Write a native little-endian greyscale image (uint16) and return its path."""
    ds = base_dataset(sop_class, **base)  # type: ignore[arg-type]
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    if acquisition_datetime:
        ds.AcquisitionDateTime = acquisition_datetime
    if windows:
        ds.WindowCenter = [w[0] for w in windows]
        ds.WindowWidth = [w[1] for w in windows]
        ds.WindowCenterWidthExplanation = [w[2] for w in windows]
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    if pixels is None:
        rng = np.random.default_rng(abs(hash(str(ds.SOPInstanceUID))) % 2**32)
        pixels = rng.integers(0, 2**bits_stored, size=(frames, rows, columns), dtype=np.uint16)
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def make_document(path: Path, sop_class: str, **base: object) -> Path:
    """A minimal non-image instance (SR / PDF / KO) — enough for indexing and display-set tests."""
    ds = base_dataset(sop_class, modality={ENCAPSULATED_PDF: "DOC"}.get(sop_class, "SR"), **base)  # type: ignore[arg-type]
    if sop_class == ENCAPSULATED_PDF:
        data = b"%PDF-1.4\n%%EOF\n"
        ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
        ds.EncapsulatedDocument = data + b"\0" * (len(data) % 2)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (or of ``root`` itself) — to prove sources are never modified."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
