"""How sure a side's spill call is, before calibration (issue 10, session 8; docs/analysis-s8-spill.md).

The raw score of a side's call is mapped by analysis/calibration.py (``SPILL_TABLE``) to the share of right calls
measured at that score. Until session 7 it was the call's own score times the loop's quality
(opacity.loop_quality), which is 0.01-0.6 on every independent-renderer loop: every independent side stayed below
the call threshold, right or wrong. Here the score keeps that product for calls that rest on the field around
the tube (spill seen, or nothing seen beyond a tube that filled), and drops the quality factor for a "no spill"
that rests on the tube itself.
"""

from __future__ import annotations

import numpy as np

# the cavity "held contrast" when it was at least half its largest area on at least this share of the frames
# from the first one that shows it: only then does a tube that is never seen filling say "occluded"
CAVITY_HELD_SHARE = 0.5


def cavity_held(cavity_px: np.ndarray | None) -> bool:
    """Whether the cavity held contrast: at least half its largest area on at least ``CAVITY_HELD_SHARE`` of the
    frames from the first that shows it. A tube not seen filling means "occluded" only then; when the cavity is
    lost for most of the loop (a run that starts mid-fill and drains, tracking lost), nothing is seen, tube or
    spill (independent renderer, tuning seed 54: the cavity on 6 of 61 frames, a dense spill missed)."""
    if cavity_px is None or not np.any(cavity_px > 0):
        return False
    seen = np.asarray(cavity_px, float)[int(np.flatnonzero(cavity_px > 0)[0]) :]
    return bool(np.mean(seen >= 0.5 * float(seen.max())) >= CAVITY_HELD_SHARE)


def spill_score(score: float, held_back: bool, quality: float) -> float:
    """The side's raw score as analysis/calibration.py maps it: the call's own ``score`` times the loop's
    ``quality`` (moving gas, blades, gain steps, motion, no contrast-free frame) — except for a "no spill" whose
    contrast is seen held back (``held_back``, tubes.SideCall): a tube that never fills while the cavity holds
    contrast, or one that ends in a retained sac. That call is read on the tube itself; what moves elsewhere in
    the field does not make it less sure. On tuning seeds 0-79 such calls were right on 37 of 38
    independent-renderer sides and 30 of 30 first-renderer ones (the wrong one: a two-lobed loculated pocket
    read as a retained sac)."""
    return float(score) if held_back else float(score) * float(quality)
