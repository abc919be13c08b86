"""Fixtures for the report-output tests: tiny synthetic RF / DX source images and the real validators.

The images are built with pydicom (64×64, a few frames) so the tests are fast and need no sample generator;
only synthetic data.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

RF_STORAGE = "1.2.840.10008.5.1.4.1.1.12.2"
DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"


def _base(study_uid: str, sop_class: str, modality: str, series_number: int, frames: int) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "Test^Synthetic"
    ds.PatientID = "SYN-0001"
    ds.PatientBirthDate = "19900101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20260105"
    ds.StudyTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = "ACC1"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "HSG"
    ds.InstitutionName = "Synthetic Hospital"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = series_number
    ds.Modality = modality
    ds.InstanceNumber = 1
    ds.Manufacturer = "Synthetic"
    ds.Rows = 64
    ds.Columns = 64
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    yy, xx = np.mgrid[0:64, 0:64]
    stack = []
    for f in range(frames):
        img = (200 + 10 * xx + f * 50 + 800 * (((xx - 32) ** 2 + (yy - 30) ** 2) < (8 + 2 * f) ** 2)).astype(
            np.uint16
        )
        stack.append(np.clip(img, 0, 4095).astype(np.uint16))
    arr = np.stack(stack) if frames > 1 else stack[0]
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = arr.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def make_rf(study_uid: str, frames: int = 4) -> Dataset:
    """A small multi-frame RF image (fill-sequence loop)."""
    ds = _base(study_uid, RF_STORAGE, "RF", 1, frames)
    ds.ImagerPixelSpacing = [0.5, 0.5]
    ds.FrameIncrementPointer = (0x0018, 0x1063)
    ds.FrameTime = 500.0
    ds.ImageAndFluoroscopyAreaDoseProduct = 12.3
    return ds


def make_dx(study_uid: str) -> Dataset:
    """A small single-frame DX spot image."""
    ds = _base(study_uid, DX_STORAGE, "DX", 2, 1)
    ds.ImagerPixelSpacing = [0.5, 0.5]
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "US"
    ds.WindowCenter = 1000
    ds.WindowWidth = 2000
    ds.DetectorType = "DIRECT"
    ds.PatientOrientation = ["L", "F"]
    ds.BodyPartExamined = "PELVIS"
    return ds


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    """A folder with one RF loop (4 frames) and one DX spot image of one synthetic study."""
    d = tmp_path / "study"
    d.mkdir()
    study_uid = generate_uid()
    make_rf(study_uid).save_as(d / "rf.dcm", enforce_file_format=True)
    make_dx(study_uid).save_as(d / "dx.dcm", enforce_file_format=True)
    return d


@pytest.fixture
def source_datasets(study_dir: Path) -> list[Dataset]:
    from pydicom import dcmread

    return [dcmread(study_dir / "rf.dcm"), dcmread(study_dir / "dx.dcm")]


def dciodvfy_errors(path: Path) -> list[str]:
    """``Error -`` lines of dicom3tools' dciodvfy for ``path`` (empty when the object is valid)."""
    proc = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]


# Tool limits, not document problems: the VR checker cannot check UTF-8 text, and DCMTK checks few templates.
_BENIGN_DSRDUMP = (
    "does not support this Specific Character Set",
    "template constraints not yet supported",  # DCMTK knows few templates; relationship rules are still checked
)


def dsrdump_check(path: Path) -> tuple[int, list[str]]:
    """dsrdump's return code and its error / warning lines (DCMTK checks the SR relationship rules)."""
    proc = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, timeout=60)
    bad = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if line.startswith(("E:", "W:", "F:")) and not any(b in line for b in _BENIGN_DSRDUMP)
    ]
    return proc.returncode, bad
