"""Synthetic HSG generator: time per loop frame and peak memory, against baselines measured in the same run.

For each configuration (matrix × frames) a fresh interpreter generates the ``normal`` case in memory and writes
it. Baselines, same interpreter and run:
* time: drawing the same number of frames of plain Poisson noise of the same size (``rng.poisson``) — the
  irreducible cost of a noisy frame; ``gen_ratio`` = generator time / baseline time.
* memory: the raw bytes of the loop (frames × rows × cols × 2); ``peak_ratio`` = peak RSS increase during
  generation / raw bytes (the loop, its DICOM bytes and the bool cavity masks are all held at once).
Prints ONE JSON object.

    .venv/bin/python benchmarks/sample_data.py [--configs 512x48,1024x60,512x300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, resource, sys, tempfile, time
import numpy as np
size, frames = int(sys.argv[1]), int(sys.argv[2])
from hsg_workstation.synthetic.study import generate_case
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rng = np.random.default_rng(0)
lam = np.full((size, size), 200.0, dtype=np.float32)
t0 = time.perf_counter()
for _ in range(frames):
    rng.poisson(lam)
base_s = time.perf_counter() - t0
t0 = time.perf_counter()
gen = generate_case("normal", seed=1, size=size, frames=frames)
gen_s = time.perf_counter() - t0
with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    gen.write(tmp)
    write_s = time.perf_counter() - t0
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
print(json.dumps({"gen_s": gen_s, "write_s": write_s, "baseline_poisson_s": base_s, "peak_increase_mb": peak_kb / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="512x48,1024x60,512x300")
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    results = {}
    for cfg in args.configs.split(","):
        size, frames = (int(v) for v in cfg.split("x"))
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(size), str(frames)],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        raw_mb = size * size * frames * 2 / 2**20
        results[cfg] = {
            "gen_s": round(r["gen_s"], 2),
            "gen_ms_per_frame": round(1000 * r["gen_s"] / frames, 1),
            "write_s": round(r["write_s"], 2),
            "baseline_poisson_s": round(r["baseline_poisson_s"], 2),
            "gen_ratio": round(r["gen_s"] / r["baseline_poisson_s"], 1),
            "peak_increase_mb": round(r["peak_increase_mb"], 1),
            "loop_raw_mb": round(raw_mb, 1),
            "peak_ratio": round(r["peak_increase_mb"] / raw_mb, 2),
        }
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    print(
        json.dumps(
            {
                "benchmark": "sample_data",
                "results": results,
                "nproc": os.cpu_count(),
                "cpu": cpu,
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
