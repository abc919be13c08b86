"""opacity.contrast_sign computes the polarity votes only until the deciding window is complete (session 7): the
same sign as the ten-vote computation kept here, with fewer votes when the contrast comes early."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from hsg_workstation.analysis import opacity
from hsg_workstation.analysis.opacity import (
    POLARITY_HIGHPASS_SIGMA,
    POLARITY_WINDOW,
    contrast_sign,
    gaussian_reflect,
)
from hsg_workstation.synthetic.study import generate_case


def _all_votes(frames: np.ndarray, valid: np.ndarray) -> list[float]:
    """The pre-session-7 computation: all ten frames' votes, in one stack."""
    t = frames.shape[0]
    ref = frames[: max(1, min(3, t // 6))].mean(axis=0)
    picked = np.unique(np.linspace(1, t - 1, min(t - 1, 10)).round().astype(int))
    changes = np.stack([ndi.uniform_filter(frames[i] - ref, 3) for i in picked])
    high = changes - gaussian_reflect(changes, POLARITY_HIGHPASS_SIGMA)
    out = []
    for v in high:
        lo, med, hi = np.percentile(v[valid], [0.2, 50.0, 99.8])
        out.append((hi - med) - (med - lo))
    return out


def _sign_from(votes: list[float], noise: float) -> float:
    clear = [k for k, v in enumerate(votes) if abs(v) > noise]
    window = votes[clear[0] : clear[0] + POLARITY_WINDOW] if clear else votes
    total = 0.0
    for v in window:
        total += v
    return 1.0 if total >= 0 else -1.0


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Frames high-passed by contrast_sign (the votes it computes)."""
    seen: list[int] = []
    real = opacity.gaussian_reflect

    def counted(stack: np.ndarray, sigma: float) -> np.ndarray:
        seen.append(stack.shape[0])
        return real(stack, sigma)

    monkeypatch.setattr(opacity, "gaussian_reflect", counted)
    return seen


@pytest.mark.parametrize("case,seed", [("normal", 3), ("loculated_spill", 5), ("normal", 11)])
@pytest.mark.parametrize("invert", [False, True])
def test_polarity_equals_the_ten_vote_computation(
    case: str, seed: int, invert: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = generate_case(case, seed=seed, size=256, frames=40, spot_images=2)
    frames = np.asarray(g.datasets[1].pixel_array, np.float32)
    if invert:  # the other polarity (contrast dark <-> bright)
        frames = frames.max() - frames
    valid = np.ones(frames.shape[1:], bool)
    noise = 2.0
    votes = _all_votes(frames, valid)
    seen = _counting(monkeypatch)
    sign = contrast_sign(frames, noise, valid)
    assert sign == _sign_from(votes, noise)
    # fewer than ten frames were high-passed when a clear vote comes early (generated loops: the cavity fills early)
    first_clear = next(k for k, v in enumerate(votes) if abs(v) > noise)
    assert sum(seen) == min(len(votes), max(POLARITY_WINDOW, first_clear + POLARITY_WINDOW))
    assert sum(seen) < len(votes)


def test_polarity_without_a_clear_vote_uses_every_vote(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    frames = rng.normal(100.0, 1.0, (30, 64, 64)).astype(np.float32)
    valid = np.ones((64, 64), bool)
    votes = _all_votes(frames, valid)
    noise = 1e3  # no vote is clear
    seen = _counting(monkeypatch)
    assert contrast_sign(frames, noise, valid) == _sign_from(votes, noise)
    assert sum(seen) == len(votes) == 10


def test_polarity_with_a_late_clear_vote_reads_on_past_the_first_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(5)
    t = 40
    frames = rng.normal(100.0, 1.0, (t, 64, 64)).astype(np.float32)
    frames[28:, 20:30, 20:30] -= 60.0  # a dense, compact dark change from frame 28: votes 7-9 of ten
    valid = np.ones((64, 64), bool)
    votes = _all_votes(frames, valid)
    noise = 5.0
    first_clear = next(k for k, v in enumerate(votes) if abs(v) > noise)
    assert first_clear >= POLARITY_WINDOW  # past the first batch
    seen = _counting(monkeypatch)
    assert contrast_sign(frames, noise, valid) == _sign_from(votes, noise) == -1.0
    assert sum(seen) == len(votes)
