"""Shared memory the decoder worker processes decode into and the frame cache keeps the frames in: no copy.

Why: a worker's decoded frame used to reach the viewer through one of two shared slots and be copied from there
into a fresh array of the viewer process. For RLE (2.2 ms to decode a 1024² frame) that copy and its allocation
were ~0.3 of the viewer's ~0.4 ms per frame, and on 2 cores every millisecond the viewer spends is taken from a
decoder (issue 15: RLE decode-ahead at 0.49–0.75 of the serial time against ≤ 0.65). Here the parent hands each
request a block of one ``memfd`` mapped by every worker; the worker writes the frame into it once, and the
cache's array *is* that block.

Lifetime: a frame's array is a view whose memory belongs to a small ctypes object (:class:`_Block` below); the
block returns to the free list only when that object is garbage — when the cache has evicted the frame *and*
no painted image, analysis or other view still refers to it. A block is therefore never rewritten under a reader.
Frees are queued by the finaliser (it can run on any thread, at any allocation) and applied under the lock
by the next allocation, so the free list is never changed while it is being walked.

Memory: the memfd is sparse — only pages a frame touched take memory. Allocation is first-fit from the lowest
address, so a session keeps reusing the same (already faulted-in) pages, as glibc's heap does with
:mod:`allocator`'s thresholds. :meth:`FrameArena.trim` gives free pages above ``keep`` back to the system
(a study closed). When no block fits (arena full, or a budget raised beyond it), the caller falls back to
sending the frame over the socket: slower, never wrong.
"""

from __future__ import annotations

import bisect
import collections
import ctypes
import mmap
import os
import threading
import weakref

import numpy as np

PAGE = mmap.PAGESIZE

_block_types: dict[int, type] = {}


def _block_type(nbytes: int) -> type:
    """A ctypes array type of ``nbytes`` that supports weak references (a Python-level subclass does; the ctypes
    type itself does not)."""
    t = _block_types.get(nbytes)
    if t is None:
        t = type(f"_Block{nbytes}", (ctypes.c_char * nbytes,), {})
        _block_types[nbytes] = t
    return t


def _round_up(nbytes: int) -> int:
    return max(PAGE, -(-int(nbytes) // PAGE) * PAGE)


class FrameArena:
    """A memfd of ``size`` bytes, mapped here and in each worker (:attr:`fd`), carved into page-aligned blocks."""

    def __init__(self, size: int) -> None:
        self.size = _round_up(size)
        self.fd = os.memfd_create("hsg-frame-arena")
        try:
            os.ftruncate(self.fd, self.size)  # sparse: no memory until a page is written
            self._map: mmap.mmap | None = mmap.mmap(self.fd, self.size)
        except OSError:
            os.close(self.fd)
            raise
        self._free: list[list[int]] = [[0, self.size]]  # [offset, length], sorted by offset, coalesced
        self._freed: collections.deque[tuple[int, int]] = (
            collections.deque()
        )  # from finalisers, not yet merged
        self._lock = threading.Lock()
        self._in_use = 0  # bytes in blocks handed out and not yet freed (frees merged)
        self.high_water = 0  # end of the highest block ever handed out (pages below may be resident)

    # -- blocks ---------------------------------------------------------------------------------------
    def allocate(self, nbytes: int) -> tuple[int, int] | None:
        """A free ``(offset, length)`` of at least ``nbytes`` (page-rounded), lowest address first; None if none
        fits. Give it back with :meth:`release` unless :meth:`array` turned it into a frame."""
        length = _round_up(nbytes)
        with self._lock:
            self._merge_freed()
            for entry in self._free:
                if entry[1] >= length:
                    offset = entry[0]
                    entry[0] += length
                    entry[1] -= length
                    if not entry[1]:
                        self._free.remove(entry)
                    self._in_use += length
                    self.high_water = max(self.high_water, offset + length)
                    return offset, length
        return None

    def release(self, block: tuple[int, int]) -> None:
        """Give back a block that did not become a frame (a failed decode, a frame sent over the socket)."""
        self._freed.append(block)

    def array(self, block: tuple[int, int], dtype: np.dtype | str, shape: tuple[int, ...]) -> np.ndarray:
        """The frame a worker wrote at the start of ``block``; the rest of the block is freed now, the frame's
        pages when the last view of the returned array is gone."""
        offset, length = block
        dt = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        used = _round_up(nbytes)
        if used < length:
            self.release((offset + used, length - used))
        if self._map is None:
            raise ValueError("the frame arena is closed")
        holder = _block_type(max(nbytes, 1)).from_buffer(self._map, offset)
        weakref.finalize(holder, self._freed.append, (offset, used))
        return np.frombuffer(holder, dtype=dt, count=nbytes // dt.itemsize).reshape(shape)

    def owns(self, arr: np.ndarray) -> bool:
        """Does ``arr``'s memory lie in this arena (tests; the cache does not need to know)?"""
        if self._map is None or arr.nbytes == 0:
            return False
        base = ctypes.addressof(ctypes.c_char.from_buffer(self._map))
        start = arr.__array_interface__["data"][0]
        return base <= start < base + self.size

    def _merge_freed(self) -> None:
        while self._freed:
            offset, length = self._freed.popleft()
            self._in_use -= length
            i = bisect.bisect_left(self._free, [offset, 0])
            self._free.insert(i, [offset, length])
            if i + 1 < len(self._free) and offset + length == self._free[i + 1][0]:  # joins the next
                self._free[i][1] += self._free.pop(i + 1)[1]
            if i > 0 and self._free[i - 1][0] + self._free[i - 1][1] == offset:  # joins the previous
                self._free[i - 1][1] += self._free.pop(i)[1]

    # -- memory ---------------------------------------------------------------------------------------
    def trim(self, keep: int) -> int:
        """Give the pages of free blocks above offset ``keep`` back to the system (``MADV_REMOVE``); returns
        the bytes given back. Below ``keep`` free pages stay resident for the next frames to reuse."""
        given = 0
        with self._lock:
            self._merge_freed()
            if self._map is None or not hasattr(mmap, "MADV_REMOVE"):
                return 0
            keep = _round_up(keep) if keep > 0 else 0
            for offset, length in self._free:
                start = max(offset, keep)
                end = min(offset + length, self.high_water)
                if end > start:
                    self._map.madvise(mmap.MADV_REMOVE, start, end - start)
                    given += end - start
            if self._free and self._free[-1][0] + self._free[-1][1] == self.size:
                self.high_water = min(self.high_water, max(self._free[-1][0], keep))
        return given

    @property
    def in_use(self) -> int:
        """Bytes in blocks handed out and not freed: cached frames, frames in flight, frames still referenced."""
        with self._lock:
            self._merge_freed()
            return self._in_use

    def free_bytes(self) -> int:
        with self._lock:
            self._merge_freed()
            return sum(length for _, length in self._free)

    def close(self) -> bool:
        """Close the memfd (no worker can start after this) and unmap; False when the mapping is left to the
        garbage collector because a frame of it is still referenced (its memory must stay valid)."""
        with self._lock:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1
            if self._map is None:
                return True
            try:
                self._map.close()
            except BufferError:
                return False
            self._map = None
            return True
