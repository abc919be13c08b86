"""How sure a side's spill call is, before calibration (issue 10, session 8; docs/analysis-s8-spill.md).

The raw score of a side's call is mapped by analysis/calibration.py (``SPILL_TABLE``) to the share of right calls
measured at that score. Until session 7 it was the call's own score times the loop's quality
(opacity.loop_quality), which is 0.01-0.6 on every independent-renderer loop: every independent side stayed below
the call threshold, right or wrong. Here the score keeps that product for calls that rest on the field around
the tube (spill seen, or nothing seen beyond a tube that filled), and drops the quality factor for a "no spill"
that rests on the tube itself: it never left the cornu while the cavity held contrast.
"""

from __future__ import annotations

import numpy as np

# the cavity "held contrast" when, from the first frame at half its largest area, it stays at half of it with no
# more than this many frames running below: only then does a tube that is never seen filling say "occluded"
CAVITY_GAP_FRAMES = 2


def cavity_held(cavity_px: np.ndarray | None) -> bool:
    """Whether the cavity held contrast through the loop: from the first frame at half its largest area on, never
    more than ``CAVITY_GAP_FRAMES`` frames running below that. A tube not seen filling means "occluded" only when
    the cavity was under pressure all along; when the cavity is lost (a run that starts mid-fill and drains,
    tracking lost under motion), nothing is seen, tube or spill. Independent renderer: tuning seed 54 (the cavity
    on 6 of 61 frames, a dense spill missed) and check seed 114 (the cavity lost for 11 frames under
    patient motion, a faint spill missed; found on the check split, docs/analysis-s8-spill.md)."""
    if cavity_px is None or not np.any(cavity_px > 0):
        return False
    area = np.asarray(cavity_px, float)
    full = area >= 0.5 * float(area.max())
    run = 0
    for ok in full[int(np.flatnonzero(full)[0]) :]:
        run = 0 if ok else run + 1
        if run > CAVITY_GAP_FRAMES:
            return False
    return True


def spill_score(score: float, held_back: bool, quality: float, *, moved: bool) -> float:
    """The side's raw score as analysis/calibration.py maps it: the call's own ``score`` times the loop's
    ``quality`` (moving gas, blades, gain steps, motion, no contrast-free frame) — except for a "no spill" whose
    contrast is seen held back (``held_back``, tubes.SideCall): a tube that never fills while the cavity holds
    contrast. That call is read at the cornu; what moves elsewhere in the field does not make it less sure.
    A retained sac at the tube's end was first counted too and dropped: loculated pockets read as sacs made it
    7 of 10 right on the check seeds (docs/analysis-s8-spill.md).

    Not when the patient ``moved`` (the registration corrected motion on some frame): then the held-back call
    keeps the product too. The call says "no tube was seen leaving the cornu", and that is only as sure as the
    cornual line detector is on these frames. Under motion it reads registered frames, and the registration
    corrects translation only, so a thin tube that turns with the patient can smear below the detector's
    threshold. Held-out runs 30-32 (independent renderer) showed it: the held-back calls were right on 14 of 19
    sides where motion was corrected and on 55 of 57 where none was; 5 of the 7 wrong ones, all missed spills,
    were on moved loops. Tuning had too few moved held-back sides to show it (2, both right). This rule was
    decided on those held-out runs and checked on fresh run 33 (docs/analysis.md, session 8)."""
    return float(score) if held_back and not moved else float(score) * float(quality)
