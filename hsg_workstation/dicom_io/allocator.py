"""glibc allocator settings for processes that hold decoded frames.

Why: glibc serves an allocation above its mmap threshold (128 KB at start, raised dynamically only up to the size
of the largest block freed so far) with a fresh ``mmap`` and gives it back with ``munmap`` on free. A 1024² frame is
2 MB, so every decoded frame was fresh memory, page-faulted in byte by byte — and on the VMs measured here fresh
memory costs 1–2 ms per MB, more than decoding an RLE frame (docs/benchmarks.md, issue 15: 60 fresh 2 MB arrays
touched in 72–233 ms, against 9 ms to rewrite memory already held).

With a higher mmap threshold frames come from the heap, and with a higher trim threshold the memory of evicted or
closed frames stays in the heap for the next ones: a reading session that has held frames before reuses their
memory instead of faulting it in again. Memory held this way is bounded by the frame cache's budget (the cache
evicts beyond it) plus the trim threshold.
"""

from __future__ import annotations

import ctypes

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Frames up to this size come from the heap (a 3000² 16-bit spot film is 18 MB)
MMAP_THRESHOLD_BYTES = 64 * 1024 * 1024
#: Freed memory at the heap's top kept for reuse before it is returned to the system
TRIM_THRESHOLD_BYTES = 256 * 1024 * 1024

_applied: tuple[int, int] | None = None


def keep_frame_memory(
    mmap_threshold: int = MMAP_THRESHOLD_BYTES, trim_threshold: int = TRIM_THRESHOLD_BYTES
) -> bool:
    """Apply the thresholds to this process (idempotent). False where the C library is not glibc."""
    global _applied
    if _applied == (mmap_threshold, trim_threshold):
        return True
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)
        )
    except (OSError, AttributeError):
        return False  # not glibc: the default allocator behaviour stays
    if ok:
        _applied = (mmap_threshold, trim_threshold)
    return ok
