"""The viewer's side of the shared decode-ahead pool (:mod:`hsg_workstation.dicom_io.frame_cache`).

One :class:`FrameLoader` per viewport (and one for the thumbnails), all on ONE app-wide :class:`FramePool` and
:class:`FrameCache` (one memory budget for every viewport, a viewer setting): a viewport asks for the frames of
its loop in play order, a newer request of the same viewport supersedes its queued older one, and finished
frames are announced with Qt signals emitted from the pool's lane threads — Qt queues them to the UI thread,
where the viewport paints. :meth:`FrameLoader.shutdown` drops the viewport's queue; :func:`shutdown_shared_pool`
(window close) stops every lane thread and worker process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal

from hsg_workstation.dicom_io import allocator
from hsg_workstation.dicom_io import frame_cache as fc
from hsg_workstation.dicom_io.model import FrameRef
from hsg_workstation.ui import frames as fr

FrameKey = fc.FrameKey

_headers: dict[str, tuple[tuple[int, int], fr.ImageHeader]] = {}
_headers_lock = threading.Lock()
_pool: fc.FramePool | None = None
_pool_lock = threading.Lock()


def frame_key(ref: FrameRef) -> FrameKey:
    return (str(ref.path), ref.index)


def _header(path: str) -> fr.ImageHeader:
    """The viewer's header of a file, read once — again if the file changed on disk (then its decoded frames
    are dropped from the shared cache too)."""
    sig = fc.file_signature(path)
    with _headers_lock:
        entry = _headers.get(path)
    if entry is None or entry[0] != sig:
        if entry is not None and _pool is not None:
            _pool.forget_path(path)
        h = fr.read_header(path)
        with _headers_lock:
            if len(_headers) > 256:
                _headers.clear()
            _headers[path] = (sig, h)
        return h
    return entry[1]


def _thread_decode(path: str, index: int) -> np.ndarray:
    """The in-process lane: the viewer's own one-frame decode (native frames, ~1 ms)."""
    return fr.decode_frame(_header(path), index)


def _route(path: str) -> bool:
    """Decode in a worker process? The pool's rule (``frame_cache.needs_process``) on the viewer's cached
    header: only native frames stay on the pool's threads (RLE's decoder holds the GIL; its first frame is
    decoded inline by the viewport, ``frame_cache.cheap_in_process``)."""
    return fc.decodes_in_worker(_header(path).source.header)


def shared_pool(budget_bytes: int | None = None) -> fc.FramePool:
    """The app-wide pool (created on first use, again after :func:`shutdown_shared_pool`)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            # the viewer process keeps decoded frames: their memory is reused, not faulted in anew (allocator.py)
            allocator.keep_frame_memory()
            _pool = fc.FramePool(
                fc.FrameCache(budget_bytes or fc.DEFAULT_BUDGET_BYTES),
                thread_decode=_thread_decode,
                route=_route,
            )
        elif budget_bytes:
            _pool.cache.budget = budget_bytes
        return _pool


def shutdown_shared_pool() -> None:
    """Stop the pool's threads and worker processes and free the cache (window close / app exit)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    with _headers_lock:
        _headers.clear()
    if pool is not None:
        pool.shutdown()


class FrameLoader(QObject):
    """``frameReady(key)`` / ``frameFailed(key, message)`` on the UI thread for frames of the shared pool."""

    frameReady = Signal(object)
    frameFailed = Signal(object, str)

    def __init__(self, parent: QObject | None = None, pool: fc.FramePool | None = None) -> None:
        super().__init__(parent)
        self.pool = pool if pool is not None else shared_pool()
        self._client = object()
        self._closed = False
        self.pool.add_listener(self._on_done)

    # -- UI-thread API --------------------------------------------------------------------------------
    @property
    def cache(self) -> fc.FrameCache:
        return self.pool.cache

    def header(self, path: str) -> fr.ImageHeader:
        """Header of a file (cached). Raises DicomReadError with the file name on bad input."""
        h = _header(path)
        if _route(path):
            self.pool.warm_up()  # a compressed file: have the worker processes ready for its frames
        return h

    def routed_to_process(self, path: str) -> bool:
        return _route(path)

    def cached(self, key: FrameKey) -> np.ndarray | None:
        return self.pool.cache.get(key)

    def failure(self, key: FrameKey) -> str | None:
        return self.pool.failure(key)

    def request(self, keys: Sequence[FrameKey], *, background: bool = False) -> None:
        """Ask for ``keys`` in order (the first is needed now, the rest is decode-ahead); supersedes this
        loader's older request. ``background`` work waits for every viewport's."""
        if not self._closed:
            self.pool.request(self._client, keys, background=background)

    def pending(self) -> int:
        return self.pool.pending(self._client)

    def decode_now(self, key: FrameKey) -> np.ndarray:
        """Synchronous decode on the caller's thread (a native first frame, thumbnails, screenshot CLI)."""
        arr = self.cached(key)
        if arr is None:
            arr = fr.decode_frame(self.header(key[0]), key[1])
            self.pool.put_decoded(key, arr)
        return arr

    def is_running(self) -> bool:
        return not self._closed and self.pool.running

    def shutdown(self, timeout: float = 10.0) -> None:
        """Drop this loader's queue and stop listening (the pool itself is the app's)."""
        self._closed = True
        self.pool.remove_listener(self._on_done)
        self.pool.cancel(self._client)

    # -- lane threads ---------------------------------------------------------------------------------
    def _on_done(self, key: FrameKey, message: str | None) -> None:
        if self._closed:
            return
        try:
            if message is None:
                self.frameReady.emit(key)
            else:
                self.frameFailed.emit(key, message)
        except RuntimeError:  # the QObject went away between the check and the emit
            pass
