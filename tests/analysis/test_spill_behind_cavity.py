"""Spill that drifts behind the cavity and comes out on the other side of the midline stays the spill of the side
it came from (spill_origin.HiddenZone, docs/analysis-s9-midline.md); new spill at a tube end beside the cavity
keeps its own side."""

from __future__ import annotations

import numpy as np

from hsg_workstation.analysis.spill_origin import HiddenZone, attribute_spill

H, W, T = 80, 120, 12
AXIS = 60.0
REACH = 6  # origin reach (px)


def _disc(row: float, col: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:H, :W]
    return (yy - row) ** 2 + (xx - col) ** 2 <= r * r


def _hidden(tube_end_px: int = 9) -> tuple[np.ndarray, HiddenZone]:
    """A square cavity hull in the middle (rows 20-50, columns 45-75) and the 6 px band around it."""
    hull = np.zeros((H, W), bool)
    hull[20:51, 45:76] = True
    band = np.zeros((H, W), bool)
    band[14:57, 39:82] = True
    return hull, HiddenZone(band & ~hull, tube_end_px)


def _crossing_cloud() -> np.ndarray:
    """A cloud born at a left tube end (column 20), drifting right to the hull's left edge, where it goes behind
    the cavity (hidden: nothing is labelled there), and coming out at the hull's right edge from frame 8."""
    labels = np.zeros((T, H, W), np.uint8)
    for i in range(2, 8):
        labels[i][_disc(40, 20 + 4 * i, 5)] = 2  # reaches the hull on frame 7, through the band
    for i in range(8, T):
        labels[i][_disc(40, 80 + 2 * (i - 8), 4 + i - 8)] = 2  # comes out beside the hull's right edge
    labels[:, _hidden()[0]] = 0  # the cavity hides what is behind it
    return labels


def test_a_cloud_that_comes_out_from_behind_the_cavity_keeps_its_side() -> None:
    labels = _crossing_cloud()
    # it is new spill far from any earlier spill (> the origin reach across the hull): the old rule gives it to
    # the right side, where it came out
    plain = attribute_spill(labels, AXIS, 0, REACH)
    assert plain.counts[-1, 1] == (labels[-1] == 2).sum() and plain.counts[-1, 0] == 0
    owned = attribute_spill(labels, AXIS, 0, REACH, hidden=_hidden()[1])
    assert owned.counts[-1, 0] == (labels[-1] == 2).sum() and owned.counts[-1, 1] == 0
    assert np.all(owned.counts[8:, 1] == 0)


def test_new_spill_at_a_tube_end_beside_the_cavity_keeps_its_own_side() -> None:
    labels = _crossing_cloud()
    # the right tube, seen before anything spilled, ends where the spill comes out: spill born at its end
    for i in range(0, T):
        labels[i][38:43, 76:90] = np.where(labels[i][38:43, 76:90] == 2, 2, 1)
    owned = attribute_spill(labels, AXIS, 0, REACH, hidden=_hidden()[1])
    assert owned.counts[-1, 1] == (labels[-1] == 2).sum() and owned.counts[-1, 0] == 0


def test_new_spill_away_from_the_cavity_keeps_its_side() -> None:
    labels = _crossing_cloud()
    for i in range(8, T):  # the same cloud, but coming out far right of the hull's band: born there
        labels[i] = 0
        labels[i][_disc(40, 105, 4 + i - 8)] = 2
    owned = attribute_spill(labels, AXIS, 0, REACH, hidden=_hidden()[1])
    assert owned.counts[-1, 1] == (labels[-1] == 2).sum() and owned.counts[-1, 0] == 0
