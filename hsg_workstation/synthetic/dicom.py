"""DICOM headers for the synthetic HSG study: scout, RF fill-sequence loop, spot images (RF or DX).

Every attribute here is chosen so that ``dciodvfy`` reports no ``Error`` line for the IOD used:
X-Ray Radiofluoroscopic Image Storage (RF, MONOCHROME2 only, Bits Stored 12) for the scout and the loop, and
Digital X-Ray Image Storage – For Presentation (DX) when a spot image is MONOCHROME1 — the RF IOD forbids
MONOCHROME1, real vendors notwithstanding.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from hsg_workstation import __version__

RF_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.12.2"
DX_PRESENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"
FRAME_TIME_TAG = 0x00181063
FRAME_TIME_VECTOR_TAG = 0x00181065
UID_PREFIX = "2.25."  # derived UIDs (UUID-style) need no registered org root


@dataclass(frozen=True, slots=True)
class StudyContext:
    """What every instance of one synthetic study shares (identities, UIDs, dates, geometry, dose totals)."""

    case: str
    seed: int
    study_uid: str
    patient_name: str
    patient_id: str
    accession: str
    study_start: datetime
    imager_pixel_spacing_mm: float
    magnification: float
    patient_orientation: tuple[str, str]
    source_to_detector_mm: float
    kvp: float
    collimator: dict[str, int]  # pixel edges of the (already flipped) image
    window: tuple[float, float]  # default (center, width) in MONOCHROME2 values, see study_window


def derived_uid(*parts: object) -> str:
    """Deterministic UID from a case, seed and role, so the same seed always yields the same study."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()[:16]
    # A name-based UUID (RFC 4122 version 5 layout) as a 2.25 UID: no registered root needed, ≤ 44 chars.
    return UID_PREFIX + str(uuid.UUID(bytes=digest, version=5).int)


def _dt(t: datetime) -> tuple[str, str]:
    return t.strftime("%Y%m%d"), t.strftime("%H%M%S.%f")[:13]


def _common(
    ctx: StudyContext,
    *,
    sop_class: str,
    sop_uid: str,
    series_uid: str,
    series_number: int,
    instance_number: int,
    modality: str,
    series_description: str,
    acquired: datetime,
) -> Dataset:
    """Patient, General Study, Patient Study, General Series, General Equipment, General Acquisition,
    General Image and SOP Common modules, plus the file meta."""
    ds = Dataset()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "HSGWS_" + __version__.replace(".", "")[:9]
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.InstanceCreationDate, ds.InstanceCreationTime = _dt(acquired)
    study_date, study_time = _dt(ctx.study_start)
    ds.StudyDate = study_date
    ds.StudyTime = study_time
    ds.SeriesDate, ds.SeriesTime = _dt(acquired)
    ds.AcquisitionDateTime = acquired.strftime("%Y%m%d%H%M%S.%f")
    ds.ContentDate, ds.ContentTime = _dt(acquired)
    ds.AccessionNumber = ctx.accession
    ds.Modality = modality
    ds.Manufacturer = "HSG Workstation (synthetic)"
    ds.InstitutionName = "Synthetic Teaching Hospital"
    ds.ReferringPhysicianName = "Referrer^Synthetic"
    ds.StationName = "SYNTH-RF1"
    ds.StudyDescription = "HSG Hysterosalpingography"
    ds.SeriesDescription = series_description
    ds.ManufacturerModelName = "sample-data generator"
    ds.DeviceSerialNumber = "SYN0001"
    ds.SoftwareVersions = __version__
    ds.PatientName = ctx.patient_name
    ds.PatientID = ctx.patient_id
    ds.PatientBirthDate = "19900101"
    ds.PatientSex = "F"
    ds.PatientAge = f"{ctx.study_start.year - 1990:03d}Y"
    ds.BodyPartExamined = "PELVIS"
    ds.StudyInstanceUID = ctx.study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = ctx.accession[-8:]
    ds.SeriesNumber = series_number
    ds.AcquisitionNumber = instance_number
    ds.InstanceNumber = instance_number
    ds.PatientOrientation = list(ctx.patient_orientation)
    ds.AcquisitionDate, ds.AcquisitionTime = _dt(acquired)
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    return ds


def study_window(loop: np.ndarray, collimator: dict[str, int]) -> tuple[float, float]:
    """Default (center, width) for MONOCHROME2 values of this study, shared by scout, loop and spots.

    Derived from the loop's exposed field (the collimated border is excluded) with a physical lower end: the
    pixel values are linear in attenuation, so "background minus ~8 mm of iodine" maps to black whatever the
    amount of contrast in the picture. One shared window keeps a sparse early spot from being stretched into
    a dark, noisy image. Samples every 4th pixel of at most 8 frames, so 300-frame loops stay cheap.
    """
    c = collimator
    field_ = loop[..., c["top"] : c["bottom"] + 1 : 4, c["left"] : c["right"] + 1 : 4]
    if field_.ndim == 3 and field_.shape[0] > 8:
        field_ = field_[np.linspace(0, field_.shape[0] - 1, 8).round().astype(int)]
    median, hi = (float(v) for v in np.percentile(field_, [50.0, 99.9]))
    lo = median - 1600.0
    return round((lo + hi) / 2, 1), round(max(hi - lo, 2.0), 1)


def _pixels(ds: Dataset, frames: np.ndarray, *, monochrome1: bool, window: tuple[float, float]) -> None:
    """Image Pixel module (12 bits in 16) and two VOI windows: the HSG window (contrast black, background
    light) and the full 12-bit range, so readers see more than one preset."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if monochrome1 else "MONOCHROME2"
    ds.Rows, ds.Columns = int(frames.shape[-2]), int(frames.shape[-1])
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    center, width = window
    if monochrome1:  # stored values are inverted; the window follows them
        center = 4095.0 - center
    ds.WindowCenter = [f"{center:.1f}", "2048"]
    ds.WindowWidth = [f"{width:.1f}", "4096"]
    ds.WindowCenterWidthExplanation = ["HSG CONTRAST", "FULL RANGE"]
    ds.PixelData = np.ascontiguousarray(frames, dtype="<u2").tobytes()


def _xray_acquisition(
    ds: Dataset, ctx: StudyContext, *, exposure_ms: float, ma: float, dap_dgycm2: float, fluoro: bool
) -> None:
    ds.KVP = f"{ctx.kvp:.0f}"
    ds.RadiationSetting = "SC" if fluoro else "GR"
    ds.XRayTubeCurrent = int(round(ma))
    ds.ExposureTime = int(round(exposure_ms))
    ds.Exposure = max(1, int(round(ma * exposure_ms / 1000.0)))
    ds.RadiationMode = "PULSED"
    ds.Grid = "IN"
    ds.FocalSpots = "0.6"
    ds.FieldOfViewShape = "RECTANGLE"
    ds.ImagerPixelSpacing = [f"{ctx.imager_pixel_spacing_mm:.6g}"] * 2
    ds.ImageAndFluoroscopyAreaDoseProduct = f"{dap_dgycm2:.4f}"
    ds.DistanceSourceToDetector = f"{ctx.source_to_detector_mm:.1f}"
    ds.DistanceSourceToPatient = f"{ctx.source_to_detector_mm / ctx.magnification:.1f}"
    ds.EstimatedRadiographicMagnificationFactor = f"{ctx.magnification:.4f}"


def _collimator(ds: Dataset, ctx: StudyContext, *, display_shutter: bool) -> None:
    """X-Ray Collimator module and, where the IOD has it, a matching rectangular Display Shutter.

    DICOM gives these edges as 1-based pixel columns / rows (truth.json keeps 0-based indices). The shutter
    lets viewers black out the collimated border exactly as the modality would.
    """
    c = ctx.collimator
    ds.CollimatorShape = "RECTANGULAR"
    ds.CollimatorLeftVerticalEdge = c["left"] + 1
    ds.CollimatorRightVerticalEdge = c["right"] + 1
    ds.CollimatorUpperHorizontalEdge = c["top"] + 1
    ds.CollimatorLowerHorizontalEdge = c["bottom"] + 1
    if display_shutter:
        ds.ShutterShape = "RECTANGULAR"
        ds.ShutterLeftVerticalEdge = c["left"] + 1
        ds.ShutterRightVerticalEdge = c["right"] + 1
        ds.ShutterUpperHorizontalEdge = c["top"] + 1
        ds.ShutterLowerHorizontalEdge = c["bottom"] + 1
        ds.ShutterPresentationValue = 0


def _contrast(ds: Dataset, start: datetime, volume_ml: float) -> None:
    ds.ContrastBolusAgent = "Iohexol 300 mgI/ml"
    ds.ContrastBolusRoute = "INTRAUTERINE"
    ds.ContrastBolusVolume = f"{volume_ml:.1f}"
    ds.ContrastBolusStartTime = start.strftime("%H%M%S")
    ds.ContrastBolusIngredient = "IODINE"
    ds.ContrastBolusIngredientConcentration = "300"


def rf_image(
    ctx: StudyContext,
    frames: np.ndarray,
    *,
    sop_uid: str,
    series_uid: str,
    series_number: int,
    instance_number: int,
    description: str,
    acquired: datetime,
    dap_dgycm2: float,
    fluoro_time_s: float,
    frame_times_ms: list[float] | None,
    contrast_ml: float | None,
    monochrome1: bool = False,
) -> Dataset:
    """An RF image: single frame (scout, MONOCHROME2 spot) or the multi-frame fill-sequence loop.

    ``frame_times_ms`` None → single frame; all equal → Frame Time; otherwise → Frame Time Vector (first
    value 0, as the standard defines the vector as increments from the previous frame).

    ``monochrome1`` writes the pixels as ``4095 − value`` with Photometric Interpretation MONOCHROME1 and the
    window mirrored — the same picture for a reader that honours MONOCHROME1. The RF IOD forbids this
    (dciodvfy reports an Error); it exists only to test readers against what some vendors send.
    """
    ds = _common(
        ctx,
        sop_class=RF_IMAGE_STORAGE,
        sop_uid=sop_uid,
        series_uid=series_uid,
        series_number=series_number,
        instance_number=instance_number,
        modality="RF",
        series_description=description,
        acquired=acquired,
    )
    multi = frames.ndim == 3
    ds.ImageType = ["ORIGINAL", "PRIMARY", "SINGLE PLANE"]
    ds.PixelIntensityRelationship = "LOG"
    # LOG data needs the Modality LUT module; identity rescale keeps stored = modality values.
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    if monochrome1:
        frames = (4095 - frames.astype(np.int32)).astype(np.uint16)
    _pixels(ds, frames, monochrome1=monochrome1, window=ctx.window)
    exposure_ms = 8.0 if multi else 60.0
    _xray_acquisition(
        ds, ctx, exposure_ms=exposure_ms, ma=12.0 if multi else 150.0, dap_dgycm2=dap_dgycm2, fluoro=multi
    )
    ds.IntensifierSize = "430"
    ds.TableMotion = "STATIC"
    ds.DistanceSourceToDetector = f"{ctx.source_to_detector_mm:.1f}"
    _collimator(ds, ctx, display_shutter=True)
    ds.TotalTimeOfFluoroscopy = int(round(fluoro_time_s))
    if contrast_ml is not None:
        _contrast(ds, ctx.study_start + timedelta(seconds=60), contrast_ml)
    if multi and frame_times_ms is not None:
        n = frames.shape[0]
        ds.NumberOfFrames = n
        constant = len(set(frame_times_ms[1:])) == 1
        if constant:
            ds.FrameTime = f"{frame_times_ms[1]:.4g}"
            ds.FrameIncrementPointer = FRAME_TIME_TAG
        else:
            ds.FrameTimeVector = [f"{t:.4g}" for t in frame_times_ms]
            ds.FrameIncrementPointer = FRAME_TIME_VECTOR_TAG
        mean_ms = float(np.mean(frame_times_ms[1:]))
        ds.CineRate = int(round(1000.0 / mean_ms))
        ds.RecommendedDisplayFrameRate = int(round(1000.0 / mean_ms))
        ds.PreferredPlaybackSequencing = 0
        ds.StartTrim = 1
        ds.StopTrim = n
        ds.ActualFrameDuration = int(round(exposure_ms))
        ds.FrameDelay = "0"
    return ds


def dx_spot(
    ctx: StudyContext,
    frame: np.ndarray,
    *,
    sop_uid: str,
    series_uid: str,
    series_number: int,
    instance_number: int,
    description: str,
    acquired: datetime,
    dap_dgycm2: float,
    contrast_ml: float,
) -> Dataset:
    """A MONOCHROME1 spot image as Digital X-Ray Image Storage – For Presentation.

    ``frame`` is given in display polarity (contrast dark = low); it is inverted here so that a reader that
    honours MONOCHROME1 shows exactly the same picture as the RF loop.
    """
    ds = _common(
        ctx,
        sop_class=DX_PRESENTATION_STORAGE,
        sop_uid=sop_uid,
        series_uid=series_uid,
        series_number=series_number,
        instance_number=instance_number,
        modality="DX",
        series_description=description,
        acquired=acquired,
    )
    stored = (4095 - frame.astype(np.int32)).astype(np.uint16)
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = -1
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.PresentationLUTShape = "INVERSE"  # DX: INVERSE is the value paired with MONOCHROME1
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.ViewPosition = "AP"
    ds.PatientPosition = ""
    ds.ImageLaterality = "U"
    _pixels(ds, stored, monochrome1=True, window=ctx.window)
    _xray_acquisition(ds, ctx, exposure_ms=60.0, ma=150.0, dap_dgycm2=dap_dgycm2, fluoro=False)
    for keyword in ("RadiationSetting", "RadiationMode"):  # not part of the DX IOD
        delattr(ds, keyword)
    ds.Grid = "FOCUSED"
    ds.PositionerType = "NONE"
    ds.AcquisitionContextSequence = Sequence()
    ds.ViewCodeSequence = Sequence([_code("399348003", "SCT", "antero-posterior")])
    ds.DetectorType = "SCINTILLATOR"
    ds.DetectorConfiguration = "AREA"
    ds.DetectorID = "SYN-FD43"
    ds.DetectorElementSpacing = ds.ImagerPixelSpacing
    ds.FieldOfViewOrigin = ["0", "0"]
    ds.FieldOfViewRotation = "0"
    ds.FieldOfViewHorizontalFlip = "NO"
    ds.PixelSpacing = [f"{ctx.imager_pixel_spacing_mm / ctx.magnification:.6g}"] * 2
    ds.PixelSpacingCalibrationType = "GEOMETRY"
    ds.PixelSpacingCalibrationDescription = "Imager pixel spacing divided by the estimated magnification"
    ds.AnatomicRegionSequence = Sequence([_code("12921003", "SCT", "Pelvis")])
    _collimator(ds, ctx, display_shutter=True)
    _contrast(ds, ctx.study_start + timedelta(seconds=60), contrast_ml)
    return ds


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    return item


def save(ds: Dataset, path: str | os.PathLike[str]) -> None:
    """Write as a DICOM Part 10 file (preamble + file meta), as a modality would."""
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
