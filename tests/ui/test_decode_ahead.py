"""The viewer on the decode-ahead pool: the cine waits for undecoded frames, W/L reuses decoded frames, a long
loop stays within the cache budget, a crashing decoder costs one frame, the analysis reads the viewer's frames."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from hsg_workstation.dicom_io import frame_cache as fc
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.ui import frames as fr
from hsg_workstation.ui.loader import shared_pool
from hsg_workstation.ui.viewport import Viewport
from tests.dicom_io import crashing_decoder
from tests.dicom_io.test_frame_cache import write_loop
from tests.ui.conftest import make_rf
from tests.ui.helpers import wait_until


def rle(native: Path, out: Path) -> Path:
    subprocess.run(["/usr/bin/dcmcrle", str(native), str(out)], check=True, capture_output=True)
    native.unlink()
    return out


def open_loop(tmp_path: Path, name: str, *, frames: int = 12, compress: bool = False, size: int = 64):
    """(database, loop display set, study) for one RF loop, RLE-compressed by DCMTK if ``compress``."""
    d = tmp_path / name
    d.mkdir()
    uid = generate_uid()
    path = d / "loop.dcm"
    if frames > 600:  # make_rf's values overflow 16 bits beyond ~650 frames
        write_loop(path, frames=frames, size=size, study_uid=uid)
    else:
        make_rf(path, frames=frames, size=size, study_uid=uid, frame_time=100.0)
    if compress:
        rle(path, d / "loop-rle.dcm")
    db = LocalDatabase(tmp_path / f"{name}-db")
    db.import_paths([d])
    ds = next(s for s in db.display_sets(uid) if s.frames)
    return db, ds, db.study(uid)


@pytest.fixture
def window(qtbot, data_dir: Path, study_dir: Path, settings_path: Path):
    from PySide6.QtCore import QSettings

    from hsg_workstation.session.measurements import MeasurementStore
    from hsg_workstation.ui.main_window import MainWindow

    db = LocalDatabase(data_dir)
    db.import_paths([study_dir])
    w = MainWindow(db, QSettings(str(settings_path), QSettings.Format.IniFormat), MeasurementStore())
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    w.open_study(db.studies()[0].study_instance_uid)
    wait_until(lambda: w.active is not None and w.active.displayed_index == 0)
    yield w
    w.close()
    db.close()


def decoder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("hsg-decode") and t.is_alive()]


def test_cine_waits_for_an_undecoded_frame_and_says_buffering(window, monkeypatch) -> None:
    """Decoding slower than the cine: every frame is shown in order, none skipped, none dropped, and the
    cine bar counts the decoded frames meanwhile."""
    vp = window.active
    wait_until(lambda: shared_pool().idle())
    vp.pause()
    shared_pool().cache.clear()
    original = fr.decode_frame

    def slow(header, index):
        time.sleep(0.15)  # slower than a 10 fps slot
        return original(header, index)

    monkeypatch.setattr(fr, "decode_frame", slow)
    painted: list[int] = []
    texts: list[str] = []
    holding_overlays: list[str] = []
    vp.framePainted.connect(painted.append)
    window.cine_bar.buffer_label.setText("")
    vp.bufferingChanged.connect(texts.append)

    def on_due(_index: int) -> None:
        if vp.cine.holding:
            holding_overlays.append(vp.overlay_texts()["tr"])

    vp.cine.frameDue.connect(on_due)
    vp.cine.fps_override = 10.0
    vp.show_frame(0)
    vp.play()
    wait_until(lambda: len(painted) >= 11, timeout=30)
    vp.pause()
    # frame 1 was on screen already; then every frame in order: nothing skipped while frames were decoding
    assert painted[:11] == list(range(1, 12))
    assert vp.cine.stats.dropped == 0
    assert any(re.fullmatch(r"buffering \d+ / 12", t) for t in texts)
    assert holding_overlays and all("buffering" in t for t in holding_overlays)  # the old frame is not "due"


def test_window_level_on_decoded_frames_decodes_nothing_again(qtbot, tmp_path) -> None:
    db, ds, study = open_loop(tmp_path, "rle", compress=True)
    pool = fc.FramePool(fc.FrameCache(), processes=2)
    vp = Viewport(pool=pool)
    qtbot.addWidget(vp)
    try:
        vp.resize(400, 400)
        vp.show()
        vp.set_display_set(ds, study)
        wait_until(lambda: vp.displayed_index == 0, timeout=60)
        wait_until(lambda: pool.idle() and len(pool.cache) == 12, timeout=60)
        decoded = pool.stats.decoded
        # RLE: the first frame inline (pylibjpeg-rle is memory-safe, a worker hop would cost as much as the
        # decode), handed to the pool's cache; the rest in the worker processes (the decoder holds the GIL)
        assert decoded == 12 and pool.stats.in_process == 1 and len(pool.worker_pids()) == 2
        for k in range(12):
            vp.set_levels(100 + 10 * k, 3000 - 10 * k)
            vp.apply_preset(1 + k % len(vp.presets()))
            vp.show_frame((k * 5) % 12)
            assert vp.displayed_index == (k * 5) % 12  # painted at once, from the cache
            assert vp.frame[3, 7] == 100 * ((k * 5) % 12) + 7
        vp.auto_levels()
        assert pool.stats.decoded == decoded
    finally:
        vp.close_viewport()
        pool.shutdown()
        db.close()


def test_a_long_loop_plays_and_scrolls_within_the_cache_budget(qtbot, tmp_path) -> None:
    db, ds, study = open_loop(tmp_path, "long", frames=1000, size=32)
    frame_bytes = 32 * 32 * 2
    pool = fc.FramePool(fc.FrameCache(budget_bytes=60 * frame_bytes), processes=0)
    vp = Viewport(pool=pool)
    qtbot.addWidget(vp)
    most = 0

    def watch(_index: int) -> None:
        nonlocal most
        most = max(most, len(pool.cache))

    try:
        vp.resize(300, 300)
        vp.show()
        vp.framePainted.connect(watch)
        vp.set_display_set(ds, study)
        wait_until(lambda: vp.displayed_index == 0)
        assert len(vp._ahead) <= 60  # decode-ahead asks for what fits, not the 1000 frames
        vp.cine.fps_override = 120.0
        vp.play()
        wait_until(lambda: vp.displayed_index >= 150, timeout=30)
        vp.pause()
        for target in (900, 10, 999, 500):
            vp.show_frame(target)
            wait_until(lambda t=target: vp.displayed_index == t)
            assert vp.frame[0, 5] == (100 * target + 5) % 4096
        wait_until(pool.idle)
        most = max(most, len(pool.cache))
        assert most <= 60 and pool.cache.nbytes <= 60 * frame_bytes
        assert pool.cache.evictions > 0  # the loop did not fit: frames behind were dropped
    finally:
        vp.close_viewport()
        pool.shutdown()
        db.close()


def test_a_crashing_decoder_costs_the_viewer_one_frame_and_a_message(qtbot, tmp_path) -> None:
    db, ds, study = open_loop(tmp_path, "crash", frames=8)
    pool = fc.FramePool(processes=1, decode=crashing_decoder.decode, route=lambda p: True)
    vp = Viewport(pool=pool)
    qtbot.addWidget(vp)
    try:
        vp.resize(300, 300)
        vp.show()
        pool.warm_up()
        vp.set_display_set(ds, study)
        wait_until(lambda: vp.displayed_index == 0, timeout=60)
        vp.show_frame(crashing_decoder.CRASH_INDEX)
        wait_until(lambda: vp.error is not None, timeout=60)
        assert "frame 4" in vp.error and "decoder process stopped" in vp.error
        vp.show_frame(5)
        wait_until(lambda: vp.displayed_index == 5, timeout=60)
        assert vp.error is None and vp.frame[0, 5] == 505
        assert pool.stats.restarts == 1
    finally:
        vp.close_viewport()
        pool.shutdown()
        db.close()


def test_analysis_reads_the_viewers_frames_and_closing_ends_every_worker(qtbot, tmp_path) -> None:
    pytest.importorskip("hsg_workstation.ui.fill_curve")
    from hsg_workstation.ui.app import create_main_window

    study = tmp_path / "study"
    study.mkdir()
    uid = generate_uid()
    make_rf(study / "cine.dcm", frames=12, study_uid=uid, frame_time=100.0)
    # JPEG-LS: decoded in the worker processes, whose end is checked below
    subprocess.run(
        ["/usr/bin/dcmcjpls", str(study / "cine.dcm"), str(study / "cine-jls.dcm")],
        check=True,
        capture_output=True,
    )
    window, db = create_main_window(str(tmp_path / "data"), sample_dir=study)
    qtbot.addWidget(window)
    try:
        fcc = window.fill_curve
        wait_until(lambda: fcc.result is not None or "failed" in fcc.widget.title.text(), timeout=120)
        assert fcc.result is not None, fcc.widget.title.text()
        pool = shared_pool()
        loop = str(fcc.loop.instances[0].path)
        counts = [pool.stats.per_key[(loop, i)] for i in range(12)]
        assert counts == [1] * 12  # every frame decoded once, for the viewer and the analysis together
        pids = pool.worker_pids()
        assert pids
    finally:
        window.close()
        db.close()
    assert decoder_threads() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_large_film_is_drawn_reduced_while_zoomed_out_and_measured_at_full_resolution(
    qtbot, tmp_path
) -> None:
    """Level of detail: a 3000² spot film fitted in a small view is drawn from a block-mean reduction (W/L costs
    what a fluoroscopy frame costs); zoomed to 1:1 it is drawn in full; pixel values always come from the
    full frame and the drawn image covers the same pixel grid."""
    import numpy as np
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    d = tmp_path / "dx"
    d.mkdir()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(d / "dx.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = generate_uid(), generate_uid(), "DX"
    ds.PatientName, ds.PatientID = "TEST^DX", "DX1"
    ds.Rows = ds.Columns = 3000
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    cols = np.arange(3000, dtype=np.uint16)
    ds.PixelData = np.broadcast_to(cols * 20, (3000, 3000)).astype(np.uint16).tobytes()
    ds.save_as(d / "dx.dcm", enforce_file_format=True)
    db = LocalDatabase(tmp_path / "dx-db")
    db.import_paths([d])
    study = db.studies()[0]
    film = next(s for s in db.display_sets(study.study_instance_uid) if s.frames)
    pool = fc.FramePool(processes=0)
    vp = Viewport(pool=pool)
    qtbot.addWidget(vp)
    try:
        vp.resize(600, 600)
        vp.show()
        vp.set_display_set(film, db.study(study.study_instance_uid))
        wait_until(lambda: vp.displayed_index == 0)
        drawn = vp.image_item.image
        on_screen = 3000 * vp.zoom_factor  # screen pixels the film's height takes
        assert on_screen <= drawn.shape[0] < 3000  # reduced, still at least one drawn pixel per screen pixel
        assert vp.pixel_at((2500.5, 10.5)) == 2500 * 20  # the read-out is the full-resolution value
        top_left = vp.image_item.mapRectToParent(vp.image_item.boundingRect())
        assert top_left.width() == pytest.approx(3000, abs=16) and top_left.x() == 0
        vp.set_levels(1000, 50000)
        assert vp.image_item.image is drawn  # W/L draws the same reduction again: no new pixel work
        vp.one_to_one()
        assert vp.image_item.image.shape == (3000, 3000)  # 1:1 shows every pixel
    finally:
        vp.close_viewport()
        pool.shutdown()
        db.close()


def test_the_buffering_count_is_redrawn_at_most_ten_times_a_second_and_ends_done(qtbot, tmp_path) -> None:
    """Frames arriving every few milliseconds do not each redraw "buffering n / N" (the UI thread would take the
    GIL from the threads receiving them), yet the count ends: the last state shown is "" (all decoded)."""
    from hsg_workstation.ui import viewport_feed

    db, ds, study = open_loop(tmp_path, "fast", frames=40, compress=True)
    pool = fc.FramePool(fc.FrameCache(), processes=2)
    vp = Viewport(pool=pool)
    qtbot.addWidget(vp)
    shown: list[tuple[float, str]] = []
    vp.bufferingChanged.connect(lambda text: shown.append((time.monotonic(), text)))
    try:
        vp.resize(400, 400)
        vp.show()
        pool.warm_up()
        wait_until(lambda: all(lane.ready for lane in pool._process_lanes), timeout=60)
        vp.set_display_set(ds, study)
        wait_until(lambda: pool.idle() and len(pool.cache) == 40, timeout=60)
        wait_until(lambda: vp.buffering_text == "", timeout=5)
        assert shown and shown[-1][1] == ""
        counts = [t for t, text in shown if text]
        gaps = [b - a for a, b in zip(counts, counts[1:], strict=False)]
        assert all(g >= viewport_feed.BUFFERING_REFRESH_MS / 1000 * 0.9 for g in gaps), gaps
    finally:
        vp.close_viewport()
        pool.shutdown()
        db.close()
