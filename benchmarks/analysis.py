"""Fill-sequence analysis time against merely decoding the same frames, in the same run.

A 60-frame 1024² loop from the sample generator is written to a temporary folder; ``decode_s`` is the time to
decode every frame once through the shared pixel pipeline, ``analyze_s`` the time of ``analyze_path`` on the same
file (which decodes every frame itself, plus the max-distension frame and the background frames a second time).
Target: ratio <= 15. Prints ONE JSON object.

    .venv/bin/python benchmarks/analysis.py [--size 1024] [--frames 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3, help="best of N for both timings")
    args = ap.parse_args()

    from hsg_workstation.analysis import analyze_path
    from hsg_workstation.dicom_io import pixels
    from hsg_workstation.dicom_io.reader import read_header
    from hsg_workstation.dicom_io.sample import generate_case

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        case_dir = generate_case("normal", seed=7, size=args.size, frames=args.frames, spot_images=2).write(
            tmp
        )
        gen_s = time.perf_counter() - t0
        loop = Path(case_dir) / "02_loop.dcm"
        header = read_header(loop)

        def decode_all() -> None:
            for i in range(args.frames):
                pixels.decode_frame(loop, i, header=header)

        decode_times, analyze_times = [], []
        result = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            decode_all()
            decode_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = analyze_path(loop)
            analyze_times.append(time.perf_counter() - t0)
    decode_s, analyze_s = min(decode_times), min(analyze_times)
    print(
        json.dumps(
            {
                "benchmark": "analysis",
                "size": args.size,
                "frames": args.frames,
                "decode_s": round(decode_s, 3),
                "analyze_s": round(analyze_s, 3),
                "ratio_analyze_to_decode": round(analyze_s / decode_s, 2),
                "target_ratio": 15,
                "working_scale": result.working_scale if result else None,
                "generate_s": round(gen_s, 2),
                "nproc": os.cpu_count(),
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()
