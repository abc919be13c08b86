"""Benchmark: build SR + PDF/A + Encapsulated PDF + KOS for a full report with 4 key images.

Target: < 1 s together (issue 5). Source: one synthetic study from the sample generator (512², 48-frame RF loop
plus spot images), in memory. The report is the fully filled test report (tests/reporting/conftest.py) pointed
at that study. Baseline measured in the same run: pydicom writing the study's source datasets to memory (what
any DICOM export of this study costs), so the ratio is comparable across machines.

Prints ONE JSON object. Keys: export_all_s (median, warm), cold_export_all_s (first call, includes Qt start and
font loading), per-part medians sr_s / pdf_s / encapsulated_pdf_s / kos_s, baseline_s and ratios.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hsg_workstation.reporting.export import StudyImages, export_all  # noqa: E402
from hsg_workstation.synthetic.study import generate_case  # noqa: E402
from tests.reporting.conftest import full_report  # noqa: E402

RUNS = 7


def main() -> None:
    case = generate_case("bilateral_distal_hydrosalpinx", seed=1, size=512, frames=48)
    datasets = case.datasets
    loop = next(ds for ds in datasets if int(getattr(ds, "NumberOfFrames", 1) or 1) > 4)
    spot = next(ds for ds in datasets if ds is not loop and int(getattr(ds, "NumberOfFrames", 1) or 1) == 1)
    report = full_report(loop, spot, signed=True)
    assert len(report.key_images) == 4
    images = StudyImages(headers=list(datasets), sources={str(ds.SOPInstanceUID): ds for ds in datasets})

    def baseline() -> float:
        t = time.perf_counter()
        for ds in datasets:
            ds.save_as(io.BytesIO(), enforce_file_format=True)
        return time.perf_counter() - t

    cold = export_all(report, images, build_all=True).timings_s
    runs = [export_all(report, images, build_all=True).timings_s for _ in range(RUNS)]
    base = statistics.median(baseline() for _ in range(RUNS))
    med = {
        k: statistics.median(r[k] for r in runs)
        for k in ("sr_s", "pdf_s", "encapsulated_pdf_s", "kos_s", "export_all_s")
    }
    out = {
        "benchmark": "report",
        "export_all_s": round(med["export_all_s"], 4),
        "cold_export_all_s": round(cold["export_all_s"], 4),
        **{k: round(v, 4) for k, v in med.items() if k != "export_all_s"},
        "baseline_s": round(base, 4),
        "ratio_export_all_to_baseline": round(med["export_all_s"] / base, 2) if base else None,
        "target_s": 1.0,
        "meets_target": med["export_all_s"] < 1.0,
        "key_images": len(report.key_images),
        "image_size": [int(loop.Rows), int(loop.Columns)],
        "loop_frames": int(loop.NumberOfFrames),
        "runs": RUNS,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
