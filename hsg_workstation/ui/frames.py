"""Adapter between the viewer and the foundation's pixel pipeline (:mod:`hsg_workstation.dicom_io.pixels`).

The viewer only talks to this module: headers, one-frame decode, VOI presets (file + built-in), timing and
calibration. Behind it, :class:`~hsg_workstation.dicom_io.pixels.FrameSource` reads and validates the header
once per file and decodes one frame at a time (never a whole loop to show one frame), and
:func:`~hsg_workstation.dicom_io.timing.frame_timing` / :func:`calibration_from_dataset` apply the foundation's
rules, so the viewer and the report/analysis never disagree on a frame time or a millimetre.

The fast display path is "array + explicit levels": a linear window becomes (lo, hi) for pyqtgraph and a W/L
change is a ``setLevels`` with no pixel work. Only VOI LUT items and SIGMOID produce a uint8 image (via the
FrameSource's cached ``np.take`` table).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hsg_workstation.dicom_io import pixels
from hsg_workstation.dicom_io.calibration import calibration_from_dataset
from hsg_workstation.dicom_io.orientation import PatientOrientation, orientation_of
from hsg_workstation.dicom_io.timing import FrameTiming, frame_timing
from hsg_workstation.dicom_io.voi import VoiPreset, levels_to_window, window_to_levels
from hsg_workstation.errors import DicomReadError
from hsg_workstation.measurements import Calibration

LINEAR, LINEAR_EXACT, SIGMOID, LUT = pixels.LINEAR, pixels.LINEAR_EXACT, pixels.SIGMOID, pixels.LUT
# the display window (a preset, levels <-> window) is Qt-free data the reading session holds: dicom_io/voi.py
__all__ = ["VoiPreset", "levels_to_window", "window_to_levels"]


@dataclass(frozen=True)
class ImageHeader:
    """What the viewer needs to know about one image file (header read once, by the FrameSource)."""

    path: Path
    source: pixels.FrameSource
    sop_instance_uid: str
    rows: int
    columns: int
    number_of_frames: int
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
    patient_orientation: PatientOrientation | None = None  # (0020,0020); None = unknown, never guessed

    @property
    def invert(self) -> bool:
        """MONOCHROME1 or Presentation LUT Shape INVERSE: shown inverted (once)."""
        return self.source.invert

    @property
    def is_color(self) -> bool:
        return self.source.is_color

    def default_preset(self) -> VoiPreset:
        """The file's first window, else its first VOI LUT, else the full stored range (never auto-levels)."""
        for p in self.presets:
            if p.source == "file":
                return p
        for p in self.presets:
            if p.source == "voi_lut":
                return p
        return self.presets[0] if self.presets else full_range_preset(self.pixel_min, self.pixel_max)


def full_range_preset(lo: float, hi: float) -> VoiPreset:
    return VoiPreset(
        "Full range", (lo + hi) / 2.0, max(hi - lo, 1.0), "All possible values", "builtin", LINEAR_EXACT
    )


def builtin_presets(lo: float, hi: float) -> tuple[VoiPreset, ...]:
    """Presets that make sense on any fluoroscopy frame, relative to the possible value range.

    HSG loops are read for iodine against soft tissue: the narrow presets put the filled cavity and tubes at the
    dark end and stretch what is left, where thin peritoneal spill lives.
    """
    span = hi - lo
    out = [full_range_preset(lo, hi)]
    for name, c_frac, w_frac, why in (
        ("Contrast (HSG)", 0.45, 0.6, "iodine column and tubes against soft tissue"),
        ("Spill / faint contrast", 0.6, 0.35, "narrow window for thin peritoneal spill"),
        ("Soft", 0.5, 0.9, "wide window, low contrast"),
    ):
        out.append(VoiPreset(name, lo + c_frac * span, max(w_frac * span, 1.0), why, "builtin"))
    return tuple(out)


def read_header(path: str | Path) -> ImageHeader:
    """Header of one image file; DicomReadError names the file and what is wrong."""
    path = Path(path)
    try:
        source = pixels.FrameSource(path)
    except DicomReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure is a clear message, not a crash
        raise DicomReadError(f"{path.name}: not readable as an image ({exc})") from exc
    ds = source.header
    lo, hi = source.modality_range()
    file_presets = []
    for p in source.voi_presets():
        kind = "voi_lut" if p.function == LUT else "file"
        expl = p.explanation or (
            "lookup table from the file" if kind == "voi_lut" else "window from the file"
        )
        name = f"VOI LUT: {p.name}" if kind == "voi_lut" else p.name
        file_presets.append(VoiPreset(name, p.center, p.width, expl, kind, p.function, p.lut_index))
    try:
        timing = frame_timing(ds)
    except Exception:  # noqa: BLE001 - timing must never stop a loop from showing
        n = source.number_of_frames
        timing = FrameTiming((1000.0 / 7.5,) * n, "default 7.5 fps (timing attributes unreadable)")
    return ImageHeader(
        path=path,
        source=source,
        sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
        rows=source.rows,
        columns=source.columns,
        number_of_frames=source.number_of_frames,
        pixel_min=lo,
        pixel_max=hi,
        presets=tuple(file_presets) + builtin_presets(lo, hi),
        timing=timing,
        calibration=calibration_from_dataset(ds),
        patient_name=str(ds.get("PatientName", "") or ""),
        patient_id=str(ds.get("PatientID", "") or ""),
        study_date=str(ds.get("StudyDate", "") or ""),
        series_description=str(ds.get("SeriesDescription", "") or ""),
        series_number=str(ds.get("SeriesNumber", "") or ""),
        modality=str(ds.get("Modality", "") or ""),
        patient_orientation=orientation_of(ds),
    )


def decode_frame(header: ImageHeader, index: int) -> np.ndarray:
    """Decode ONE frame (0-based) through the modality LUT; C-contiguous, uint16 kept when possible.

    Non-integer rescales come back as float64 from the pipeline; float32 halves memory and is what pyqtgraph
    converts to anyway.
    """
    try:
        arr = header.source.modality_frame(index)
    except DicomReadError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise DicomReadError(f"{header.path.name}: frame {index + 1} cannot be decoded ({exc})") from exc
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return np.ascontiguousarray(arr)


def table_image(header: ImageHeader, frame: np.ndarray, preset: VoiPreset) -> np.ndarray:
    """uint8 image for SIGMOID / VOI LUT presets (the pipeline's cached table)."""
    image, levels = header.source.display_image(frame, preset.as_pixels())
    if levels is not None:  # a linear preset slipped through: apply it the reference way
        image = pixels.apply_levels(image, levels)
    return image


def percentile_levels(frame: np.ndarray, low: float = 1.0, high: float = 99.0) -> tuple[float, float]:
    """Auto window from percentiles on a subsample (fast on 1024², robust to a few hot pixels)."""
    sample = frame[::4, ::4] if frame.shape[0] >= 64 else frame
    lo, hi = np.percentile(sample, [low, high])
    if hi <= lo:
        hi = lo + 1
    return float(lo), float(hi)
