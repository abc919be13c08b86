"""The motion search's loop-level stop (analysis/registration.py, session 6).

A still loop whose residual the gain correction leaves above the screens' bars (a smooth brightness drift) must
not be searched frame after frame; a loop where the patient moves is still corrected on every moved frame, also
when the move comes after a long still stretch (the probes find it and the skipped frames are searched).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from hsg_workstation.analysis import registration
from hsg_workstation.analysis.parallel import thread_count
from hsg_workstation.analysis.registration import PROBE_EVERY, STILL_RUN, _search_order, register

N, T = 128, 80
MOVE_FROM, MOVE = 50, (2.0, -1.5)  # the patient moves at frame 50 and stays there


def _loop(move: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames, background, valid): smooth anatomy, noise sigma 1, and on every frame a smooth brightness
    ramp of 1.5-2.5 noise that no gain correction removed (what keeps the residual above the screens' bars)."""
    rng = np.random.default_rng(seed)
    big = ndi.gaussian_filter(rng.normal(size=(N + 16, N + 16)), 3.0) * 100.0 + 500.0
    ref = big[8:-8, 8:-8].astype(np.float32)
    moved = ndi.shift(big, MOVE, order=3)[8:-8, 8:-8].astype(np.float32)
    ramp = np.linspace(-1.0, 1.0, N, dtype=np.float32)[None, :]
    frames = np.empty((T, N, N), np.float32)
    for t in range(T):
        anatomy = moved if move and t >= MOVE_FROM else ref
        frames[t] = anatomy + (1.5 + t / T) * ramp + rng.normal(0.0, 1.0, (N, N)).astype(np.float32)
    valid = np.zeros((N, N), bool)
    valid[4:-4, 4:-4] = True
    return frames, ref, valid


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts of the expensive per-frame searches (masked phase correlation, Lucas-Kanade) during a test."""
    calls = {"phase": 0, "lk": 0}
    pcc, lk = registration.masked_shift, registration._lucas_kanade

    def phase(*a, **k):
        calls["phase"] += 1
        return pcc(*a, **k)

    def lucas(*a, **k):
        calls["lk"] += 1
        return lk(*a, **k)

    monkeypatch.setattr(registration, "masked_shift", phase)
    monkeypatch.setattr(registration, "_lucas_kanade", lucas)
    return calls


def test_a_still_loop_with_a_brightness_drift_is_not_searched_frame_after_frame(counted) -> None:
    frames, ref, valid = _loop(move=False)
    out, shifts = register(frames, ref, valid, 1.0)
    assert not shifts.any() and out is frames
    # every frame is over the prescreen's bar (the drift), so before session 6 each went through the search
    searches = counted["lk"]  # Lucas-Kanade runs at least once on every searched frame
    assert searches > 0
    assert searches <= 2 * (STILL_RUN + T // PROBE_EVERY + 2), counted


def test_a_move_after_a_still_stretch_is_corrected_on_every_moved_frame(counted) -> None:
    frames, ref, valid = _loop(move=True)
    _out, shifts = register(frames, ref, valid, 1.0)
    assert not shifts[:MOVE_FROM].any()
    moved = shifts[MOVE_FROM:]
    # within a pixel: the phase correlation measures whole pixels here
    assert np.all(np.hypot(moved[:, 0] + MOVE[0], moved[:, 1] + MOVE[1]) <= 0.75), moved


def test_search_order_stops_on_a_still_loop_and_backtracks_on_a_move() -> None:
    """The rule alone: a search that never finds a shift is called ~STILL_RUN + T / PROBE_EVERY times; a
    step at frame 70 is found by a probe and every frame from 70 on is searched and moved."""
    flagged = [(i, 1.0) for i in range(100)]
    called: list[int] = []

    def still(ids: list[int]) -> list[None]:
        called.extend(ids)
        return [None] * len(ids)

    done = _search_order(flagged, still)
    assert sorted(i for i, _ in done) == sorted(called)
    assert len(called) <= STILL_RUN + 4 + 100 // PROBE_EVERY + 1
    assert called[-1] == 99  # the last frame is always looked at

    def step(ids: list[int]) -> list[str | None]:
        return ["moved" if i >= 70 else None for i in ids]

    hits = {i for i, hit in _search_order(flagged, step) if hit is not None}
    assert hits == set(range(70, 100))
    # a jump of the coarse residual is searched at once, even between probes
    jumped = [(i, 1.0 if i < 30 else 2.0) for i in range(100)]
    called.clear()
    _search_order(jumped, still)
    assert 30 in called


@pytest.mark.parametrize("move", [False, True])
def test_the_stop_decides_the_same_on_one_and_two_threads(
    move: bool, counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batches have a fixed size, so which frames are searched does not depend on the thread count."""
    frames, ref, valid = _loop(move=move, seed=1)
    runs = []
    for threads in ("1", "2"):
        monkeypatch.setenv("HSG_ANALYSIS_THREADS", threads)
        assert thread_count() == int(threads)
        counted["lk"] = counted["phase"] = 0
        out, shifts = register(frames, ref, valid, 1.0)
        runs.append((out.tobytes(), shifts.tobytes(), dict(counted)))
    assert runs[0] == runs[1]
