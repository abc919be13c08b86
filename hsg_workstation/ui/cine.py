r"""Cine playback clock for a fill-sequence loop.

Time-based, not tick-counting: the frame to show is computed from the wall clock elapsed since play started
and the per-frame durations (Frame Time Vector honoured, or a fixed fps override). If painting ever falls
behind, frames are skipped and counted as dropped instead of the loop slowing down — the reader sees the
fill at its true speed. The clock only says *which* frame is due; the viewport decodes (off-thread) and paints.

A frame that is not decoded yet is different from a late paint: the viewport :meth:`~CineClock.hold`\ s the
clock on it (the cine bar says "buffering n / N") and :meth:`~CineClock.resume`\ s when it arrives, so a
compressed loop being decoded plays every frame at its rate with pauses, never skipping ahead of the decoder
or presenting an old frame as the due one.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Qt, QTimer, Signal


@dataclass
class CineStats:
    """What playback did: frames painted with their time, and frames skipped or not ready in time."""

    shown: list[tuple[int, float]] = field(default_factory=list)  # (frame index, seconds since play)
    dropped: int = 0

    @property
    def due(self) -> int:
        return len(self.shown) + self.dropped

    @property
    def dropped_pct(self) -> float:
        return 100.0 * self.dropped / self.due if self.due else 0.0


class CineClock(QObject):
    """Emits ``frameDue(index)`` when the next frame of the loop should be on screen."""

    frameDue = Signal(int)
    playingChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._durations: list[float] = [100.0]
        self.fps_override: float | None = None
        self.loop = True
        self._range = (0, 0)
        self._start_index = 0
        self._t0 = 0.0
        self._last_due = -1
        self.stats = CineStats()
        self.painted: set[int] = set()  # due indices the viewport painted (reset per tick)
        self.holding = False  # waiting for the due frame to be decoded

    # -- configuration --------------------------------------------------------------------------------
    def set_durations(self, durations_ms: list[float] | tuple[float, ...]) -> None:
        self._durations = [max(float(d), 1.0) for d in durations_ms] or [100.0]
        self._range = (0, len(self._durations) - 1)

    @property
    def frame_count(self) -> int:
        return len(self._durations)

    def set_range(self, first: int, last: int) -> None:
        """Sub-range loop (inclusive, 0-based); clamped to the loop."""
        n = self.frame_count
        first, last = max(0, min(first, n - 1)), max(0, min(last, n - 1))
        if last < first:
            first, last = last, first
        self._range = (first, last)

    @property
    def range(self) -> tuple[int, int]:
        return self._range

    def duration_ms(self, index: int) -> float:
        if self.fps_override and self.fps_override > 0:
            return 1000.0 / self.fps_override
        return self._durations[index]

    def frame_time_s(self, index: int) -> float:
        """Acquisition-relative time of a frame (sum of the durations before it), for the overlay."""
        return sum(self._durations[:index]) / 1000.0

    @property
    def nominal_fps(self) -> float:
        first, last = self._range
        span = [self.duration_ms(i) for i in range(first, last + 1)]
        return 1000.0 * len(span) / sum(span)

    # -- playback -------------------------------------------------------------------------------------
    @property
    def playing(self) -> bool:
        return self._timer.isActive() or self._t0 > 0

    def play(self, from_index: int) -> None:
        first, last = self._range
        if not first <= from_index <= last:
            from_index = first
        self._start_index = from_index
        self._t0 = time.perf_counter()
        self._last_due = -1
        self.holding = False
        self.stats = CineStats()
        self._schedule_cycle()
        self.playingChanged.emit(True)
        self._tick()

    def stop(self) -> None:
        was = self.playing
        self._timer.stop()
        self._t0 = 0.0
        self.holding = False
        if was:
            self.playingChanged.emit(False)

    @property
    def due_index(self) -> int:
        return self._due_index if self._t0 else -1

    def hold(self) -> None:
        """The due frame is not decoded: stop the clock on it (its slot is not counted as dropped)."""
        if self._t0 and not self.holding:
            self.holding = True
            self._timer.stop()

    def resume(self) -> None:
        """The held frame is here: its slot starts now and playback continues at the file's rate."""
        if not (self._t0 and self.holding):
            return
        self.holding = False
        n_cycle, pos = divmod(max(self._last_due, 0), len(self._order))
        slot_start = n_cycle * self._ends[-1] + (self._ends[pos - 1] if pos else 0.0)
        self._t0 = time.perf_counter() - slot_start / 1000.0
        self._tick()

    def notify_painted(self, index: int) -> None:
        """The viewport painted ``index``: record it if it is the frame currently due."""
        if self._t0 and index == self._due_index and index not in self.painted:
            self.painted.add(index)
            self.stats.shown.append((index, time.perf_counter() - self._t0))

    def _schedule_cycle(self) -> None:
        first, last = self._range
        order = list(range(self._start_index, last + 1))
        if self.loop:
            order += list(range(first, self._start_index))
        self._order = order
        self._ends: list[float] = []
        t = 0.0
        for i in order:
            t += self.duration_ms(i)
            self._ends.append(t)
        self._due_index = -1

    def _tick(self) -> None:
        if not self._t0 or self.holding:
            return
        elapsed = (time.perf_counter() - self._t0) * 1000.0
        cycle = self._ends[-1]
        n_cycle, within = divmod(elapsed, cycle)
        if n_cycle >= 1 and not self.loop:
            # End of a single pass: always come to rest on the last frame (even if the UI was late).
            last_serial = len(self._order) - 1
            if self._last_due != last_serial:
                self._finish_due()
                self.stats.dropped += max(0, last_serial - self._last_due - 1)
                self._last_due = last_serial
                self._due_index = self._order[-1]
                self.painted = set()
                self.frameDue.emit(self._due_index)
            self.stop()
            return
        pos = bisect.bisect_right(self._ends, within)
        pos = min(pos, len(self._order) - 1)
        due_serial = int(n_cycle) * len(self._order) + pos
        if due_serial != self._last_due:
            self._finish_due()
            if self._last_due >= 0:
                self.stats.dropped += max(0, due_serial - self._last_due - 1)
            self._last_due = due_serial
            self._due_index = self._order[pos]
            self.painted = set()
            self.frameDue.emit(self._due_index)
            if self.holding or not self._t0:  # the viewport waits for this frame to be decoded (or stopped)
                return
        next_boundary = self._ends[pos] - within
        self._timer.start(max(1, int(next_boundary)))

    def _finish_due(self) -> None:
        """The due frame's slot is over: if it was never painted it counts as dropped."""
        if self._due_index >= 0 and self._due_index not in self.painted:
            self.stats.dropped += 1
