"""The decoded-frame cache and the decode-ahead pool (Qt-free): budget, superseding, worker crash, shutdown."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from hsg_workstation.dicom_io import frame_cache as fc
from tests.dicom_io import crashing_decoder


def write_loop(path: Path, frames: int = 8, size: int = 48, study_uid: str | None = None) -> Path:
    """Native RF loop: frame k holds (100*k + column index) mod 4096 (12 bits stored)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.12.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = study_uid or generate_uid(), generate_uid(), "RF"
    ds.PatientName, ds.PatientID, ds.StudyDate = "TEST^LONG", "T1", "20260101"
    ds.FrameTime, ds.FrameIncrementPointer = 100.0, 0x00181063
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.NumberOfFrames = frames
    cols = np.tile(np.arange(size, dtype=np.int64), (size, 1))
    arr = np.stack([(100 * k + cols) % 4096 for k in range(frames)]).astype(np.uint16)
    ds.PixelData = arr.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def rle_copy(native: Path, out: Path) -> Path:
    """The same loop RLE-compressed by DCMTK (an encoder this project did not write)."""
    subprocess.run(["/usr/bin/dcmcrle", str(native), str(out)], check=True, capture_output=True)
    return out


def jpegls_copy(native: Path, out: Path) -> Path:
    """The same loop JPEG-LS lossless by DCMTK: a decoder that holds the GIL, so it goes to worker processes."""
    subprocess.run(["/usr/bin/dcmcjpls", str(native), str(out)], check=True, capture_output=True)
    return out


def arr(nbytes: int) -> np.ndarray:
    return np.zeros(nbytes, dtype=np.uint8)


def decoder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hsg-decode") and t.is_alive()]


def test_cache_keeps_its_budget_least_recently_used_first() -> None:
    cache = fc.FrameCache(budget_bytes=1000)
    for i in range(4):
        cache.put(("a", i), arr(300))
    assert cache.nbytes <= 1000 and len(cache) == 3
    assert ("a", 0) not in cache  # the oldest went first
    cache.get(("a", 1))  # used: now the most recent
    cache.put(("a", 4), arr(300))
    assert ("a", 1) in cache and ("a", 2) not in cache
    cache.budget = 400  # a smaller setting applies at once
    assert cache.nbytes <= 400 and len(cache) == 1


def test_frames_a_client_is_about_to_play_are_evicted_last() -> None:
    cache = fc.FrameCache(budget_bytes=1000)
    cache.put(("a", 0), arr(300))
    cache.put(("a", 1), arr(300))
    cache.protect("viewport", [("a", 0), ("a", 5)])
    cache.put(("a", 2), arr(300))
    cache.put(("a", 3), arr(300))  # over budget: frame 1 (not wanted) goes, frame 0 (wanted) stays
    assert ("a", 0) in cache and ("a", 1) not in cache
    assert cache.nbytes <= 1000


def test_a_newer_request_supersedes_the_queued_older_one(tmp_path) -> None:
    path = str(write_loop(tmp_path / "loop.dcm", frames=30))
    decoded: list[int] = []
    started = threading.Event()

    def slow(p: str, index: int) -> np.ndarray:
        started.set()
        time.sleep(0.05)
        decoded.append(index)
        return fc.decode_for_display(p, index)

    pool = fc.FramePool(processes=0, thread_decode=slow, route=lambda p: False)
    try:
        pool.request("vp", [(path, i) for i in range(20)])
        assert started.wait(5)
        pool.request("vp", [(path, 25), (path, 26)])
        assert pool.fetch((path, 26), timeout=10) is not None
        deadline = time.monotonic() + 5
        while not pool.idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        # at most the frame being decoded when the new request came, then the new frames; the old queue is gone
        assert decoded[-2:] == [25, 26] and len(decoded) <= 4
        assert pool.stats.decoded == len(decoded)
    finally:
        pool.shutdown()


def test_compressed_frames_decode_in_worker_processes_equal_to_pydicom(tmp_path) -> None:
    native = write_loop(tmp_path / "native.dcm", frames=6)
    jls = str(jpegls_copy(native, tmp_path / "jls.dcm"))
    assert fc.needs_process(jls) and not fc.needs_process(str(native))
    pool = fc.FramePool(processes=2)
    try:
        pool.warm_up()
        pool.request("vp", [(jls, i) for i in range(6)])
        frames = [pool.fetch((jls, i), timeout=60) for i in range(6)]
        for i, frame in enumerate(frames):
            assert np.array_equal(frame, pydicom.pixels.pixel_array(jls, index=i))
        assert pool.stats.decoded == 6 and pool.stats.in_process == 0  # worker processes did the work
        assert len(pool.worker_pids()) == 2
    finally:
        pool.shutdown()


def test_rle_frames_decode_in_the_worker_processes_equal_to_pydicom(tmp_path) -> None:
    """pylibjpeg-rle holds the GIL (two threads decode no faster than one, session 5): RLE decode-ahead runs in
    the worker processes, one frame per process at a time, and equals pydicom's own decode. Only a loop's first
    frame may be decoded inline (``cheap_in_process``), as the viewport does."""
    native = write_loop(tmp_path / "native.dcm", frames=8, size=256)
    rle = str(rle_copy(native, tmp_path / "rle.dcm"))
    assert fc.needs_process(rle)
    assert fc.cheap_in_process(fc.frame_source(rle).header)  # the inline first frame
    assert not fc.needs_process(str(native))
    pool = fc.FramePool(processes=2)
    try:
        pool.request("vp", [(rle, i) for i in range(8)])
        frames = [pool.fetch((rle, i), timeout=60) for i in range(8)]
        for i, frame in enumerate(frames):
            assert np.array_equal(frame, pydicom.pixels.pixel_array(rle, index=i))
        assert pool.stats.decoded == 8 and pool.stats.in_process == 0
        assert len(pool.worker_pids()) == 2
    finally:
        pool.shutdown()


def test_a_crashing_decoder_costs_one_frame_and_a_message(tmp_path) -> None:
    path = str(write_loop(tmp_path / "loop.dcm", frames=6))
    seen: list[tuple[tuple[str, int], str | None]] = []
    pool = fc.FramePool(processes=1, decode=crashing_decoder.decode, route=lambda p: True)
    pool.add_listener(lambda key, message: seen.append((key, message)))
    try:
        pool.warm_up()
        pool.request("vp", [(path, i) for i in range(6)])
        with pytest.raises(fc.DecodeFailed, match=r"frame 4: the decoder process stopped .*restarted"):
            pool.fetch((path, crashing_decoder.CRASH_INDEX), timeout=60)
        for i in (0, 1, 2, 4, 5):  # every other frame still decodes, in the restarted worker
            assert pool.fetch((path, i), timeout=60)[0, 5] == 100 * i + 5
        assert pool.stats.restarts == 1 and pool.stats.failed == 1
        messages = [m for key, m in seen if key == (path, crashing_decoder.CRASH_INDEX)]
        assert len(messages) == 1 and "loop.dcm" in messages[0]
    finally:
        pool.shutdown()


def test_shutdown_leaves_no_thread_or_process(tmp_path) -> None:
    native = write_loop(tmp_path / "native.dcm", frames=4)
    jls = str(jpegls_copy(native, tmp_path / "jls.dcm"))
    before = set(decoder_threads())
    pool = fc.FramePool(processes=2)
    pool.warm_up()
    pool.request("vp", [(jls, i) for i in range(4)] + [(str(native), i) for i in range(4)])
    pool.fetch((jls, 3), timeout=60)
    pids = pool.worker_pids()
    assert pids and set(decoder_threads()) - before
    pool.shutdown()
    assert set(decoder_threads()) - before == set()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert len(pool.cache) == 0


def test_fetch_waits_for_a_frame_already_queued_instead_of_decoding_it_twice(tmp_path) -> None:
    path = str(write_loop(tmp_path / "loop.dcm", frames=10))
    calls: list[int] = []

    def counting(p: str, index: int) -> np.ndarray:
        calls.append(index)
        time.sleep(0.01)
        return fc.decode_for_display(p, index)

    pool = fc.FramePool(processes=0, thread_decode=counting, route=lambda p: False)
    try:
        pool.request("viewer", [(path, i) for i in range(10)])
        got = [pool.fetch((path, i), client="analysis", timeout=10) for i in range(10)]
        assert [g[0, 0] for g in got] == [100 * i for i in range(10)]
        assert sorted(calls) == list(range(10))  # each frame decoded once for both readers
    finally:
        pool.shutdown()


def test_a_frame_decoded_after_clear_does_not_come_back(tmp_path) -> None:
    """Closing a study clears the cache while a frame may still be decoding: its result is dropped on arrival
    (it put one frame of the closed study back into the cache — seen as a flaky viewer test)."""
    path = str(write_loop(tmp_path / "loop.dcm", frames=4))
    started, release = threading.Event(), threading.Event()

    def held(p: str, index: int) -> np.ndarray:
        started.set()
        release.wait(5)
        return fc.decode_for_display(p, index)

    pool = fc.FramePool(processes=0, thread_decode=held, route=lambda p: False)
    try:
        pool.request("vp", [(path, 0)])
        assert started.wait(5)
        pool.cancel("vp")  # the viewport closes ...
        pool.clear()  # ... and the study's frames are dropped while frame 0 is still being decoded
        release.set()
        deadline = time.monotonic() + 5
        while not pool.idle() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pool.idle() and len(pool.cache) == 0
        pool.request("vp", [(path, 0)])  # a later request decodes it again normally
        assert pool.fetch((path, 0), timeout=10) is not None and len(pool.cache) == 1
    finally:
        pool.shutdown()
