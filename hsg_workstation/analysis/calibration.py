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
# fitted by benchmarks/calibrate_analysis.py on the TUNING split (seeds 0-79 of both renderers at 512², 320
# sides) of the session-6 integrated code (the session-5 stages plus the gain correction over the whole loop,
# the closing-blade mask, the retained-sac test and the loop-level stop of the motion search).
# Laplace-smoothed: (right + 1) / (n + 2); a step rests on at least 10 % of the points
# (benchmarks/calibrate_analysis.min_step); each step's value is the lowest of the pooled fit and of each
# renderer's own points in it (calibrate_analysis.worst_renderer, session 6). 163 / 157 sides per step: the top
# step is the first generator's sides less three; on the independent renderer the raw call is right on 77 % of
# the sides (123 of 160) and none of its scores reaches the top step, so every independent side stays
# "indeterminate".
SPILL_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, 0.667),
    (0.983, 0.994),
)
# the same for venous intravasation yes/no: its raw score is analysis/intravasation.py's own (motion near the
# veins, whether a lace could be seen, lace shape), not multiplied by the loop quality
# (docs/analysis-s5-intravasation.md). Refitted on the same tuning rows (160 studies, per step 24 / 22 / 24 / 31
# / 59). The pooled fit promised 0.923 from 0.45 (17 of 17 independent studies right, 6 of 7 first-renderer
# ones); its worst renderer, 0.778, is below the call threshold. The top step's 0.909 is the independent
# renderer's 9 of 9 (pooled: 0.984). Session 7 refit on the tuning rows of the merged code (steadier maximal
# distension moved four studies' raw scores, no raw call): the lowest two edges moved (0.577 → 0.56 on 23
# studies; 0.45 → 0.431), every step at or above the call threshold is unchanged.
INTRAVASATION_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, 0.56),
    (0.225, 0.75),
    (0.431, 0.778),
    (0.809, 0.909),
    (0.959, 0.909),
)
SPILL_CALL_MIN = 0.85  # below: the side's spill is "indeterminate"
INTRAVASATION_CALL_MIN = 0.85  # below: intravasation None
ONE_CLICK_MIN = 0.9  # below: a suggestion is "not sure — look at frames a-b", no one-click Accept


def calibrated(table: tuple[tuple[float, float], ...], score: float) -> float:
    """The measured accuracy of the bin that holds ``score`` (scores below the first edge take the first)."""
    edges = [e for e, _ in table]
    k = max(0, bisect_right(edges, float(score)) - 1)
    return float(table[k][1])
