"""Once distended, the cavity does not grow: dense contrast that comes to touch it later is not cavity.

Independent renderer, tuning seeds 21, 50, 57, 68: a dense free-spill cloud or a loculated pocket grew against
the distended cavity and the tracked mask took it in (up to 2.8 times the distended cavity), so the side
signals never saw the spill. ``cavity.cap_distended`` cuts every later mask that outgrows the distended cavity
by more than ``DISTENDED_GROWTH_CAP`` back to that cavity grown by ``DISTENDED_REACH_MM``.

The phantom: a disc that fills for ten frames and holds, then a dense cloud that appears *touching* it (so the
tracker's "seen apart on two frames" guard cannot catch it) and spreads beside it.
"""

from __future__ import annotations

import numpy as np

from hsg_workstation.analysis import cavity
from hsg_workstation.analysis.cavity import track_cavity

T, N, MM = 50, 128, 0.8
LEVEL = 100.0
GROW_UNTIL, JOIN_FROM = 12, 30
CY, CX, R = 50, 64, 14


def _loop(join: bool = True, growth: float = 1.0) -> np.ndarray:
    """``growth``: the disc's radius after the plateau is ``R * growth`` (a cavity that gives a little more)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:N, :N]
    opacity = rng.normal(0.0, 1.0, (T, N, N)).astype(np.float32)
    for i in range(2, T):
        radius = 3 + (R - 3) * min(1.0, (i - 2) / (GROW_UNTIL - 2))
        if i >= JOIN_FROM:
            radius = R * growth
        opacity[i][(yy - CY) ** 2 + (xx - CX) ** 2 <= radius**2] += LEVEL
        if join and i >= JOIN_FROM:
            # a cloud on the disc's right, overlapping its edge from its first frame, growing 1 px a frame
            cloud_r = 8 + (i - JOIN_FROM)
            opacity[i][(yy - CY) ** 2 + (xx - (CX + R + 4)) ** 2 <= cloud_r**2] += LEVEL
    return np.maximum(opacity, -5.0)


def _far_from_disc() -> np.ndarray:
    """Pixels more than 4 mm outside the distended disc (beyond the cut's 2 mm reach and any margin)."""
    yy, xx = np.mgrid[:N, :N]
    return np.hypot(yy - CY, xx - CX) > R + 4.0 / MM


def test_a_cloud_that_grows_against_the_distended_cavity_is_not_cavity() -> None:
    opacity = _loop()
    track = track_cavity(opacity, LEVEL, np.ones((N, N), bool), MM)
    assert track.max_index is not None and abs(track.max_index - GROW_UNTIL) <= 1, track.max_index
    far = _far_from_disc()
    # the phantom does what it is for: the cloud is dense, joined to the disc, and larger than it by the end
    dense_last = opacity[-1] > cavity.CAVITY_THRESHOLD * LEVEL
    assert (dense_last & far).sum() > track.areas_px[track.max_index]
    distended = track.areas_px[track.max_index]
    assert track.areas_px[JOIN_FROM:].max() <= cavity.DISTENDED_GROWTH_CAP * distended * 1.05
    assert not (track.masks[-1] & far).any()  # none of the cloud beyond the reach is cavity
    # the disc itself stays whole
    yy, xx = np.mgrid[:N, :N]
    assert track.masks[-1][np.hypot(yy - CY, xx - CX) <= R - 1].all()


def test_without_the_cut_the_tracker_takes_the_cloud_in(monkeypatch) -> None:
    """The same loop with the cap switched off: the mask swallows the cloud (what main did)."""
    monkeypatch.setattr(cavity, "DISTENDED_GROWTH_CAP", np.inf)
    track = track_cavity(_loop(), LEVEL, np.ones((N, N), bool), MM)
    assert (track.masks[-1] & _far_from_disc()).sum() > 100


def test_a_cavity_that_gives_a_little_more_is_left_alone() -> None:
    """A disc 5 % wider after its plateau (10 % more area, under the cap) and no cloud: masks as tracked."""
    opacity = _loop(join=False, growth=1.05)
    track = track_cavity(opacity, LEVEL, np.ones((N, N), bool), MM)
    assert track.max_index is not None
    dense = opacity > cavity.CAVITY_THRESHOLD * LEVEL
    late = track.masks[JOIN_FROM:]
    assert np.array_equal(late, late & dense[JOIN_FROM:])
    assert track.areas_px[-1] > 1.08 * track.areas_px[track.max_index]  # the wider disc was kept
