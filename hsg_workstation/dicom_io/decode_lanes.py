"""The decode lanes of :class:`~hsg_workstation.dicom_io.frame_cache.FramePool`: a thread of this process, or a
thread driving one worker process (:mod:`~hsg_workstation.dicom_io.decode_worker`).

Split from ``frame_cache.py`` (the cache and the scheduling) because this is the process plumbing: starting a
fresh interpreter over a socket pair, the shared ``memfd`` result slots, and turning a worker that died into one
failed frame (:class:`WorkerDied`) while the pool restarts it.
"""

from __future__ import annotations

import mmap
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from hsg_workstation.dicom_io.decode_worker import SLOT_BYTES

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
    """One worker process, started lazily and restarted after a crash."""

    in_process = False

    def __init__(self, decode: DecodeFn, number: int) -> None:
        self._decode = decode
        self._number = number
        self._proc = None
        self._conn = None
        self._frames: mmap.mmap | None = None  # shared result slots (see decode_worker.SLOT_BYTES)
        self._slot_bytes = 0
        self._received = 0
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
        memfd = None
        if hasattr(os, "memfd_create"):
            memfd = os.memfd_create("hsg-decoded-frames")
            os.ftruncate(memfd, 2 * SLOT_BYTES)  # sparse: only the pages a frame touches take memory
            self._frames = mmap.mmap(memfd, 2 * SLOT_BYTES)
            self._slot_bytes = SLOT_BYTES
            args.append(str(memfd))
            fds.append(memfd)
        try:
            proc = subprocess.Popen(args, pass_fds=fds, env=env, stdin=subprocess.DEVNULL)
        except OSError:
            parent.close()
            return
        finally:
            child.close()  # else a dead worker's socket would never report EOF here
            if memfd is not None:
                os.close(memfd)  # the mapping stays
        self._proc, self._conn = proc, Connection(parent.detach())
        self._received = 0
        try:
            self._conn.recv()  # "ready": the decoders are imported
        except (EOFError, OSError):
            self._reap()
            return
        self.ready = True

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def send(self, key: FrameKey) -> None:
        """Queue ``key`` in the worker (started if needed); results come back in order by :meth:`receive`."""
        if self._conn is None:
            self.start()
        if self._conn is None:
            raise DecodeFailed(f"{Path(key[0]).name}: frame {key[1] + 1}: the decoder process did not start")
        try:
            self._conn.send(key)
        except (OSError, ConnectionError) as exc:
            raise self._died(key) from exc

    def receive(self, key: FrameKey) -> np.ndarray:
        """The result of the oldest key sent (``key``); DecodeFailed, or WorkerDied if the worker crashed."""
        conn = self._conn
        if conn is None:
            raise self._died(key)
        try:
            kind, a, b = conn.recv()
            slot = (self._received % 2) * self._slot_bytes
            self._received += 1
            if kind == "err":
                raise DecodeFailed(a)
            arr = np.empty(b, dtype=np.dtype(a))
            if kind == "shm":
                # through a memoryview: slicing the mmap itself would first copy the frame into a new bytes
                # object (a second 2 MB copy, in fresh memory, per frame — measured ~0.3 ms of the parent's
                # 0.7-0.8 ms CPU per RLE frame)
                with memoryview(self._frames) as shared:  # released at once: the mmap can still be closed
                    memoryview(arr).cast("B")[:] = shared[slot : slot + arr.nbytes]
            elif arr.nbytes:
                conn.recv_bytes_into(memoryview(arr).cast("B"))
            return arr
        except (EOFError, OSError, ConnectionError) as exc:
            raise self._died(key) from exc

    def decode(self, key: FrameKey) -> np.ndarray:
        self.send(key)
        return self.receive(key)

    def _died(self, key: FrameKey) -> WorkerDied:
        code = self._reap()
        return WorkerDied(
            f"{Path(key[0]).name}: frame {key[1] + 1}: the decoder process stopped "
            f"(exit code {code}) while decoding it; the decoder was restarted for the other frames"
        )

    def _reap(self) -> int | None:
        proc, conn, frames = self._proc, self._conn, self._frames
        self._proc = self._conn = self._frames = None
        self.ready = False
        if conn is not None:
            conn.close()
        if frames is not None:
            frames.close()
        if proc is None:
            return None
        try:
            return proc.wait(2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(2.0)

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
