"""DICOM encoding of the rendered loop (and scout): X-Ray Radiofluoroscopic Image Storage, uncompressed.

Every header value is taken from the render (geometry, timing, chain), so the header and the pixels agree:
Imager Pixel Spacing / Estimated Radiographic Magnification Factor = the pixel size at the patient; Patient
Orientation says where the patient's left is; Frame Time Vector holds the real increments (gaps between runs).
UIDs are derived from the seed, so the same seed gives the same files.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

RF_STORAGE = "1.2.840.10008.5.1.4.1.1.12.2"
UID_ROOT = "2.25."


def seeded_uid(seed: int, *parts: object) -> str:
    """A deterministic 2.25 UID from the seed and a purpose label."""
    h = hashlib.sha256(
        ("hsg-independent-phantom/" + "/".join(str(p) for p in (seed, *parts))).encode()
    ).digest()
    return UID_ROOT + str(int.from_bytes(h[:15], "big"))


def _common(ds: Dataset, seed: int, study_time: str) -> None:
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = f"PHANTOM^B{seed}"
    ds.PatientID = f"PHB{seed:06d}"
    ds.PatientBirthDate = ""
    ds.PatientSex = "F"
    ds.StudyInstanceUID = seeded_uid(seed, "study")
    ds.StudyDate = "20240102"
    ds.StudyTime = study_time
    ds.ReferringPhysicianName = ""
    ds.StudyID = f"B{seed}"
    ds.AccessionNumber = ""
    ds.StudyDescription = "HSG (synthetic, independent phantom)"
    ds.Modality = "RF"
    ds.Manufacturer = "HSG Workstation synthetic"
    ds.ManufacturerModelName = "independent phantom renderer"
    ds.InstitutionName = "Synthetic"
    ds.BodyPartExamined = "PELVIS"


def build_dataset(
    *,
    seed: int,
    frames: np.ndarray,
    series_number: int,
    instance_number: int,
    label: str,
    geom,
    chain,
    photometric: str,
    orientation: tuple[str, str],
    ftv_ms: np.ndarray | None,
    use_vector: bool,
    fps: float,
    collimator: dict | None,
    window: tuple[float, float],
    dose: dict,
    contrast: bool,
) -> Dataset:
    """A complete RF dataset (file meta included) for ``frames`` (n, rows, cols) uint16."""
    n, rows, cols = frames.shape
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RF_STORAGE
    meta.MediaStorageSOPInstanceUID = seeded_uid(seed, label, "sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    _common(ds, seed, "101500")
    ds.SOPClassUID = RF_STORAGE
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.SeriesInstanceUID = seeded_uid(seed, label, "series")
    ds.SeriesNumber = series_number
    ds.SeriesDescription = "HSG loop" if n > 1 else "Scout"
    ds.InstanceNumber = instance_number
    ds.ContentDate = ds.AcquisitionDate = ds.SeriesDate = ds.StudyDate
    ds.ContentTime = ds.AcquisitionTime = ds.SeriesTime = f"1016{series_number % 60:02d}"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "SINGLE PLANE"]
    ds.PatientOrientation = list(orientation)
    # image pixel
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated = 16
    ds.BitsStored = chain.bits
    ds.HighBit = chain.bits - 1
    ds.PixelRepresentation = 0
    ds.PixelIntensityRelationship = "LOG" if chain.response == "log" else "LIN"
    if chain.response == "log":  # the X-Ray Image module requires a Modality LUT for LOG data (identity here)
        ds.RescaleIntercept = "0"
        ds.RescaleSlope = "1"
        ds.RescaleType = "US"
    ds.LossyImageCompression = "00"
    ds.WindowCenter = f"{window[0]:.1f}"
    ds.WindowWidth = f"{max(window[1], 1.0):.1f}"
    ds.WindowCenterWidthExplanation = "NORMAL"
    # contrast / bolus
    ds.ContrastBolusAgent = "Iodinated contrast 300 mg I/ml" if contrast else ""
    if contrast:
        ds.ContrastBolusRoute = "INTRAUTERINE"
    # acquisition
    ds.KVP = f"{chain.kvp:.1f}"
    ds.RadiationSetting = "GR" if n > 1 else "SC"
    ds.RadiationMode = "PULSED"
    ds.XRayTubeCurrent = int(dose["ma"])
    ds.ExposureTime = int(dose["ms"])
    ds.Exposure = max(int(round(dose["ma"] * dose["ms"] / 1000.0)), 1)
    ds.ImagerPixelSpacing = [f"{geom.imager_spacing:.5f}", f"{geom.imager_spacing:.5f}"]
    ds.EstimatedRadiographicMagnificationFactor = f"{geom.magnification:.5f}"
    ds.DistanceSourceToDetector = f"{dose['sid']:.1f}"
    ds.DistanceSourceToPatient = f"{dose['sid'] / geom.magnification:.1f}"
    ds.Grid = "IN" if chain.spr < 0.7 else "NONE"
    ds.FieldOfViewShape = "RECTANGLE"
    ds.FieldOfViewDimensions = [
        int(round(rows * geom.imager_spacing)),
        int(round(cols * geom.imager_spacing)),
    ]
    ds.FocalSpots = "0.6"
    ds.ImageAndFluoroscopyAreaDoseProduct = f"{dose['dap_dgycm2']:.4f}"
    if collimator is not None:
        for k, v in collimator.items():
            setattr(ds, k, v)
    if n > 1:
        ds.NumberOfFrames = n
        if use_vector:
            ds.FrameIncrementPointer = pydicom.tag.Tag(0x0018, 0x1065)
            ds.FrameTimeVector = [f"{v:.1f}" for v in ftv_ms]
        else:
            ds.FrameIncrementPointer = pydicom.tag.Tag(0x0018, 0x1063)
            ds.FrameTime = f"{1000.0 / fps:.2f}"
        ds.CineRate = max(int(round(fps)), 1)
        ds.RecommendedDisplayFrameRate = max(int(round(fps)), 1)
        ds.PreferredPlaybackSequencing = 0
        ds.StartTrim = 1
        ds.StopTrim = n
        total = float(np.sum(ftv_ms)) if ftv_ms is not None else 0.0
        ds.EffectiveDuration = f"{total / 1000.0 + 1.0 / fps:.3f}"
    ds.PixelData = np.ascontiguousarray(frames, dtype="<u2").tobytes()
    return ds
