"""Decoded frames, shared: an LRU cache with a memory budget and a pool that decodes ahead on every core.

Why it exists: archives send fluoroscopy loops compressed (JPEG Lossless, JPEG-LS, JPEG 2000, RLE). One
1024² frame then costs 5–350 ms to decode on this machine, so a loop can only play at its true rate from
memory. The viewer asks for the whole loop in play order on opening it; the frames land here; the cine plays
what is decoded and waits (never skips) for the rest; W/L and scrolling reuse decoded frames; the fill-curve
analysis reads the same frames instead of decoding them a second time.

Measured on the installed decoders (``benchmarks/codec_loops.py``, 2 cores): python-gdcm (JPEG Lossless,
JPEG-LS, JPEG 2000), pyjpegls (CharLS), pylibjpeg-openjpeg and Pillow (JPEG 2000) hold the GIL while decoding
(two threads decode no faster than one). So those frames are decoded in worker **processes** (:mod:`~hsg_workstation.dicom_io.decode_worker`, a fresh interpreter each: safe
next to Qt's threads, and unlike ``multiprocessing``'s spawn it never re-runs the parent's main script), one
frame at a time per process; native
(uncompressed) frames, a memory copy of ~1 ms, are read on a thread of this process. A process is also a crash
boundary: a decoder that aborts or segfaults on a corrupt stream (python-gdcm does on some JPEG data) costs
that one frame — reported as a failure naming it — and the worker is restarted.

RLE is decoded in the worker processes too, except a loop's **first** frame: pylibjpeg-rle is Rust (memory-safe:
corrupt data is a panic caught as an error, and ``pixels._check_rle`` refuses a header that would make it
allocate from a lie before it runs), so the viewer decodes that one frame inline, where a hop to a worker and back
would cost about as much as the 3–5 ms decode (``cheap_in_process``). The rest goes to the processes because
pylibjpeg-rle **holds the GIL**: measured in session 5 on a quiet machine, 60 1024² frames take 151–163 ms serial
and 159–174 ms on two threads (its raw ``decode_pixel_data``; session 4 had read parallelism into a noisy run and
kept RLE on the pool's threads, where decode-ahead ran at 1.2–1.3× the serial time).

Frames from the worker processes are decoded straight into the pool's shared frame arena
(:mod:`~hsg_workstation.dicom_io.frame_arena`) and cached there: the viewer process neither allocates nor copies
them (that copy was ~0.3 ms of the viewer's ~0.4 ms per RLE frame, taken from a decoder on 2 cores).

Layers: Qt-free (the viewer's ``ui/loader.py`` turns the listener callbacks into Qt signals).

* :class:`FrameCache` — ``(path, index) → ndarray`` with an LRU byte budget (default 1 GiB, a viewer setting).
  Keys a client asked for (its decode-ahead window) are evicted after everything else, so a 1 000-frame loop
  larger than the budget keeps the frames about to be played and drops the ones already shown.
* :class:`FramePool` — per-client request queues (a newer request of a client supersedes its queued older one;
  the most recent client is served first), lane threads that decode, ``fetch`` for a blocking read through the
  cache (the analysis), listeners told of every finished or failed frame.
"""

from __future__ import annotations

import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hsg_workstation.dicom_io.allocator import TRIM_THRESHOLD_BYTES
from hsg_workstation.dicom_io.decode_lanes import DecodeFailed, ProcessLane, ThreadLane, WorkerDied
from hsg_workstation.dicom_io.frame_arena import FrameArena
from hsg_workstation.dicom_io.frame_decode import (
    cheap_in_process,
    decode_for_display,
    decodes_in_worker,
    file_signature,
    frame_source,
    modality_is_identity,
    needs_process,
)

__all__ = [
    "DecodeFailed",
    "FrameCache",
    "FramePool",
    "cheap_in_process",
    "decode_for_display",
    "decodes_in_worker",
    "file_signature",
    "frame_source",
    "modality_is_identity",
    "needs_process",
]

FrameKey = tuple[str, int]  # (file path, 0-based frame index)
DecodeFn = Callable[[str, int], np.ndarray]
Listener = Callable[[FrameKey, "str | None"], None]  # (key, None) decoded · (key, message) failed

#: Name of the pool's in-process decoding thread (tests look for it); process lanes are "hsg-decode-process-lane-N".
THREAD_LANE_NAME = "hsg-decode-thread"
#: Default memory budget of the decoded-frame cache (the viewer setting starts here).
DEFAULT_BUDGET_BYTES = 1024 * 1024 * 1024


# ---------------------------------------------------------------------------------------------------------------
# The cache
# ---------------------------------------------------------------------------------------------------------------
class FrameCache:
    """Thread-safe LRU of decoded frames bounded by bytes; see the module docstring for eviction order."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self._frames: OrderedDict[FrameKey, np.ndarray] = OrderedDict()
        self._nbytes = 0
        self._budget = max(int(budget_bytes), 1)
        self._protected: dict[Hashable, frozenset[FrameKey]] = {}
        self._lock = threading.Lock()
        self.evictions = 0

    @property
    def budget(self) -> int:
        return self._budget

    @budget.setter
    def budget(self, value: int) -> None:
        with self._lock:
            self._budget = max(int(value), 1)
            self._evict(None)

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def __len__(self) -> int:
        return len(self._frames)

    def __contains__(self, key: object) -> bool:
        return key in self._frames

    def get(self, key: FrameKey) -> np.ndarray | None:
        """The frame (now most recently used), or None."""
        with self._lock:
            arr = self._frames.get(key)
            if arr is not None:
                self._frames.move_to_end(key)
            return arr

    def put(self, key: FrameKey, arr: np.ndarray) -> None:
        with self._lock:
            old = self._frames.pop(key, None)
            if old is not None:
                self._nbytes -= old.nbytes
            self._frames[key] = arr
            self._nbytes += arr.nbytes
            self._evict(key)

    def count(self, keys: Iterable[FrameKey]) -> int:
        """How many of ``keys`` are cached (the viewer's "buffering n / N")."""
        frames = self._frames
        return sum(1 for k in keys if k in frames)

    def keys(self) -> list[FrameKey]:
        with self._lock:
            return list(self._frames)

    def protect(self, owner: Hashable, keys: Iterable[FrameKey]) -> None:
        """Keys ``owner`` is about to need: evicted only when nothing else is left to evict."""
        with self._lock:
            self._protected[owner] = frozenset(keys)

    def unprotect(self, owner: Hashable) -> None:
        with self._lock:
            self._protected.pop(owner, None)

    def discard(self, predicate: Callable[[FrameKey], bool]) -> None:
        with self._lock:
            for key in [k for k in self._frames if predicate(k)]:
                self._nbytes -= self._frames.pop(key).nbytes

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._nbytes = 0

    def _evict(self, keep: FrameKey | None) -> None:
        if self._nbytes <= self._budget:
            return
        wanted = frozenset().union(*self._protected.values()) if self._protected else frozenset()
        for pass_protected in (False, True):
            for key in list(self._frames):
                if self._nbytes <= self._budget:
                    return
                if key == keep or (not pass_protected and key in wanted):
                    continue
                self._nbytes -= self._frames.pop(key).nbytes
                self.evictions += 1


# ---------------------------------------------------------------------------------------------------------------
# The pool
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class _Client:
    queue: list[FrameKey] = field(default_factory=list)
    background: bool = False  # served only when no foreground client has work (thumbnails)


@dataclass
class PoolStats:
    decoded: int = 0  # frames decoded (either lane kind)
    in_process: int = 0  # of which on a thread of this process
    failed: int = 0
    restarts: int = 0  # worker processes restarted after a crash
    per_key: Counter[FrameKey] = field(default_factory=Counter)  # decodes of each frame (1 unless evicted)


class FramePool:
    """Decode-ahead pool over a :class:`FrameCache`; see the module docstring.

    ``decode`` runs in worker processes (must be a picklable module-level function); ``thread_decode`` (default
    the same) on the in-process lane; ``route(path) -> bool`` says which frames need a process.
    """

    def __init__(
        self,
        cache: FrameCache | None = None,
        *,
        processes: int | None = None,
        decode: DecodeFn = decode_for_display,
        thread_decode: DecodeFn | None = None,
        route: Callable[[str], bool] = needs_process,
    ) -> None:
        self.cache = cache if cache is not None else FrameCache()
        self.stats = PoolStats()
        self._route = route
        self._routes: dict[str, bool] = {}
        self._clients: OrderedDict[Hashable, _Client] = OrderedDict()  # most recent last
        self._inflight: set[FrameKey] = set()
        # in flight when the cache was cleared (a study closed): their results are dropped when they arrive
        self._drop_on_arrival: set[FrameKey] = set()
        self._failed: dict[FrameKey, str] = {}
        self._listeners: list[Listener] = []
        # One lock, two conditions: lanes wait for work, ``fetch`` callers for finished frames. Waking every lane
        # thread on every finished frame (or every viewer call) made them fight the UI thread for the GIL.
        self._cond = threading.Lock()
        self._work = threading.Condition(self._cond)
        self._done = threading.Condition(self._cond)
        self._stopping = False
        n = processes if processes is not None else max(1, min(os.cpu_count() or 1, 8))
        # one thread lane per core as well: native frames are a read of their bytes (module docstring)
        self._thread_lanes = [ThreadLane(thread_decode or decode) for _ in range(max(1, n))]
        self._arena = _make_arena(self.cache.budget) if n else None
        self._process_lanes = [ProcessLane(decode, i, self._arena) for i in range(n)]
        self._frame_nbytes: dict[str, int] = {}  # per file: the size its last worker-decoded frame had
        self._threads: list[threading.Thread] = []
        self._started = False
        self._warm = False

    # -- lifecycle ------------------------------------------------------------------------------------
    def _ensure_started(self) -> None:
        if self._started or self._stopping:
            return
        self._started = True
        lanes: list[ThreadLane | ProcessLane] = [*self._thread_lanes, *self._process_lanes]
        for i, lane in enumerate(lanes):
            name = THREAD_LANE_NAME if lane.in_process else f"hsg-decode-process-lane-{i}"
            t = threading.Thread(target=self._run, args=(lane,), name=name, daemon=True)
            self._threads.append(t)
            t.start()

    def warm_up(self) -> None:
        """Start the worker processes now (they take ~0.3–0.5 s to import the decoders)."""
        self._ensure_started()
        if self._warm:
            return
        with self._cond:
            self._warm = True
            self._work.notify_all()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every lane thread and worker process and wait for them; the cache is emptied."""
        with self._cond:
            self._stopping = True
            self._clients.clear()
            self._work.notify_all()
            self._done.notify_all()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout)
        for lane in self._process_lanes:
            lane.stop()
        self._threads = []
        self.cache.clear()
        if self._arena is not None:
            self._arena.trim(0)
            self._arena.close()  # or, while a frame of it is still referenced, left to the garbage collector

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def worker_pids(self) -> list[int]:
        return [lane.pid for lane in self._process_lanes if lane.pid is not None]

    def worker_cpu_seconds(self) -> float | None:
        """CPU time (user + system) the live worker processes have used, from /proc (None where unavailable);
        the benchmark compares it with a serial decode's CPU time."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        for pid in self.worker_pids():
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                return None
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14, 15 of stat)
        return total

    # -- listeners ------------------------------------------------------------------------------------
    def add_listener(self, fn: Listener) -> None:
        with self._cond:
            self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        with self._cond:
            if fn in self._listeners:
                self._listeners.remove(fn)

    # -- requests -------------------------------------------------------------------------------------
    def request(self, client: Hashable, keys: Sequence[FrameKey], *, background: bool = False) -> None:
        """``client`` wants ``keys`` in this order; replaces what it asked for before (queued work is dropped,
        a frame being decoded finishes and is cached). The most recent client is served first, ``background``
        clients (thumbnails) after every other."""
        if self._stopping:
            return
        for path in {k[0] for k in keys}:
            self._routing(path)
        self.cache.protect(client, keys)
        with self._cond:
            c = self._clients.pop(client, None) or _Client()
            c.queue = [k for k in keys if k not in self.cache and k not in self._failed]
            c.background = background
            self._clients[client] = c
            if c.queue:
                self._work.notify_all()
        self._ensure_started()

    def cancel(self, client: Hashable) -> None:
        """Forget ``client``'s queue and protection (a viewport closing)."""
        self.cache.unprotect(client)
        with self._cond:
            self._clients.pop(client, None)

    def clear(self) -> None:
        """Drop every decoded frame, those still being decoded included (a study closed): a decode finishing
        after this must not put a frame of the closed study back into the cache."""
        with self._cond:
            self._drop_on_arrival |= self._inflight
            self.cache.clear()
            self._done.notify_all()
        # what a closed study held beyond the reuse reserve goes back to the system
        if self._arena is not None:
            self._arena.trim(TRIM_THRESHOLD_BYTES)

    def put_decoded(self, key: FrameKey, arr: np.ndarray) -> None:
        """A frame the caller decoded itself (the viewer's inline first frame): cached and counted."""
        with self._cond:
            self.cache.put(key, arr)
            self.stats.decoded += 1
            self.stats.in_process += 1
            self.stats.per_key[key] += 1
            self._done.notify_all()

    def forget_path(self, path: str) -> None:
        """The file changed on disk: drop its decoded frames, failures and routing."""
        self.cache.discard(lambda k: k[0] == path)
        with self._cond:
            self._routes.pop(path, None)
            for key in [k for k in self._failed if k[0] == path]:
                del self._failed[key]

    def failure(self, key: FrameKey) -> str | None:
        with self._cond:
            return self._failed.get(key)

    def pending(self, client: Hashable) -> int:
        with self._cond:
            c = self._clients.get(client)
            return len(c.queue) if c else 0

    def done_count(self, keys: Iterable[FrameKey]) -> int:
        """How many of ``keys`` are decoded or failed (the viewer's "buffering n / N")."""
        frames = self.cache._frames
        with self._cond:
            failed = self._failed
            return sum(1 for k in keys if k in frames or k in failed)

    def idle(self) -> bool:
        with self._cond:
            return not self._inflight and not any(c.queue for c in self._clients.values())

    def fetch(self, key: FrameKey, client: Hashable = "fetch", timeout: float | None = None) -> np.ndarray:
        """The frame, from the cache or decoded by the pool (blocking); DecodeFailed if it cannot be decoded.

        Keys another client already queued are not decoded twice: this waits for that decode."""
        arr = self.cache.get(key)
        if arr is not None:
            return arr
        with self._cond:
            if key in self._failed:
                raise DecodeFailed(self._failed[key])
            if not self._queued(key):
                c = self._clients.setdefault(client, _Client())
                c.queue.insert(0, key)
                self._work.notify_all()
        self._routing(key[0])
        self._ensure_started()
        with self._cond:
            ok = self._done.wait_for(
                lambda: (
                    key in self.cache or key in self._failed or self._stopping or not self._queued(key)
                ),  # its client cancelled it
                timeout,
            )
            if key in self._failed:
                raise DecodeFailed(self._failed[key])
            was_decoded = key in self.cache
        arr = self.cache.get(key)
        if arr is None:
            if ok and was_decoded and not self._stopping:
                return self.fetch(key, client, timeout)  # evicted at once (budget below the working set)
            raise DecodeFailed(f"{Path(key[0]).name}: frame {key[1] + 1}: not decoded (cancelled or stopped)")
        return arr

    def _queued(self, key: FrameKey) -> bool:
        return key in self._inflight or any(key in c.queue for c in self._clients.values())

    # -- lane side ------------------------------------------------------------------------------------
    def _routing(self, path: str) -> bool:
        r = self._routes.get(path)
        if r is None:
            try:
                r = bool(self._route(path))
            except Exception:  # noqa: BLE001 - an unreadable header: the decode reports it
                r = False
            self._routes[path] = r
        return r

    def _may_take(self, lane: ThreadLane | ProcessLane, key: FrameKey) -> bool:
        # Never a compressed frame on the thread, not even while the workers start: a decoder crash there would
        # take the whole viewer with it (the app starts the workers at launch, see ``warm_up``).
        wants_process = self._routes.get(key[0], False) and bool(self._process_lanes)
        return wants_process != lane.in_process

    def _next_key(self, lane: ThreadLane | ProcessLane, block: bool = True) -> FrameKey | None:
        with self._cond:
            while not self._stopping:
                clients = list(reversed(self._clients.values()))
                for c in [c for c in clients if not c.background] + [c for c in clients if c.background]:
                    q = c.queue
                    i = 0
                    while i < len(q):
                        key = q[i]
                        if key in self.cache or key in self._inflight or key in self._failed:
                            del q[i]
                            continue
                        if self._may_take(lane, key):
                            del q[i]
                            self._inflight.add(key)
                            return key
                        i += 1
                if not lane.in_process and not lane.ready and self._warm:
                    return ("", -1)  # start the worker process now, outside the lock
                if not block:
                    return None
                self._work.wait()
            return None

    def _finish(self, lane: ThreadLane | ProcessLane, key: FrameKey, arr, message: str | None) -> None:
        with self._cond:
            self._inflight.discard(key)
            if key in self._drop_on_arrival:  # cleared while in flight: nobody wants it any more
                self._drop_on_arrival.discard(key)
                self._done.notify_all()
                return
            if arr is not None:
                if not lane.in_process:
                    self._frame_nbytes[key[0]] = arr.nbytes
                self.cache.put(key, arr)
                self.stats.decoded += 1
                self.stats.per_key[key] += 1
                self.stats.in_process += lane.in_process
            else:
                self._failed[key] = message or "decode failed"
                self.stats.failed += 1
            listeners = list(self._listeners)
            self._done.notify_all()
        if not self._stopping:
            for fn in listeners:
                fn(key, message)

    def _run(self, lane: ThreadLane | ProcessLane) -> None:
        if isinstance(lane, ProcessLane):
            self._run_process_lane(lane)
            return
        while True:
            key = self._next_key(lane)
            if key is None:
                return
            try:
                arr, message = lane.decode(key), None
            except DecodeFailed as exc:
                arr, message = None, str(exc)
            self._finish(lane, key, arr, message)

    #: Frames sent to a worker ahead of the one it decodes: its next request is already in its socket when a
    #: result leaves, so a loaded machine's wake-up latency (milliseconds per hand-off) is not paid per frame.
    PIPELINE_DEPTH = 2

    def _run_process_lane(self, lane: ProcessLane) -> None:
        sent: list[FrameKey] = []
        try:
            while True:
                while len(sent) < self.PIPELINE_DEPTH:
                    key = self._next_key(lane, block=not sent)
                    if key is None:
                        break
                    if key[1] < 0:
                        lane.start()  # warm-up
                        continue
                    try:
                        lane.send(key, self._capacity(key[0]))
                        sent.append(key)
                    except DecodeFailed as exc:
                        self._finish(lane, key, None, str(exc))
                    except WorkerDied as exc:
                        self._finish(lane, key, None, str(exc))
                        self._restart(lane, sent)
                if not sent:
                    if self._stopping:
                        return
                    continue
                key = sent.pop(0)
                try:
                    arr, message = lane.receive(key), None
                except DecodeFailed as exc:
                    arr, message = None, str(exc)
                except WorkerDied as exc:
                    arr, message = None, str(exc)  # the frame being decoded is the one lost
                    self._restart(lane, sent)
                self._finish(lane, key, arr, message)
                arr = None  # the cache holds it now; a lane's local must not keep an evicted frame's block
        finally:
            with self._cond:
                for key in sent:
                    self._inflight.discard(key)
            lane.stop()

    def _capacity(self, path: str) -> int:
        """The arena block to send with a request: the size this file's frames had so far, else an upper bound
        from its header (a float32 frame of its samples; the unused rest is freed when the frame arrives)."""
        known = self._frame_nbytes.get(path)
        if known is not None:
            return known
        try:
            source = frame_source(path)
        except Exception:  # noqa: BLE001 - unreadable header: the decode reports it; nothing to reserve
            return 0
        samples = 3 if source.is_color else 1
        return frame_bytes(source.rows, source.columns, samples, itemsize=4)

    def _restart(self, lane: ProcessLane, sent: list[FrameKey]) -> None:
        """A new worker; the frames queued behind the lost one are sent to it again."""
        if self._stopping:
            return
        lane.restart()
        self.stats.restarts += 1
        for key in list(sent):
            try:
                lane.send(key, self._capacity(key[0]))
            except (DecodeFailed, WorkerDied) as exc:
                sent.remove(key)
                self._finish(lane, key, None, str(exc))


#: The shared frame arena's (virtual, sparse) size per byte of cache budget: room for the cached frames, those in
#: flight and evicted ones a painted image or the analysis still holds, and for fragmentation.
ARENA_PER_BUDGET = 2


def _make_arena(budget: int) -> FrameArena | None:
    """The pool's shared frame arena, or None where memfd is unavailable (frames then travel over the socket)."""
    if not hasattr(os, "memfd_create"):
        return None
    try:
        return FrameArena(ARENA_PER_BUDGET * budget + TRIM_THRESHOLD_BYTES)
    except OSError:
        return None


def frame_bytes(rows: int, columns: int, samples: int = 1, itemsize: int = 2) -> int:
    return max(1, rows * columns * samples * itemsize)


def window_frames(cache: FrameCache, one_frame_bytes: int, share: float = 0.9) -> int:
    """How many frames of this size a client may decode ahead: what fits in ``share`` of the budget."""
    return max(1, int(cache.budget * share) // max(one_frame_bytes, 1))
