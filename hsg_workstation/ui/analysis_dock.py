"""Issue 6 in the workstation: analysis suggestions docked beside the report, its overlay on the viewports.

Wiring (docked when the fill-curve dock is; a failure to build it is shown in the status bar by ``ui/app.py``):
  * the fill-curve dock (``ui/fill_dock.py``) analyses the loop off the UI thread and emits ``analysis_ready``;
    here that result becomes ``reporting.from_analysis.suggestions_from_analysis(result, loop SOP UID)`` rows in
    the Suggestions panel, and the cavity / tubes / spill overlay of every viewport that shows the loop;
  * *Accept* on a row → ``apply_suggestion(form.report, suggestion)`` then ``form.sync_from_model()``. Nothing is
    written without that click (the analysis is a heuristic, the report is the reader's statement); a signed
    report refuses and the row says "not applied" with the reason;
  * a row's Show button, like a fill-curve marker, jumps the loop to the frame the suggestion rests on;
  * Ctrl+Shift+A (or the panel's button) accepts every pending suggestion the analysis is confident of (its
    calibrated flag, else confidence ≥ CONFIDENT_THRESHOLD) — the same Accept, one key instead of many clicks;
  * View ▸ Analysis overlay (Shift+O — O is taken by the corner overlays) shows the detected regions on the
    frame the cine shows. The overlay item lives in the viewport's image-space group, so rotation and flips
    move it with the image.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QPushButton

from hsg_workstation.reporting.from_analysis import apply_suggestion, suggestions_from_analysis
from hsg_workstation.ui.analysis_overlay import AnalysisOverlayItem
from hsg_workstation.ui.shortcuts import shortcut
from hsg_workstation.ui.suggestions_panel import SuggestionsPanel

# Confidence at or above which a suggestion counts as "confident" when the suggestion itself does not say
# (the analysis' calibrated flag, ``offerable`` / ``confident``, wins when present). One constant, one place.
CONFIDENT_THRESHOLD = 0.85

OVERLAY_LEGEND = "cavity cyan, tubes / other contrast yellow, spill magenta (detected, not verified)"


class AnalysisIntegration:
    def __init__(self, window, fill_controller, report_controller) -> None:
        self._apply = apply_suggestion
        self._suggest = suggestions_from_analysis
        self._overlay_cls = AnalysisOverlayItem
        self.window = window
        self.fill = fill_controller
        self.report = report_controller
        self.result = None
        self.panel = SuggestionsPanel()
        self.dock = window.add_panel("Suggestions", self.panel, Qt.DockWidgetArea.BottomDockWidgetArea)
        # beside the fill curve it explains: the bottom strip is wide enough for a row's text and its
        # Accept / Reject buttons (in the right column they were scrolled out of sight)
        window.splitDockWidget(fill_controller.dock, self.dock, Qt.Orientation.Horizontal)
        window.resizeDocks([fill_controller.dock, self.dock], [3, 2], Qt.Orientation.Horizontal)
        self.panel.accepted.connect(self.accept)
        self.panel.jumpToFrame.connect(fill_controller.jump)
        fill_controller.analysis_ready.connect(self.set_result)
        window.viewportsChanged.connect(self._sync_overlays)
        window.studyClosed.connect(lambda: self.set_result(None))
        if report_controller is not None:
            report_controller.form.report_signed.connect(self._sync_read_only)
            report_controller.form.report_replaced.connect(lambda *_a: self._sync_read_only())
        self.overlay_action = window.add_toggle_action(
            "analysis_overlay", "Analysis overlay", self._overlay_toggled, checked=False
        )
        self.overlay_action.setToolTip(f"{self.overlay_action.toolTip()} — {OVERLAY_LEGEND}")
        window.docks_menu.addAction(self.dock.toggleViewAction())
        # One key accepts every confident suggestion; the others stay for the reader to decide one by one.
        self.accept_confident_action = QAction("Accept confident suggestions", window)
        self.accept_confident_action.setShortcut(QKeySequence(shortcut("accept_confident")))
        self.accept_confident_action.setToolTip(
            f"Accept every suggestion above its calibrated confidence ({shortcut('accept_confident')})"
        )
        self.accept_confident_action.triggered.connect(self.accept_confident)
        window.addAction(self.accept_confident_action)
        self.accept_confident_button = QPushButton(f"Accept confident ({shortcut('accept_confident')})")
        self.accept_confident_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.accept_confident_button.clicked.connect(self.accept_confident)
        self.panel.layout().insertWidget(1, self.accept_confident_button)

    # -- analysis result → suggestions + overlay ---------------------------------------------------------
    def set_result(self, result) -> None:
        self.result = result
        loop = self.fill.loop
        suggestions = []
        if result is not None and loop is not None and loop.instances:
            inst = loop.instances[0]
            try:
                suggestions = self._suggest(result, inst.sop_instance_uid, inst.sop_class_uid)
            except Exception as exc:  # noqa: BLE001 - the viewer keeps working; say why there is no list
                self.panel.title.setText(f"Analysis suggestions unavailable: {exc}")
                suggestions = None
        if suggestions is not None:
            self.panel.set_suggestions(suggestions)
        self._sync_read_only()
        self._sync_overlays()

    def _sync_read_only(self) -> None:
        signed = self.report is not None and self.report.form.report.is_signed
        self.panel.set_read_only(self.report is None or signed)

    def accept(self, suggestion) -> None:
        """The reader's click: fill the report field(s), link the frame, refresh the form."""
        if self.report is None:
            self.panel.mark_failed(suggestion.id, "no report form in this workstation")
            return
        form = self.report.form
        try:
            self._apply(form.report, suggestion)
        except Exception as exc:  # noqa: BLE001 - signed report, unknown field: shown on the row
            self.panel.mark_failed(suggestion.id, str(exc))
            self.window.statusBar().showMessage(f"Suggestion not applied: {exc}", 8000)
            return
        form.sync_from_model()
        self.panel.mark_accepted(suggestion.id)
        self.window.statusBar().showMessage(f"Accepted: {suggestion.label}", 5000)

    @staticmethod
    def is_confident(suggestion) -> bool:
        """The suggestion's own calibrated flag when it has one, else confidence ≥ CONFIDENT_THRESHOLD; a
        suggestion without any confidence (a key-frame proposal) is never accepted wholesale, nor one the
        analysis does not offer for one-click Accept (a "not sure — look at frames a-b" row)."""
        if getattr(suggestion, "one_click", True) is False:
            return False
        for flag in ("offerable", "confident"):
            value = getattr(suggestion, flag, None)
            if isinstance(value, bool):
                return value
        c = getattr(suggestion, "confidence", None)
        return c is not None and c >= CONFIDENT_THRESHOLD

    def accept_confident(self) -> int:
        """Accept every pending confident suggestion (one key press); returns how many were accepted."""
        done = 0
        for sid in self.panel.suggestion_ids():
            s = self.panel.suggestion(sid)
            if self.panel.state(sid) == "pending" and self.is_confident(s):
                self.accept(s)
                done += self.panel.state(sid) == "accepted"
        self.window.statusBar().showMessage(
            f"Accepted {done} confident suggestion{'s' if done != 1 else ''}; the others wait for you", 6000
        )
        return done

    # -- overlay ---------------------------------------------------------------------------------------------
    def overlay_of(self, vp):
        """The viewport's overlay item (created on first use, parented to its image-space group)."""
        item = getattr(vp, "analysis_overlay", None)
        if item is None:
            item = self._overlay_cls()
            item.setParentItem(vp.image_space)
            item.setVisible(False)
            vp.analysis_overlay = item
            vp.framePainted.connect(lambda _i, v=vp: self._follow(v))  # the frame on screen, not the one due
        return item

    def _shows_loop(self, vp) -> bool:
        return self.fill.loop is not None and vp.display_set == self.fill.loop

    def _follow(self, vp) -> None:
        item = vp.analysis_overlay
        on = self.overlay_action.isChecked() and self.result is not None and self._shows_loop(vp)
        item.setVisible(on)
        if on:
            if getattr(item, "shown_result", None) is not self.result:
                item.set_result(self.result)
                item.shown_result = self.result
            shown = vp.displayed_index if vp.displayed_index >= 0 else vp.index
            ref = vp.frames[shown] if 0 <= shown < len(vp.frames) else None
            item.set_frame(ref.frame_number if ref is not None else shown + 1)

    def _overlay_toggled(self) -> None:
        on = self.overlay_action.isChecked()
        if on and self.result is None:
            text = "Analysis overlay: the fill analysis has not finished (or the study has no loop)"
        else:
            text = f"Analysis overlay {'on: ' + OVERLAY_LEGEND if on else 'off'}"
        self.window.statusBar().showMessage(text, 6000)
        self._sync_overlays()

    def _sync_overlays(self, *_a) -> None:
        for vp in self.window.viewports:
            if self.overlay_action.isChecked() or getattr(vp, "analysis_overlay", None) is not None:
                self.overlay_of(vp)
                self._follow(vp)


def attach_analysis_panels(window) -> AnalysisIntegration | None:
    """Dock the suggestions and add the overlay beside the fill curve; None when there is no fill-curve dock."""
    fill = getattr(window, "fill_curve", None)
    if fill is None:
        return None
    return AnalysisIntegration(window, fill, getattr(window, "report_dock", None))
