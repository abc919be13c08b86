"""Fixtures for the viewer tests: small synthetic RF studies with known geometry, and QSettings in tmp."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

RF_STORAGE = "1.2.840.10008.5.1.4.1.1.12.2"  # X-Ray Radiofluoroscopic Image Storage


def make_rf(
    path: Path,
    *,
    frames: int = 12,
    size: int = 64,
    study_uid: str,
    series_uid: str | None = None,
    series_number: int = 1,
    instance_number: int = 1,
    frame_time_vector: list[float] | None = None,
    frame_time: float | None = 100.0,
    imager_spacing: float | None = 0.2,
    ermf: float | None = None,
    window: tuple[float, float] | None = (2048.0, 4096.0),
    patient_name: str = "TEST^HSG",
    description: str = "Fill sequence",
    sigmoid: bool = False,
    photometric: str = "MONOCHROME2",
) -> FileDataset:
    """A multi-frame RF image: frame k has value 100*k + column index (so frames are tellable apart)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RF_STORAGE
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = RF_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.PatientName = patient_name
    ds.PatientID = "HSG001"
    ds.PatientBirthDate = "19900101"
    ds.StudyDate = "20260115"
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACC42"
    ds.StudyDescription = "HSG"
    ds.SeriesDescription = description
    ds.Modality = "RF"
    ds.SeriesNumber = series_number
    ds.InstanceNumber = instance_number
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if window:
        ds.WindowCenter, ds.WindowWidth = window
        ds.WindowCenterWidthExplanation = "Fluoro default"
    if sigmoid:
        ds.VOILUTFunction = "SIGMOID"
    if imager_spacing:
        ds.ImagerPixelSpacing = [imager_spacing, imager_spacing]
    if ermf:
        ds.EstimatedRadiographicMagnificationFactor = ermf
    cols = np.arange(size, dtype=np.uint16)[None, :]
    if frames > 1:
        ds.NumberOfFrames = frames
        if frame_time_vector is not None:
            ds.FrameTimeVector = frame_time_vector
            ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTimeVector")
        elif frame_time is not None:
            ds.FrameTime = frame_time
            ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
        arr = np.stack([np.broadcast_to(cols + 100 * k, (size, size)) for k in range(frames)]).astype(
            np.uint16
        )
    else:
        arr = np.broadcast_to(cols + 1000, (size, size)).astype(np.uint16)
    ds.PixelData = np.ascontiguousarray(arr).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    """A study folder: a 12-frame cine (variable Frame Time Vector), two spot images, a 4-frame series 3."""
    d = tmp_path / "study"
    d.mkdir()
    uid = generate_uid()
    ftv = [0.0] + [50.0] * 5 + [150.0] * 6
    make_rf(d / "cine.dcm", study_uid=uid, frame_time_vector=ftv, frame_time=None, series_number=1)
    spot_series = generate_uid()
    for i in (1, 2):
        make_rf(
            d / f"spot{i}.dcm",
            frames=1,
            study_uid=uid,
            series_uid=spot_series,
            series_number=2,
            instance_number=i,
            description="Spot",
        )
    # Series 3 imports fine; tests that need a series failing to decode damage its stored copy afterwards
    # (what a bad disk or an interrupted copy does), since the importer rightly refuses truncated files.
    make_rf(d / "broken.dcm", frames=4, study_uid=uid, series_number=3, description="Broken")
    return d


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    return tmp_path / "settings.ini"
