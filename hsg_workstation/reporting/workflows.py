"""Report workflows as plain functions that the GUI (``ui/report_actions.py``) and the CLI (``cli/report.py``)
both call, so the two paths cannot drift apart.

Why here and not in the widgets: what a report file turns into (which answers survive, what is prefilled, what is
written and sent) decides the SR and PDF; a rule that only the GUI runs is a rule the CLI breaks.

- ``load_report_json(path)``: read REPORT.json and clear answers whose field does not apply
  (``HsgReport.clear_inapplicable``) — a JSON file written by hand or by an older version may hold an occlusion
  level for a patent tube, which the form would hide yet the SR would state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hsg_workstation.errors import HsgError
from hsg_workstation.reporting.report import HsgReport


@dataclass
class LoadedReport:
    """A report read from JSON and the answers removed because their field does not apply (path → value)."""

    report: HsgReport
    cleared: dict[str, Any] = field(default_factory=dict)


def load_report_json(path: str | Path) -> LoadedReport:
    """Read REPORT.json; HsgError naming the file for unreadable / malformed content.

    A draft has its inapplicable answers cleared; a signed report is a legal document and is left as signed
    (the form cleared it before signing)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HsgError(f"{p}: cannot be read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HsgError(f"{p}: not valid JSON ({exc})") from None
    try:
        report = HsgReport.from_json(data)
    except HsgError as exc:
        raise HsgError(f"{p}: {exc}") from None
    cleared = {} if report.is_signed else report.clear_inapplicable()
    return LoadedReport(report, cleared)
