"""The reading session (issue 14): the open study, each viewport's state (display set, frame, window / level,
orientation, tool) and the bound report have one Qt-free owner with psygnal events; tool names and the VOI
mode are enums. Qt-free: no viewer is built here (tests/ui/test_viewport_state.py renders a state)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hsg_workstation.dicom_io.model import DisplaySet, DisplaySetKind, FrameRef, Instance, SopKind, Study
from hsg_workstation.dicom_io.voi import LINEAR, LUT, SIGMOID, VoiPreset
from hsg_workstation.reporting.report import HsgReport
from hsg_workstation.session.reading_session import ReadingSession
from hsg_workstation.session.viewport_state import Tool, ViewportState, VoiMode, as_tool


def _study() -> tuple[Study, list[DisplaySet]]:
    study = Study(study_instance_uid="1.2.3", patient_name="SYN^ONE")
    inst = Instance("1.2.3.1", "RF", "1.2.3.9", "1.2.3", Path("a.dcm"), SopKind.IMAGE, number_of_frames=3)
    frames = tuple(FrameRef(Path("a.dcm"), n, "1.2.3.1") for n in range(3))
    loop = DisplaySet(DisplaySetKind.CINE, "1.2.3.9", "1.2.3", "Loop", frames, (inst,))
    return study, [loop]


def test_tool_names_and_voi_modes_are_enums_and_unknown_names_are_refused() -> None:
    assert as_tool("ellipse") is Tool.ELLIPSE and Tool.ELLIPSE == "ellipse"
    with pytest.raises(ValueError, match="unknown tool 'lasso'"):
        as_tool("lasso")
    state = ViewportState()
    assert state.voi_mode is VoiMode.LINEAR
    state.set_window((0.0, 100.0), VoiPreset("S", 50, 100, function=SIGMOID))
    assert state.voi_mode is VoiMode.SIGMOID
    state.set_window((0.0, 100.0), VoiPreset("L", 50, 100, function=LUT, lut_index=0))
    assert state.voi_mode is VoiMode.VOI_LUT
    state.set_window((0.0, 100.0), VoiPreset("W", 50, 100, function=LINEAR))
    assert state.voi_mode is VoiMode.LINEAR


def test_viewport_state_emits_each_change_once() -> None:
    study, sets = _study()
    state = ViewportState()
    events: list[tuple] = []
    state.display_set_changed.connect(lambda ds: events.append(("display_set", ds.label if ds else None)))
    state.frame_changed.connect(lambda i: events.append(("frame", i)))
    state.window_changed.connect(lambda lo, hi: events.append(("window", lo, hi)))
    state.tool_changed.connect(lambda t: events.append(("tool", t)))
    state.orientation_changed.connect(lambda *o: events.append(("orientation", *o)))
    state.set_display_set(sets[0], study)
    assert state.current_ref == sets[0].frames[0]
    state.index = 2
    state.index = 2  # no change, no event
    preset = VoiPreset("W", 50, 100)
    state.set_window((0.0, 100.0), preset)
    state.set_window((0.0, 100.0), preset)
    state.tool = "angle"
    state.tool = Tool.ANGLE
    state.set_orientation(450, True, False)
    assert events == [
        ("display_set", "Loop"),
        ("frame", 2),
        ("window", 0.0, 100.0),
        ("tool", Tool.ANGLE),
        ("orientation", 90, True, False),
    ]


def test_reading_session_owns_the_open_study_viewports_and_the_bound_report() -> None:
    study, sets = _study()
    session = ReadingSession()
    seen: list[str] = []
    session.study_opened.connect(lambda s: seen.append(f"open {s.study_instance_uid}"))
    session.study_closed.connect(lambda uid: seen.append(f"close {uid}"))
    session.active_changed.connect(lambda st: seen.append("active" if st else "none"))
    with pytest.raises(ValueError, match="no study is open"):
        session.bind_report(HsgReport())
    session.open(study, sets)
    vs = session.add_viewport()
    session.set_active(vs)
    assert session.study is study and session.display_sets == sets and session.active is vs
    report = HsgReport()
    session.bind_report(report)
    assert session.report is report and session.store.bound_report("1.2.3") is report
    assert session.instance_uids() == {"1.2.3.1"}
    session.close()
    assert session.study is None and session.viewports == [] and session.active is None
    assert seen == ["open 1.2.3", "active", "none", "close 1.2.3"]
