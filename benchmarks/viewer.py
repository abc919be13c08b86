"""Viewer benchmark: W/L repaint, cine playback, first frame of a study. Prints ONE JSON object.

1024×1024 uint16 frames, offscreen Qt, medians over ≥ 50 repetitions, each next to a baseline measured in the
same run on the same machine:

* ``wl_repaint_ms``  — Viewport.set_window + synchronous repaint of the viewport (overlays included)
  vs ``wl_baseline_ms`` — a bare pyqtgraph ImageItem ``setLevels`` + repaint of the same frame and view size.
* ``cine_fps`` / ``cine_dropped_pct`` — a 300-frame loop played at 30 fps (fps override) for one full pass,
  frames decoded off the UI thread from the DICOM file; also ``cine_painted_fps`` counted in ImageItem.paint.
* ``first_frame_ms`` — a fresh Viewport opening a 60-frame study until the first frame is painted
  vs ``first_frame_baseline_ms`` — plain ``pydicom.pixels.pixel_array(path, index=0)`` + setImage + one repaint.

Usage: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/viewer.py [--reps 50] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from pydicom.dataset import FileDataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, generate_uid  # noqa: E402

SIZE = 1024
VIEW = (900, 900)


def write_loop(path: Path, frames: int, study_uid: str, frame_time_ms: float = 1000 / 30) -> None:
    """A multi-frame RF file with a textured, frame-varying image (uncompressed, 12 bits stored)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.12.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID, ds.StudyDate, ds.Modality = "BENCH^LOOP", "B1", "20260101", "RF"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.Rows = ds.Columns = SIZE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.ImagerPixelSpacing = [0.3, 0.3]
    ds.NumberOfFrames = frames
    ds.FrameTime = frame_time_ms
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    rng = np.random.default_rng(0)
    base = rng.integers(0, 3000, (SIZE, SIZE), dtype=np.uint16)
    with open(path, "wb"):
        pass
    buf = bytearray(frames * SIZE * SIZE * 2)
    view = np.frombuffer(buf, dtype=np.uint16).reshape(frames, SIZE, SIZE)
    for k in range(frames):
        view[k] = base + (k % 1000)
    ds.PixelData = bytes(buf)
    ds.save_as(path, enforce_file_format=True)


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--cine-frames", type=int, default=300)
    ap.add_argument("--keep", help="write the test files here instead of a temp dir")
    args = ap.parse_args(argv)
    reps = max(50, args.reps)

    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from hsg_workstation.dicom_io.database import LocalDatabase
    from hsg_workstation.ui.app import make_application
    from hsg_workstation.ui.viewport import Viewport

    app = make_application()
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hsg-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    study_uid = generate_uid()
    loop60 = tmp / "loop60" / "loop.dcm"
    loop60.parent.mkdir(exist_ok=True)
    write_loop(loop60, 60, study_uid)
    cine_uid = generate_uid()
    loop300 = tmp / "loop300" / "loop.dcm"
    loop300.parent.mkdir(exist_ok=True)
    write_loop(loop300, args.cine_frames, cine_uid)
    db = LocalDatabase(tmp / "db")
    db.import_paths([loop60.parent, loop300.parent])
    ds60 = next(d for d in db.display_sets(study_uid) if d.frames)
    ds300 = next(d for d in db.display_sets(cine_uid) if d.frames)
    study60, study300 = db.study(study_uid), db.study(cine_uid)

    def wait(pred, timeout=30.0) -> None:
        """Sleep in the event loop until ``pred`` (like the real app: no busy spinning against the decoder)."""
        deadline = time.perf_counter() + timeout
        tick = QTimer()
        tick.start(100)  # wakes the wait below if no event ever comes, so the timeout can fire
        while not pred():
            if time.perf_counter() > deadline:
                raise RuntimeError("timeout")
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        tick.stop()

    # ---- W/L: baseline (bare ImageItem) vs viewport ------------------------------------------------------
    frame = pydicom.pixels.pixel_array(str(ds60.frames[0].path), index=0)
    bare = pg.GraphicsView()
    bare_vb = pg.ViewBox(lockAspect=True, invertY=True)
    bare.setCentralItem(bare_vb)
    bare_item = pg.ImageItem(axisOrder="row-major")
    bare_vb.addItem(bare_item)
    bare.resize(*VIEW)
    bare.show()
    bare_item.setImage(frame, autoLevels=False, levels=(0, 4095))
    bare_vb.autoRange(padding=0)
    app.processEvents()
    vp = Viewport()
    vp.resize(*VIEW)
    vp.show()
    vp.set_display_set(ds60, study60)
    wait(lambda: vp.displayed_index == 0)
    app.processEvents()

    base_ms, vp_ms = [], []
    for i in range(reps + 5):
        lo, hi = 100 + (i % 20) * 10, 3000 - (i % 20) * 10
        t0 = time.perf_counter()
        bare_item.setLevels((lo, hi))
        bare.viewport().repaint()
        t1 = time.perf_counter()
        vp.set_levels(lo, hi)
        vp.view.viewport().repaint()
        t2 = time.perf_counter()
        if i >= 5:
            base_ms.append((t1 - t0) * 1000)
            vp_ms.append((t2 - t1) * 1000)
    vp.close_viewport()
    vp.deleteLater()

    # ---- first frame: baseline vs fresh viewport opening the 60-frame study ------------------------------
    ff_base, ff_vp = [], []
    path60 = str(ds60.frames[0].path)
    for i in range(reps + 3):
        t0 = time.perf_counter()
        arr = pydicom.pixels.pixel_array(path60, index=0)
        bare_item.setImage(arr, autoLevels=False, levels=(0, 4095))
        bare.viewport().repaint()
        t1 = time.perf_counter()
        v = Viewport()
        v.resize(*VIEW)
        v.show()
        app.processEvents()
        t2 = time.perf_counter()
        v.set_display_set(ds60, study60)
        wait(lambda v=v: v.displayed_index == 0)
        v.view.viewport().repaint()
        t3 = time.perf_counter()
        v.close_viewport()
        v.deleteLater()
        app.processEvents()
        if i >= 3:
            ff_base.append((t1 - t0) * 1000)
            ff_vp.append((t3 - t2) * 1000)

    # ---- cine: 300 frames at 30 fps ----------------------------------------------------------------------
    cv = Viewport()
    cv.resize(*VIEW)
    cv.show()
    cv.set_display_set(ds300, study300)
    wait(lambda: cv.displayed_index == 0)
    cv.cine.fps_override = 30.0
    cv.cine.loop = True
    painted: list[int] = []
    original_paint = cv.image_item.paint

    def counting_paint(*a, **kw):
        painted.append(cv.displayed_index)
        return original_paint(*a, **kw)

    cv.image_item.paint = counting_paint
    # A reader presses play a moment after the loop appears; let the post-first-paint prefetch start (0.5 s).
    settle = QEventLoop()
    QTimer.singleShot(500, settle.quit)
    settle.exec()
    n = args.cine_frames
    duration_s = n / 30.0
    loop = QEventLoop()
    QTimer.singleShot(int(duration_s * 1000), loop.quit)
    t0 = time.perf_counter()
    cv.play()
    loop.exec()
    elapsed = time.perf_counter() - t0
    stats = cv.cine.stats
    cv.pause()
    cv.close_viewport()
    painted_distinct = len([1 for a, b in zip(painted, painted[1:], strict=False) if a != b]) + (
        1 if painted else 0
    )
    bare.close()
    db.close()
    QApplication.processEvents()

    result = {
        "wl_repaint_ms": _median(vp_ms),
        "wl_baseline_ms": _median(base_ms),
        "wl_ratio": round(statistics.median(vp_ms) / statistics.median(base_ms), 3),
        "cine_fps": round(len(stats.shown) / elapsed, 2),
        "cine_painted_fps": round(painted_distinct / elapsed, 2),
        "cine_dropped_pct": round(stats.dropped_pct, 2),
        "cine_frames_due": stats.due,
        "cine_target_fps": 30.0,
        "first_frame_ms": _median(ff_vp),
        "first_frame_baseline_ms": _median(ff_base),
        "first_frame_ratio": round(statistics.median(ff_vp) / statistics.median(ff_base), 3),
        "reps": reps,
        "frame": f"{SIZE}x{SIZE} uint16",
        "view": f"{VIEW[0]}x{VIEW[1]}",
        "qt_platform": os.environ.get("QT_QPA_PLATFORM", ""),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
