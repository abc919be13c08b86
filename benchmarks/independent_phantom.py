"""Rendering time and memory of the independent HSG phantom, against a same-run per-pixel floor.

Renders a 512² x 40-frame and a 1024² x 120-frame loop (worst-case axes: patient motion with rotation, moving
collimator, instrument traction, moving bowel gas, intravasation, both tubes spilling, scout) and reports wall
and process-CPU seconds per study, after a small warm-up render (lazy imports are a one-time cost per process). ``floor_s`` is the same run's time for the least per-pixel work any x-ray
renderer does (one exp and one normal draw per pixel and frame), so ``ratio`` = render / floor is comparable
across machines and loads. Peak RSS is the process's high-water mark after the large render. Targets (task
brief): 1024² x 120 < ~15 s and < ~1.5 GB; 512² x 40 < ~2 s. Prints ONE JSON object.

    .venv/bin/python benchmarks/independent_phantom.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time


def _floor(n: int, frames: int) -> float:
    import numpy as np

    rng = np.random.default_rng(0)
    a = np.full((n, n), 0.5, dtype=np.float32)
    t = time.perf_counter()
    for _ in range(frames):
        np.exp(-a) * rng.standard_normal((n, n), dtype=np.float32)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="best of N")
    args = ap.parse_args()

    from hsg_workstation.synthetic.independent import render_study, sample_axes

    worst = {
        "patient_motion": "translation_rotation",
        "collimator_motion": "moving",
        "device_motion": "traction",
        "bowel_gas": "moving",
        "intravasation": "present",
        "left_class": "patent_free",
        "right_class": "patent_free",
        "scout": "present",
    }
    out: dict[str, object] = {
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load1": os.getloadavg()[0],
    }
    for label, n, frames, px in (("512x40", "512", 40, "0.35-0.45"), ("1024x120", "1024", 120, "0.15-0.25")):
        axes = {**sample_axes(4), **worst, "matrix": n, "pixel_size": px}
        best = None
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            render_study(4, axes, frames=frames)
            run = (time.perf_counter() - t, time.process_time() - c)
            best = run if best is None or run[0] < best[0] else best
        floor = _floor(int(n), frames)
        out[label] = {
            "render_s": round(best[0], 2),
            "render_cpu_s": round(best[1], 2),
            "floor_s": round(floor, 3),
            "ratio": round(best[0] / floor, 1),
        }
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
