"""analysis/source.loop_header_facts: a loop without timing attributes has unknown frame times (null), decided by
``FrameTiming.origin`` — not by parsing the words of ``FrameTiming.source``."""

from __future__ import annotations

from pydicom.dataset import Dataset

from hsg_workstation.analysis.source import loop_header_facts


def _loop(**attrs: object) -> Dataset:
    ds = Dataset()
    ds.NumberOfFrames = 3
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


def test_no_timing_gives_null_times_and_a_warning() -> None:
    _cal, times, _po, warnings = loop_header_facts(_loop())
    assert times == [None, None, None]
    assert any("no frame timing attributes" in w for w in warnings)


def test_frame_time_gives_start_times_in_seconds() -> None:
    _cal, times, _po, warnings = loop_header_facts(_loop(FrameTime=250))
    assert times == [0.0, 0.25, 0.5] and warnings == []
