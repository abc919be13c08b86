"""The decode lanes of :class:`~hsg_workstation.dicom_io.frame_cache.FramePool`: a thread of this process, or a
thread driving one worker process (:mod:`~hsg_workstation.dicom_io.decode_worker`).

Split from ``frame_cache.py`` (the cache and the scheduling) because this is the process plumbing: starting a
fresh interpreter over a socket pair, handing each request its block of the shared frame arena, and turning a
worker that died into one failed frame (:class:`WorkerDied`) while the pool restarts it.
"""

from __future__ import annotations

import collections
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from hsg_workstation.dicom_io.frame_arena import FrameArena

FrameKey = tuple[str, int]  # (file path, 0-based frame index)
DecodeFn = Callable[[str, int], np.ndarray]


class DecodeFailed(Exception):
    """A frame could not be decoded; the message names the file and frame."""


class ThreadLane:
    in_process = True

    def __init__(self, decode: DecodeFn) -> None:
        self._decode = decode
        self.ready = True

    def decode(self, key: FrameKey) -> np.ndarray:
        try:
            return self._decode(*key)
        except Exception as exc:  # noqa: BLE001 - any decoder error is a message for this frame
            raise DecodeFailed(str(exc) or type(exc).__name__) from exc

    def stop(self) -> None:
        pass


class WorkerDied(Exception):
    pass


class ProcessLane:
    """One worker process, started lazily and restarted after a crash.

    With an ``arena`` (:mod:`~hsg_workstation.dicom_io.frame_arena`, shared by every lane of a pool) each request
    carries a block of it and the worker decodes into that block: the frame reaches the cache without a copy.
    Without one, or when no block fits, the frame comes back over the socket."""

    in_process = False

    def __init__(self, decode: DecodeFn, number: int, arena: FrameArena | None = None) -> None:
        self._decode = decode
        self._number = number
        self._arena = arena
        self._proc = None
        self._conn = None
        self._blocks: collections.deque[tuple[int, int] | None] = collections.deque()  # per request in flight
        self.ready = False
        self.restarts = 0

    def start(self) -> None:
        """Start the worker (``decode_worker``, a fresh interpreter) and wait until its decoders are imported."""
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the parent's imports, tests included
        # glibc: keep freed frame-sized buffers in the heap instead of unmapping them, so every frame does not
        # page-fault fresh memory in (measured: JPEG Lossless 42 → 33 ms CPU a frame in a worker)
        env.setdefault("MALLOC_MMAP_THRESHOLD_", str(64 * 1024 * 1024))
        env.setdefault("MALLOC_TRIM_THRESHOLD_", str(128 * 1024 * 1024))
        spec = f"{self._decode.__module__}:{self._decode.__qualname__}"
        args = [sys.executable, "-m", "hsg_workstation.dicom_io.decode_worker", str(child.fileno()), spec]
        fds = [child.fileno()]
        if self._arena is not None and self._arena.fd >= 0:  # (closed only once the pool has shut down)
            args += [str(self._arena.fd), str(self._arena.size)]
            fds.append(self._arena.fd)
        try:
            proc = subprocess.Popen(args, pass_fds=fds, env=env, stdin=subprocess.DEVNULL)
        except OSError:
            parent.close()
            return
        finally:
            child.close()  # else a dead worker's socket would never report EOF here
        self._proc, self._conn = proc, Connection(parent.detach())
        try:
            self._conn.recv()  # "ready": the decoders are imported
        except (EOFError, OSError):
            self._reap()
            return
        self.ready = True

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def send(self, key: FrameKey, capacity: int = 0) -> None:
        """Queue ``key`` in the worker (started if needed); results come back in order by :meth:`receive`.
        ``capacity``: the bytes the frame is expected to take (an arena block of that size goes with it)."""
        if self._conn is None:
            self.start()
        if self._conn is None:
            raise DecodeFailed(f"{Path(key[0]).name}: frame {key[1] + 1}: the decoder process did not start")
        arena = self._arena
        block = arena.allocate(capacity) if arena is not None and capacity > 0 else None
        try:
            self._conn.send((*key, *(block or (0, 0))))
        except (OSError, ConnectionError) as exc:
            if arena is not None and block is not None:
                arena.release(block)
            raise self._died(key) from exc
        self._blocks.append(block)

    def receive(self, key: FrameKey) -> np.ndarray:
        """The result of the oldest key sent (``key``); DecodeFailed, or WorkerDied if the worker crashed."""
        conn, arena = self._conn, self._arena
        if conn is None:
            raise self._died(key)
        try:
            kind, a, b = conn.recv()
        except (EOFError, OSError, ConnectionError) as exc:
            raise self._died(key) from exc
        block = self._blocks.popleft() if self._blocks else None
        if arena is not None and block is not None:
            if kind == "shm":
                return arena.array(block, a, b)  # the frame stays where the worker wrote it
            arena.release(block)
        if kind == "err":
            raise DecodeFailed(a)
        arr = np.empty(b, dtype=np.dtype(a))
        try:
            if arr.nbytes:
                conn.recv_bytes_into(memoryview(arr).cast("B"))
        except (EOFError, OSError, ConnectionError) as exc:
            raise self._died(key) from exc
        return arr

    def decode(self, key: FrameKey, capacity: int = 0) -> np.ndarray:
        self.send(key, capacity)
        return self.receive(key)

    def _died(self, key: FrameKey) -> WorkerDied:
        code = self._reap()
        return WorkerDied(
            f"{Path(key[0]).name}: frame {key[1] + 1}: the decoder process stopped "
            f"(exit code {code}) while decoding it; the decoder was restarted for the other frames"
        )

    def _reap(self) -> int | None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        self.ready = False
        if conn is not None:
            conn.close()
        code = None
        if proc is not None:
            try:
                code = proc.wait(2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait(2.0)
        # only now, with the worker gone, may the blocks of its unanswered requests be handed out again
        while self._blocks:
            block = self._blocks.popleft()
            if block is not None and self._arena is not None:
                self._arena.release(block)
        return code

    def restart(self) -> None:
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        conn = self._conn
        if conn is not None:
            try:
                conn.send(None)  # "stop": the worker returns from its loop
            except (OSError, ValueError):
                pass
        self._reap()
