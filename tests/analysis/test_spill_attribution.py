"""Spill is counted for the side it grew from (tubes.attribute_spill), not for the side of the cavity axis it
has drifted to: a cloud leaving the left tube and spreading over the midline stays the left side's spill."""

from __future__ import annotations

import numpy as np

from hsg_workstation.analysis.spill_origin import attribute_spill


def _disc(h: int, w: int, row: float, col: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:h, :w]
    return (yy - row) ** 2 + (xx - col) ** 2 <= r * r


def test_a_cloud_drifting_over_the_midline_keeps_its_side() -> None:
    h, w, t = 64, 96, 10
    labels = np.zeros((t, h, w), np.uint8)
    for i in range(2, t):  # born left of the axis (column 48), drifting right and growing
        labels[i][_disc(h, w, 40, 30 + 3 * i, 4 + i)] = 2
    owned = attribute_spill(labels, 48.0, 0, reach=3)
    left, right = owned.counts[:, 0], owned.counts[:, 1]
    assert left[-1] == (labels[-1] == 2).sum() and right[-1] == 0
    # the column split would have given most of the last frame's cloud to the right side
    assert (labels[-1] == 2)[:, 48:].sum() > (labels[-1] == 2)[:, :48].sum()
    assert np.all(owned.masks[-1][labels[-1] == 2] == 1)


def test_new_spill_is_counted_where_it_appears_and_two_clouds_meet_at_a_border() -> None:
    h, w, t = 64, 96, 8
    labels = np.zeros((t, h, w), np.uint8)
    for i in range(1, t):  # one cloud each side, growing until they touch
        labels[i][_disc(h, w, 32, 20, 3 + 3 * i)] = 2
        labels[i][_disc(h, w, 32, 76, 3 + 3 * i)] = 2
    owned = attribute_spill(labels, 48.0, 0, reach=2)
    assert owned.counts[1, 0] > 0 and owned.counts[1, 1] > 0
    last = owned.masks[-1]
    # each pixel of the merged cloud belongs to the nearer origin: left of the meeting line left, right right
    assert np.all(last[:, :44][labels[-1][:, :44] == 2] == 1)
    assert np.all(last[:, 53:][labels[-1][:, 53:] == 2] == 2)
    assert owned.counts[-1].sum() == (labels[-1] == 2).sum()
