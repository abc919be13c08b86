"""What one run of the fill-sequence analysis is asked to do: :class:`AnalysisRequest`.

Why an object and not keyword arguments: :func:`hsg_workstation.analysis.pipeline.analyze_frames` had fourteen
keyword arguments and two calling conventions (an array, or a frame getter with a frame count and shape), so
every caller re-assembled the same dictionary and a wrong combination surfaced deep inside the pipeline. The
request is built once (by :meth:`AnalysisRequest.from_frames` for an array in memory, by
:meth:`hsg_workstation.analysis.source.LoopSource.analysis_request` for a loop on disk), checked here, and is
immutable: a caller that needs a variant (the GUI's cancellable frame getter) uses :func:`dataclasses.replace`,
which validates again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hsg_workstation.measurements import Calibration

FrameGetter = Callable[[int], np.ndarray]
#: Smallest working resolution (long side, pixels) the analysis' filters and size thresholds make sense at.
MIN_WORKING_SIZE = 16


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """One loop to analyse and how.

    ``get_frame(index0)`` returns one frame (2-D array of stored values) of ``n_frames`` frames of
    ``frame_shape`` (rows, columns); only a working-resolution copy is held, and the frame of maximal
    distension is decoded again at full resolution. ``decode_in_threads``: ``get_frame`` may be called from
    several threads at once (:func:`hsg_workstation.dicom_io.pixels.frames_decode_independently`); otherwise
    frames are decoded in the calling thread, in order. ``stored_max``: the largest value the decoder can
    return (from Bits Stored, when the decoder masks the rest), which lets the block means add in 16 bits.
    ``frame_times_s``: start of each frame relative to frame 1 (a length that does not match ``n_frames`` is
    reported as a warning of the result and the times are left out — it comes from a header, not from a
    programming error). ``scout``: a contrast-free image of the same matrix, the background fallback.
    """

    get_frame: FrameGetter
    n_frames: int
    frame_shape: tuple[int, int]
    calibration: Calibration | None = None  # None: uncalibrated (set in __post_init__)
    frame_times_s: tuple[float | None, ...] | None = None
    patient_orientation: tuple[str, ...] | None = None
    series_uid: str | None = None
    scout: np.ndarray | None = None
    full_resolution_cavity: bool = True
    working_size: int = 256
    extra_warnings: tuple[str, ...] = ()
    decode_in_threads: bool = False
    stored_max: int | None = None

    def __post_init__(self) -> None:
        if not callable(self.get_frame):
            raise TypeError(
                f"AnalysisRequest.get_frame must be callable, got {type(self.get_frame).__name__}"
            )
        if (
            isinstance(self.n_frames, bool)
            or not isinstance(self.n_frames, int | np.integer)
            or self.n_frames < 1
        ):
            raise ValueError(f"AnalysisRequest.n_frames must be a positive integer, got {self.n_frames!r}")
        shape = tuple(self.frame_shape)
        if len(shape) != 2 or not all(isinstance(v, int | np.integer) and v >= 1 for v in shape):
            raise ValueError(
                f"AnalysisRequest.frame_shape must be (rows, columns) of positive integers, got {self.frame_shape!r}"
            )
        if isinstance(self.working_size, bool) or not isinstance(self.working_size, int | np.integer):
            raise ValueError(f"AnalysisRequest.working_size must be an integer, got {self.working_size!r}")
        if self.working_size < MIN_WORKING_SIZE:
            raise ValueError(
                f"AnalysisRequest.working_size must be at least {MIN_WORKING_SIZE}, got {self.working_size}"
            )
        if self.stored_max is not None and not (
            isinstance(self.stored_max, int | np.integer) and 1 <= int(self.stored_max) <= 2**32
        ):
            raise ValueError(f"AnalysisRequest.stored_max must be None or 1..2^32, got {self.stored_max!r}")
        if self.scout is not None and np.ndim(self.scout) != 2:
            raise ValueError(f"AnalysisRequest.scout must be one 2-D frame, got shape {np.shape(self.scout)}")
        if self.calibration is not None and not isinstance(self.calibration, Calibration):
            raise TypeError(
                f"AnalysisRequest.calibration must be a Calibration, got {type(self.calibration).__name__}"
            )
        # plain, immutable values (a caller's list cannot change the request afterwards)
        object.__setattr__(self, "n_frames", int(self.n_frames))
        object.__setattr__(self, "frame_shape", (int(shape[0]), int(shape[1])))
        object.__setattr__(self, "working_size", int(self.working_size))
        if self.stored_max is not None:
            object.__setattr__(self, "stored_max", int(self.stored_max))
        if self.calibration is None:
            object.__setattr__(self, "calibration", Calibration.uncalibrated())
        if self.frame_times_s is not None:
            object.__setattr__(
                self, "frame_times_s", tuple(None if t is None else float(t) for t in self.frame_times_s)
            )
        if self.patient_orientation is not None:
            object.__setattr__(self, "patient_orientation", tuple(str(v) for v in self.patient_orientation))
        object.__setattr__(self, "extra_warnings", tuple(str(w) for w in self.extra_warnings))

    @classmethod
    def from_frames(cls, frames: np.ndarray | Sequence[Any], **options: Any) -> AnalysisRequest:
        """A request for frames already in memory: (frames, rows, columns), or one 2-D frame. ``options`` are
        the other fields (``calibration``, ``frame_times_s``, ``patient_orientation``, ...). An array can be
        read from any thread, so ``decode_in_threads`` is true."""
        arr = np.asarray(frames)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise ValueError(f"frames must be (frames, rows, columns), got shape {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError("frames must hold at least one frame, got 0")

        def get_frame(i: int) -> np.ndarray:
            return arr[i]

        options.setdefault("decode_in_threads", True)
        return cls(
            get_frame=get_frame, n_frames=arr.shape[0], frame_shape=(arr.shape[1], arr.shape[2]), **options
        )
