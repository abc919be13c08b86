"""ui/workers.py: the one way to run background work — results, progress and errors on the UI thread, cancel,
and no thread left behind."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from PySide6.QtCore import QObject

from hsg_workstation.ui.workers import JobContext, Workers, running_jobs
from tests.ui.helpers import wait_until


@dataclass(frozen=True)
class Sum:
    values: tuple[int, ...]


def _sum(request: Sum, ctx: JobContext) -> int:
    total = 0
    for v in request.values:
        ctx.progress(v)
        total += v
    return total


def test_result_and_progress_arrive_on_the_ui_thread(qtbot) -> None:
    owner = QObject()
    workers = Workers(owner)
    seen: list[tuple[str, object, bool]] = []
    main = threading.current_thread()

    def record(kind: str):
        return lambda value: seen.append((kind, value, threading.current_thread() is main))

    job = workers.start(
        "sum", _sum, Sum((1, 2, 3)), on_result=record("result"), on_progress=record("progress")
    )
    wait_until(lambda: any(k == "result" for k, _, _ in seen))
    assert seen == [("progress", 1, True), ("progress", 2, True), ("progress", 3, True), ("result", 6, True)]
    assert job.wait(5) and workers.jobs() == []


def test_an_error_is_delivered_not_swallowed(qtbot) -> None:
    workers = Workers()
    errors: list[BaseException] = []
    finished: list[bool] = []

    def boom(_request, _ctx):
        raise ValueError("node 'pacs' refused the association")

    workers.start("boom", boom, on_error=errors.append, on_finished=lambda: finished.append(True))
    wait_until(lambda: finished)
    assert [str(e) for e in errors] == ["node 'pacs' refused the association"]


def test_cancel_and_shutdown_leave_no_thread_behind(qtbot) -> None:
    workers = Workers()
    started = threading.Event()

    def wait_for_cancel(_request, ctx: JobContext) -> str:
        started.set()
        ctx.cancel_event.wait(30)
        return "cancelled" if ctx.cancelled else "timed out"

    results: list[str] = []
    job = workers.start("long", wait_for_cancel, on_result=results.append)
    assert started.wait(10) and job.is_running()
    assert workers.shutdown(timeout=10) == []  # cancels, then joins
    assert not job.is_running() and job.name not in [j.name for j in running_jobs()]
    wait_until(lambda: results)
    assert results == ["cancelled"]


def test_a_request_must_be_frozen() -> None:
    @dataclass
    class Mutable:
        x: int

    with pytest.raises(TypeError, match="frozen dataclass, got Mutable"):
        Workers().start("bad", lambda r, c: None, Mutable(1))


def test_nothing_is_delivered_after_the_owner_is_deleted(qtbot) -> None:
    owner = QObject()
    workers = Workers(owner)
    release = threading.Event()
    delivered: list[object] = []
    job = workers.start("late", lambda _r, _c: release.wait(10), on_result=delivered.append)
    owner.deleteLater()
    qtbot.waitUntil(lambda: _deleted(workers), timeout=5000)
    release.set()
    assert job.wait(10)
    qtbot.wait(50)
    assert delivered == []


def _deleted(obj: QObject) -> bool:
    try:
        obj.objectName()
    except RuntimeError:
        return True
    return False
