"""Cine controls under the viewports: first / step / play / step / last, slider, loop and sub-range, fps."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStackedWidget,
    QStyle,
    QToolButton,
    QWidget,
)


class CineBar(QWidget):
    """Stateless view of the active viewport's cine; the main window wires it up."""

    firstClicked = Signal()
    prevClicked = Signal()
    playClicked = Signal()
    nextClicked = Signal()
    lastClicked = Signal()
    frameSelected = Signal(int)
    rangeChanged = Signal(int, int)
    loopChanged = Signal(bool)
    fpsChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        # Tight spacing and a short minimum slider: the bar sets the viewports' minimum width, and at 1366×768
        # the left column (series thumbnails) and the report column need what it leaves.
        lay.setSpacing(3)

        style = self.style()

        def button(icon: QStyle.StandardPixmap, tip: str, sig) -> QToolButton:
            b = QToolButton(toolTip=tip)
            b.setIcon(style.standardIcon(icon))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(sig.emit)
            lay.addWidget(b)
            return b

        sp = QStyle.StandardPixmap
        button(sp.SP_MediaSkipBackward, "First frame (Home)", self.firstClicked)
        button(sp.SP_MediaSeekBackward, "Previous frame (←)", self.prevClicked)
        self.play_button = button(sp.SP_MediaPlay, "Play / pause (Space)", self.playClicked)
        button(sp.SP_MediaSeekForward, "Next frame (→)", self.nextClicked)
        button(sp.SP_MediaSkipForward, "Last frame (End)", self.lastClicked)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setMinimumWidth(60)  # the window must fit 1366 px with both side columns
        self.slider.valueChanged.connect(self._slider_moved)
        lay.addWidget(self.slider, 1)
        self.frame_label = QLabel("–/–")
        self.frame_label.setMinimumWidth(48)
        lay.addWidget(self.frame_label)
        self.loop = QCheckBox("Loop")
        self.loop.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.loop.setChecked(True)
        self.loop.toggled.connect(self.loopChanged.emit)
        lay.addWidget(self.loop)
        lay.addWidget(QLabel("range"))
        self.range_first = QSpinBox(minimum=1, maximum=1)
        self.range_last = QSpinBox(minimum=1, maximum=1)
        for sb in (self.range_first, self.range_last):
            sb.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            sb.valueChanged.connect(self._range_edited)
            lay.addWidget(sb)
        lay.addWidget(QLabel("fps"))
        self.fps = QDoubleSpinBox(minimum=0.0, maximum=120.0, decimals=1)
        self.fps.setSpecialValueText("tags")
        self.fps.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.fps.valueChanged.connect(self.fpsChanged.emit)
        lay.addWidget(self.fps)
        # elided ("6.2 fps (Frame Tim…") only when the bar has no room for it (1366 px); the tooltip has it whole
        self.timing_label = _ElidedLabel()
        # "buffering n / N" while the loop is decoded ahead (the cine waits on a frame not decoded yet). It takes
        # the timing label's place for that time: one slot (as wide as the wider of the two, at least the
        # counter), so the bar does not jump while it counts; its minimum is the counter's width, so it never
        # grows past what a 1366 px screen leaves it (the slider gives way first).
        self.buffer_label = QLabel("")
        self.buffer_label.setStyleSheet("color: #d08020;")
        self.status_slot = QStackedWidget()
        self.status_slot.addWidget(self.timing_label)
        self.status_slot.addWidget(self.buffer_label)
        self.status_slot.setMinimumWidth(
            self.buffer_label.fontMetrics().horizontalAdvance("buffering 0000 / 0000") + 4
        )
        self.status_slot.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        lay.addWidget(self.status_slot, 0)
        self._updating = False

    def _slider_moved(self, value: int) -> None:
        if not self._updating:
            self.frameSelected.emit(value)

    def _range_edited(self) -> None:
        if not self._updating:
            self.rangeChanged.emit(self.range_first.value() - 1, self.range_last.value() - 1)

    def set_buffering(self, text: str) -> None:
        self.buffer_label.setText(text)
        self.status_slot.setCurrentWidget(self.buffer_label if text else self.timing_label)

    def set_state(
        self,
        index: int,
        count: int,
        playing: bool,
        loop_range: tuple[int, int],
        timing_text: str,
        timing_tip: str = "",
    ) -> None:
        self._updating = True
        try:
            self.slider.setRange(0, max(count - 1, 0))
            self.slider.setValue(index)
            self.frame_label.setText(f"{index + 1}/{count}" if count else "–/–")
            sp = QStyle.StandardPixmap
            self.play_button.setIcon(
                self.style().standardIcon(sp.SP_MediaPause if playing else sp.SP_MediaPlay)
            )
            for sb in (self.range_first, self.range_last):
                sb.setMaximum(max(count, 1))
            self.range_first.setValue(loop_range[0] + 1)
            self.range_last.setValue(loop_range[1] + 1)
            # Long DICOM source descriptions go to the tooltip; the bar shows fps and the attribute name
            # (FrameTiming.attribute_name, chosen by its origin enum — no parsing of the description)
            self.timing_label.set_full_text(timing_text)
            self.timing_label.setToolTip(timing_tip or timing_text)
        finally:
            self._updating = False


class _ElidedLabel(QLabel):
    """A label that shows its whole text when it has the room and ends it with "…" when it has not (a text cut
    mid-word reads as a different word); it asks for the whole text's width and accepts less."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.updateGeometry()
        self._elide()

    def full_text(self) -> str:
        return self._full

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 4, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, ev) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(ev)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, self.width()))
