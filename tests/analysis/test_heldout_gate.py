"""Gate on held-out studies of BOTH renderers (issue 10): a regression of the analysis fails here.

The studies are a fixed subset of the held-out split (benchmarks/analysis_studies.py: GATE_SEEDS, which tuning
never looks at) at small matrices — the first generator at 256², the independent renderer at its smallest, 512²
— scored exactly as benchmarks/evaluate_analysis.py scores them. The floors are not per-study answers: they are
the figures of the recorded held-out run on this subset (docs/analysis.md, "Held-out runs") less a margin of
about one study, so that a change which loses on either renderer fails. No timing is asserted (speed is in
benchmarks/analysis.py).
"""

from __future__ import annotations

import pytest

from benchmarks.analysis_scoring import block, score_study
from benchmarks.analysis_studies import GATE_SEEDS, make_study, split_of
from hsg_workstation.analysis import analyze_dataset

pytestmark = pytest.mark.timeout(900)

GATE = {"first": (list(GATE_SEEDS), 256), "independent": (list(GATE_SEEDS)[:8], 512)}

# figure -> lowest acceptable value (percent); "indeterminate_pct" is a ceiling. From the recorded run on this
# subset (docs/analysis.md, held-out run 2 of session 3) less about one study: first generator 12 studies / 24
# sides — spill y/n over called 100, indeterminate 0, class 87.5, onset ±2 100, first fill ±2 76.2, max
# distension ±3 100, intravasation over called 90.9; independent 8 studies — every side indeterminate and
# intravasation null (no call, so no wrong call), max distension ±3 62.5 — and after merging the renderer's
# update (run 5 in docs/analysis.md): 2 sides called, 1 of them wrong, max distension ±3 75. A figure "over
# called" that is None (nothing called) passes: no call is not a wrong call — the ceiling on indeterminate is
# what limits that. With a handful of called sides a percentage is too coarse: WRONG_CALLS caps their number.
# Session 4 (held-out run 14 in docs/analysis.md, the final code of that session: cervical zone, drift, cavity,
# polarity-window rules): first — tube filled y/n 100 (24 sides), first fill ±2 71.4, the rest as before;
# independent — tube filled y/n 75 (16 sides), max distension ±3 87.5, 2 sides called (1 wrong). Floors only
# ever go up: tube filled y/n added (less about one side), the independent max distension floor raised from 50
# to 75 (87.5 less one study). Session 5 (intravasation in its own module, docs/analysis-s5-intravasation.md):
# first — intravasation y/n 83.3 on this subset (10 of 12 right, 1 null, 1 wrong: 10008), over called 90.9 as
# before; a floor on the y/n figure is added (75: less one study), so that calls cannot silently turn null;
# independent — still null on all 8 of this subset.
# Session 5 (s5-fill: first tubal filling from the thin line at the cornu, maximal distension at a held plateau;
# docs/analysis-s5-fill.md): independent — first fill ±2 58.3 (7 of 12 sides; floor added at 50, less one side),
# tube filled y/n 81.2 (floor 68 -> 75, less one side), max distension ±3 100 (floor 75 -> 87.5, less one study);
# first — unchanged on this subset (first fill ±2 71.4).
# Session 6: this gate failed on the first merge of the session (independent intravasation over called 80 < 85:
# 10005 called at 0.923 from the pooled table's 0.45 step, docs/analysis.md held-out runs 23-26); with the
# worst-renderer calibration (benchmarks/calibrate_analysis.worst_renderer) it passes. No floor changed.
FLOORS: dict[str, dict[str, float]] = {
    "first": {
        "spill_yn_called_pct": 95.0,
        "indeterminate_pct": 10.0,
        "spill_class_pct": 80.0,
        "onset_2_pct": 90.0,
        "first_fill_2_pct": 65.0,
        "tube_filled_yn_pct": 95.0,
        "max_dist_3_pct": 90.0,
        "intrav_called_pct": 80.0,
        "intrav_pct": 75.0,
    },
    "independent": {
        "indeterminate_pct": 100.0,
        "first_fill_2_pct": 50.0,
        "tube_filled_yn_pct": 75.0,
        "max_dist_3_pct": 87.5,
        "intrav_called_pct": 85.0,
    },
}
WRONG_CALLS = {"first": 0, "independent": 1}  # spill yes/no calls (not indeterminate) that are wrong, at most
OVER_CALLED = {"spill_yn_called_pct", "spill_class_called_pct", "intrav_called_pct"}


@pytest.fixture(scope="module")
def gate_rows() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for renderer, (seeds, size) in GATE.items():
        rows = []
        for seed in seeds:
            assert split_of(seed) == "heldout"
            study = make_study(renderer, seed, size)
            result = analyze_dataset(study.loop, scout=study.scout)
            rows.append(score_study(study, result, 0.0))
        out[renderer] = rows
    return out


@pytest.mark.parametrize("renderer", sorted(GATE))
def test_heldout_figures_hold(gate_rows: dict[str, list[dict]], renderer: str) -> None:
    figures = block(gate_rows[renderer])
    failed = []
    for name, floor in FLOORS[renderer].items():
        got = figures[name]
        if name == "indeterminate_pct":
            if got is not None and got > floor:
                failed.append(f"{name} {got} > {floor}")
        elif got is None and name in OVER_CALLED:
            continue  # nothing called: no wrong call
        elif got is None or got < floor:
            failed.append(f"{name} {got} < {floor}")
    wrong = sum(s["called"] and not s["yn_ok"] for r in gate_rows[renderer] for s in r["sides"].values())
    if wrong > WRONG_CALLS[renderer]:
        failed.append(f"{wrong} wrong spill calls > {WRONG_CALLS[renderer]}")
    assert not failed, f"{renderer}: {failed}; all figures: {figures}"
