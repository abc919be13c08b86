"""Docks the fill-curve plot (another area's widget) under the viewer and runs the analysis off the UI thread.

On study open the first loop is analysed as a ``ui/workers.py`` job (``hsg-fill-analysis``), started 300 ms
after the study opens so it does not compete with the first paint; the plot follows the cine of the active viewport and a
click on the curve or a suggested key frame jumps the loop there. The analysis pipeline has no cancel switch of
its own, so the frame getter handed to it raises when the study is closed: the worker stops at its next frame and
closing a study leaves no analysis thread behind. Frames come from the viewer's shared decode-ahead cache
(``dicom_io/frame_cache.py``) when they are the stored values the analysis expects, so a compressed loop is
decoded once for both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from hsg_workstation.analysis.pipeline import analyze_frames
from hsg_workstation.analysis.source import open_loop
from hsg_workstation.dicom_io import frame_cache as fc
from hsg_workstation.dicom_io.model import DisplaySet, DisplaySetKind
from hsg_workstation.errors import DicomReadError
from hsg_workstation.ui.fill_curve import FillCurveWidget
from hsg_workstation.ui.loader import shared_pool
from hsg_workstation.ui.workers import Job, JobContext, Workers


class _Cancelled(Exception):
    pass


class _Bridge(QObject):
    ready = Signal(object)  # FillAnalysis of the open study's loop, or None (new study / closed / failed)


@dataclass(frozen=True)
class _LoopJob:
    path: str  # the loop's file


class FillCurveController:
    START_DELAY_MS = 300

    def __init__(self, window) -> None:
        self._analyze_frames = analyze_frames
        self._open_loop = open_loop
        self.window = window
        self.widget = FillCurveWidget()
        self.dock = window.add_panel("Fill curve", self.widget, Qt.DockWidgetArea.BottomDockWidgetArea)
        # a strip under the viewports: readable, while the image stays the largest thing on screen
        self.widget.setMinimumHeight(200)
        window.resizeDocks([self.dock], [220], Qt.Orientation.Vertical)
        self.result = None
        self.loop: DisplaySet | None = None
        self._generation = 0
        self._workers = Workers(self.widget)
        self._job: Job | None = None
        self._bridge = _Bridge(self.widget)
        #: ``analysis_ready(result_or_None)`` — the suggestions panel and the overlay follow it.
        self.analysis_ready = self._bridge.ready
        self._start_timer = QTimer(self.widget)
        self._start_timer.setSingleShot(True)
        self._start_timer.setInterval(self.START_DELAY_MS)
        self._start_timer.timeout.connect(self._start)
        window.studyOpened.connect(self.study_opened)
        window.studyClosed.connect(self.cancel)
        window.aboutToClose.connect(self.cancel)
        window.activeFrameChanged.connect(self._frame_changed)
        self.widget.frameRequested.connect(self.jump)
        self.widget.keyFrameClicked.connect(lambda _name, frame: self.jump(frame))

    # -- lifecycle ------------------------------------------------------------------------------------
    def study_opened(self, _study_uid: str) -> None:
        self.cancel()
        self.result = None
        self.widget.set_analysis(None)
        self.analysis_ready.emit(None)
        self.loop = next((d for d in self.window.display_sets if d.kind is DisplaySetKind.CINE), None)
        if self.loop is None or not self.loop.instances:
            self.widget.title.setText("Fill curve — no fill-sequence loop in this study")
            return
        self.widget.title.setText("Fill curve — analysing the loop…")
        self._start_timer.start()

    def _start(self) -> None:
        if self.loop is None:
            return
        self._generation += 1
        generation = self._generation
        self._job = self._workers.start(
            "fill-analysis",
            self._run,
            _LoopJob(str(self.loop.instances[0].path)),
            on_result=lambda result: self._done(generation, result),
            on_error=lambda exc: self._failed(generation, exc),
        )

    def cancel(self) -> None:
        """Stop a running analysis (at its next frame) and wait for the thread."""
        self._start_timer.stop()
        self._generation += 1
        if self._job is not None:
            self._job.cancel()
            self._job.wait(timeout=15)
            self._job = None

    def is_running(self) -> bool:
        return self._job is not None and self._job.is_running()

    def _run(self, request: _LoopJob, ctx: JobContext):
        """On the worker thread (``ui/workers.py``): the frame getter raises once cancelled, so the pipeline,
        which has no cancel switch of its own, stops at its next frame. The viewer is decoding this loop ahead
        into the shared cache: frames are read from there (waiting for the ones still in the pool) instead of
        being decoded a second time — when the viewer's modality frames are the stored values the analysis
        expects (no rescale / Modality LUT, grey)."""
        src = self._open_loop(request.path)
        pool = shared_pool()
        key_path = str(request.path)
        shared = str(src.path) == key_path and fc.modality_is_identity(fc.frame_source(key_path))

        def get_frame(index: int):
            if ctx.cancelled:
                raise _Cancelled
            if shared:
                try:
                    return pool.fetch((key_path, index), client=self, timeout=120)
                except fc.DecodeFailed as exc:
                    raise DicomReadError(str(exc)) from exc
            return src.get_frame(index)

        analysis = src.analysis_request(get_frame)
        if shared:
            analysis = replace(
                analysis, decode_in_threads=True
            )  # pool.fetch may be called from several threads
        return self._analyze_frames(analysis)

    def _done(self, generation: int, result) -> None:
        if generation != self._generation:
            return
        self.result = result
        self.widget.set_analysis(result)
        self.analysis_ready.emit(result)
        vp = self.window.active
        if vp is not None and vp.display_set == self.loop:
            self.widget.set_frame(vp.index + 1)

    def _failed(self, generation: int, exc: BaseException) -> None:
        if generation == self._generation and not isinstance(exc, _Cancelled):  # a stale or cancelled run: no
            self.widget.set_analysis(None)
            self.widget.title.setText(f"Fill analysis failed: {exc}")

    # -- cine link ------------------------------------------------------------------------------------
    def _frame_changed(self, vp, index: int) -> None:
        if self.loop is not None and vp.display_set == self.loop:
            self.widget.set_frame(index + 1)

    def jump(self, frame: int) -> None:
        """Show 1-based ``frame`` of the analysed loop in the active viewport."""
        if self.loop is None or not 1 <= frame <= len(self.loop.frames):
            return
        ref = self.loop.frames[frame - 1]
        self.window.jump_to(ref.sop_instance_uid, ref.frame_number)


def attach_fill_curve_dock(window) -> FillCurveController:
    """Dock the fill curve under the viewer."""
    return FillCurveController(window)
