"""Cost of the report model on every keystroke: durable draft autosave, validation, impression, JSON.

The form autosaves and revalidates after every edit, so these must stay far below a human's typing interval.
Baselines measured in the same run: ``json.dumps`` of the same report dict (serialisation alone) and a plain
non-durable ``write_text`` (no fsync / replace) — the ratios show what durability and the rules cost.

Prints ONE JSON object (times in milliseconds, medians).

    .venv/bin/python benchmarks/report_model.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hsg_workstation.reporting.drafts import DraftStore
from hsg_workstation.reporting.impression import generate_impression
from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.reference import example_report
from hsg_workstation.reporting.rules import validate


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args()
    report = example_report("endometrial_polyp")
    for i in range(4):  # a full report: several defects and links
        report.add_filling_defect()
        report.findings.filling_defects[-1].note = f"defect {i}"
    data = report.to_json()
    with tempfile.TemporaryDirectory() as tmp:
        store = DraftStore(Path(tmp) / "drafts")
        plain = Path(tmp) / "plain.json"
        n = 0

        def edit_and_autosave() -> None:
            nonlocal n
            n += 1
            report.findings.other = f"edit {n}"
            store.save(report)

        result = {
            "report_json_bytes": len(json.dumps(data)),
            "baseline_json_dumps_ms": median_ms(lambda: json.dumps(data), args.repeat),
            "baseline_plain_write_ms": median_ms(
                lambda: plain.write_text(json.dumps(report.to_json())), args.repeat
            ),
            "to_json_ms": median_ms(report.to_json, args.repeat),
            "from_json_ms": median_ms(lambda: HsgReport.from_json(data), args.repeat),
            "draft_autosave_ms": median_ms(edit_and_autosave, args.repeat),
            "validate_ms": median_ms(lambda: validate(report), args.repeat),
            "generate_impression_ms": median_ms(lambda: generate_impression(report), args.repeat),
        }
    result["autosave_vs_plain_write"] = round(
        result["draft_autosave_ms"] / result["baseline_plain_write_ms"], 2
    )
    result["to_json_vs_json_dumps"] = round(result["to_json_ms"] / result["baseline_json_dumps_ms"], 2)
    result["per_keystroke_total_ms"] = round(
        result["draft_autosave_ms"] + result["validate_ms"] + result["generate_impression_ms"], 3
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
