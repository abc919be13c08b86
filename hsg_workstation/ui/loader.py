"""Frame decoding off the UI thread, with prefetch and an LRU cache.

One :class:`FrameLoader` per viewport: a single worker thread decodes frames in the order the viewport asks
for them. A new :meth:`FrameLoader.request` replaces every queued request of the previous one (the frame
being decoded right now still lands in the cache), so scrubbing the slider or jumping never waits behind a
stale prefetch. Results are announced with a Qt signal emitted from the worker thread — Qt queues it to the
UI thread, where the viewport paints. :meth:`shutdown` stops and joins the thread; closing a study must
leave no thread behind.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal

from hsg_workstation.dicom_io.model import FrameRef
from hsg_workstation.ui import frames as fr

FrameKey = tuple[str, int]


def frame_key(ref: FrameRef) -> FrameKey:
    return (str(ref.path), ref.index)


class FrameLoader(QObject):
    """Decode frames on a worker thread; ``frameReady(key)`` / ``frameFailed(key, message)`` on the UI thread."""

    frameReady = Signal(object)
    frameFailed = Signal(object, str)

    def __init__(self, cache_bytes: int = 384 * 1024 * 1024, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cache: OrderedDict[FrameKey, np.ndarray] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = cache_bytes
        self._failed: dict[FrameKey, str] = {}
        self._headers: dict[str, fr.ImageHeader] = {}
        self._queue: list[FrameKey] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="hsg-frame-loader", daemon=True)
        self._thread.start()

    # -- UI-thread API --------------------------------------------------------------------------------
    def header(self, path: str) -> fr.ImageHeader:
        """Header of a file (cached). Raises DicomReadError with the file name on bad input."""
        with self._lock:
            h = self._headers.get(path)
        if h is None:
            h = fr.read_header(path)
            with self._lock:
                self._headers[path] = h
        return h

    def cached(self, key: FrameKey) -> np.ndarray | None:
        with self._lock:
            arr = self._cache.get(key)
            if arr is not None:
                self._cache.move_to_end(key)
            return arr

    def failure(self, key: FrameKey) -> str | None:
        with self._lock:
            return self._failed.get(key)

    def request(self, keys: Sequence[FrameKey]) -> None:
        """Ask for ``keys`` in order (the first is needed now, the rest is prefetch); supersedes older requests."""
        with self._lock:
            self._queue = [k for k in keys if k not in self._cache and k not in self._failed]
            if self._queue:
                self._wake.notify()

    def decode_now(self, key: FrameKey) -> np.ndarray:
        """Synchronous decode on the caller's thread (thumbnails of tiny images, screenshot CLI)."""
        arr = self.cached(key)
        if arr is None:
            arr = fr.decode_frame(self.header(key[0]), key[1])
            self._store(key, arr)
        return arr

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the worker and wait for it (a frame being decoded finishes first)."""
        with self._lock:
            self._stop = True
            self._queue = []
            self._wake.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        with self._lock:
            self._cache.clear()
            self._cache_bytes = 0

    # -- worker ---------------------------------------------------------------------------------------
    def _store(self, key: FrameKey, arr: np.ndarray) -> None:
        with self._lock:
            if key in self._cache:
                return
            self._cache[key] = arr
            self._cache_bytes += arr.nbytes
            while self._cache_bytes > self._cache_limit and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cache_bytes -= old.nbytes

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stop:
                    self._wake.wait()
                if self._stop:
                    return
                key = self._queue.pop(0)
                if key in self._cache:
                    continue
            try:
                header = self.header(key[0])
                arr = fr.decode_frame(header, key[1])
            except Exception as exc:  # noqa: BLE001 - any decode failure becomes a message in the viewport
                with self._lock:
                    self._failed[key] = str(exc)
                    stop = self._stop
                if not stop:
                    self.frameFailed.emit(key, str(exc))
                continue
            self._store(key, arr)
            with self._lock:
                stop = self._stop
            if not stop:
                self.frameReady.emit(key)
