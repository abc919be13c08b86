"""A decoder worker process of the decode-ahead pool (:mod:`hsg_workstation.dicom_io.frame_cache`).

Started as ``python -m hsg_workstation.dicom_io.decode_worker FD MODULE:FUNCTION`` with one end of a socket pair
as ``FD``. Why a fresh interpreter rather than ``multiprocessing``'s ``spawn``: spawn re-imports the parent's
main module in the child, which breaks (or re-runs) any script without a ``__main__`` guard — the benchmarks,
the CLI, a reader's own script; here the child imports only the decoders. It decodes ``(path, index)``
requests one at a time and sends each array back as raw bytes after a ``("ok", dtype, shape)`` header, or
``("err", message, None)``; a crash simply closes the socket, which the pool reports for that one frame.
"""

from __future__ import annotations

import importlib
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection

import numpy as np


def serve(conn: Connection, decode: Callable[[str, int], np.ndarray]) -> None:
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
        path, index = msg
        try:
            arr = np.ascontiguousarray(decode(path, index))
        except BaseException as exc:  # noqa: BLE001 - Rust decoders panic with a BaseException subclass
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                return
            conn.send(("err", str(exc) or type(exc).__name__, None))
            continue
        conn.send(("ok", arr.dtype.str, arr.shape))
        if arr.nbytes:
            conn.send_bytes(memoryview(arr).cast("B"))


def main(argv: list[str]) -> int:
    # Ctrl+C in the viewer's terminal reaches the whole process group: the viewer stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd, spec = int(argv[1]), argv[2]
    module, _, name = spec.partition(":")
    decode = getattr(importlib.import_module(module), name)
    with Connection(fd) as conn:
        try:
            serve(conn, decode)
        except (BrokenPipeError, ConnectionError):  # the viewer went away: nothing left to decode for
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
