"""The shared frame arena: blocks, the lifetime of a frame's memory, trimming, and the decode-ahead pool's
frames living in it (decoded by real worker processes, compared with pydicom's own decode)."""

from __future__ import annotations

import gc

import numpy as np
import pydicom
import pytest

from hsg_workstation.dicom_io import frame_cache as fc
from hsg_workstation.dicom_io.frame_arena import PAGE, FrameArena
from tests.dicom_io import crashing_decoder
from tests.dicom_io.test_frame_cache import rle_copy, write_loop


def test_blocks_are_page_aligned_first_fit_and_coalesce_when_freed() -> None:
    arena = FrameArena(16 * PAGE)
    a = arena.allocate(1)  # one page
    b = arena.allocate(2 * PAGE + 1)  # three pages
    c = arena.allocate(PAGE)
    assert a == (0, PAGE) and b == (PAGE, 3 * PAGE) and c == (4 * PAGE, PAGE)
    assert arena.allocate(12 * PAGE) is None  # 11 pages left
    arena.release(a)
    arena.release(b)
    assert arena.allocate(4 * PAGE) == (0, 4 * PAGE)  # a and b merged into one free run, lowest first
    arena.release((0, 4 * PAGE))
    arena.release(c)
    assert arena.free_bytes() == 16 * PAGE and arena.allocate(16 * PAGE) == (0, 16 * PAGE)


def test_a_frames_memory_is_freed_only_when_its_last_view_is_gone() -> None:
    arena = FrameArena(64 * PAGE)
    block = arena.allocate(8 * PAGE)
    frame = arena.array(block, "<u2", (64, 64))  # 8 KB: two pages used, six given back at once
    frame[:] = 7
    assert arena.owns(frame) and not arena.owns(np.zeros(4))
    assert arena.in_use == 2 * PAGE and arena.free_bytes() == 62 * PAGE
    row = frame[10]  # a view the painter or the analysis might keep
    del frame
    gc.collect()
    assert arena.free_bytes() == 62 * PAGE and row[0] == 7  # still held: not reused
    assert arena.allocate(62 * PAGE) is not None and arena.allocate(PAGE) is None
    assert not arena.close()  # cannot unmap memory a live array points into
    del row
    gc.collect()
    assert arena.allocate(2 * PAGE) == (0, 2 * PAGE)  # now free again
    arena.release((0, 2 * PAGE))


def test_trim_gives_free_pages_above_the_reserve_back_and_they_read_zero() -> None:
    arena = FrameArena(32 * PAGE)
    frames = [arena.array(arena.allocate(4 * PAGE), "u1", (4 * PAGE,)) for _ in range(4)]
    for f in frames:
        f[:] = 255
    del f, frames
    gc.collect()
    assert arena.trim(keep=8 * PAGE) == 8 * PAGE  # the pages of frames 3 and 4
    again = [arena.array(arena.allocate(4 * PAGE), "u1", (4 * PAGE,)) for _ in range(4)]
    assert [int(f[0]) for f in again] == [255, 255, 0, 0]  # kept for reuse / given back (reads as new memory)
    assert arena.trim(0) == 0  # nothing free below the high-water mark
    del again
    gc.collect()
    assert arena.close()


def test_worker_decoded_rle_frames_live_in_the_arena_uncopied_and_equal_pydicom(tmp_path) -> None:
    native = write_loop(tmp_path / "native.dcm", frames=8, size=256)
    rle = str(rle_copy(native, tmp_path / "rle.dcm"))
    pool = fc.FramePool(processes=2)
    try:
        arena = pool._arena
        assert arena is not None
        pool.request("vp", [(rle, i) for i in range(8)])
        frames = [pool.fetch((rle, i), timeout=60) for i in range(8)]
        for i, frame in enumerate(frames):
            assert arena.owns(frame)  # written there by the worker, kept there by the cache
            assert np.array_equal(frame, pydicom.pixels.pixel_array(rle, index=i))
        assert arena.in_use == 8 * -(-frames[0].nbytes // PAGE) * PAGE  # the header's upper bound was trimmed
        pool.cache.budget = 1  # evict everything ...
        assert len(pool.cache) <= 1
        del frames, frame
        gc.collect()
        assert arena.in_use <= -(-256 * 256 * 2 // PAGE) * PAGE  # ... and the memory comes back
    finally:
        pool.shutdown()


def test_frames_still_arrive_over_the_socket_when_the_arena_is_full(tmp_path, monkeypatch) -> None:
    native = write_loop(tmp_path / "native.dcm", frames=4, size=256)
    rle = str(rle_copy(native, tmp_path / "rle.dcm"))
    monkeypatch.setattr(fc, "_make_arena", lambda budget: FrameArena(PAGE))  # no frame fits
    pool = fc.FramePool(processes=1)
    try:
        pool.request("vp", [(rle, i) for i in range(4)])
        frames = [pool.fetch((rle, i), timeout=60) for i in range(4)]
        assert not any(pool._arena.owns(f) for f in frames)
        for i, frame in enumerate(frames):
            assert np.array_equal(frame, pydicom.pixels.pixel_array(rle, index=i))
    finally:
        pool.shutdown()


def test_a_crashed_worker_gives_its_blocks_back(tmp_path) -> None:
    path = str(write_loop(tmp_path / "loop.dcm", frames=6))
    pool = fc.FramePool(processes=1, decode=crashing_decoder.decode, route=lambda p: True)
    try:
        pool.request("vp", [(path, i) for i in range(6)])
        with pytest.raises(fc.DecodeFailed):
            pool.fetch((path, crashing_decoder.CRASH_INDEX), timeout=60)
        frames = [pool.fetch((path, i), timeout=60) for i in (0, 1, 2, 4, 5)]
        assert all(pool._arena.owns(f) for f in frames)
        per_frame = -(-frames[0].nbytes // PAGE) * PAGE
        assert pool._arena.in_use == 5 * per_frame  # nothing held for the lost frame or its resent followers
    finally:
        pool.shutdown()
