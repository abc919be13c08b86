"""A decoder worker process of the decode-ahead pool (:mod:`hsg_workstation.dicom_io.frame_cache`).

Started as ``python -m hsg_workstation.dicom_io.decode_worker FD MODULE:FUNCTION [ARENA_FD ARENA_SIZE]`` with
one end of a socket pair as ``FD`` and, on Linux, the pool's shared frame arena
(:mod:`~hsg_workstation.dicom_io.frame_arena`). Why a fresh interpreter rather than ``multiprocessing``'s
``spawn``: spawn re-imports the parent's main module in the child, which breaks (or re-runs) any script without
a ``__main__`` guard — the benchmarks, the CLI, a reader's own script; here the child imports only the decoders.

It decodes ``(path, index, offset, capacity)`` requests one at a time. A frame that fits ``capacity`` is written
into the arena at ``offset`` (the block the parent reserved for this request) and answered ``("shm", dtype,
shape)``: the parent's cache keeps it there, uncopied. Otherwise the array goes back as raw bytes after a
``("ok", dtype, shape)`` header. A failure is ``("err", message, None)``; a crash simply closes the socket, which
the pool reports for that one frame.
"""

from __future__ import annotations

import importlib
import mmap
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection

import numpy as np


def serve(
    conn: Connection, decode: Callable[[str, int], np.ndarray], frames: mmap.mmap | None = None
) -> None:
    for name in (
        "openjpeg",
        "rle",
        "jpeg_ls",
        "gdcm",
    ):  # the decoders' imports, before the first frame is due
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - not installed: pydicom picks another plugin
            continue
    conn.send("ready")
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        path, index, offset, capacity = msg
        try:
            arr = np.ascontiguousarray(decode(path, index))
        except BaseException as exc:  # noqa: BLE001 - Rust decoders panic with a BaseException subclass
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                return
            conn.send(("err", str(exc) or type(exc).__name__, None))
            continue
        if frames is not None and 0 < arr.nbytes <= capacity and offset + capacity <= len(frames):
            # One copy, into the block the frame will be kept in, and a small message: a 2 MB frame through a
            # socket would take dozens of writer/reader hand-offs, each a scheduler wake-up on a loaded machine,
            # and a second copy on the viewer's side.
            frames[offset : offset + arr.nbytes] = memoryview(arr).cast("B")
            conn.send(("shm", arr.dtype.str, arr.shape))
            continue
        conn.send(("ok", arr.dtype.str, arr.shape))
        if arr.nbytes:
            conn.send_bytes(memoryview(arr).cast("B"))


def main(argv: list[str]) -> int:
    # Ctrl+C in the viewer's terminal reaches the whole process group: the viewer stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd, spec = int(argv[1]), argv[2]
    frames = mmap.mmap(int(argv[3]), int(argv[4])) if len(argv) > 4 else None
    module, _, name = spec.partition(":")
    decode = getattr(importlib.import_module(module), name)
    with Connection(fd) as conn:
        try:
            serve(conn, decode, frames)
        except (BrokenPipeError, ConnectionError):  # the viewer went away: nothing left to decode for
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
