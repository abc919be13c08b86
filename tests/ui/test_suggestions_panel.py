"""Suggestions panel: rows from a real analysis, Accept emits (the owner applies), Reject, jump to frame."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from hsg_workstation.reporting.from_analysis import apply_suggestion, suggestions_from_analysis
from hsg_workstation.reporting.model import HsgReport, ReportLockedError, Spill
from hsg_workstation.ui.suggestions_panel import ACCEPTED, FAILED, PENDING, REJECTED, SuggestionsPanel
from tests.analysis.conftest import analysed, generated

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def suggestions():
    loop = generated("normal", 0).datasets[1]
    return suggestions_from_analysis(analysed("normal", 0), loop.SOPInstanceUID, loop.SOPClassUID)


def test_accept_reject_and_jump(qtbot, suggestions) -> None:
    panel = SuggestionsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 400)
    panel.set_suggestions(suggestions)
    assert panel.suggestion_ids() == [s.id for s in suggestions]
    assert all(panel.state(i) == PENDING for i in panel.suggestion_ids())

    report = HsgReport()

    def on_accept(s) -> None:  # what the main window does
        try:
            apply_suggestion(report, s)
        except ReportLockedError as exc:
            panel.mark_failed(s.id, str(exc))
        else:
            panel.mark_accepted(s.id)

    panel.accepted.connect(on_accept)
    show, accept, reject = panel.row_buttons("spill_left")
    assert report.findings.tubes.left.spill is None  # nothing written before Accept
    qtbot.mouseClick(accept, Qt.MouseButton.LeftButton)
    assert report.findings.tubes.left.spill is Spill.FREE
    assert panel.state("spill_left") == ACCEPTED
    assert not accept.isEnabled() and not reject.isEnabled()

    spill = next(s for s in suggestions if s.id == "spill_left")
    with qtbot.waitSignal(panel.jumpToFrame, timeout=1000) as blocker:
        qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
    assert blocker.args == [spill.frame]

    _, _, reject_r = panel.row_buttons("spill_right")
    with qtbot.waitSignal(panel.rejected, timeout=1000):
        qtbot.mouseClick(reject_r, Qt.MouseButton.LeftButton)
    assert panel.state("spill_right") == REJECTED
    assert report.findings.tubes.right.spill is None  # a rejection writes nothing

    # a signed report refuses: the row says so and nothing changes
    data = report.to_json()
    data["status"] = "signed"
    data["signature"] = {
        "verifying_observer_name": "Reader^Anna",
        "verifying_organization": "Synthetic Hospital",
        "verification_datetime": "2026-01-05T11:00:00+00:00",
    }
    report = HsgReport.from_json(data)
    _, accept_i, _ = panel.row_buttons("intravasation")
    qtbot.mouseClick(accept_i, Qt.MouseButton.LeftButton)
    assert panel.state("intravasation") == FAILED
    assert report.findings.peritoneum.intravasation is None

    panel.set_read_only(True)
    assert not any(panel.row_buttons(i)[1].isEnabled() for i in panel.suggestion_ids())
    assert "signed" in panel.title.text()

    panel.set_suggestions([])
    assert panel.suggestion_ids() == [] and "none" in panel.title.text()


def test_rows_fit_a_narrow_dock(qtbot, suggestions) -> None:
    # long labels wrap: the Accept / Reject buttons stay inside the panel at dock width
    panel = SuggestionsPanel()
    qtbot.addWidget(panel)
    panel.resize(520, 500)
    panel.set_suggestions(suggestions)
    panel.show()
    qtbot.waitExposed(panel)
    for sid in panel.suggestion_ids():
        _, _, reject = panel.row_buttons(sid)
        right = reject.mapTo(panel, reject.rect().topRight()).x()
        assert right <= panel.width(), sid
    no_frame = next(s for s in suggestions if s.frame is None)
    assert not panel.row_buttons(no_frame.id)[0].isEnabled()
