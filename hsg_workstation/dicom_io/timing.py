"""Frame timing of a multi-frame (cine) image: how long each frame is shown during playback.

Rules, first match wins (PS3.3 C.7.6.5 Cine Module, C.7.6.6 Multi-frame Module):

1. Frame Increment Pointer (0028,0009) names the attribute that holds the timing: Frame Time (0018,1063) — the
   same interval between every frame — or Frame Time Vector (0018,1065) — the interval before each frame, the first
   value being 0. Frame *n* is shown until frame *n + 1* is due, so its duration is the vector's next entry; the
   last frame repeats the last interval.
2. Frame Time or Frame Time Vector present without a pointer (common in real RF files): used the same way.
3. Recommended Display Frame Rate (0008,2144), in frames per second.
4. Cine Rate (0018,0040), in frames per second.
5. :data:`DEFAULT_FPS` = 7.5 frames/s. Pulsed fluoroscopy for HSG is acquired at low pulse rates (3–7.5 pulses/s
   keep the ovarian dose down); 7.5 is the common middle of what units store, so a loop without timing plays at a
   plausible, not a video-like, speed. ``source`` says the default was used so the viewer can show it.

Invalid values (zero, negative, not a number, a vector of the wrong length) are ignored and the next rule applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydicom.dataset import Dataset

from hsg_workstation.dicom_io.reader import positive_number

DEFAULT_FPS = 7.5
FRAME_TIME_TAG = 0x00181063
FRAME_TIME_VECTOR_TAG = 0x00181065


class TimingOrigin(StrEnum):
    """Which rule of the module docstring gave the timing (``source`` says it in words, for the user)."""

    FRAME_TIME = "frame_time"  # Frame Time (0018,1063), with or without Frame Increment Pointer
    FRAME_TIME_VECTOR = "frame_time_vector"  # Frame Time Vector (0018,1065)
    FRAME_RATE = "frame_rate"  # Recommended Display Frame Rate (0008,2144) or Cine Rate (0018,0040)
    SINGLE_FRAME = "single_frame"
    DEFAULT = "default"  # no usable timing attribute: DEFAULT_FPS


_ORIGIN_NAMES = {
    TimingOrigin.FRAME_TIME: "Frame Time",
    TimingOrigin.FRAME_TIME_VECTOR: "Frame Time Vector",
    TimingOrigin.FRAME_RATE: "frame rate attribute",
    TimingOrigin.SINGLE_FRAME: "single frame",
    TimingOrigin.DEFAULT: f"default {DEFAULT_FPS:g} fps",
}


@dataclass(frozen=True, slots=True)
class FrameTiming:
    """Display duration of each frame in ms, which attribute (or default) it came from in words (``source``),
    and which rule that was (``origin``: what code tests, instead of parsing ``source``)."""

    frame_durations_ms: tuple[float, ...]
    source: str
    origin: TimingOrigin = TimingOrigin.DEFAULT

    @property
    def attribute_name(self) -> str:
        """The rule in a few words for a narrow place (the cine bar); ``source`` has the tags and details."""
        return _ORIGIN_NAMES[self.origin]

    @property
    def is_default(self) -> bool:
        """True when no timing attribute was usable (the loop plays at DEFAULT_FPS, times are unknown)."""
        return self.origin is TimingOrigin.DEFAULT

    @property
    def frame_count(self) -> int:
        return len(self.frame_durations_ms)

    @property
    def total_ms(self) -> float:
        return float(sum(self.frame_durations_ms))

    @property
    def mean_fps(self) -> float:
        """Average playback rate in frames per second."""
        total = self.total_ms
        return 1000.0 * self.frame_count / total if total > 0 else DEFAULT_FPS

    def start_times_ms(self) -> tuple[float, ...]:
        """When each frame starts, relative to the first frame (first value 0)."""
        out, t = [], 0.0
        for d in self.frame_durations_ms:
            out.append(t)
            t += d
        return tuple(out)


def _frame_count(ds: Dataset) -> int:
    try:
        return max(int(ds.get("NumberOfFrames") or 1), 1)
    except (TypeError, ValueError, OverflowError):  # OverflowError: pydicom's IS of "inf"
        return 1


def _pointers(ds: Dataset) -> list[int]:
    value = ds.get("FrameIncrementPointer")
    if value is None:
        return []
    values = [value] if isinstance(value, int) else list(value)  # AT: one BaseTag (an int) or a MultiValue
    try:
        return [int(v) for v in values]
    except (TypeError, ValueError):
        return []


def _from_frame_time(ds: Dataset, n: int, source: str) -> FrameTiming | None:
    ft = positive_number(ds.get("FrameTime"))
    return FrameTiming((ft,) * n, source, TimingOrigin.FRAME_TIME) if ft else None


def _from_vector(ds: Dataset, n: int, source: str) -> FrameTiming | None:
    vector = ds.get("FrameTimeVector")
    if vector is None:
        return None
    values = list(vector) if not isinstance(vector, str | bytes | int | float) else [vector]
    if len(values) != n:
        return None
    increments = [positive_number(v) for v in values[1:]]
    if n == 1:
        return None
    if any(v is None for v in increments):
        return None
    durations = [float(v) for v in increments if v is not None]
    durations.append(durations[-1])
    return FrameTiming(tuple(durations), source, TimingOrigin.FRAME_TIME_VECTOR)


def frame_timing(ds: Dataset) -> FrameTiming:
    """Per-frame display durations for a (multi-frame) image header; see the module docstring for the rules."""
    n = _frame_count(ds)
    if n == 1 and "FrameTime" not in ds:
        return FrameTiming((1000.0 / DEFAULT_FPS,), "single frame", TimingOrigin.SINGLE_FRAME)
    for pointer in _pointers(ds):
        if pointer == FRAME_TIME_TAG:
            found = _from_frame_time(ds, n, "Frame Time (0018,1063) via Frame Increment Pointer")
        elif pointer == FRAME_TIME_VECTOR_TAG:
            found = _from_vector(ds, n, "Frame Time Vector (0018,1065) via Frame Increment Pointer")
        else:
            found = None
        if found:
            return found
    found = _from_frame_time(ds, n, "Frame Time (0018,1063)") or _from_vector(
        ds, n, "Frame Time Vector (0018,1065)"
    )
    if found:
        return found
    for keyword, tag in (("RecommendedDisplayFrameRate", "(0008,2144)"), ("CineRate", "(0018,0040)")):
        rate = positive_number(ds.get(keyword))
        if rate:
            return FrameTiming((1000.0 / rate,) * n, f"{keyword} {tag}", TimingOrigin.FRAME_RATE)
    return FrameTiming(
        (1000.0 / DEFAULT_FPS,) * n,
        f"default {DEFAULT_FPS:g} frames/s (no timing attributes)",
        TimingOrigin.DEFAULT,
    )
