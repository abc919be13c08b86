"""Maximal distension holds when the loop's brightness scatters from frame to frame (issue 10, session 7).

``opacity.normalise_gain`` maps every frame of a drifting loop onto frame 1's grey scale by its own fitted line;
what it leaves is a residual gain of a few per cent that differs from frame to frame. The cavity's contrast
content then scatters by that much, and the old 2 % plateau rule found no plateau until a late, accidental quiet
stretch (the held-out independent figure fell from 89.5 to 86 %). Here that residual is applied to the
opacity a rendered study gives (first renderer, and this package's own test phantom as a second model): a
per-frame gain of 1 + N(0, 3 %) — the pick must stay within the scored ±3 frames of the study's truth.
"""

from __future__ import annotations

import numpy as np
import pytest

from hsg_workstation.analysis.cavity import curve_scatter, fill_score, track_cavity
from hsg_workstation.analysis.opacity import compute_opacity
from tests.analysis.conftest import generated

GAIN_SCATTER = 0.03
REALISATIONS = 4


def _scattered(opacity: np.ndarray, seed: int, sd: float = GAIN_SCATTER) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gain = 1.0 + rng.normal(0.0, sd, opacity.shape[0])
    gain[0] = 1.0  # frame 1 is the reference the correction maps onto
    return opacity * gain[:, None, None].astype(np.float32)


def _rendered(case: str, seed: int, frames: int) -> tuple[np.ndarray, float, np.ndarray, float, int]:
    """Opacity stack, level, field mask, mm per pixel and the truth's (1-based) distension frame of a study."""
    g = generated(case, seed, frames)
    loop, scout = g.datasets[1], g.datasets[0]
    op = compute_opacity(
        np.asarray(loop.pixel_array, np.float32), scout=np.asarray(scout.pixel_array, np.float32)
    )
    mm = float(loop.ImagerPixelSpacing[0]) / float(loop.EstimatedRadiographicMagnificationFactor)
    return op.opacity, op.level, ~op.shutter, mm, int(g.truth["max_distension_frame"])


@pytest.mark.parametrize(("case", "seed"), [("normal", 3), ("bilateral_distal_hydrosalpinx", 5)])
def test_rendered_study_keeps_its_distension_frame_under_gain_scatter(case: str, seed: int) -> None:
    opacity, level, valid, mm, truth = _rendered(case, seed, 32)
    clean = track_cavity(opacity, level, valid, mm)
    assert clean.max_index is not None and abs(clean.max_index + 1 - truth) <= 3, (clean.max_index, truth)
    picks = []
    for k in range(REALISATIONS):
        track = track_cavity(_scattered(opacity, 100 * seed + k), level, valid, mm)
        picks.append(None if track.max_index is None else track.max_index + 1)
    assert all(p is not None and abs(p - truth) <= 3 for p in picks), (truth, picks)


def test_phantom_keeps_its_distension_frame_under_gain_scatter() -> None:
    from tests.analysis.phantom import make_phantom

    ph = make_phantom(size=160, frames=36, seed=2, noise=3.0)
    op = compute_opacity(ph.frames)
    areas = ph.cavity_masks.sum(axis=(1, 2))
    truth = int(np.argmax(areas >= 0.98 * areas.max())) + 1  # the independent renderer's definition
    valid = ~op.shutter
    clean = track_cavity(op.opacity, op.level, valid, 0.5)
    assert clean.max_index is not None and abs(clean.max_index + 1 - truth) <= 3, (clean.max_index, truth)
    picks = [
        track_cavity(_scattered(op.opacity, k), op.level, valid, 0.5).max_index for k in range(REALISATIONS)
    ]
    assert all(p is not None and abs(p + 1 - truth) <= 3 for p in picks), (truth, picks)


def test_scatter_estimate_ignores_a_steady_rise_and_reads_the_noise() -> None:
    """The plateau tolerance widens only on a loop whose curve really scatters."""
    t = np.arange(40, dtype=float)
    rise = np.minimum(t, 15.0) / 15.0  # a steady rise to a plateau
    assert curve_scatter(rise) < 0.002
    noisy = rise * (1.0 + np.random.default_rng(0).normal(0.0, 0.03, t.size))
    assert 0.015 < curve_scatter(noisy) < 0.05


def test_running_median_leaves_a_monotone_fill_and_a_step_unchanged() -> None:
    """Clean loops keep their curve: the median only takes out one-frame brightness jumps."""
    areas = np.array([0, 10, 30, 60, 90, 100, 100, 100, 180, 180, 180], float)
    density = np.array([0, 0.4, 0.5, 0.6, 0.7, 0.75, 0.75, 0.75, 0.7, 0.7, 0.7])
    score = fill_score(areas, areas * density)
    expect = areas / 180.0 + areas * density / (180 * 0.7)
    assert np.allclose(score[1:], expect[1:])
    jumped = density.copy()
    jumped[6] *= 1.06  # one frame 6 % brighter
    assert np.allclose(fill_score(areas, areas * jumped)[1:], expect[1:])
