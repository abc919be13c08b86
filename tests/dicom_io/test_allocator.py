"""The viewer process keeps freed frame memory for reuse (dicom_io/allocator.py, issue 15)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_frame_sized_blocks_come_from_the_heap_after_keep_frame_memory() -> None:
    """After ``keep_frame_memory`` a 2 MB frame is served from the heap (glibc's mallinfo2 ``hblkhd``, the bytes
    in mmap'd blocks, does not grow) and freed frames stay for reuse (``fordblks`` grows); without it, glibc maps
    each one separately. Run in fresh interpreters: the setting is process-wide."""
    probe = textwrap.dedent(
        """
        import ctypes, sys
        import numpy as np
        from hsg_workstation.dicom_io import allocator

        class M(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in
                        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = M
        if sys.argv[1] == "keep":
            assert allocator.keep_frame_memory() and allocator.keep_frame_memory()  # idempotent
        before = libc.mallinfo2().hblkhd
        frames = [np.ones((1024, 1024), np.uint16) for _ in range(8)]
        mapped = libc.mallinfo2().hblkhd - before
        del frames
        print(mapped, libc.mallinfo2().fordblks)
        """
    )
    out = {}
    for mode in ("default", "keep"):
        r = subprocess.run([sys.executable, "-c", probe, mode], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        mapped, free_in_heap = map(int, r.stdout.split())
        out[mode] = (mapped, free_in_heap)
    assert out["default"][0] >= 8 * 2 * 1024 * 1024  # each frame its own mapping
    assert out["keep"][0] == 0  # from the heap
    assert out["keep"][1] >= 8 * 2 * 1024 * 1024  # and kept there for the next frames
