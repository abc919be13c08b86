"""Adapter between the viewer and the pixel pipeline: headers, one-frame decode, VOI presets, timing, calibration.

The viewer only talks to this module, so the pipeline behind it (``hsg_workstation.dicom_io.pixels`` /
``timing`` / ``calibration`` when present, plain pydicom otherwise) can change without touching the widgets.
Everything here is thread-safe in the simple sense that nothing shares an open Dataset: each call reads the
file again (pydicom notes: never share a Dataset across threads).

The fast display path is "array + explicit levels": the viewport hands a uint16/float frame and (lo, hi) to
pyqtgraph, so a window/level change is a ``setLevels`` and no pixel work. Only VOI LUT sequences and SIGMOID
need a per-value table; that table is built once per (header, window) and applied with ``np.take``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from hsg_workstation.errors import DicomReadError
from hsg_workstation.measurements import Calibration, CalibrationBasis


@dataclass(frozen=True, slots=True)
class VoiPreset:
    """A window (center, width) with a name and the explanation a reader sees in the menu."""

    name: str
    center: float
    width: float
    explanation: str = ""
    source: str = "file"  # "file" (from the DICOM header), "builtin", "voi_lut"
    function: str = "LINEAR"  # LINEAR, LINEAR_EXACT, SIGMOID

    @property
    def levels(self) -> tuple[float, float]:
        return window_to_levels(self.center, self.width)


def window_to_levels(center: float, width: float) -> tuple[float, float]:
    """DICOM window (C.11.2.1.2) to the (lo, hi) pair pyqtgraph wants."""
    width = max(width, 1.0)
    return (center - 0.5 - (width - 1) / 2.0, center - 0.5 + (width - 1) / 2.0)


def levels_to_window(lo: float, hi: float) -> tuple[float, float]:
    width = max(hi - lo + 1.0, 1.0)
    return (lo + 0.5 + (width - 1) / 2.0, width)


@dataclass(frozen=True, slots=True)
class FrameTiming:
    """Display duration of each frame in ms and which attribute it came from (shown in the UI)."""

    frame_durations_ms: tuple[float, ...]
    source: str


@dataclass(frozen=True)
class ImageHeader:
    """What the viewer needs to know about one image file, read once with ``stop_before_pixels``."""

    path: Path
    sop_instance_uid: str
    rows: int
    columns: int
    number_of_frames: int
    photometric: str
    bits_stored: int
    pixel_min: float
    pixel_max: float
    presets: tuple[VoiPreset, ...]
    timing: FrameTiming
    calibration: Calibration
    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    series_description: str = ""
    series_number: str = ""
    modality: str = ""
    voi_lut_function: str = "LINEAR"
    has_voi_lut_sequence: bool = False
    rescale: tuple[float, float] = (1.0, 0.0)
    extra: dict = field(default_factory=dict)

    @property
    def monochrome1(self) -> bool:
        return self.photometric == "MONOCHROME1"

    @property
    def is_color(self) -> bool:
        return not self.photometric.startswith("MONOCHROME")

    def default_preset(self) -> VoiPreset:
        """The file's first window, else the full range of the stored values (never auto-levels)."""
        for p in self.presets:
            if p.source in ("file", "voi_lut"):
                return p
        return full_range_preset(self)


def full_range_preset(header: ImageHeader) -> VoiPreset:
    lo, hi = header.pixel_min, header.pixel_max
    c, w = levels_to_window(lo, hi)
    return VoiPreset("Full range", c, w, "All stored values, no windowing", source="builtin")


def builtin_presets(header: ImageHeader) -> tuple[VoiPreset, ...]:
    """Presets that make sense on any fluoroscopy frame, expressed relative to the stored range.

    HSG loops are read for contrast against soft tissue: the narrow presets put the iodine-filled cavity and
    tubes at the dark end and stretch the remaining range.
    """
    lo, hi = header.pixel_min, header.pixel_max
    span = hi - lo
    out = [full_range_preset(header)]
    for name, c_frac, w_frac, why in (
        ("Contrast (HSG)", 0.45, 0.6, "Iodine column and tubes vs soft tissue"),
        ("Spill / faint contrast", 0.6, 0.35, "Narrow window to see thin peritoneal spill"),
        ("Soft", 0.5, 0.9, "Wide window, low contrast"),
    ):
        out.append(VoiPreset(name, lo + c_frac * span, max(w_frac * span, 1.0), why, source="builtin"))
    return tuple(out)


def _floats(value) -> list[float]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or hasattr(value, "__iter__") and not isinstance(value, str):
        return [float(v) for v in value]
    return [float(value)]


def _strs(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return [str(v) for v in value]
    except TypeError:
        return [str(value)]


def frame_timing_from_dataset(ds: Dataset) -> FrameTiming:
    """Frame durations: Frame Time Vector (variable), Frame Time, Cine Rate, Recommended Display Frame Rate."""
    n = int(getattr(ds, "NumberOfFrames", 1) or 1)
    try:
        from hsg_workstation.dicom_io.timing import frame_timing  # the foundation's rules win when present

        t = frame_timing(ds)
        return FrameTiming(tuple(float(x) for x in t.frame_durations_ms), str(t.source))
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - fall back to the simple rules below rather than refuse to show the loop
        pass
    ftv = _floats(ds.get("FrameTimeVector"))
    if len(ftv) == n and n > 1:
        # Element i is the increment from frame i-1 to frame i (element 0 is 0): frame i lasts ftv[i+1].
        increments = [x for x in ftv[1:] if x > 0]
        mean = sum(increments) / len(increments) if increments else 100.0
        durations = [ftv[i + 1] if ftv[i + 1] > 0 else mean for i in range(n - 1)] + [mean]
        return FrameTiming(tuple(durations), "Frame Time Vector")
    for keyword, to_ms, source in (
        ("FrameTime", lambda v: v, "Frame Time"),
        ("CineRate", lambda v: 1000.0 / v, "Cine Rate"),
        ("RecommendedDisplayFrameRate", lambda v: 1000.0 / v, "Recommended Display Frame Rate"),
    ):
        v = ds.get(keyword)
        try:
            if v is not None and float(v) > 0:
                return FrameTiming((float(to_ms(float(v))),) * n, source)
        except (TypeError, ValueError):
            continue
    return FrameTiming((1000.0 / 15.0,) * n, "default 15 fps (no timing attributes)")


def calibration_from_dataset(ds: Dataset) -> Calibration:
    try:
        from hsg_workstation.dicom_io.calibration import calibration_from_dataset as foundation

        return foundation(ds)
    except ImportError:
        pass
    except Exception:  # noqa: BLE001
        pass
    ps = _floats(ds.get("PixelSpacing"))
    if len(ps) == 2 and all(v > 0 for v in ps):
        return Calibration(ps[0], ps[1], CalibrationBasis.PIXEL_SPACING)
    ips = _floats(ds.get("ImagerPixelSpacing"))
    if len(ips) == 2 and all(v > 0 for v in ips):
        ermf = ds.get("EstimatedRadiographicMagnificationFactor")
        try:
            ermf_f = float(ermf) if ermf is not None else 0.0
        except (TypeError, ValueError):
            ermf_f = 0.0
        if ermf_f > 0:
            return Calibration(ips[0] / ermf_f, ips[1] / ermf_f, CalibrationBasis.MAGNIFICATION_CORRECTED)
        return Calibration(ips[0], ips[1], CalibrationBasis.DETECTOR)
    return Calibration.uncalibrated()


def _presets_from_dataset(ds: Dataset) -> list[VoiPreset]:
    centers = _floats(ds.get("WindowCenter"))
    widths = _floats(ds.get("WindowWidth"))
    names = _strs(ds.get("WindowCenterWidthExplanation"))
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    out = []
    for i, (c, w) in enumerate(zip(centers, widths, strict=False)):
        name = names[i] if i < len(names) and names[i] else f"File window {i + 1}"
        out.append(VoiPreset(name, c, w, f"From the file (C {c:g} / W {w:g})", "file", function))
    seq = ds.get("VOILUTSequence")
    if seq:
        for i, item in enumerate(seq):
            expl = str(item.get("LUTExplanation", "") or f"VOI LUT {i + 1}")
            out.insert(i, VoiPreset(f"VOI LUT: {expl}", 0.0, 0.0, "Lookup table from the file", "voi_lut"))
    return out


def read_header(path: str | Path) -> ImageHeader:
    """Read the display-relevant header of one image file; DicomReadError names the file and the problem."""
    path = Path(path)
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # noqa: BLE001
        raise DicomReadError(f"{path.name}: not readable as DICOM ({exc})") from exc
    return header_from_dataset(ds, path)


def header_from_dataset(ds: Dataset, path: Path) -> ImageHeader:
    missing = [k for k in ("Rows", "Columns", "BitsStored") if k not in ds]
    if missing:
        raise DicomReadError(f"{path.name}: no image — missing {', '.join(missing)}")
    bits = int(ds.BitsStored)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    smin, smax = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    vals = sorted((smin * slope + intercept, smax * slope + intercept))
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    header = ImageHeader(
        path=path,
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        number_of_frames=int(ds.get("NumberOfFrames", 1) or 1),
        photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2")),
        bits_stored=bits,
        pixel_min=float(vals[0]),
        pixel_max=float(vals[1]),
        presets=tuple(_presets_from_dataset(ds)),
        timing=frame_timing_from_dataset(ds),
        calibration=calibration_from_dataset(ds),
        patient_name=str(ds.get("PatientName", "")),
        patient_id=str(ds.get("PatientID", "")),
        study_date=str(ds.get("StudyDate", "")),
        series_description=str(ds.get("SeriesDescription", "")),
        series_number=str(ds.get("SeriesNumber", "")),
        modality=str(ds.get("Modality", "")),
        voi_lut_function=function,
        has_voi_lut_sequence=bool(ds.get("VOILUTSequence")),
        rescale=(slope, intercept),
    )
    object.__setattr__(header, "presets", header.presets + builtin_presets(header))
    return header


def decode_frame(header: ImageHeader, index: int) -> np.ndarray:
    """Decode ONE frame (0-based) and apply the modality LUT; returns C-contiguous row-major pixels.

    Rescale is applied as float32 only when the file has a non-identity slope/intercept, so the common RF case
    stays uint16 (half the memory and the fast pyqtgraph path).
    """
    if not 0 <= index < header.number_of_frames:
        raise DicomReadError(
            f"{header.path.name}: frame {index + 1} does not exist ({header.number_of_frames} frames)"
        )
    try:
        arr = pydicom.pixels.pixel_array(
            str(header.path), index=index if header.number_of_frames > 1 else None
        )
    except Exception as exc:  # noqa: BLE001
        raise DicomReadError(f"{header.path.name}: frame {index + 1} cannot be decoded ({exc})") from exc
    if arr.ndim == 3 and header.number_of_frames > 1 and not header.is_color:
        arr = arr[0]
    slope, intercept = header.rescale
    if (slope, intercept) != (1.0, 0.0):
        arr = arr.astype(np.float32) * np.float32(slope) + np.float32(intercept)
    return np.ascontiguousarray(arr)


@lru_cache(maxsize=32)
def _voi_lut_table(path: Path, preset_index: int, bits: int, signed: bool) -> np.ndarray:
    """uint8 table over every stored value for the file's VOI LUT sequence item (applied with np.take)."""
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    from pydicom.pixels import apply_voi

    values = np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else np.arange(0, 2**bits)
    out = apply_voi(values, ds, index=preset_index).astype(np.float64)
    lo, hi = float(out.min()), float(out.max())
    return np.clip((out - lo) * 255.0 / max(hi - lo, 1e-9), 0, 255).astype(np.uint8)


def voi_lut_table(header: ImageHeader, preset_index: int) -> np.ndarray:
    return _voi_lut_table(header.path, preset_index, header.bits_stored, header.pixel_min < 0)


def sigmoid_table(header: ImageHeader, center: float, width: float) -> tuple[np.ndarray, float]:
    """uint8 table for VOI LUT Function SIGMOID (C.11.2.1.3.1) over the stored range; returns (table, offset)."""
    lo = int(math.floor(header.pixel_min))
    hi = int(math.ceil(header.pixel_max))
    x = np.arange(lo, hi + 1, dtype=np.float64)
    y = 255.0 / (1.0 + np.exp(-4.0 * (x - center) / max(width, 1.0)))
    return y.astype(np.uint8), float(lo)


def apply_table(frame: np.ndarray, table: np.ndarray, offset: float = 0.0) -> np.ndarray:
    idx = frame if offset == 0 and frame.dtype.kind == "u" else (frame - offset)
    idx = np.clip(idx, 0, len(table) - 1).astype(np.intp, copy=False)
    return np.take(table, idx)


def percentile_levels(frame: np.ndarray, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
    """Auto window from percentiles on a subsample (fast on 1024², robust to a few hot pixels)."""
    sample = frame[::4, ::4] if frame.ndim == 2 else frame
    lo, hi = np.percentile(sample, [low, high])
    if hi <= lo:
        hi = lo + 1
    return float(lo), float(hi)
