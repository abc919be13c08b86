"""The analysis result: plain dataclasses and their JSON form.

Everything here is a *suggestion* for the radiologist to accept or reject; nothing in this package writes into a
report. Frames are 1-based (as DICOM Referenced Frame Number) and are always given together with a time in s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

SpillType = Literal["free", "loculated", "none", "indeterminate"]


@dataclass(slots=True)
class SideResult:
    """Tube and spill findings for one side of the PATIENT (not of the image)."""

    tube_filled: bool = False
    first_fill_frame: int | None = None
    first_fill_time_s: float | None = None
    spill: SpillType = "none"
    spill_onset_frame: int | None = None
    spill_onset_time_s: float | None = None
    # the measured share of correct spill calls at this side's raw score (tuning split; analysis/calibration.py)
    confidence: float = 0.0
    image_side: str = ""  # "left" / "right" of the displayed image, for overlays
    hydrosalpinx_mm: float | None = None  # widest diameter of a retained, non-spilling sac; None when none
    frames_to_review: tuple[int, int] | None = None  # 1-based frames a-b to look at when not sure
    # not in the JSON: the call before the confidence gate ("indeterminate" replaces it when unsure) and the
    # raw score the calibration table maps to ``confidence`` (the evaluation fits the table from them)
    raw_spill: str = "none"
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "tube_filled": self.tube_filled,
            "first_fill_frame": self.first_fill_frame,
            "first_fill_time_s": self.first_fill_time_s,
            "spill": self.spill,
            "spill_onset_frame": self.spill_onset_frame,
            "spill_onset_time_s": self.spill_onset_time_s,
            "confidence": round(float(self.confidence), 3),
            "hydrosalpinx_mm": None
            if self.hydrosalpinx_mm is None
            else round(float(self.hydrosalpinx_mm), 1),
            "frames_to_review": None if self.frames_to_review is None else list(self.frames_to_review),
            "image_side": self.image_side,
        }


@dataclass(slots=True)
class DefectCandidate:
    """A persistent hole in the cavity mask (polyp, synechia, fibroid, air bubble — the reader decides)."""

    frame: int  # 1-based frame where it is shown best (maximal distension)
    # diameter: of the circle with the same area as the lucency (the truth of a phantom may give the long axis)
    row: float  # pixel centre, full-resolution image coordinates
    column: float
    diameter_mm: float | None  # None when uncalibrated
    diameter_px: float
    first_frame: int
    last_frame: int

    def to_dict(self) -> dict[str, Any]:
        return {
            # plain int / float: numpy scalars from the detector made json.dumps fail (analyze --json crashed)
            "frame": int(self.frame),
            "row": round(float(self.row), 1),
            "column": round(float(self.column), 1),
            "diameter_mm": None if self.diameter_mm is None else round(float(self.diameter_mm), 2),
            "diameter_px": round(float(self.diameter_px), 1),
            "first_frame": int(self.first_frame),
            "last_frame": int(self.last_frame),
        }


@dataclass(slots=True)
class KeyFrame:
    frame: int  # 1-based
    time_s: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "time_s": self.time_s, "reason": self.reason}


@dataclass(slots=True)
class ShapeMetrics:
    """Cavity shape on the frame of maximal distension; lengths in ``unit`` with the calibration basis."""

    frame: int
    fundal_indentation_depth: float | None
    hemicavity_angle_deg: float | None
    intercornual_distance: float | None
    unit: str
    calibration_basis: str

    def to_dict(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(float(v), 2)

        return {
            "frame": self.frame,
            "fundal_indentation_depth": r(self.fundal_indentation_depth),
            "hemicavity_angle_deg": r(self.hemicavity_angle_deg),
            "intercornual_distance": r(self.intercornual_distance),
            "unit": self.unit,
            "calibration_basis": self.calibration_basis,
        }


@dataclass(slots=True)
class FillAnalysis:
    """Result of :func:`hsg_workstation.analysis.analyze_frames` / :func:`analyze_path`."""

    series_uid: str | None
    frames: int
    frame_times_s: list[float | None]
    fill_curve: list[float]  # cavity area per frame
    fill_curve_unit: str  # "mm2" or "px2"
    max_distension_frame: int | None
    intravasation: bool | None  # None: the loop cannot tell (calibrated confidence below the call threshold)
    intravasation_confidence: float
    intravasation_frame: int | None
    sides: dict[str, SideResult]
    defects: list[DefectCandidate]
    key_frames: dict[str, KeyFrame]
    shape: ShapeMetrics | None
    warnings: list[str]
    calibration_basis: str
    patient_left_on_image: str  # "right" (usual AP display) or "left"
    contrast_polarity: str  # "dark" or "bright": how contrast looks in the stored pixel values
    cavity_masks: np.ndarray | None = field(
        default=None, repr=False
    )  # (frames, rows, cols) bool, working res
    # (frames, rows, cols) uint8, working res: 1 = extra-cavitary contrast (tubes, intravasation), 2 = spill
    extra_labels: np.ndarray | None = field(default=None, repr=False)
    working_scale: int = 1  # full-resolution pixels per working pixel
    # not in the JSON: the intravasation call before the confidence gate and its raw score (calibration fit)
    intravasation_raw: bool = False
    intravasation_score: float = 0.0
    max_distension_mask: np.ndarray | None = field(default=None, repr=False)  # full resolution, bool

    def time_of(self, frame: int | None) -> float | None:
        if frame is None or not (1 <= frame <= len(self.frame_times_s)):
            return None
        return self.frame_times_s[frame - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "series_uid": self.series_uid,
            "frames": self.frames,
            "frame_times_s": self.frame_times_s,
            "fill_curve": [round(float(a), 2) for a in self.fill_curve],
            "fill_curve_unit": self.fill_curve_unit,
            "max_distension_frame": self.max_distension_frame,
            "max_distension_time_s": self.time_of(self.max_distension_frame),
            "intravasation": self.intravasation,
            "intravasation_confidence": round(float(self.intravasation_confidence), 3),
            "intravasation_frame": self.intravasation_frame,
            "sides": {k: v.to_dict() for k, v in self.sides.items()},
            "defects": [d.to_dict() for d in self.defects],
            "key_frames": {k: v.to_dict() for k, v in self.key_frames.items()},
            "shape": None if self.shape is None else self.shape.to_dict(),
            "calibration_basis": self.calibration_basis,
            "patient_left_on_image": self.patient_left_on_image,
            "contrast_polarity": self.contrast_polarity,
            "suggestions_only": True,
            "warnings": list(self.warnings),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)
