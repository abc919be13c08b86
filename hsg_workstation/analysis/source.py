"""Reading a fill sequence from DICOM for the analysis: pick the loop, decode one frame at a time.

Decoding goes through the shared pixel pipeline (:func:`hsg_workstation.dicom_io.pixels.decode_frame`), one
(path, index) at a time, compressed frames in a decoder process (:func:`~hsg_workstation.dicom_io.isolated.
decode_frame_safe`: a native decoder that aborts on a damaged stream costs that frame, not ``analyze`` or the
viewer running the analysis — issue 16); only a working-resolution copy of the loop is held in memory (60 frames of 1024² would
otherwise be 250 MB of float32).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from hsg_workstation.analysis.request import AnalysisRequest
from hsg_workstation.dicom_io import isolated, pixels
from hsg_workstation.dicom_io.calibration import calibration_from_dataset, calibration_warnings
from hsg_workstation.dicom_io.reader import (
    acquisition_datetime,
    convert_attributes,
    number_of_frames,
    read_header,
)
from hsg_workstation.dicom_io.timing import frame_timing
from hsg_workstation.errors import DicomReadError, HsgError
from hsg_workstation.measurements import Calibration


class AnalysisInputError(HsgError):
    """The path given to the analysis holds no analysable fill sequence; the message says why."""


#: Smallest frame the analysis accepts: its filters and the 25 cm field assumption need some pixels across
#: (loops 1–3 pixels wide ended in an IndexError deep inside NumPy).
MIN_ANALYSIS_PIXELS = 32
#: Header attributes the analysis reads; converted up front so a corrupt one is named (issue 16).
_ANALYSIS_KEYWORDS = (
    "FrameIncrementPointer",
    "FrameTime",
    "FrameTimeVector",
    "RecommendedDisplayFrameRate",
    "CineRate",
    "PatientOrientation",
    "PhotometricInterpretation",
    "PixelRepresentation",
    "BitsStored",
    "StudyInstanceUID",
    "SeriesInstanceUID",
)


def decode_frame(path: Path, index: int, header: Dataset | None = None) -> np.ndarray:
    """One frame (0-based) as a 2-D array of stored values, via the shared pixel pipeline of ``dicom_io``;
    compressed frames are decoded in a worker process (the header is read — validated — when not given)."""
    arr = isolated.decode_frame_safe(path, index, header if header is not None else read_header(path))
    if arr.ndim == 3:  # colour (secondary capture): a grey value is enough to see contrast
        arr = arr.mean(axis=-1)
    return arr


def loop_header_facts(ds: Dataset) -> tuple[Calibration, list[float | None], list[str] | None, list[str]]:
    """Calibration, frame start times (s), Patient Orientation and warnings from a loop header."""
    warnings: list[str] = []
    n = number_of_frames(ds)
    timing = frame_timing(ds)
    times: list[float | None]
    if timing.is_default:
        times = [None] * n
        warnings.append(
            "no frame timing attributes (Frame Time / Frame Time Vector / frame rate): times are null"
        )
    else:
        times = [round(t / 1000.0, 4) for t in timing.start_times_ms()][:n]
        times += [None] * (n - len(times))
    orientation = ds.get("PatientOrientation")
    po = [str(v) for v in orientation] if orientation else None
    return calibration_from_dataset(ds), times, po, warnings


@dataclass(slots=True)
class LoopSource:
    """A multi-frame fill sequence on disk and what the analysis needs from its header."""

    path: Path
    header: Dataset
    n_frames: int
    shape: tuple[int, int]
    calibration: Calibration
    frame_times_s: list[float | None]
    patient_orientation: list[str] | None
    series_uid: str | None
    photometric: str
    scout_path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def get_frame(self, index: int) -> np.ndarray:
        return decode_frame(self.path, index, self.header)

    def analysis_request(
        self,
        get_frame: Callable[[int], np.ndarray] | None = None,
        *,
        scout: np.ndarray | None = None,
        working_size: int = 256,
        full_resolution_cavity: bool = True,
    ) -> AnalysisRequest:
        """The :class:`AnalysisRequest` for this loop; ``get_frame`` replaces :meth:`get_frame` (e.g. to make
        decoding cancellable)."""
        return AnalysisRequest(
            get_frame=self.get_frame if get_frame is None else get_frame,
            n_frames=self.n_frames,
            frame_shape=self.shape,
            calibration=self.calibration,
            frame_times_s=tuple(self.frame_times_s),
            patient_orientation=None if self.patient_orientation is None else tuple(self.patient_orientation),
            series_uid=self.series_uid,
            scout=scout,
            full_resolution_cavity=full_resolution_cavity,
            working_size=working_size,
            extra_warnings=tuple(self.warnings),
            decode_in_threads=pixels.frames_decode_independently(self.header),
            stored_max=self.stored_max,
        )

    @property
    def stored_max(self) -> int | None:
        """Largest stored value of an unsigned native loop (2^BitsStored - 1): that reader masks the bits above
        Bits Stored, so no frame can exceed it. None for other loops (decoders of compressed data give no such
        guarantee on a damaged stream)."""
        if not pixels.frames_decode_independently(self.header):
            return None
        if int(self.header.get("PixelRepresentation", 0) or 0) != 0:
            return None
        bits = self.header.get("BitsStored")
        try:
            bits = int(bits)
        except (TypeError, ValueError):
            return None
        return (1 << bits) - 1 if 1 <= bits <= 16 else None


def _iter_files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            yield Path(dirpath) / name


def open_loop(path: str | os.PathLike[str]) -> LoopSource:
    """The fill sequence at ``path``: a multi-frame image file, or the longest loop in a study/series folder.

    A single-frame image of the same study and matrix acquired before the loop is remembered as the scout (a
    fallback background when the loop has no contrast-free frames).
    """
    p = Path(path)
    if not p.exists():
        raise AnalysisInputError(f"{p}: no such file or directory")
    candidates: list[tuple[Path, Dataset]] = []
    singles: list[tuple[Path, Dataset]] = []
    skipped = 0
    files = [p] if p.is_file() else list(_iter_files(p))
    for f in files:
        try:
            ds = read_header(f)
        except DicomReadError:
            if p.is_file():
                raise
            if f.suffix.lower() in (
                "",
                ".dcm",
                ".dicom",
                ".ima",
            ):  # not the truth.json / notes next to a study
                skipped += 1
            continue
        if "Rows" not in ds or "Columns" not in ds:
            continue
        (candidates if number_of_frames(ds) > 1 else singles).append((f, ds))
    if not candidates:
        if p.is_file():
            raise AnalysisInputError(
                f"{p}: a single-frame image (NumberOfFrames 1); the analysis needs a loop"
            )
        raise AnalysisInputError(
            f"{p}: no multi-frame image (fill sequence) found among {len(files)} file(s)"
        )
    loop_path, ds = max(candidates, key=lambda c: number_of_frames(c[1]))
    warnings: list[str] = []
    if len(candidates) > 1:
        warnings.append(
            f"{len(candidates)} loops found; analysed the longest ({number_of_frames(ds)} frames)"
        )
    if skipped:
        warnings.append(f"{skipped} file(s) under the folder were not readable DICOM and were ignored")
    rows, columns = int(ds.Rows), int(ds.Columns)
    if min(rows, columns) < MIN_ANALYSIS_PIXELS:
        raise AnalysisInputError(
            f"{loop_path}: frames of {rows} × {columns} pixels are too small for the analysis "
            f"(at least {MIN_ANALYSIS_PIXELS} × {MIN_ANALYSIS_PIXELS})"
        )
    try:
        convert_attributes(ds, loop_path, _ANALYSIS_KEYWORDS)
    except DicomReadError as exc:
        raise AnalysisInputError(str(exc)) from exc
    calibration, times, po, more = loop_header_facts(ds)
    warnings.extend(more)
    warnings.extend(calibration_warnings(ds))
    loop_dt = acquisition_datetime(ds) or ""
    same_size = [
        (f, s)
        for f, s in singles
        if s.get("StudyInstanceUID") == ds.get("StudyInstanceUID")
        and int(s.Rows) == int(ds.Rows)
        and int(s.Columns) == int(ds.Columns)
        and (acquisition_datetime(s) or "") < loop_dt
    ]
    scout = min(same_size, key=lambda c: acquisition_datetime(c[1]) or "")[0] if same_size else None
    return LoopSource(
        path=loop_path,
        header=ds,
        n_frames=number_of_frames(ds),
        shape=(int(ds.Rows), int(ds.Columns)),
        calibration=calibration,
        frame_times_s=times,
        patient_orientation=po,
        series_uid=str(ds.get("SeriesInstanceUID", "")) or None,
        photometric=str(ds.get("PhotometricInterpretation", "")),
        scout_path=scout,
        warnings=warnings,
    )


def analyze_path(
    path: str | os.PathLike[str], *, working_size: int = 256, full_resolution_cavity: bool = True
):  # -> FillAnalysis (import kept lazy)
    """Open the loop at ``path`` and run :func:`hsg_workstation.analysis.pipeline.analyze_frames` on it."""
    from hsg_workstation.analysis.pipeline import analyze_frames

    src = open_loop(path)
    scout = None
    if src.scout_path is not None:
        try:
            scout = decode_frame(src.scout_path, 0)
        except DicomReadError:
            scout = None
        if scout is not None and scout.shape != src.shape:
            scout = None  # open_loop matched the header's matrix; a frame that decodes otherwise is not used
    return analyze_frames(
        src.analysis_request(
            scout=scout, working_size=working_size, full_resolution_cavity=full_resolution_cavity
        )
    )


def analyze_dataset(
    ds: Dataset,
    *,
    scout: Dataset | None = None,
    working_size: int = 256,
    full_resolution_cavity: bool = True,
):  # -> FillAnalysis
    """Analyse an in-memory multi-frame dataset (e.g. from the sample generator); header rules as for files."""
    from hsg_workstation.analysis.pipeline import analyze_frames

    calibration, times, po, warnings = loop_header_facts(ds)
    scout_px = None
    if scout is not None and int(scout.Rows) == int(ds.Rows) and int(scout.Columns) == int(ds.Columns):
        scout_px = scout.pixel_array
        if scout_px.ndim != 2:
            scout_px = None  # a multi-frame or colour "scout" is not a background
    return analyze_frames(
        AnalysisRequest.from_frames(
            ds.pixel_array,
            calibration=calibration,
            frame_times_s=times,
            patient_orientation=po,
            series_uid=str(ds.get("SeriesInstanceUID", "")) or None,
            scout=scout_px,
            extra_warnings=warnings,
            working_size=working_size,
            full_resolution_cavity=full_resolution_cavity,
        )
    )
