"""Feeding a viewport with decoded frames: the first frame at once, then decode-ahead in playback order
through the shared frame pool, "buffering n / N" while the loop fills, and the cine clock held (never skipped)
while the frame it wants is still decoding (``FrameFeedMixin``, a part of
:class:`~hsg_workstation.ui.viewport.Viewport`, split out by subject).
"""

from __future__ import annotations

import time

from hsg_workstation.dicom_io import frame_cache as fc
from hsg_workstation.ui.loader import FrameKey, frame_key

PREFETCH = 12  # native frames decode in ~1 ms: a short read-ahead keeps up with any cine rate
#: While a loop buffers, its "buffering n / N" count is redrawn at most this often. Why: an RLE frame arrives from
#: the decoder processes every ~1.5 ms, and counting the decoded frames plus a signal per frame made the UI thread
#: take the GIL from the threads receiving the frames 60 times in 90 ms (measured: 44 -> 42 ms of the viewer's CPU
#: per 60-frame loop, median open 90 -> 86 ms). Ten counts a second are still a smooth count to read.
BUFFERING_REFRESH_MS = 100


class FrameFeedMixin:
    """Decode-ahead and frame arrival of a :class:`Viewport` (uses its ``loader``, ``cine``, ``frames``)."""

    def _start_prefetch(self) -> None:
        if self.frames and not self._closed and not self.cine.playing:
            self._request_ahead(self.index)

    def _inline_first_frame(self) -> bool:
        h = self.header
        if h is None or str(h.path) != str(self.frames[0].path):
            return False
        return h.rows * h.columns <= 4096 * 4096 and fc.cheap_in_process(h.source.header)

    def _ahead_limit(self) -> int:
        """Frames to decode ahead: the whole loop, or as many as fit in the cache budget (a long loop)."""
        h = self.header
        if h is None:
            return PREFETCH
        itemsize = 2 if h.source.bits_stored <= 16 else 4
        samples = 3 if h.is_color else 1
        return fc.window_frames(self.loader.cache, fc.frame_bytes(h.rows, h.columns, samples, itemsize))

    def _prefetch_keys(self, index: int) -> list[FrameKey]:
        """The frames after ``index`` in playback order (wrapping inside the loop range while playing)."""
        first, last = self.cine.range if self.cine.playing else (0, len(self.frames) - 1)
        span = max(last - first + 1, 1)
        out = []
        for k in range(1, min(self._ahead_limit(), span)):
            j = index + k
            if j > last:
                j = first + (j - last - 1) % span
            out.append(frame_key(self.frames[j]))
        return out

    def _request_ahead(self, index: int) -> None:
        """Ask the pool for this frame, then the loop in play order from it (supersedes the older request)."""
        ahead = [frame_key(self.frames[index]), *self._prefetch_keys(index)]
        if len(ahead) == len(self._ahead) and not self.buffering_text and set(ahead) == set(self._ahead):
            # a loop that fits, fully decoded, playing round: same frames, nothing to ask (saves the pool a
            # re-queue on every frame at 30 fps)
            if self.loader.pool.done_count(ahead) == len(ahead):
                self._ahead = ahead
                return
        self._ahead = ahead
        self.loader.request(ahead)
        self._update_buffering()

    def _update_buffering(self) -> None:
        if self.buffering_text and not self._closed:
            wait_ms = BUFFERING_REFRESH_MS - (time.monotonic() - self._buffering_shown_at) * 1000
            if wait_ms > 0:  # counted again when the timer fires (the last frame's "done" included)
                if not self._buffering_timer.isActive():
                    self._buffering_timer.start(int(wait_ms) + 1)
                return
        ahead = self._ahead
        text = ""
        if len(ahead) > 1 and not self._closed:
            done = self.loader.pool.done_count(ahead)
            if done < len(ahead):
                text = f"buffering {done} / {len(ahead)}"
        if text != self.buffering_text:
            self.buffering_text = text
            self._buffering_shown_at = time.monotonic()
            self.bufferingChanged.emit(text)

    def _on_frame_ready(self, key: FrameKey) -> None:
        if self._closed or not self.frames:
            return
        if key == frame_key(self.frames[self.index]) and (
            self.displayed_index != self.index or self.cine.holding
        ):
            arr = self.loader.cached(key)
            if arr is not None:
                self._paint(self.index, arr)
                if self.cine.holding:
                    self.cine.resume()
        self._update_buffering()

    def _on_frame_due(self, index: int) -> None:
        """The cine wants ``index``: paint it, or hold the clock until it is decoded (never skip past it)."""
        key = frame_key(self.frames[index])
        if self.loader.cached(key) is None and self.loader.failure(key) is None:
            if index == self.displayed_index and self.frame is not None:
                self.cine.notify_painted(index)  # on screen already (evicted since): nothing to wait for
                self._request_ahead(index)
                return
            self.cine.hold()
        self.show_frame(index)

    def _on_frame_failed(self, key: FrameKey, message: str) -> None:
        if self._closed or not self.frames:
            return
        if key == frame_key(self.frames[self.index]):
            self._fail(f"Cannot display frame {key[1] + 1} of “{self.display_set.label}”:\n{message}")
            if self.cine.holding:
                self.cine.resume()  # one frame lost, with its message; the loop goes on
        self._update_buffering()
