"""Accuracy of the fill-sequence analysis on two independent renderers, per split and per axis (issue 10).

Prints ONE JSON object: for each renderer and split (``tuning`` seeds 0-199, ``heldout`` seeds 10000-10199, fixed
in benchmarks/analysis_studies.py) every figure of issue 10's table — spill yes/no (all sides, called sides, share
indeterminate), spill class, onset ±2, intravasation, first tubal filling ±2, maximal distension ±3, defect recall
(≥ 5 mm) / precision, hydrosalpinx size, time per loop — overall and per axis value (the first generator's case /
size / frames / noise / frame time / flip / motion / polarity, the independent renderer's own ``truth["axes"]``),
the reliability table of the calibrated confidence and the failures.

Tuning never looks at held-out results: ``--split heldout`` is for the recorded runs listed in docs/analysis.md.

    .venv/bin/python benchmarks/evaluate_analysis.py --renderer both --split tuning --count 40 --jobs 1
    .venv/bin/python benchmarks/evaluate_analysis.py --renderer first --seeds 0:20 --size 256 --rows
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.analysis_scoring import calibration_points, reliability, score_study, summarise  # noqa: E402
from benchmarks.analysis_studies import HELDOUT_SEEDS, RENDERERS, TUNING_SEEDS, make_study  # noqa: E402


def evaluate(job: tuple[str, int, int | None, str | None]) -> dict[str, Any]:
    """Render one study, analyse it from its in-memory datasets, score it (errors become a failed row)."""
    from hsg_workstation.analysis import analyze_dataset

    renderer, seed, size, cache = job
    try:
        study = make_study(renderer, seed, size, cache)
    except Exception as exc:  # a renderer failure is reported, not hidden
        return {"renderer": renderer, "seed": seed, "error": f"render: {type(exc).__name__}: {exc}"}
    t0 = time.perf_counter()
    try:
        result = analyze_dataset(study.loop, scout=study.scout)
    except Exception as exc:
        return {"renderer": renderer, "seed": seed, "error": f"analysis: {type(exc).__name__}: {exc}"}
    return score_study(study, result, time.perf_counter() - t0)


def run(jobs: list[tuple[str, int, int | None, str | None]], processes: int) -> list[dict[str, Any]]:
    if processes > 1:
        with mp.get_context("spawn").Pool(processes) as pool:
            return pool.map(evaluate, jobs, chunksize=1)
    return [evaluate(j) for j in jobs]


def seeds_for(split: str, count: int | None, seeds: str | None) -> list[int]:
    if seeds:
        a, b = (int(x) for x in seeds.split(":"))
        return list(range(a, b))
    rng = TUNING_SEEDS if split == "tuning" else HELDOUT_SEEDS
    return list(rng)[: count or len(rng)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--renderer", default="both", choices=(*RENDERERS, "both"))
    ap.add_argument("--split", default="tuning", choices=("tuning", "heldout"))
    ap.add_argument("--count", type=int, default=None, help="first N seeds of the split")
    ap.add_argument("--seeds", default=None, help="start:stop seed range instead of the split")
    ap.add_argument(
        "--size", type=int, default=None, help="force the matrix size (small runs while iterating)"
    )
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--rows", action="store_true", help="include every study's row")
    ap.add_argument("--no-axes", action="store_true", help="overall figures only")
    ap.add_argument("--cache", default=None, help="folder to keep rendered studies in (pickles)")
    ap.add_argument("--render-only", action="store_true", help="fill the cache, analyse nothing")
    ap.add_argument("--save", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args()
    renderers = RENDERERS if args.renderer == "both" else (args.renderer,)
    seeds = seeds_for(args.split, args.count, args.seeds)
    jobs = [(r, s, args.size, args.cache) for r in renderers for s in seeds]
    t0 = time.perf_counter()
    if args.render_only:
        for r, s, size, cache in jobs:
            make_study(r, s, size, cache)
        print(json.dumps({"rendered": len(jobs), "wall_s": round(time.perf_counter() - t0, 1)}))
        return
    rows = run(jobs, args.jobs)
    errors = [r for r in rows if "error" in r]
    good = [r for r in rows if "error" not in r]
    out: dict[str, Any] = {
        "renderers": list(renderers),
        "seeds": f"{seeds[0]}:{seeds[-1] + 1}" if seeds else "",
        "size": args.size,
        "wall_s": round(time.perf_counter() - t0, 1),
        "errors": [f"{r['renderer']} {r['seed']}: {r['error']}" for r in errors],
        "results": summarise(good, with_axes=not args.no_axes),
        "reliability": reliability(good),
        "calibration_points": len(calibration_points(good)),
    }
    if args.rows:
        out["rows"] = good
    if args.save:
        Path(args.save).write_text(json.dumps(good))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
