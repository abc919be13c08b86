"""Markdown tables (for docs/analysis.md) from the JSON that benchmarks/evaluate_analysis.py prints.

.venv/bin/python benchmarks/analysis_tables.py run.json [--axes]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

FIGURES = (
    ("spill_yn_pct", "spill y/n"),
    ("spill_yn_called_pct", "spill y/n, called"),
    ("indeterminate_pct", "indeterminate"),
    ("spill_class_pct", "spill class"),
    ("onset_2_pct", "onset ±2"),
    ("first_fill_2_pct", "first fill ±2"),
    ("tube_filled_yn_pct", "tube filled y/n"),
    ("max_dist_3_pct", "max dist. ±3"),
    ("intrav_pct", "intravasation"),
    ("intrav_called_pct", "intrav., called"),
    ("defect_recall_ge5_pct", "defect recall ≥5 mm"),
    ("defect_precision_pct", "defect precision"),
    ("hydrosalpinx_err_mm_median", "sac error mm"),
    ("time_s_median", "s/loop median"),
    ("time_s_max", "s/loop max"),
)


def _cell(v: object) -> str:
    return "–" if v is None else str(v)


def table(rows: dict[str, dict], first_col: str) -> str:
    head = f"| {first_col} | n | " + " | ".join(name for _, name in FIGURES) + " |"
    sep = "|" + "---|" * (len(FIGURES) + 2)
    lines = [head, sep]
    for key, fig in rows.items():
        lines.append(
            f"| {key} | {fig['studies']} | " + " | ".join(_cell(fig.get(k)) for k, _ in FIGURES) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--axes", action="store_true", help="also one table per axis")
    args = ap.parse_args()
    data = json.loads(Path(args.run).read_text())
    results = data["results"]
    print(table({k: v["all"] for k, v in results.items()}, "renderer / split"))
    if args.axes:
        for group, entry in results.items():
            for axis, values in entry.get("by_axis", {}).items():
                print(f"\n**{group}, by {axis}**\n")
                print(table(values, axis))
    if data.get("reliability"):
        print("\n| calibrated confidence | sides | mean confidence | observed spill y/n | observed class |")
        print("|---|---|---|---|---|")
        for r in data["reliability"]:
            print(
                f"| {r['confidence']} | {r['sides']} | {r['mean_confidence']} | {_cell(r['observed_yn_pct'])} | "
                f"{_cell(r['observed_class_pct'])} |"
            )


if __name__ == "__main__":
    main()
