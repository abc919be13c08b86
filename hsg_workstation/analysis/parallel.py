"""Per-frame work of the analysis on a small shared thread pool.

Why threads and not processes: the heavy calls of the analysis (scipy.ndimage filters and labelling, numpy
reductions and arithmetic on whole frames) release the GIL in their C loops, so two threads on this 2-core class
of machine nearly halve the per-frame stages, without pickling 16 MB stacks to child processes. Every frame's
result is computed by exactly the same code as in a plain loop, so the output does not depend on the number of
threads (tests/analysis/test_parallel.py runs the analysis with 1 and 2 threads and compares).

``HSG_ANALYSIS_THREADS`` (or ``analysis_threads`` in config.json; ``config.settings``) sets the number of threads
(1 = everything in the calling thread); the default is the
number of CPUs, at most 4 (more brings nothing at a 256² working resolution). The calling thread counts as one:
it works through the items no worker has started instead of waiting, so the pool has one thread fewer (one
more thread than cores was ~10 ms slower on the 60×1024² benchmark: the threads only took turns).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from hsg_workstation.config import settings

T = TypeVar("T")
R = TypeVar("R")

MAX_DEFAULT_THREADS = 4
_PREFIX = "hsg-analysis"
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def thread_count() -> int:
    """Threads the analysis may use: the ``analysis_threads`` setting (``HSG_ANALYSIS_THREADS`` or config.json,
    validated in ``config.py``: a bad value raises ``ConfigError`` naming it), else the CPUs (≤ 4)."""
    configured = settings.analysis_threads
    if configured is not None:
        return configured
    return max(1, min(MAX_DEFAULT_THREADS, os.cpu_count() or 1))


def _on_pool() -> bool:
    """True in a pool thread: work submitted from there runs in place (a nested wait could deadlock)."""
    return threading.current_thread().name.startswith(_PREFIX)


def _executor(size: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != size:
            old = _pool
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=_PREFIX)
            _pool_size = size
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def map_ordered(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]``, on the pool when there is more than one thread and more than one item.

    The first exception raised by ``fn`` is re-raised here (e.g. a cancelled decode), after which remaining
    items are not started.
    """
    n = thread_count()
    if n <= 1 or len(items) < 2:
        return [fn(x) for x in items]
    if _on_pool():
        return [fn(x) for x in items]  # already on the pool: nesting could wait on itself
    pool = _executor(max(1, n - 1))
    futures = [pool.submit(fn, x) for x in items]
    results: list[R] = [None] * len(items)  # type: ignore[list-item]
    done_here = [False] * len(items)
    try:
        # The calling thread helps instead of only waiting: it takes items from the end that no worker has
        # started (the workers take them from the front).
        for k in range(len(items) - 1, -1, -1):
            if futures[k].cancel():
                results[k] = fn(items[k])
                done_here[k] = True
        for k, f in enumerate(futures):
            if not done_here[k]:
                results[k] = f.result()
        return results
    except BaseException:
        for f in futures:
            f.cancel()
        raise


def submit(fn: Callable[[], R]) -> Future[R]:
    """Start ``fn`` on the pool and return its future (with one thread: run it now, return it done). Used to
    overlap independent stages of the analysis with one another."""
    if thread_count() <= 1 or _on_pool():
        done: Future[R] = Future()
        try:
            done.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future, as a pool would
            done.set_exception(exc)
        return done
    return _executor(max(1, thread_count() - 1)).submit(fn)


def map_streamed(
    produce: Callable[[int], T], fn: Callable[[T], R], count: int, window: int | None = None
) -> list[R]:
    """``[fn(produce(i)) for i in range(count)]`` with ``produce`` in the calling thread, in order, and ``fn`` on
    the pool, at most ``window`` results pending (so full-resolution frames do not pile up in memory).

    Why: decoding stays in the caller's thread (decoder libraries are not all known to be thread-safe, and a GUI
    caller's cancellation hook runs there), while the per-frame reduction of each decoded frame runs alongside.
    """
    n = thread_count()
    if n <= 1 or count < 2 or _on_pool():
        return [fn(produce(i)) for i in range(count)]
    pool = _executor(max(1, n - 1))
    window = window or 2 * n
    pending: list[Future[R]] = []
    out: list[R] = []
    try:
        for i in range(count):
            item = produce(i)
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                out.append(pending.pop(0).result())
        out.extend(f.result() for f in pending)
    except BaseException:
        for f in pending:
            f.cancel()
        raise
    return out


def chunks(count: int, parts: int | None = None) -> list[slice]:
    """``count`` items split into at most ``parts`` contiguous, nearly equal slices (default: the threads)."""
    parts = max(1, min(parts or thread_count(), count))
    bounds = [round(k * count / parts) for k in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def run_all(tasks: Iterable[Callable[[], None]]) -> None:
    """Run independent side-effecting tasks (e.g. filling disjoint slices of one output) and wait for all."""
    map_ordered(lambda task: task(), list(tasks))
