"""Calibrated confidence: the raw score of a call mapped to the share of correct calls measured at that score.

Why: a heuristic "confidence 0.30" or "0.95" means nothing to a reader unless it is what happens — of the calls
made at 0.95, 95 % were right. The tables below are isotonic (monotone, piecewise constant) fits of "raw call
correct" against the raw score, on the TUNING split of both renderers (benchmarks/analysis_studies.py;
fitted by ``benchmarks/calibrate_analysis.py``, which prints these tables). The held-out split checks them: the
reliability table in docs/analysis.md.

A call whose calibrated confidence is below its threshold is not made: a side's spill becomes "indeterminate",
intravasation ``None`` — "can't tell" is a correct answer, a wrong call is not. Suggestions below
:data:`ONE_CLICK_MIN` are shown as "not sure" without one-click Accept (reporting/from_analysis.py).
"""

from __future__ import annotations

from bisect import bisect_right

# (raw score lower edge, measured share of correct raw spill yes/no calls from that score up to the next edge),
# fitted by benchmarks/calibrate_analysis.py on the TUNING split: since session 8 seeds 0-159 of both renderers at
# 512² (640 sides; sessions 3-7 fitted on 0-79), of the session-9 code with the distended-cavity cut
# (cavity.cap_distended, docs/analysis-s9-cavity.md; before it: (0, 0.574), (0.083, 0.685), (0.264, 0.739), (1, 0.941))
# and spill followed behind the cavity (spill_origin.HiddenZone, docs/analysis-s9-midline.md; before it: (0, 0.56),
# (0.083, 0.743), (1, 0.939)).
# Laplace-smoothed: (right + 1) / (n + 2); a step rests on at least 10 % of the points
# (benchmarks/calibrate_analysis.min_step); each step's value is the lowest of the pooled fit and of each
# renderer's own points in it (calibrate_analysis.worst_renderer, session 6). Sides per step 114 / 66 / 117 / 343.
# The top step is score 1.0: the first generator's sides (312 of 312 right), and the independent renderer's "no
# spill" sides whose tube is never seen leaving the cornu while the cavity holds contrast, on loops where no motion
# was corrected (spill_confidence.py, session 8), right on 31 of 32 there — its worst-renderer value 0.941 is the
# step's (pooled: 0.997). Every other independent side stays "indeterminate" (its raw call is right on 68 % of
# them, 69 % with spill followed behind the cavity). Held-out runs 30-33 check the step: docs/analysis.md, session 8.
SPILL_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, 0.578),
    (0.083, 0.727),
    (0.188, 0.764),
    (1.0, 0.941),
)
# the same for venous intravasation yes/no: its raw score is analysis/intravasation.py's own (motion near the
# veins, whether a lace could be seen, lace shape), not multiplied by the loop quality
# (docs/analysis-s5-intravasation.md). Session 8: refitted on tuning seeds 0-159 of the merged code; session 9
# again, after the distended-cavity cut (320 studies, per step 63 / 49 / 68 / 140), after the "absent" score stopped falling with motion near the cavity
# (intravasation.py, docs/analysis-s8-fill.md). The steps from 0.809 are worst-renderer values (pooled 0.957 and
# 0.993); the step from 0.431 is 0.75 on its worst renderer (pooled 0.922), below the call threshold.
INTRAVASATION_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, 0.632),
    (0.431, 0.75),
    (0.809, 0.943),
    (0.959, 0.976),
)
SPILL_CALL_MIN = 0.85  # below: the side's spill is "indeterminate"
INTRAVASATION_CALL_MIN = 0.85  # below: intravasation None
ONE_CLICK_MIN = 0.9  # below: a suggestion is "not sure — look at frames a-b", no one-click Accept


def calibrated(table: tuple[tuple[float, float], ...], score: float) -> float:
    """The measured accuracy of the bin that holds ``score`` (scores below the first edge take the first)."""
    edges = [e for e, _ in table]
    k = max(0, bisect_right(edges, float(score)) - 1)
    return float(table[k][1])
