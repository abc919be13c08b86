"""What one viewport shows, Qt-free (napari's model / view split): the display set, the current frame, the
window / level, inversion, rotation / flips and the armed measurement tool. ``ui/viewport.py`` renders it and
writes every change here; a change made here from elsewhere (a test, a hanging protocol, the session) is
rendered by the viewport, which listens to the events.

Events (psygnal): ``display_set_changed(display_set)``, ``frame_changed(index)`` (0-based, the frame asked for),
``window_changed(lo, hi)`` (levels; ``voi`` says which function), ``inverted_changed(bool)``,
``orientation_changed(rotation, flip_h, flip_v)``, ``tool_changed(tool or None)``. Each is emitted only when the
value changes, so a view that writes back what it was told does not echo.
"""

from __future__ import annotations

from enum import StrEnum

from psygnal import Signal

from hsg_workstation.dicom_io.model import DisplaySet, FrameRef, Study
from hsg_workstation.dicom_io.voi import LINEAR, LINEAR_EXACT, SIGMOID, VoiPreset


class Tool(StrEnum):
    """The measurement tools a viewport can arm (values are the toolbar action ids)."""

    LENGTH = "length"
    ANGLE = "angle"
    ELLIPSE = "ellipse"
    POLYGON = "polygon"
    ARROW = "arrow"
    CALIBRATE = "calibrate"


TOOLS: tuple[Tool, ...] = tuple(Tool)
# Tools drawn with one drag (press, move, release); the others collect clicks.
DRAG_TOOLS = frozenset({Tool.LENGTH, Tool.ARROW, Tool.CALIBRATE, Tool.ELLIPSE})
CLICK_TOOLS = frozenset({Tool.ANGLE, Tool.POLYGON})


class VoiMode(StrEnum):
    """How the window is applied: levels only (fast path), or a uint8 table (SIGMOID, a VOI LUT item)."""

    LINEAR = "linear"
    SIGMOID = "sigmoid"
    VOI_LUT = "voi_lut"


def voi_mode_of(voi: VoiPreset | None) -> VoiMode:
    if voi is None or voi.function in (LINEAR, LINEAR_EXACT):
        return VoiMode.LINEAR
    return VoiMode.SIGMOID if voi.function == SIGMOID else VoiMode.VOI_LUT


def as_tool(tool: str | Tool | None) -> Tool | None:
    """A tool from its name; an unknown name is refused with the names there are."""
    if tool is None or isinstance(tool, Tool):
        return tool
    try:
        return Tool(tool)
    except ValueError:
        raise ValueError(f"unknown tool {tool!r}; expected one of {tuple(t.value for t in TOOLS)}") from None


class ViewportState:
    """One viewport's reading state; the one owner of each value below (the Qt viewport holds none of them)."""

    display_set_changed = Signal(object)  # DisplaySet | None
    frame_changed = Signal(int)
    window_changed = Signal(float, float)
    inverted_changed = Signal(bool)
    orientation_changed = Signal(int, bool, bool)
    tool_changed = Signal(object)  # Tool | None

    def __init__(self) -> None:
        self._study: Study | None = None
        self._display_set: DisplaySet | None = None
        self._index = 0
        self._levels: tuple[float, float] = (0.0, 1.0)
        self._voi: VoiPreset | None = None
        self._inverted = False
        self._orientation: tuple[int, bool, bool] = (0, False, False)
        self._tool: Tool | None = None

    # -- what is shown ----------------------------------------------------------------------------------
    @property
    def study(self) -> Study | None:
        return self._study

    @property
    def display_set(self) -> DisplaySet | None:
        return self._display_set

    def set_display_set(self, display_set: DisplaySet | None, study: Study | None = None) -> None:
        """Show another display set (of ``study``) from its first frame."""
        self._study = study
        self._index = 0
        if display_set is not self._display_set:
            self._display_set = display_set
        self.display_set_changed.emit(display_set)

    @property
    def frames(self) -> tuple[FrameRef, ...]:
        return self._display_set.frames if self._display_set is not None else ()

    @property
    def index(self) -> int:
        """The current frame, 0-based (the frame asked for; the picture follows once decoded)."""
        return self._index

    @index.setter
    def index(self, value: int) -> None:
        value = int(value)
        if value != self._index:
            self._index = value
            self.frame_changed.emit(value)

    @property
    def current_ref(self) -> FrameRef | None:
        frames = self.frames
        return frames[self._index] if frames and 0 <= self._index < len(frames) else None

    # -- window / level ---------------------------------------------------------------------------------
    @property
    def levels(self) -> tuple[float, float]:
        """(black, white) levels; for a VOI LUT the LUT's input range (the start of a later drag)."""
        return self._levels

    @property
    def voi(self) -> VoiPreset | None:
        return self._voi

    @property
    def voi_mode(self) -> VoiMode:
        return voi_mode_of(self._voi)

    def set_window(self, levels: tuple[float, float], voi: VoiPreset | None) -> None:
        levels = (float(levels[0]), float(levels[1]))
        if (levels, voi) == (self._levels, self._voi):
            return
        self._levels, self._voi = levels, voi
        self.window_changed.emit(*levels)

    @property
    def inverted(self) -> bool:
        return self._inverted

    @inverted.setter
    def inverted(self, value: bool) -> None:
        if bool(value) != self._inverted:
            self._inverted = bool(value)
            self.inverted_changed.emit(self._inverted)

    # -- orientation ------------------------------------------------------------------------------------
    @property
    def orientation(self) -> tuple[int, bool, bool]:
        """(rotation in degrees, flip_h, flip_v) of the view; stored image coordinates never change."""
        return self._orientation

    def set_orientation(self, rotation: int, flip_h: bool, flip_v: bool) -> None:
        value = (int(rotation) % 360, bool(flip_h), bool(flip_v))
        if value != self._orientation:
            self._orientation = value
            self.orientation_changed.emit(*value)

    # -- tool -------------------------------------------------------------------------------------------
    @property
    def tool(self) -> Tool | None:
        return self._tool

    @tool.setter
    def tool(self, value: str | Tool | None) -> None:
        tool = as_tool(value)
        if tool is not self._tool:
            self._tool = tool
            self.tool_changed.emit(tool)
