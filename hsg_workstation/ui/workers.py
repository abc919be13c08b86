"""The one way ``ui/`` runs background work: a Qt-free function on a worker thread, its result, progress and error
delivered on the UI thread, a cancel switch, and no thread left behind.

Why one abstraction: the panels each hand-rolled ``threading.Thread`` + a ``QObject`` bridge of signals, each with
its own idea of what happens when the widget is closed mid-job (a signal emitted into a deleted object, a thread
still writing after the window closed). Here:

- a job is a plain function ``fn(request, ctx)``; ``request`` is a frozen dataclass (checked: the worker thread
  must not see the caller change it underneath), ``ctx`` gives ``ctx.cancelled`` / ``ctx.cancel_event`` and
  ``ctx.progress(value)``;
- ``on_result(value)``, ``on_error(exc)`` and ``on_progress(value)`` run on the UI thread (a queued signal of a
  ``Workers`` object that lives there); an exception is always delivered, never swallowed;
- ``Workers.shutdown()`` sets every job's cancel event and joins the threads (the owner calls it on close);
  once the owner is deleted nothing is delivered any more (the job ends, its result is logged and dropped);
- ``running_jobs()`` lists every job still alive in the process (tests assert it is empty after a close).

Threads are daemon threads named ``hsg-<name>`` so a stuck network call cannot keep the process alive at exit.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

R = TypeVar("R")
Request = Any  # a frozen dataclass instance, or None for a job that needs no input

_ALIVE: weakref.WeakSet[Job] = weakref.WeakSet()
_ALIVE_LOCK = threading.Lock()


@dataclass
class JobContext:
    """What the job function sees of its job: the cancel switch and a progress reporter."""

    cancel_event: threading.Event
    _progress: Callable[[Any], None] = field(repr=False)

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def progress(self, value: Any) -> None:
        """Report progress; ``on_progress(value)`` runs on the UI thread."""
        self._progress(value)


class Job(Generic[R]):
    """One background run. ``cancel()`` asks it to stop (the function checks ``ctx.cancelled``)."""

    def __init__(self, name: str, thread: threading.Thread, cancel_event: threading.Event) -> None:
        self.name = name
        self.thread = thread
        self.cancel_event = cancel_event

    def cancel(self) -> None:
        self.cancel_event.set()

    def is_running(self) -> bool:
        return self.thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the thread; True when it has ended."""
        self.thread.join(timeout)
        return not self.thread.is_alive()


def running_jobs() -> list[Job]:
    """Every job of this process whose thread is still alive."""
    with _ALIVE_LOCK:
        return [job for job in list(_ALIVE) if job.is_running()]


def _check_request(request: Request) -> None:
    if request is None:
        return
    params = getattr(type(request), "__dataclass_params__", None)
    if not dataclasses.is_dataclass(request) or params is None or not params.frozen:
        raise TypeError(f"a worker request must be a frozen dataclass, got {type(request).__name__}")


class Workers(QObject):
    """The background jobs of one owner (a panel, a form). Create it in the UI thread, as a child of the owner."""

    _deliver = Signal(object)  # a closure, run on the UI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._deliver.connect(self._run_delivery)

    def _run_delivery(self, closure: Callable[[], None]) -> None:
        closure()

    def _post(self, closure: Callable[[], None]) -> bool:
        """Queue ``closure`` for the UI thread; False when the owner is gone (nothing to tell any more)."""
        try:
            self._deliver.emit(closure)
        except RuntimeError:  # the C++ side of this object was deleted with its owner
            return False
        return True

    def start(
        self,
        name: str,
        fn: Callable[[Request, JobContext], R],
        request: Request = None,
        *,
        on_result: Callable[[R], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> Job[R]:
        """Run ``fn(request, ctx)`` on a new worker thread; the callbacks run on the UI thread, ``on_finished``
        last in every case (result, error or cancel)."""
        _check_request(request)
        cancel_event = threading.Event()

        def progress(value: Any) -> None:
            if on_progress is not None:
                self._post(lambda: on_progress(value))

        ctx = JobContext(cancel_event, progress)

        def run() -> None:
            try:
                result = fn(request, ctx)
            except BaseException as exc:  # delivered to on_error, never swallowed
                outcome: Callable[[], None] = (
                    (lambda e=exc: on_error(e)) if on_error else _log_unhandled(name, exc)
                )
            else:
                outcome = (lambda r=result: on_result(r)) if on_result else (lambda: None)

            def deliver() -> None:
                try:
                    outcome()
                finally:
                    if on_finished is not None:
                        on_finished()

            if not self._post(deliver):
                log.info("background job %s finished after its owner was closed", name)

        thread = threading.Thread(target=run, name=f"hsg-{name}", daemon=True)
        job: Job[R] = Job(name, thread, cancel_event)
        self._jobs = [j for j in self._jobs if j.is_running()] + [job]
        with _ALIVE_LOCK:
            _ALIVE.add(job)
        thread.start()
        return job

    def jobs(self) -> list[Job]:
        """This owner's jobs that are still running."""
        return [j for j in self._jobs if j.is_running()]

    def shutdown(self, timeout: float = 10.0) -> list[str]:
        """Cancel every job and join its thread; returns the names of those still running after ``timeout``."""
        for job in self._jobs:
            job.cancel()
        stuck = [job.name for job in self._jobs if not job.wait(timeout)]
        if stuck:
            log.warning("background jobs still running after %.0f s: %s", timeout, ", ".join(stuck))
        self._jobs = [j for j in self._jobs if j.is_running()]
        return stuck


def _log_unhandled(name: str, exc: BaseException) -> Callable[[], None]:
    def report() -> None:
        log.error("background job %s failed", name, exc_info=(type(exc), exc, exc.__traceback__))

    return report
