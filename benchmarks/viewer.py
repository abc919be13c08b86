"""Viewer benchmark: W/L repaint, cine playback, first frame of a study. Prints ONE JSON object.

1024×1024 uint16 frames, offscreen Qt, medians over ≥ 50 repetitions, each next to a baseline measured in the
same run on the same machine:

* ``wl_repaint_ms``  — Viewport.set_window + synchronous repaint of the viewport (overlays included)
  vs ``wl_baseline_ms`` — a bare pyqtgraph ImageItem ``setLevels`` + repaint of the same frame and view size.
* ``cine_fps`` / ``cine_dropped_pct`` — a 300-frame loop played at 30 fps (fps override) for one full pass,
  frames decoded off the UI thread from the DICOM file; also ``cine_painted_fps`` counted in ImageItem.paint.
* ``first_frame_ms`` — a fresh Viewport opening a 60-frame study until the first frame is painted
  vs ``first_frame_baseline_ms`` — plain ``pydicom.pixels.pixel_array(path, index=0)`` + setImage + one repaint.

Issue 15 (real-world speed), sections ``codecs``, ``dx``, ``loop1000``:

* per ``<syntax>`` in ``jpegll`` (JPEG Lossless SV1, DCMTK dcmcjpeg), ``jpegls`` (dcmcjpls), ``j2k`` (JPEG 2000
  lossless, pydicom + pylibjpeg-openjpeg), ``rle`` (dcmcrle) — a 60-frame copy of the same 1024² 12-bit loop:
  ``cine_<syntax>_first_frame_ratio`` (open → first frame painted ÷ one-thread decode with the same plugin +
  one repaint), ``cine_<syntax>_buffer_ratio`` (open → all 60 frames decoded ÷ serial one-thread
  ``pydicom.pixels.pixel_array(path, index=i)`` of all frames, keeping them; both sides best of ``BEST_OF`` (3), so
  both reuse freed memory after their first run — ``_buffer_first_open_ms`` is the viewer's first open), ``..._buffer_cpu_ratio`` (CPU time of the viewer
  process and its decoder workers for the same work ÷ the serial decode's CPU time: what decode-ahead costs,
  whatever share of the shared machine the session got), ``cine_<syntax>_fps`` / ``_dropped_pct`` (300 frames at
  30 fps after buffering), ``cine_<syntax>_decoder`` (plugin and worker processes).
* ``dx3000_wl_ms`` / ``dx3000_wl_ratio``: W/L → repainted viewport on a 3000² 16-bit DX film vs bare pyqtgraph
  ``setLevels`` + repaint of the same image.
* ``loop1000_peak_mb``: peak resident-memory growth (VmHWM after a reset) opening, playing 300 frames and jumping
  through a 1 000-frame 1024² native loop (2 GB), in its own process; ``loop1000_budget_mb`` next to it.

Usage: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/viewer.py [--reps 50] [--keep DIR]
[--only base,codecs,dx,loop1000] [--syntaxes rle,jpegls,jpegll,j2k]``
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
#: Whole-loop timings (the serial baseline and the viewer's buffering) are the best of this many runs, each side:
#: RLE's 60-frame serial decode moved 151-227 ms between runs minutes apart on this VM (session 5), and best of
#: two left its ratio swinging around the target.
BEST_OF = 3
VIEW = (900, 900)


RF_IMAGE = "1.2.840.10008.5.1.4.1.1.12.2"  # X-Ray Radiofluoroscopic Image Storage
DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"


def new_file(path: Path, sop_class_uid: str) -> FileDataset:
    """An empty explicit-VR little-endian Part 10 dataset of ``sop_class_uid`` with fresh instance UIDs: the
    common start of every synthetic file the benchmarks write (``benchmarks/jpeg_lossless_decoders.py`` too)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class_uid
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    return ds


def write_loop(path: Path, frames: int, study_uid: str, frame_time_ms: float = 1000 / 30) -> None:
    """A multi-frame RF file with a textured, frame-varying image (uncompressed, 12 bits stored)."""
    ds = new_file(path, RF_IMAGE)
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


def write_loop_streamed(path: Path, frames: int, size: int = SIZE, frame_time_ms: float = 1000 / 30) -> None:
    """Like :func:`write_loop` for loops too large to build in memory (1 000 × 1024² = 2 GB): the header is
    written by pydicom, the Pixel Data element (explicit VR little endian OW) appended frame by frame."""
    ds = new_file(path, RF_IMAGE)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.StudyDate, ds.Modality = "BENCH^LONG", "B2", "20260101", "RF"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.NumberOfFrames = frames
    ds.FrameTime = frame_time_ms
    ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    ds.save_as(path, enforce_file_format=True)
    base = np.random.default_rng(0).integers(0, 3000, (size, size), dtype=np.uint16)
    with open(path, "ab") as fh:
        fh.write(b"\xe0\x7f\x10\x00OW\x00\x00" + (frames * size * size * 2).to_bytes(4, "little"))
        for k in range(frames):
            fh.write((base + (k % 1000)).tobytes())


def write_dx(path: Path, size: int = 3000) -> None:
    """A single-frame DX spot film, ``size``² × 16 bits stored, noise over the whole range."""
    ds = new_file(path, DX_FOR_PRESENTATION)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.StudyDate, ds.Modality = "BENCH^DX", "B3", "20260101", "DX"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.WindowCenter, ds.WindowWidth = 32768, 65536
    ds.ImagerPixelSpacing = [0.14, 0.14]
    ds.PixelData = np.random.default_rng(1).integers(0, 65535, (size, size), dtype=np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3)


def _rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB, from /proc/self/status."""
    values = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, kb = line.split()[:2]
                values[key] = int(kb) / 1024
    return values["VmRSS:"], values["VmHWM:"]


def _wait_factory(app):
    from PySide6.QtCore import QEventLoop, QTimer

    def wait(pred, timeout=120.0) -> None:
        """Sleep in the event loop until ``pred`` (like the real app: no busy spinning against the decoder)."""
        deadline = time.perf_counter() + timeout
        tick = QTimer()
        tick.start(20)  # wakes the wait below if no event ever comes, so the timeout can fire
        while not pred():
            if time.perf_counter() > deadline:
                raise RuntimeError("timeout")
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        tick.stop()

    return wait


class _FirstPaint:
    """Watches a viewport for the first paint that shows its first frame; install BEFORE ``set_display_set``.

    Why not ``repaint()`` after ``displayed_index == 0`` (as before session 5): that measured a paint the app
    does not do (a second one when the app had painted already). Why not the time ``wait`` returns: it sleeps in
    the event loop until the next event (up to its 20 ms tick) after the paint. So the first paint event after the
    frame is set is delivered from inside the event filter (the filter removed first) and timed when it returns —
    whether the viewport paints it synchronously or the event loop does later."""

    def __init__(self, v) -> None:
        from PySide6.QtCore import QEvent, QObject
        from PySide6.QtWidgets import QApplication

        self.painted: list[float] = []
        self.viewport = v.view.viewport()
        painted = self.painted

        class _Watch(QObject):
            def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
                if event.type() == QEvent.Type.Paint and v.displayed_index == 0 and not painted:
                    obj.removeEventFilter(self)
                    QApplication.sendEvent(obj, event)  # the paint itself, now
                    painted.append(time.perf_counter())
                    return True  # handled: not painted a second time
                return False

        self.watch = _Watch()
        self.viewport.installEventFilter(self.watch)

    def wait(self, wait) -> float:
        """The ``perf_counter`` time the first frame's paint ended."""
        try:
            wait(lambda: bool(self.painted))
        finally:
            self.viewport.removeEventFilter(self.watch)
        return self.painted[0]


def _play(app, vp, frames: int, fps: float = 30.0) -> dict[str, float]:
    """Play ``frames`` frames at ``fps`` (fps override, looping) and return fps / dropped %."""
    from PySide6.QtCore import QEventLoop, QTimer

    vp.cine.fps_override = fps
    vp.cine.loop = True
    loop = QEventLoop()
    QTimer.singleShot(int(frames / fps * 1000), loop.quit)
    t0 = time.perf_counter()
    vp.play()
    loop.exec()
    elapsed = time.perf_counter() - t0
    stats = vp.cine.stats
    vp.pause()
    return {"fps": round(len(stats.shown) / elapsed, 2), "dropped_pct": round(stats.dropped_pct, 2)}


def bench_codecs(args, tmp: Path) -> dict[str, object]:
    """Per compressed syntax: first frame, decode-ahead of the 60-frame loop, cine after buffering."""
    import pyqtgraph as pg
    from codec_loops import SYNTAXES, encode_loop

    from hsg_workstation.dicom_io import frame_cache as fc
    from hsg_workstation.dicom_io import pixels
    from hsg_workstation.dicom_io.database import LocalDatabase
    from hsg_workstation.ui.app import make_application
    from hsg_workstation.ui.loader import shared_pool, shutdown_shared_pool
    from hsg_workstation.ui.viewport import Viewport

    app = make_application()
    wait = _wait_factory(app)
    pool = shared_pool()
    pool.warm_up()  # as run_gui does at launch
    native = tmp / "native60.dcm"
    write_loop(native, 60, generate_uid())
    out: dict[str, object] = {"cine_processes": len(pool._process_lanes)}
    bare = pg.GraphicsView()
    bare_vb = pg.ViewBox(lockAspect=True, invertY=True)
    bare.setCentralItem(bare_vb)
    bare_item = pg.ImageItem(axisOrder="row-major")
    bare_vb.addItem(bare_item)
    bare.resize(*VIEW)
    bare.show()
    for key in [k for k in args.syntaxes.split(",") if k]:
        uid = SYNTAXES[key]
        d = tmp / key
        d.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        path = encode_loop(native, key, d / "loop.dcm")
        encode_s = time.perf_counter() - t0
        db = LocalDatabase(tmp / f"db-{key}")
        db.import_paths([d])
        study_uid = str(pydicom.dcmread(path, stop_before_pixels=True).StudyInstanceUID)
        ds = next(x for x in db.display_sets(study_uid) if x.frames)
        study = db.study(study_uid)
        from pydicom.pixels import get_decoder

        only = get_decoder(pydicom.uid.UID(uid)).available_plugins
        plugin = pixels._preferred_plugin(uid).get("decoding_plugin") or (
            only[0] if len(only) == 1 else "pydicom default"
        )
        spath = str(ds.frames[0].path)
        kwargs = {"decoding_plugin": plugin} if plugin != "pydicom default" else {}
        keys = [(spath, i) for i in range(60)]

        def fresh() -> None:
            wait(pool.idle)
            pool.cache.clear()

        # first frame: ours vs one-thread decode (same plugin) + setImage + repaint, interleaved. Each side starts
        # after the same pause, in alternating order: on this VM a core that has just been idle runs the next
        # decode up to 40 % slower (JPEG Lossless 43.6 vs 30.9 ms in a worker after a 50 ms pause vs back to
        # back), and the baseline used to run right after the benchmark's own activity while our decoder
        # process had been idle — a bias against whichever side ran second on a cold core. A reader's click
        # comes after a pause too.
        ff_vp, ff_base = [], []

        def settle(seconds: float = 0.2) -> None:
            end = time.perf_counter() + seconds
            wait(lambda: time.perf_counter() > end)

        def base_side(spath: str = spath, kwargs: dict = kwargs) -> float:
            fresh()  # nothing decodes ahead meanwhile (the previous open's decode-ahead has finished)
            settle()
            t0 = time.perf_counter()
            arr = pydicom.pixels.pixel_array(spath, index=0, **kwargs)
            bare_item.setImage(arr, autoLevels=False, levels=(0, 4095))
            bare.viewport().repaint()
            return (time.perf_counter() - t0) * 1000

        def our_side(ds=ds, study=study) -> float:
            fresh()
            v = Viewport()
            v.resize(*VIEW)
            v.show()
            app.processEvents()
            first_paint = _FirstPaint(v)
            settle()
            t2 = time.perf_counter()
            v.set_display_set(ds, study)
            t3 = first_paint.wait(wait)
            v.close_viewport()
            v.deleteLater()
            app.processEvents()
            return (t3 - t2) * 1000

        for i in range(args.codec_reps + 1):
            if i % 2:
                ours, theirs = our_side(), base_side()
            else:
                theirs, ours = base_side(), our_side()
            if i:  # the first round warms imports and plugin look-ups on both sides
                ff_base.append(theirs)
                ff_vp.append(ours)

        # whole loop: serial one-thread decode vs the pool from opening the loop. The baseline keeps the 60
        # frames in memory as the pool does (a naive viewer decoding the loop into a list): a decode whose output
        # is thrown away reuses the same freed buffer every frame and never pays for fresh memory, and on this VM
        # fresh memory for a 2 MB frame costs more than an RLE decode — the discard-timing moved 3x with the heap's
        # state (125 vs 420 ms for the same RLE loop in one session). Best of BEST_OF, each side; the discarding
        # timing is kept as ``serial_discard_ms`` for comparison with earlier runs.
        def serial(keep: bool, spath: str = spath, kwargs: dict = kwargs) -> tuple[float, float]:
            fresh()
            kept = []
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(60):
                arr = pydicom.pixels.pixel_array(spath, index=i, **kwargs)
                if keep:
                    kept.append(arr)
            wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
            del kept
            return wall, cpu

        serial_ms, serial_cpu_ms = min(serial(True) for _ in range(BEST_OF))
        serial_discard_ms = min(serial(False)[0] for _ in range(2))

        # The viewer side is best of BEST_OF as well: a later open reuses the memory the first one's frames were
        # freed into, as the serial baseline's second run does (a reading session's second loop; the first
        # open's figure is kept as ``buffer_first_open_ms``).
        def buffered(close: bool, ds=ds, study=study, keys=keys) -> tuple[float, float, Viewport]:
            fresh()
            v = Viewport()
            v.resize(*VIEW)
            v.show()
            app.processEvents()
            t0, c0, w0 = time.perf_counter(), time.process_time(), pool.worker_cpu_seconds() or 0.0
            v.set_display_set(ds, study)
            wait(lambda: pool.cache.count(keys) == 60)
            wall = (time.perf_counter() - t0) * 1000
            # CPU time of the viewer process and its workers for the same work: what the decode-ahead costs in
            # total, independent of how much of the shared machine this session got meanwhile
            cpu = ((time.process_time() - c0) + ((pool.worker_cpu_seconds() or 0.0) - w0)) * 1000
            if close:
                v.close_viewport()
                v.deleteLater()
                app.processEvents()
            return wall, cpu, v

        first_open_ms, first_open_cpu_ms, _ = buffered(True)
        buffer_ms, buffer_cpu_ms = first_open_ms, first_open_cpu_ms
        for last in range(BEST_OF - 1, 0, -1):  # the last open stays open for the cine measurement
            ms, cpu_ms, v = buffered(close=last > 1)
            if ms < buffer_ms:
                buffer_ms, buffer_cpu_ms = ms, cpu_ms
        # cine after buffering (a reader presses play once the bar stops counting)
        play = _play(app, v, args.cine_frames)
        v.close_viewport()
        v.deleteLater()
        db.close()
        load = os.getloadavg()[0]
        out.update(
            {
                f"cine_{key}_decoder": (
                    f"{plugin} in {len(pool._process_lanes)} worker processes"
                    if fc.needs_process(spath)
                    else f"{plugin} on {len(pool._thread_lanes)} threads of the viewer process"
                ),
                f"cine_{key}_decode_ms_per_frame": round(serial_ms / 60, 2),
                f"cine_{key}_first_frame_ms": _median(ff_vp),
                f"cine_{key}_first_frame_baseline_ms": _median(ff_base),
                f"cine_{key}_first_frame_ratio": round(
                    statistics.median(ff_vp) / statistics.median(ff_base), 3
                ),
                f"cine_{key}_buffer_ms": round(buffer_ms, 1),
                f"cine_{key}_serial_decode_ms": round(serial_ms, 1),
                f"cine_{key}_buffer_ratio": round(buffer_ms / serial_ms, 3),
                f"cine_{key}_buffer_first_open_ms": round(first_open_ms, 1),
                f"cine_{key}_serial_discard_ms": round(serial_discard_ms, 1),
                f"cine_{key}_buffer_ratio_vs_discard": round(buffer_ms / serial_discard_ms, 3),
                f"cine_{key}_buffer_cpu_ms": round(buffer_cpu_ms, 1),
                f"cine_{key}_serial_cpu_ms": round(serial_cpu_ms, 1),
                f"cine_{key}_buffer_cpu_ratio": round(buffer_cpu_ms / serial_cpu_ms, 3),
                f"cine_{key}_fps": play["fps"],
                f"cine_{key}_dropped_pct": play["dropped_pct"],
                f"cine_{key}_encode_s": round(encode_s, 1),
                f"cine_{key}_load_avg": round(load, 2),
            }
        )
        print(json.dumps({k: v for k, v in out.items() if k.startswith(f"cine_{key}")}), file=sys.stderr)
    bare.close()
    shutdown_shared_pool()
    return out


def bench_dx(args, tmp: Path) -> dict[str, object]:
    """W/L on a 3000² 16-bit spot film: Viewport vs bare pyqtgraph setLevels + repaint of the same image."""
    import pyqtgraph as pg

    from hsg_workstation.dicom_io.database import LocalDatabase
    from hsg_workstation.ui.app import make_application
    from hsg_workstation.ui.viewport import Viewport

    app = make_application()
    wait = _wait_factory(app)
    d = tmp / "dx"
    d.mkdir(exist_ok=True)
    write_dx(d / "dx.dcm", args.dx_size)
    db = LocalDatabase(tmp / "db-dx")
    db.import_paths([d])
    study = db.studies()[0]
    ds = next(x for x in db.display_sets(study.study_instance_uid) if x.frames)
    frame = pydicom.pixels.pixel_array(str(ds.frames[0].path), index=0)
    bare = pg.GraphicsView()
    bare_vb = pg.ViewBox(lockAspect=True, invertY=True)
    bare.setCentralItem(bare_vb)
    bare_item = pg.ImageItem(axisOrder="row-major")
    bare_vb.addItem(bare_item)
    bare.resize(*VIEW)
    bare.show()
    bare_item.setImage(frame, autoLevels=False, levels=(0, 65535))
    bare_vb.autoRange(padding=0)
    app.processEvents()
    vp = Viewport()
    vp.resize(*VIEW)
    vp.show()
    vp.set_display_set(ds, db.study(study.study_instance_uid))
    wait(lambda: vp.displayed_index == 0)
    app.processEvents()
    base_ms, vp_ms = [], []
    for i in range(args.dx_reps + 3):
        lo, hi = 1000 + (i % 20) * 100, 60000 - (i % 20) * 100
        t0 = time.perf_counter()
        bare_item.setLevels((lo, hi))
        bare.viewport().repaint()
        t1 = time.perf_counter()
        vp.set_levels(lo, hi)
        vp.view.viewport().repaint()
        t2 = time.perf_counter()
        if i >= 3:
            base_ms.append((t1 - t0) * 1000)
            vp_ms.append((t2 - t1) * 1000)
    vp.close_viewport()
    bare.close()
    db.close()
    return {
        "dx3000_wl_ms": _median(vp_ms),
        "dx3000_wl_baseline_ms": _median(base_ms),
        "dx3000_wl_ratio": round(statistics.median(vp_ms) / statistics.median(base_ms), 3),
        "dx3000_size": f"{args.dx_size}x{args.dx_size} uint16",
    }


def bench_loop1000(args, tmp: Path) -> dict[str, object]:
    """Peak resident-memory growth while opening, playing and scrolling a 1 000-frame 1024² native loop."""
    from hsg_workstation.dicom_io.database import LocalDatabase
    from hsg_workstation.ui.app import make_application
    from hsg_workstation.ui.loader import shared_pool, shutdown_shared_pool
    from hsg_workstation.ui.viewport import Viewport

    app = make_application()
    wait = _wait_factory(app)
    d = tmp / "loop1000"
    d.mkdir(exist_ok=True)
    write_loop_streamed(d / "loop.dcm", args.long_frames)
    db = LocalDatabase(tmp / "db-1000")
    db.import_paths([d])
    study = db.studies()[0]
    ds = next(x for x in db.display_sets(study.study_instance_uid) if x.frames)
    pool = shared_pool()
    budget_mb = pool.cache.budget / 1024**2
    vp = Viewport()
    vp.resize(*VIEW)
    vp.show()
    app.processEvents()
    import gc

    gc.collect()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets the peak (VmHWM) to the current resident size
    rss0, _ = _rss_mb()
    vp.set_display_set(ds, db.study(study.study_instance_uid))
    wait(lambda: vp.displayed_index == 0)
    play = _play(app, vp, args.cine_frames)
    for target in (900, 100, 999, 500, 0):
        vp.show_frame(target)
        wait(lambda t=target: vp.displayed_index == t)
    wait(pool.idle)
    _, peak = _rss_mb()
    cached = len(pool.cache)
    vp.close_viewport()
    shutdown_shared_pool()
    db.close()
    return {
        "loop1000_peak_mb": round(peak - rss0, 1),
        "loop1000_budget_mb": round(budget_mb, 1),
        "loop1000_file_mb": round(args.long_frames * SIZE * SIZE * 2 / 1024**2, 1),
        "loop1000_cached_frames": cached,
        "loop1000_fps": play["fps"],
        "loop1000_dropped_pct": play["dropped_pct"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--cine-frames", type=int, default=300)
    ap.add_argument("--keep", help="write the test files here instead of a temp dir")
    ap.add_argument("--only", default="base,codecs,dx,loop1000", help="sections, comma-separated")
    ap.add_argument("--syntaxes", default="rle,jpegls,jpegll,j2k")
    ap.add_argument("--codec-reps", type=int, default=9)
    ap.add_argument("--dx-size", type=int, default=3000)
    ap.add_argument("--dx-reps", type=int, default=30)
    ap.add_argument("--long-frames", type=int, default=1000)
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="hsg-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).parent))
    result: dict[str, object] = {"load_avg_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        if "base" in only:
            result.update(bench_base(args, tmp))
        if "dx" in only:
            result.update(bench_dx(args, tmp))
        if "codecs" in only:
            result.update(bench_codecs(args, tmp))
        if "loop1000" in only:
            if only == {"loop1000"}:
                result.update(bench_loop1000(args, tmp))
            else:  # its own process, so the peak-memory figure holds nothing of the other sections
                import subprocess

                cmd = [sys.executable, __file__, "--only", "loop1000", "--keep", str(tmp / "long")]
                cmd += ["--long-frames", str(args.long_frames), "--cine-frames", str(args.cine_frames)]
                run = subprocess.run(cmd, check=True, capture_output=True, text=True)
                sub = json.loads(run.stdout.strip().splitlines()[-1])
                result.update({k: v for k, v in sub.items() if k.startswith("loop1000")})
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    result["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["nproc"] = os.cpu_count()
    print(json.dumps(result))
    return 0


def bench_base(args, tmp: Path) -> dict[str, object]:
    """The uncompressed figures of issue 3: W/L repaint, 300-frame cine, first frame of a 60-frame study."""
    reps = max(50, args.reps)

    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from hsg_workstation.dicom_io.database import LocalDatabase
    from hsg_workstation.ui.app import make_application
    from hsg_workstation.ui.viewport import Viewport

    app = make_application()
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
        first_paint = _FirstPaint(v)
        t2 = time.perf_counter()
        v.set_display_set(ds60, study60)
        t3 = first_paint.wait(wait)
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
    from hsg_workstation.ui.loader import shutdown_shared_pool

    shutdown_shared_pool()
    return result


if __name__ == "__main__":
    sys.exit(main())
