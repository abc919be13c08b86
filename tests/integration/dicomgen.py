"""Small synthetic HSG-like DICOM objects for the PACS tests (RF / DX images, a non-HSG CT for refusals)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

RF = "1.2.840.10008.5.1.4.1.1.12.2"
DX = "1.2.840.10008.5.1.4.1.1.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"


def make_instance(
    *,
    sop_class: str = RF,
    study_uid: str,
    series_uid: str,
    number: int,
    patient_name: str = "TEST^HSG",
    patient_id: str = "HSG001",
    study_date: str = "20240115",
    accession: str = "ACC001",
    description: str = "HSG",
    modality: str = "RF",
    series_number: int = 1,
    size: int = 64,
    frames: int = 1,
    seed: int = 0,
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19900101"
    ds.PatientSex = "F"
    ds.StudyDate = study_date
    ds.StudyTime = "101500"
    ds.AccessionNumber = accession
    ds.StudyDescription = description
    ds.StudyID = "1"
    ds.ReferringPhysicianName = ""
    ds.Modality = modality
    ds.SeriesNumber = series_number
    ds.InstanceNumber = number
    ds.ContentDate = study_date
    ds.ContentTime = "101500"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    rng = np.random.default_rng(seed + number)
    ds.PixelData = rng.integers(0, 4095, size=(frames, size, size), dtype=np.uint16).tobytes()
    return ds


@dataclass
class Study:
    study_uid: str
    datasets: list[Dataset] = field(default_factory=list)

    @property
    def sop_uids(self) -> set[str]:
        return {str(d.SOPInstanceUID) for d in self.datasets}

    def series_uids(self) -> list[str]:
        return sorted({str(d.SeriesInstanceUID) for d in self.datasets})

    def encoded(self) -> list[bytes]:
        return [encode(d) for d in self.datasets]

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for d in self.datasets:
            p = folder / f"{d.SOPInstanceUID}.dcm"
            p.write_bytes(encode(d))
            out.append(p)
        return out


def make_study(
    *,
    series: int = 2,
    per_series: int = 3,
    size: int = 64,
    frames: int = 1,
    sop_class: str = RF,
    **kw: object,
) -> Study:
    study = Study(generate_uid())
    n = 0
    for s in range(series):
        series_uid = generate_uid()
        for _ in range(per_series):
            n += 1
            study.datasets.append(
                make_instance(
                    sop_class=sop_class,
                    study_uid=study.study_uid,
                    series_uid=series_uid,
                    number=n,
                    series_number=s + 1,
                    size=size,
                    frames=frames,
                    **kw,  # type: ignore[arg-type]
                )
            )
    return study


def encode(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()
