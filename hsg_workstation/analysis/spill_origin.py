"""Where spill came from, and which frames can show it (issue 10, session 5; docs/analysis-s5-spill.md).

Both work on the per-frame overlay labels of :func:`hsg_workstation.analysis.tubes.side_signals` (1 =
extra-cavitary contrast, 2 = counted as spill), after the per-frame structures are found:

- :func:`attribute_spill`: spill is counted for the side whose spill it grew from, not for the side of the cavity
  axis it has drifted to — also when it drifted behind the cavity, out of sight (:class:`HiddenZone`);
- :func:`readable_frames`: frames after a field-wide step (an uncorrected gain / ABC step, a moved field) are left
  out of the spill decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.morph import mask_box

ORIGIN_REACH_MM = 10.0  # spill within this of earlier spill grew from it (attribute_spill)
# spill this close to the cavity's hull may have come out from behind the cavity: the rim reaches 3 mm beyond the
# cavity, faint spill is counted only outside a 3.5 mm halo around it, and a cloud's diluted edge adds a little
HIDDEN_EDGE_MM = 8.0
# a tube end under new spill: at least a tube calibre (3 mm) square of tubal contrast seen before any spill
TUBE_END_MM2 = 9.0
FIELD_STEP = 0.25  # share of the field outside the cavity that contrast cannot cover between two frames


@dataclass(slots=True)
class HiddenZone:
    """Where spill comes out from behind the cavity (:func:`attribute_spill`).

    ``edge``: (H, W) the band within ``HIDDEN_EDGE_MM`` outside the cavity's hull (a square dilation, as every
    grown mask of ``tubes.py``) — the hull, the cavity's rim and the margins around them are hidden from the
    spill signals, and spill that went behind the cavity is first seen again in this band. ``tube_end_px``: the
    least overlap (pixels) of new spill with tubal contrast seen before any spill for that spill to be born at
    its own tube's end (``TUBE_END_MM2``).
    """

    edge: np.ndarray
    tube_end_px: int


@dataclass(slots=True)
class OwnedSpill:
    counts: np.ndarray  # (T, 2) spill pixels per frame owned by the image-left / image-right side
    masks: np.ndarray  # (T, H, W) uint8 owner of each frame's spill: 0 none, 1 image left, 2 image right


def attribute_spill(
    labels: np.ndarray,
    axis_col: float,
    first_index: int,
    reach: int,
    readable: np.ndarray | None = None,
    hidden: HiddenZone | None = None,
) -> OwnedSpill:
    """Which side's spill each spill pixel is (labels == 2), frame by frame: the side it grew from.

    Why: spill leaves a tube at its fimbrial end and then drifts and spreads — towards the pouch of Douglas below
    the cavity, over bowel loops, sometimes across the midline. Counting it by the vertical line through the
    cavity (where it *is*) gave one side's drifting cloud to the other side (a false spill there) and took it from
    its own side (a missed one): 6 of 80 sides on the independent renderer's tuning loops. So a spill pixel keeps
    the side of the spill already seen nearest to it (within ``reach`` of a component that touches earlier
    spill: each of its pixels takes the nearest earlier owner); spill that touches no earlier spill is new and
    is counted where it is (the tube end it comes from is on its side). The memory of where spill was seen
    persists when a faint cloud flickers below the noise for a frame.

    ``hidden``: new spill in the band around the cavity's hidden zone, not on a tube end, takes the owner of the
    nearest earlier spill that was in that band too (:func:`_through_hidden`).
    """
    t, h, w = labels.shape
    counts = np.zeros((t, 2))
    owners = np.zeros((t, h, w), np.uint8)
    start = max(0, first_index)
    is_spill = labels[start:] == 2
    # Every spill pixel, and so every remembered one, lies in the box of all frames' spill: the frames are
    # worked on in that box (grown by the 1-px margin of the per-frame box below, so that box is the same).
    region = mask_box(is_spill.any(axis=0), 1) if is_spill.size else None
    if region is None:
        return OwnedSpill(counts, owners)
    has_spill = is_spill.any(axis=(1, 2))
    edge = tubes_before = None
    if hidden is not None:
        # the tubes as seen before any spill: where contrast had reached before anything spilled
        first_spill = start + int(np.flatnonzero(has_spill)[0])
        tubes_before = (labels[start:first_spill] == 1).any(axis=0)[region]
        edge = hidden.edge[region]
    memory = np.zeros(is_spill[0][region].shape, np.uint8)  # 0: no spill seen here yet; 1 / 2: last owner
    cols = np.arange(w)[region[1]]
    column_side = np.broadcast_to(np.where(cols[None, :] < axis_col, 1, 2).astype(np.uint8), memory.shape)
    for i in range(start, t):
        if not has_spill[i - start] or (readable is not None and not readable[i]):
            continue  # a frame after a field-wide step shows no spill to remember
        spill = is_spill[i - start][region]
        own = owners[i][region]
        own[spill] = column_side[spill]
        box = mask_box(spill | (memory > 0), 1) if memory.any() else None
        if box is not None:
            # the nearest earlier owner of each pixel, in the box holding all spill and all memory (exact: every
            # memory pixel lies in it)
            mem = memory[box]
            sp = spill[box]
            near, nearest = _nearest_owner(mem)
            lab, n = ndi.label(sp)
            touching = np.zeros(n + 1, bool)
            touching[lab[sp & near(reach)]] = True
            touching[0] = False
            inherit = np.take(touching, lab)  # == touching[lab]
            own[box][inherit] = nearest(inherit)
            if edge is not None and tubes_before is not None and n:
                out = _through_hidden(mem, sp, lab, n, touching, edge[box], tubes_before[box], hidden)
                if out is not None:
                    own[box][out[0]] = out[1]
        memory[spill] = own[spill]
        counts[i, 0] = np.count_nonzero(own == 1)
        counts[i, 1] = np.count_nonzero(own == 2)
    return OwnedSpill(counts, owners)


def _through_hidden(
    mem: np.ndarray,
    sp: np.ndarray,
    lab: np.ndarray,
    n: int,
    touching: np.ndarray,
    edge: np.ndarray,
    tubes_before: np.ndarray,
    hidden: HiddenZone,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The new spill that came out from behind the cavity (a mask) and its owners, or None.

    Why: the cavity, its rim and the margin around them are hidden from the spill signals. A cloud that drifts
    behind the cavity vanishes into that zone on one side and comes out on the other, farther than the origin
    reach from where it was last seen, and was counted as new spill of the side it came out on (independent
    renderer, ``spill_drift: crosses_midline``: tuning 24 r, 39 r, 50 l). Spill that comes out of the hidden zone
    went in there earlier: a new spill component (``lab`` of ``sp``, not ``touching`` earlier spill within the
    origin reach) in the band around the zone (``edge``) takes the owner of the nearest earlier spill (``mem``)
    that was in the band too. Not when it lies on the end of a tube seen before anything spilled
    (``hidden.tube_end_px`` of ``tubes_before`` under it): spill is born at a tube's end, and a tube that ends
    beside the cavity spills there (tuning 68 l).
    """
    entered = np.where(edge, mem, 0)
    if not entered.any():
        return None
    fresh = np.zeros(n + 1, bool)
    fresh[lab[sp & edge]] = True
    fresh[0] = False
    fresh &= ~touching
    fresh &= np.bincount(lab[sp & tubes_before], minlength=n + 1) < hidden.tube_end_px
    if not fresh.any():
        return None
    comes_out = np.take(fresh, lab)
    return comes_out, _nearest_owner(entered)[1](comes_out)


def _nearest_owner(
    memory: np.ndarray,
) -> tuple[Callable[[int], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """For every pixel of ``memory`` (a box holding every remembered pixel): ``near(reach)``, whether a
    remembered pixel lies within ``reach`` (Euclidean), and ``nearest(mask)``, the owner of the nearest remembered
    pixel at the pixels of ``mask`` — the values ``dist <= reach`` and ``memory[idx]`` of
    ``dist, idx = ndi.distance_transform_edt(memory == 0, return_indices=True)``.

    Why: scipy turns the feature transform into float64 distances (indices, a float copy, squares, a sum and a
    square root over the box) and the owner lookup read every pixel of the box; here the distances are integer
    squares compared with ``reach²``, and the owners are looked up only where they are used. Exact: the same
    feature transform (the same nearest pixel, ties included), and for integer offsets ``sqrt(dy² + dx²) <=
    reach`` holds exactly when ``dy² + dx² <= reach²`` (the root is correctly rounded and monotone, and
    ``sqrt(reach²) == reach``).
    """
    h, w = memory.shape
    ft_rows, ft_cols = ndi.distance_transform_edt(memory == 0, return_distances=False, return_indices=True)

    def near(reach: int) -> np.ndarray:
        dr = ft_rows - np.arange(h, dtype=np.int32)[:, None]
        dc = ft_cols - np.arange(w, dtype=np.int32)[None, :]
        dr *= dr
        dc *= dc
        dr += dc
        return dr <= int(reach) * int(reach)

    def nearest(mask: np.ndarray) -> np.ndarray:
        return np.take(memory, ft_rows[mask] * w + ft_cols[mask])

    return near, nearest


def readable_frames(labels: np.ndarray, field: np.ndarray) -> np.ndarray:
    """False for the frames after a field-wide step, on which spill cannot be read.

    Contrast arrives and spreads at a finite pace: between two frames it never covers a quarter of the field
    outside the cavity (first renderer: at most 0.38 of the field at the END of a loop with wide free-spill clouds,
    reached over tens of frames). A jump of the extra-cavitary share by more than ``FIELD_STEP`` from one frame to
    the next is a change of the whole field — an uncorrected brightness-control (gain) step, the detector's
    drift, a blade or table that moved — and every frame after it, while the share stays that far above the
    level before the jump, shows the field's offset rather than contrast (independent renderer, tuning seeds 13,
    14, 38 of session 5: 0.06-0.12 -> 0.56-0.90 in one frame, both sides read "spill" on the frames after). Those
    frames are left out of the spill decision; the loop's spill is read on the frames before. Since session 6
    ``opacity.normalise_gain`` maps every frame of a drifting loop and those seeds no longer step (their jumps
    were its own switching off mid-drift, docs/analysis-s6-gain.md); this stays as the guard for a step it
    cannot undo.
    """
    t = labels.shape[0]
    area = max(1, int(np.count_nonzero(field)))
    share = np.count_nonzero((labels > 0) & field, axis=(1, 2)).astype(float) / area
    readable = np.ones(t, bool)
    base = None
    for i in range(1, t):
        if base is None and share[i] - share[i - 1] > FIELD_STEP:
            base = share[i - 1]
        if base is not None:
            if share[i] - base > 0.5 * FIELD_STEP:
                readable[i] = False
            else:
                base = None
    return readable
