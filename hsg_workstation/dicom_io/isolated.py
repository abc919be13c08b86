"""Crash-proof decoding: compressed frames decoded in a child process, so a native decoder that dies on damaged
input costs one frame and a message, not the application (issue 16).

Why: the decoders of compressed syntaxes are native code — python-gdcm (C++), OpenJPEG (C), CharLS (C++),
libjpeg — and some *abort* or *segfault* on corrupt streams instead of raising (fuzzing found gdcm aborting on a
flipped Huffman-table byte and on Bits Stored 89; those are now refused before decoding, but input nobody tried
may still do it). A crash inside the viewer's process loses the radiologist's unsaved work; inside a child
process it is a :class:`~hsg_workstation.errors.DicomReadError` for that frame.

Cost (``benchmarks/decode_isolation.py``, docs/benchmarks.md): a few milliseconds per 1024² frame over
in-process decoding — the frame comes back through shared memory. Native (uncompressed) frames are read in-process
(:func:`decode_frame_safe`): nothing native runs there.

The pool: :class:`IsolatedDecoder` keeps ``workers`` child processes started with ``forkserver`` (never ``fork``:
the GUI process has Qt and decoder threads), each behind its own pipe and caching the headers of the files it
decoded. A crashed or hung worker is killed and replaced for the next frame. ``decode_frame_isolated(path, index)`` uses one
module-wide decoder (one worker), created on first use.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path

import numpy as np

from hsg_workstation.dicom_io import allocator, pixels, reader
from hsg_workstation.errors import DicomReadError

#: Transfer syntaxes whose frames go through a native decoder (everything compressed except deflate, which is
#: zlib + pydicom). Native little/big endian is read by NumPy in-process.
RISKY_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.50",  # JPEG baseline (Pillow / libjpeg)
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.57",  # JPEG Lossless (python-gdcm)
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",  # JPEG-LS (CharLS)
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 (OpenJPEG)
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
        "1.2.840.10008.1.2.5",  # RLE (Rust pylibjpeg-rle; its panics are caught, a segfault would not be)
    }
)
DEFAULT_TIMEOUT_S = 30.0
_HEADER_CACHE = 16


@dataclass(frozen=True, slots=True)
class _SharedFrame:
    """A decoded frame left by the worker in its shared-memory buffer: only this small record crosses the pipe.

    Why: a 2 MB frame pickled through a pipe moves in 64 KB pieces, one process switch each; a fresh shared block
    per frame still cost ~9 ms of page faults here. Each worker keeps one buffer (grown when a frame needs
    more) and the parent keeps it mapped: a frame costs one copy on each side."""

    name: str
    shape: tuple[int, ...]
    dtype: str


def _decode_in_child(path: str, index: int) -> _SharedFrame:
    """Runs in the worker: header (cached per file and modification time) + one frame through the pipeline."""
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    header = _child_headers.get(key)
    if header is None:
        header = reader.read_header(path)
        _child_headers[key] = header
        while len(_child_headers) > _HEADER_CACHE:
            _child_headers.popitem(last=False)
    arr = np.ascontiguousarray(pixels.decode_frame(path, index, header=header))
    return put_shared(arr)


def put_shared(arr: np.ndarray) -> _SharedFrame:
    """In a worker: copy ``arr`` into the worker's buffer (replaced by a larger one when needed)."""
    global _child_buffer
    if _child_buffer is None or _child_buffer.size < arr.nbytes:
        if _child_buffer is not None:
            _child_buffer.close()
            _child_buffer.unlink()
        _child_buffer = SharedMemory(create=True, size=max(arr.nbytes, 4 * 1024 * 1024))
    np.ndarray(arr.shape, arr.dtype, buffer=_child_buffer.buf)[...] = arr
    return _SharedFrame(_child_buffer.name, arr.shape, arr.dtype.str)


_child_headers: OrderedDict[tuple[str, int, int], object] = OrderedDict()
_child_buffer: SharedMemory | None = None


def _keep_large_allocations() -> None:
    """glibc: serve multi-megabyte frames from the heap instead of fresh ``mmap`` each time.

    Why: a new process starts with malloc's 128 KB mmap threshold, so every decoded frame (and each temporary of
    the decoder) was mapped and unmapped again — page faults on every byte — which made decoding in the worker
    measurably slower than the same decode in the long-running parent (whose threshold glibc has raised)."""
    allocator.keep_frame_memory(256 * 1024 * 1024, 512 * 1024 * 1024)


def _serve(conn: Connection, target: Callable[[str, int], object]) -> None:
    """Worker loop: (path, index) in, ("ok", result) or ("error", exception) out, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the parent's business
    _keep_large_allocations()
    while True:
        try:
            path, index = conn.recv()
        except (EOFError, OSError):
            if _child_buffer is not None:
                _child_buffer.close()
                _child_buffer.unlink()
            return
        try:
            reply: tuple[str, object] = ("ok", target(path, index))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            reply = ("error", exc)
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - e.g. an exception that cannot be pickled
            conn.send(("error", DicomReadError(f"{path}: frame {index + 1}: {type(exc).__name__}: {exc}")))


class _Worker:
    """One decoder process and the pipe to it (requests are served one at a time)."""

    def __init__(self, target: Callable[[str, int], object]) -> None:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, target), name="hsg-decoder", daemon=True)
        self.process.start()
        child.close()
        self.lock = threading.Lock()
        self.buffer: SharedMemory | None = None  # the worker's buffer, mapped here too

    def take(self, frame: _SharedFrame) -> np.ndarray:
        """Copy a frame out of the worker's buffer (mapping it again if the worker replaced it)."""
        if self.buffer is None or self.buffer.name != frame.name:
            if self.buffer is not None:
                self.buffer.close()
            self.buffer = _attach(frame.name)
        return np.ndarray(frame.shape, np.dtype(frame.dtype), buffer=self.buffer.buf).copy()

    def stop(self, *, kill: bool) -> None:
        if self.buffer is not None:
            self.buffer.close()
            self.buffer = None
        try:
            self.conn.close()
        except OSError:
            pass
        if kill and self.process.is_alive():
            self.process.kill()
        self.process.join(2.0)


class IsolatedDecoder:
    """Decoder processes behind pipes; :meth:`decode` never lets a decoder crash reach the caller's process.

    ``target(path, index)`` must be a module-level function (it is sent to the workers by name); it returns the
    frame (or a :class:`_SharedFrame`). A plain pipe per worker rather than ``ProcessPoolExecutor``: its queue
    and management threads added two thread hand-offs per frame (measured ~35 ms per frame here under load).
    """

    def __init__(
        self,
        workers: int = 1,
        *,
        target: Callable[[str, int], object] = _decode_in_child,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self._slots: list[_Worker | None] = [None] * max(1, workers)
        self._next = 0
        self._lock = threading.Lock()

    def _acquire(self) -> tuple[int, _Worker]:
        """A free worker (started on first use), else the next one in turn, locked for the caller."""
        with self._lock:
            order = [(self._next + k) % len(self._slots) for k in range(len(self._slots))]
            self._next = (self._next + 1) % len(self._slots)
            for i in order:
                w = self._slots[i]
                if w is None:
                    w = self._slots[i] = _Worker(self.target)
                if w.lock.acquire(blocking=False):
                    return i, w
            i = order[0]
            w = self._slots[i]
            assert w is not None
        w.lock.acquire()
        return i, w

    def _retire(self, i: int, worker: _Worker) -> None:
        worker.stop(kill=True)
        with self._lock:
            if self._slots[i] is worker:
                self._slots[i] = None

    def decode(self, path: str | os.PathLike[str], index: int) -> np.ndarray:
        """Frame ``index`` (0-based) of ``path`` decoded in a worker; raises what :func:`pixels.decode_frame`
        raises, or :class:`DicomReadError` when the worker died or did not finish within ``timeout``."""
        i, worker = self._acquire()
        try:
            try:
                worker.conn.send((os.fspath(path), index))
                ready = worker.conn.poll(self.timeout)
                reply = worker.conn.recv() if ready else None
            except (EOFError, OSError, BrokenPipeError):
                worker.process.join(1.0)
                code = worker.process.exitcode
                self._retire(i, worker)
                raise DicomReadError(
                    f"{path}: frame {index + 1}: the decoder crashed on this frame ({_describe_exit(code)}); "
                    "the frame cannot be shown, the rest of the study is not affected"
                ) from None
            if reply is None:
                self._retire(i, worker)
                raise DicomReadError(
                    f"{path}: frame {index + 1}: the decoder did not finish within {self.timeout:g} s; stopped"
                )
            kind, value = reply
            if kind == "error":
                raise value  # type: ignore[misc]
            # copied while the worker is still ours: its buffer is reused by the next request
            return worker.take(value) if isinstance(value, _SharedFrame) else value  # type: ignore[return-value]
        finally:
            worker.lock.release()

    def close(self) -> None:
        with self._lock:
            workers, self._slots = self._slots, [None] * len(self._slots)
        for w in workers:
            if w is not None:
                w.stop(kill=False)


def _attach(name: str) -> SharedMemory:
    """Map a worker's buffer. The worker owns and unlinks it; the resource tracker is shared with the workers
    (forkserver), so a buffer of a crashed worker is still removed when this process exits."""
    return SharedMemory(name=name)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "the decoder process ended"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


_default: IsolatedDecoder | None = None
_default_lock = threading.Lock()


def decode_frame_isolated(path: str | os.PathLike[str], index: int) -> np.ndarray:
    """Decode one frame in the module's decoder process (created on first use). See :class:`IsolatedDecoder`."""
    global _default
    with _default_lock:
        if _default is None:
            _default = IsolatedDecoder()
            atexit.register(_default.close)  # the worker unlinks its shared buffer when its pipe closes
        decoder = _default
    return decoder.decode(path, index)


def needs_isolation(header: object) -> bool:
    """True when this image's frames go through a native decoder (see :data:`RISKY_SYNTAXES`)."""
    return reader._transfer_syntax(header) in RISKY_SYNTAXES  # type: ignore[arg-type]


def decode_frame_safe(path: str | os.PathLike[str], index: int, header: object) -> np.ndarray:
    """:func:`pixels.decode_frame` for native data, :func:`decode_frame_isolated` for compressed data.

    An undecodable syntax is refused here, before a worker is started for nothing."""
    if not needs_isolation(header):
        return pixels.decode_frame(path, index, header=header)  # type: ignore[arg-type]
    n = reader.number_of_frames(header)  # type: ignore[arg-type]
    if not 0 <= index < n:
        raise IndexError(f"{path}: frame index {index} out of range (the file has {n} frames)")
    pixels.check_decodable(header, path)  # UnsupportedTransferSyntax names the package to install
    return decode_frame_isolated(Path(path), index)
