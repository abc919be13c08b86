"""Report form responsiveness: one user edit in the form against the same edit on the bare model, same run.

``form_edit_ms`` is a typed value going through the form (editor signal → ``HsgReport.set_value`` → autosave with
fsync → validate → impression preview → every widget re-read); ``model_edit_ms`` is the baseline: the same
``set_value`` + ``DraftStore.save`` + ``validate`` + ``generate_impression`` with no widgets. The ratio is what the
form adds. ``form_build_ms`` is constructing the whole form for a complete report (first construction in the
process: Qt style and font set-up included); ``form_rebuild_ms`` a second one. Medians of N edits. Prints ONE JSON object.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/report_form.py [--edits 60]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=60)
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)

    from hsg_workstation.reporting import model as m
    from hsg_workstation.reporting.drafts import DraftStore
    from hsg_workstation.reporting.impression import generate_impression
    from hsg_workstation.reporting.reference import build_reference_report
    from hsg_workstation.reporting.rules import validate
    from hsg_workstation.synthetic.study import generate_case
    from hsg_workstation.ui.report_form import ReportForm

    with tempfile.TemporaryDirectory() as tmp:
        case = generate_case("endometrial_polyp", size=128, frames=8)
        case_dir = case.write(Path(tmp) / "study")
        data = build_reference_report(case.truth, case_dir)

        # Baseline: the model alone.
        bare = m.HsgReport.from_json(data)
        store = DraftStore(Path(tmp) / "drafts_bare")
        model_times = []
        for i in range(args.edits):
            t0 = time.perf_counter()
            bare.set_value("technique.contrast_volume_ml", 5.0 + i % 7)
            store.save(bare)
            validate(bare)
            generate_impression(bare)
            model_times.append(time.perf_counter() - t0)

        report = m.HsgReport.from_json(data)
        t0 = time.perf_counter()
        form = ReportForm(report, draft_store=DraftStore(Path(tmp) / "drafts_form"), study=case_dir)
        build_s = time.perf_counter() - t0
        form.resize(560, 900)
        form.show()
        app.processEvents()
        editor = form.rows["technique.contrast_volume_ml"].editor
        form_times = []
        for i in range(args.edits):
            text = f"{5 + i % 7:g}"
            t0 = time.perf_counter()
            editor.line.setText(text)
            editor.line.textEdited.emit(text)  # exactly what typing emits
            form_times.append(time.perf_counter() - t0)
        assert report.technique.contrast_volume_ml == float(text)
        form.close()
        t0 = time.perf_counter()
        again = ReportForm(m.HsgReport.from_json(data))
        rebuild_s = time.perf_counter() - t0
        again.deleteLater()

    model_ms = statistics.median(model_times) * 1000
    form_ms = statistics.median(form_times) * 1000
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    print(
        json.dumps(
            {
                "form_edit_ms": round(form_ms, 2),
                "model_edit_ms": round(model_ms, 2),
                "form_over_model_ratio": round(form_ms / model_ms, 2),
                "form_build_ms": round(build_s * 1000, 1),
                "form_rebuild_ms": round(rebuild_s * 1000, 1),
                "rows": len(form.rows),
                "edits": args.edits,
                "nproc": os.cpu_count(),
                "cpu": cpu,
                "qt_platform": os.environ.get("QT_QPA_PLATFORM", ""),
            }
        )
    )


if __name__ == "__main__":
    main()
