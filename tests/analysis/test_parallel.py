"""The thread pool changes the time, not the result: the analysis with 1 and with 2 threads compares equal, and
the pool's helpers keep order and pass errors on."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hsg_workstation.analysis import analyze_path
from hsg_workstation.analysis.parallel import chunks, map_ordered, map_streamed, submit, thread_count
from hsg_workstation.errors import ConfigError
from hsg_workstation.synthetic.study import generate_case


def _fingerprint(r) -> dict:
    return {
        "sides": {k: (v.tube_filled, v.first_fill_frame, v.spill, v.spill_onset_frame, v.confidence)
                  for k, v in r.sides.items()},
        "max": r.max_distension_frame,
        "intravasation": (r.intravasation, r.intravasation_confidence),
        "defects": [(d.row, d.column, d.diameter_px) for d in r.defects],
        "curve": r.fill_curve,
        "masks": r.cavity_masks.tobytes(),
        "labels": r.extra_labels.tobytes(),
        "full": None if r.max_distension_mask is None else r.max_distension_mask.tobytes(),
    }  # fmt: skip


@pytest.mark.parametrize("case", ["venous_intravasation", "endometrial_polyp"])
def test_one_and_two_threads_give_the_same_analysis(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = generate_case(case, seed=11, size=384, frames=40, spot_images=2).write(tmp_path)
    loop = next(Path(folder).glob("*_loop.dcm"))
    monkeypatch.setenv("HSG_ANALYSIS_THREADS", "1")
    assert thread_count() == 1
    single = _fingerprint(analyze_path(loop))
    monkeypatch.setenv("HSG_ANALYSIS_THREADS", "2")
    assert thread_count() == 2
    assert _fingerprint(analyze_path(loop)) == single


def test_helpers_keep_order_and_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSG_ANALYSIS_THREADS", "2")
    assert map_ordered(lambda x: x * x, list(range(50))) == [x * x for x in range(50)]
    produced: list[str] = []

    def produce(i: int) -> int:
        produced.append(threading.current_thread().name)
        return i

    assert map_streamed(produce, lambda x: -x, 30, window=3) == [-i for i in range(30)]
    assert set(produced) == {threading.current_thread().name}  # decoding stays in the calling thread

    def boom(x: int) -> int:
        if x == 7:
            raise ValueError("frame 7 is broken")
        return x

    with pytest.raises(ValueError, match="frame 7"):
        map_ordered(boom, list(range(20)))
    with pytest.raises(ValueError, match="frame 7"):
        submit(lambda: boom(7)).result()
    assert [(s.start, s.stop) for s in chunks(10, 3)] == [(0, 3), (3, 7), (7, 10)]
    assert sum(s.stop - s.start for s in chunks(7, 4)) == 7


def test_thread_count_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HSG_ANALYSIS_THREADS", "3")
    assert thread_count() == 3
    for bad in ("0", "-2", "many", "fuor", "2.5"):
        monkeypatch.setenv("HSG_ANALYSIS_THREADS", bad)
        with pytest.raises(ConfigError, match=f"HSG_ANALYSIS_THREADS={bad!r}"):  # refused, never ignored
            thread_count()
    monkeypatch.setenv("HSG_ANALYSIS_THREADS", " ")
    assert 1 <= thread_count() <= 4  # unset: the CPUs
