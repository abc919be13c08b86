"""Suggestions panel: rows from a real analysis, Accept emits (the owner applies), Reject, jump to frame."""

from __future__ import annotations

import copy
import dataclasses

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


def test_unsure_calls_are_not_one_click_facts(qtbot) -> None:
    """Issue 10: a side the analysis cannot call, or calls below the calibrated threshold, is shown as "not sure —
    look at frames a-b" without Accept; confident rows keep Accept, and what they put into the report carries the
    finding, not the analysis' confidence text."""
    g = generated("normal", 0)
    loop = g.datasets[1]
    r = copy.deepcopy(analysed("normal", 0))
    left = r.sides["left"]
    # what the pipeline does below SPILL_CALL_MIN: no call, the frames that decide it
    r.sides["left"] = dataclasses.replace(
        left, spill="indeterminate", spill_onset_frame=None, confidence=0.6, frames_to_review=(20, 26)
    )
    right = r.sides["right"]
    r.sides["right"] = dataclasses.replace(right, confidence=0.8, frames_to_review=(18, 24))  # a weak call
    suggestions = suggestions_from_analysis(r, loop.SOPInstanceUID, loop.SOPClassUID)
    panel = SuggestionsPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 500)
    panel.set_suggestions(suggestions)
    panel.show()
    qtbot.waitExposed(panel)
    report = HsgReport()

    def on_accept(s) -> None:
        apply_suggestion(report, s)
        panel.mark_accepted(s.id)

    panel.accepted.connect(on_accept)

    assert not panel.is_one_click("review_left")
    assert "not sure — look at frames 20-26" in panel.row_text("review_left")
    show, accept, dismiss = panel.row_buttons("review_left")
    assert not accept.isVisible() and not accept.isEnabled()
    with qtbot.waitSignal(panel.jumpToFrame, timeout=1000) as blocker:
        qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
    assert blocker.args == [20]
    qtbot.mouseClick(accept, Qt.MouseButton.LeftButton)  # hidden and disabled: nothing happens
    assert report.findings.tubes.left.spill is None and panel.state("review_left") == PENDING
    qtbot.mouseClick(dismiss, Qt.MouseButton.LeftButton)
    assert panel.state("review_left") == REJECTED

    # the weak right call: shown with its frames, not offered for one click
    assert not panel.is_one_click("spill_right")
    assert "look at frames 18-24" in panel.row_text("spill_right")
    assert not panel.row_buttons("spill_right")[1].isVisible()
    assert report.findings.tubes.right.spill is None

    # a confident row keeps Accept; the report gets the finding's words, not "confidence 0.97"
    assert panel.is_one_click("max_distension")
    _, accept_md, _ = panel.row_buttons("max_distension")
    assert accept_md.isVisible()
    qtbot.mouseClick(accept_md, Qt.MouseButton.LeftButton)
    assert panel.state("max_distension") == ACCEPTED
    assert report.key_images and all("confidence" not in k.note for k in report.key_images)
    assert all("confidence" not in link.label for link in report.findings.cavity.image_links)


def test_accept_confident_never_takes_a_not_sure_suggestion() -> None:
    """Ctrl+Shift+A accepts wholesale only what the analysis offers for one click: a suggestion below its
    calibrated threshold (a "not sure — look at frames a-b" row) is left for the reader, whatever its raw number."""
    from types import SimpleNamespace

    from hsg_workstation.ui.analysis_dock import AnalysisIntegration

    sure = SimpleNamespace(one_click=True, confidence=0.97)
    not_sure = SimpleNamespace(one_click=False, confidence=0.95, review_frames=(12, 20))
    no_confidence = SimpleNamespace(one_click=True, confidence=None)
    assert AnalysisIntegration.is_confident(sure)
    assert not AnalysisIntegration.is_confident(not_sure)
    assert not AnalysisIntegration.is_confident(no_confidence)
