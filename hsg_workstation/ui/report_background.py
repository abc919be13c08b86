"""The report form's background jobs (PACS send): one runner, results on the GUI thread.

Why apart from the form (issue 14): the thread plumbing is ``ui/workers.py``'s; what the form adds is a count of
jobs in flight (its status line and the tests read ``background_jobs``) and the rule that ``done`` runs on the GUI
thread and never after the form is gone. ``ReportForm`` mixes this in and creates ``self.workers``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class BackgroundJobs:
    """Mixin for ``ReportForm``: ``run_in_background(job, done)``."""

    background_jobs: int

    def run_in_background(
        self, job: Callable[[], Any], done: Callable[[Any, BaseException | None], None]
    ) -> None:
        """Run a Qt-free ``job`` (PACS send) through ``ui/workers.py``; ``done(result, error)`` runs on the GUI
        thread (never after the form is gone)."""
        self.background_jobs += 1

        def result(value: Any) -> None:
            self.background_jobs -= 1
            done(value, None)

        def error(exc: BaseException) -> None:
            self.background_jobs -= 1
            done(None, exc)

        self.workers.start("report-form-job", lambda _request, _ctx: job(), on_result=result, on_error=error)
