"""Where spill came from, and which frames can show it (issue 10, session 5; docs/analysis-s5-spill.md).

Both work on the per-frame overlay labels of :func:`hsg_workstation.analysis.tubes.side_signals` (1 =
extra-cavitary contrast, 2 = counted as spill), after the per-frame structures are found:

- :func:`attribute_spill`: spill is counted for the side whose spill it grew from, not for the side of the cavity
  axis it has drifted to;
- :func:`readable_frames`: frames after a field-wide step (an uncorrected gain / ABC step, a moved field) are left
  out of the spill decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.morph import mask_box

ORIGIN_REACH_MM = 10.0  # spill within this of earlier spill grew from it (attribute_spill)
FIELD_STEP = 0.25  # share of the field outside the cavity that contrast cannot cover between two frames


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
    """
    t, h, w = labels.shape
    counts = np.zeros((t, 2))
    memory = np.zeros((h, w), np.uint8)  # 0: no spill seen here yet; 1 / 2: last owner seen here
    column_side = np.where(np.arange(w)[None, :] < axis_col, 1, 2).astype(np.uint8)
    column_side = np.broadcast_to(column_side, (h, w))
    owners = np.zeros((t, h, w), np.uint8)
    for i in range(max(0, first_index), t):
        spill = labels[i] == 2
        own = owners[i]
        if not spill.any() or (readable is not None and not readable[i]):
            continue  # a frame after a field-wide step shows no spill to remember
        own[spill] = column_side[spill]
        box = mask_box(spill | (memory > 0), 1) if memory.any() else None
        if box is not None:
            # the nearest earlier owner of each pixel, in the box holding all spill and all memory (exact: every
            # memory pixel lies in it)
            mem = memory[box]
            sp = spill[box]
            rr, cc = np.nonzero(sp)
            near, nearest = _nearest_owner(mem, rr, cc, reach)
            lab, n = ndi.label(sp)
            touching = np.zeros(n + 1, bool)
            touching[lab[rr[near], cc[near]]] = True
            touching[0] = False
            inherit = touching[lab[rr, cc]]
            own[box][rr[inherit], cc[inherit]] = nearest[inherit]
        memory[spill] = own[spill]
        counts[i, 0] = np.count_nonzero(own == 1)
        counts[i, 1] = np.count_nonzero(own == 2)
    return OwnedSpill(counts, owners)


def _nearest_owner(
    memory: np.ndarray, rows: np.ndarray, cols: np.ndarray, reach: int
) -> tuple[np.ndarray, np.ndarray]:
    """At the pixels (``rows``, ``cols``): whether a remembered owner lies within ``reach`` (Euclidean), and the
    owner of the nearest remembered pixel — the values ``ndi.distance_transform_edt(memory == 0,
    return_indices=True)`` gives there (``dist <= reach``, ``memory[idx]``), read at those pixels only.

    Why: scipy turns the feature transform into float distances over the whole box (five passes over it) and the
    owner lookup was another; the spill pixels are a small part of the box. Exact: the same feature transform
    (the same nearest pixel, ties included), and for integer offsets ``sqrt(dy² + dx²) <= reach`` holds exactly
    when ``dy² + dx² <= reach²`` (the square root is correctly rounded and monotone, ``sqrt(reach²) == reach``).
    """
    idx = ndi.distance_transform_edt(memory == 0, return_distances=False, return_indices=True)
    fr, fc = idx[0][rows, cols], idx[1][rows, cols]
    dr, dc = (fr - rows).astype(np.int64), (fc - cols).astype(np.int64)
    return dr * dr + dc * dc <= reach * reach, memory[fr, fc]


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
    share = np.array([np.count_nonzero((labels[i] > 0) & field) for i in range(t)], float) / area
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
