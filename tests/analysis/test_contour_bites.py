"""Filling defects at the wall (``cavity.contour_bites``): a round mass the cavity wraps around is found; an open
notch (the fundal cleft of two hemicavities) is not, nor the balloon at the internal os."""

from __future__ import annotations

import numpy as np

from hsg_workstation.analysis.cavity import contour_bites

MM = 0.5  # mm per pixel
SIZE = 200


def _triangle() -> np.ndarray:
    """An inverted-triangle cavity (fundus at row 40, isthmus at row 170), like an HSG's uterine cavity."""
    yy, xx = np.mgrid[:SIZE, :SIZE]
    half = (170 - yy) * 0.55
    return (yy >= 40) & (yy <= 170) & (np.abs(xx - 100) <= half)


def _disc(row: float, col: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[:SIZE, :SIZE]
    return np.hypot(yy - row, xx - col) <= radius


def _stack(mask: np.ndarray, frames: int = 5) -> np.ndarray:
    return np.repeat(mask[None], frames, axis=0)


def test_a_polyp_pressed_into_the_lateral_wall_is_found_where_it_is() -> None:
    # radius 12 px = 6 mm, its centre 8 px inside the left wall at row 70: the cavity wraps around ~260 degrees,
    # and the hull also takes in the straight wall below it (the slivers a least-squares fit trips over)
    centre = (70.0, 100 - (170 - 70) * 0.55 + 8)
    cavity = _triangle() & ~_disc(*centre, 12)
    holes = contour_bites(_stack(cavity), 0, list(range(5)), MM)
    assert len(holes) == 1
    h = holes[0]
    assert np.hypot(h.row - centre[0], h.column - centre[1]) < 2.0
    radius = np.sqrt(h.area_px / np.pi)
    assert 10.0 < radius < 14.0


def _ragged(mask: np.ndarray, seed: int) -> np.ndarray:
    """The mask with a third of its edge pixels dropped at random: a thresholded noisy cavity's outline."""
    from scipy import ndimage as ndi

    edge = mask & ~ndi.binary_erosion(mask)
    drop = edge & (np.random.default_rng(seed).random(mask.shape) < 0.33)
    return mask & ~drop


def test_a_small_polyp_on_a_ragged_outline_is_found() -> None:
    # 0.75 mm pixels as the analysis's working grid of a 512-pixel loop; a 7.5 mm polyp (radius 5 px) whose
    # centre lies 2 px inside the right wall, and an outline with pixel noise: a least-squares circle through the
    # whole bite border (the previous rule) is off by 15-30 % of such a radius
    centre = (80.0, 100 + (170 - 80) * 0.55 - 2)
    cavity = _ragged(_triangle() & ~_disc(*centre, 5), seed=3)
    holes = contour_bites(np.stack([_ragged(cavity, s) for s in range(5)]), 0, list(range(5)), 0.75)
    assert len(holes) == 1
    assert np.hypot(holes[0].row - centre[0], holes[0].column - centre[1]) < 2.0


def test_the_bite_must_stay_on_several_frames() -> None:
    centre = (70.0, 100 - (170 - 70) * 0.55 + 8)
    bitten = _triangle() & ~_disc(*centre, 12)
    stack = np.stack([bitten, _triangle(), _triangle(), _triangle(), _triangle()])
    assert contour_bites(stack, 0, list(range(5)), MM) == []  # a bubble passing the wall once


def test_the_open_cleft_between_two_horns_is_not_a_defect() -> None:
    # a U-shaped fundal cleft: a semicircle of radius 12 px with straight sides up to the fundus
    cavity = _triangle()
    yy, xx = np.mgrid[:SIZE, :SIZE]
    cleft = _disc(75.0, 100.0, 12) | ((yy <= 75) & (np.abs(xx - 100) <= 12))
    cavity &= ~cleft
    assert contour_bites(_stack(cavity), 0, list(range(5)), MM) == []


def test_the_balloon_at_the_internal_os_is_not_a_defect() -> None:
    centre = (163.0, 100 - (170 - 163) * 0.55 + 1)
    cavity = _triangle() & ~_disc(*centre, 6)
    assert contour_bites(_stack(cavity), 0, list(range(5)), MM) == []


def test_the_same_loop_gives_the_same_candidates() -> None:
    centre = (90.0, 100 + (170 - 90) * 0.55 - 7)
    cavity = _triangle() & ~_disc(*centre, 9)
    a = contour_bites(_stack(cavity), 0, list(range(5)), MM)
    b = contour_bites(_stack(cavity), 0, list(range(5)), MM)
    assert a == b and len(a) == 1
