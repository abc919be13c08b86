"""List of the analysis' report suggestions, each with Accept / Reject — the reader decides, row by row.

The panel never touches a report itself: *Accept* emits ``accepted(suggestion)`` and the owner (the main window)
calls ``reporting.from_analysis.apply_suggestion(report, suggestion)`` and, when that succeeds, calls
``mark_accepted(id)``; when the report refuses (signed), it calls ``mark_failed(id, message)``. This keeps the
"nothing is written on its own" rule in one visible place. A row's *Show* button emits ``jumpToFrame(n)``
(1-based) so the cine shows the frame the suggestion rests on.

A suggestion below its calibrated threshold (``Suggestion.one_click`` false: a "not sure" side, a low-confidence
call) is never a one-click fact: its row has no Accept button, says "not sure — look at frames a-b", and Show
jumps to frame a. The reader looks and fills the form by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.reporting.from_analysis import Suggestion

PENDING, ACCEPTED, REJECTED, FAILED = "pending", "accepted", "rejected", "failed"


class _Row(QWidget):
    def __init__(self, suggestion: Suggestion, panel: SuggestionsPanel) -> None:
        super().__init__()
        self.suggestion = suggestion
        lay = QHBoxLayout(self)
        lay.setContentsMargins(2, 1, 2, 1)
        # the text wraps (a long label must not push Accept / Reject out of view); "Show" jumps the cine
        self.label = QLabel(suggestion.label)
        self.label.setWordWrap(True)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.show_frame = QPushButton("Show")
        self.show_frame.setEnabled(suggestion.frame is not None)
        self.show_frame.setToolTip(
            f"Show frame {suggestion.frame} in the viewer"
            if suggestion.frame is not None
            else "No single frame"
        )
        self.show_frame.clicked.connect(lambda: panel._jump(suggestion))
        self.state = QLabel("")
        self.accept = QPushButton("Accept")
        self.reject = QPushButton("Reject")
        self.accept.setToolTip("Fill the report field(s) and link the frame as key image")
        self.one_click = suggestion.one_click
        if not self.one_click:
            a, b = suggestion.review_frames or (suggestion.frame, suggestion.frame)
            self.state.setText(f"not sure — look at frames {a}-{b}")
            self.accept.setVisible(False)  # nothing uncertain as a one-click fact
            self.reject.setText("Dismiss")
            self.show_frame.setToolTip(f"Show frame {a} (look at frames {a}-{b}) in the viewer")
        self.accept.clicked.connect(lambda: panel._accept(suggestion))
        self.reject.clicked.connect(lambda: panel.mark_rejected(suggestion.id))
        for b in (self.show_frame, self.accept, self.reject):
            # a click must not take the keyboard from the viewport (Space / arrows keep driving the cine), and a
            # button disabled after its click must not hand the focus on down the chain (to the search box)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # the text on its own line above the buttons: beside the viewports the dock is narrow (1366 px screens)
        # and a text squeezed between buttons shrank to nothing
        self.label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        text_row = QVBoxLayout()
        text_row.setContentsMargins(0, 0, 0, 0)
        text_row.addWidget(self.label)
        # The state ("accepted", "not sure — look at frames 3-9") takes what the buttons leave and wraps: the
        # row's minimum width must stay under the dock's at 1366×768, or the end of every text is cut by the
        # (horizontally unscrollable) list. It stays in the button row so that nothing moves when it changes.
        self.state.setWordWrap(True)
        self.state.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        buttons = QHBoxLayout()
        buttons.addWidget(self.state, 1)
        buttons.addWidget(self.show_frame)
        buttons.addWidget(self.accept)
        buttons.addWidget(self.reject)
        text_row.addLayout(buttons)
        lay.addLayout(text_row, 1)


class SuggestionsPanel(QWidget):
    """Rows of suggestions; see the module docstring for the accept hand-shake."""

    accepted = Signal(object)  # Suggestion: the owner applies it to the report
    rejected = Signal(object)  # Suggestion
    jumpToFrame = Signal(int)  # 1-based frame of the loop

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        self.title = QLabel("Analysis suggestions (none)")
        self.title.setWordWrap(True)  # a long title must not set the window's minimum width (1366 px screens)
        outer.addWidget(self.title)
        self._host = QWidget()
        self._rows_layout = QVBoxLayout(self._host)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self._host)
        # A click on a row's button (no focus of its own) would hand the keyboard to the first ancestor that
        # takes click focus — this scroll area — and Space / arrows would stop driving the cine (issue 11).
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        outer.addWidget(scroll)
        self._rows: dict[str, _Row] = {}
        self._states: dict[str, str] = {}
        self._locked = False

    # --------------------------------------------------------------------------------------------- public API
    def set_suggestions(self, suggestions: Sequence[Suggestion]) -> None:
        """Replace the list (a new analysis); every row starts pending."""
        for row in self._rows.values():
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        self._rows, self._states = {}, {}
        for s in suggestions:
            row = _Row(s, self)
            self._rows_layout.insertWidget(self._rows_layout.count() - 1, row)
            self._rows[s.id] = row
            self._states[s.id] = PENDING
        self._refresh()

    def set_read_only(self, read_only: bool) -> None:
        """A signed report: rows stay visible (the frames can still be shown), Accept is disabled."""
        self._locked = read_only
        self._refresh()

    def mark_accepted(self, suggestion_id: str) -> None:
        self._set_state(suggestion_id, ACCEPTED, "accepted")

    def mark_rejected(self, suggestion_id: str) -> None:
        if self._set_state(suggestion_id, REJECTED, "rejected"):
            self.rejected.emit(self._rows[suggestion_id].suggestion)

    def mark_failed(self, suggestion_id: str, message: str) -> None:
        if self._set_state(suggestion_id, FAILED, "not applied"):
            self._rows[suggestion_id].state.setToolTip(message)

    def state(self, suggestion_id: str) -> str:
        return self._states[suggestion_id]

    def suggestion_ids(self) -> list[str]:
        return list(self._rows)

    def suggestion(self, suggestion_id: str) -> Suggestion:
        return self._rows[suggestion_id].suggestion

    def is_one_click(self, suggestion_id: str) -> bool:
        """Whether the row offers Accept (False: a "not sure — look at frames a-b" row)."""
        return self._rows[suggestion_id].one_click

    def row_text(self, suggestion_id: str) -> str:
        r = self._rows[suggestion_id]
        return f"{r.label.text()} [{r.state.text()}]"

    def row_buttons(self, suggestion_id: str) -> tuple[QPushButton, QPushButton, QPushButton]:
        """(show, accept, reject) buttons of a row — for tests and keyboard navigation."""
        r = self._rows[suggestion_id]
        return r.show_frame, r.accept, r.reject

    # -------------------------------------------------------------------------------------------- internals
    def _accept(self, s: Suggestion) -> None:
        if s.one_click and not self._locked:  # a "not sure" row never reaches the report
            self.accepted.emit(s)

    def _jump(self, s: Suggestion) -> None:
        if s.frame is not None:
            self.jumpToFrame.emit(int(s.frame))

    def _set_state(self, suggestion_id: str, state: str, text: str) -> bool:
        row = self._rows.get(suggestion_id)
        if row is None:
            return False
        self._states[suggestion_id] = state
        row.state.setText(text)
        self._refresh()
        return True

    def _refresh(self) -> None:
        pending = sum(1 for v in self._states.values() if v == PENDING)
        n = len(self._rows)
        self.title.setText(
            f"Analysis suggestions — {pending} of {n} pending" + (" (report signed)" if self._locked else "")
            if n
            else "Analysis suggestions (none)"
        )
        for sid, row in self._rows.items():
            st = self._states[sid]
            row.accept.setEnabled(row.one_click and not self._locked and st in (PENDING, REJECTED, FAILED))
            row.reject.setEnabled(st == PENDING)
            row.label.setStyleSheet("text-align: left;" + (" color: gray;" if st == REJECTED else ""))
