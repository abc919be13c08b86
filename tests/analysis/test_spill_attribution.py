"""Spill is counted for the side it grew from (tubes.attribute_spill), not for the side of the cavity axis it
has drifted to: a cloud leaving the left tube and spreading over the midline stays the left side's spill."""

from __future__ import annotations

import numpy as np
import pytest

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


def _reference_attribute_spill(
    labels: np.ndarray, axis_col: float, first_index: int, reach: int, readable: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The pre-session-7 attribute_spill: whole frames, scipy's float distances and a lookup of every pixel."""
    from scipy import ndimage as ndi

    from hsg_workstation.analysis.morph import mask_box

    t, h, w = labels.shape
    counts = np.zeros((t, 2))
    memory = np.zeros((h, w), np.uint8)
    column_side = np.broadcast_to(np.where(np.arange(w)[None, :] < axis_col, 1, 2).astype(np.uint8), (h, w))
    owners = np.zeros((t, h, w), np.uint8)
    for i in range(max(0, first_index), t):
        spill = labels[i] == 2
        own = owners[i]
        if not spill.any() or (readable is not None and not readable[i]):
            continue
        own[spill] = column_side[spill]
        box = mask_box(spill | (memory > 0), 1) if memory.any() else None
        if box is not None:
            mem = memory[box]
            dist, idx = ndi.distance_transform_edt(mem == 0, return_indices=True)
            nearest = mem[idx[0], idx[1]]
            sp = spill[box]
            lab, n = ndi.label(sp)
            touching = np.zeros(n + 1, bool)
            touching[lab[sp & (dist <= reach)]] = True
            touching[0] = False
            inherit = touching[lab]
            own[box][inherit] = nearest[inherit]
        memory[spill] = own[spill]
        counts[i, 0] = np.count_nonzero(own == 1)
        counts[i, 1] = np.count_nonzero(own == 2)
    return counts, owners


def _speckled_clouds(seed: int, t: int = 24, h: int = 80, w: int = 120) -> np.ndarray:
    """Two noisy clouds growing from either side and meeting (ties at equal distance), flickering pixels, a
    frame without spill, a cloud at the frame edge."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((t, h, w), np.uint8)
    for i in range(2, t):
        if i == 9:
            continue  # a frame without spill
        cloud = _disc(h, w, 40, 25 + i, 3 + 1.5 * i) | _disc(h, w, 45, 95 - i, 2 + 1.5 * i)
        cloud |= _disc(h, w, 2, 60, 2 + 0.5 * i)  # at the top edge
        labels[i][rng.random((h, w)) < 0.05] = 1
        labels[i][cloud & (rng.random((h, w)) < 0.8)] = 2
    return labels


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("reach", [1, 3, 6])
def test_attribute_spill_equals_the_whole_frame_distance_version(seed: int, reach: int) -> None:
    labels = _speckled_clouds(seed)
    readable = np.ones(labels.shape[0], bool)
    readable[15] = False
    for first, rd in ((0, None), (4, readable)):
        owned = attribute_spill(labels, 60.0, first, reach, rd)
        counts, masks = _reference_attribute_spill(labels, 60.0, first, reach, rd)
        assert np.array_equal(owned.counts, counts)
        assert np.array_equal(owned.masks, masks)
    assert (masks == 1).any() and (masks == 2).any()  # not vacuous: both sides own spill


def test_attribute_spill_equals_the_whole_frame_version_on_a_rendered_study() -> None:
    from hsg_workstation.analysis.cavity import track_cavity
    from hsg_workstation.analysis.opacity import compute_opacity
    from hsg_workstation.analysis.tubes import side_signals
    from hsg_workstation.synthetic.study import generate_case

    g = generate_case("normal", seed=2, size=256, frames=40, spot_images=2)
    op = compute_opacity(g.datasets[1].pixel_array)
    mm_px = float(g.truth["pixel_spacing_mm"])
    track = track_cavity(op.opacity, op.level, ~op.shutter, mm_px)
    assert track.max_index is not None
    ref_mask = track.masks[track.max_index]
    _sides, _extra, _cath, labels = side_signals(
        op.opacity, track.masks, ref_mask, ~op.shutter, op.level, op.noise, mm_px, track.first_index or 0,
        op.onset_index,
    )  # fmt: skip
    assert (labels == 2).sum() > 500
    axis = float(np.nonzero(ref_mask)[1].mean())
    for reach in (2, int(round(10.0 / mm_px))):
        owned = attribute_spill(labels, axis, track.first_index or 0, reach)
        counts, masks = _reference_attribute_spill(labels, axis, track.first_index or 0, reach)
        assert np.array_equal(owned.counts, counts) and np.array_equal(owned.masks, masks)


def test_nearest_owner_equals_scipy_distances_and_indices() -> None:
    from scipy import ndimage as ndi

    from hsg_workstation.analysis.spill_origin import _nearest_owner

    rng = np.random.default_rng(7)
    for _ in range(5):
        mem = np.zeros((50, 70), np.uint8)
        pts = rng.random(mem.shape) < 0.01
        mem[pts] = rng.integers(1, 3, int(pts.sum()))
        dist, idx = ndi.distance_transform_edt(mem == 0, return_indices=True)
        near, nearest = _nearest_owner(mem)
        for reach in (0, 1, 2, 5, 9):
            assert np.array_equal(near(reach), dist <= reach)
        mask = rng.random(mem.shape) < 0.5
        assert np.array_equal(nearest(mask), mem[idx[0], idx[1]][mask])
