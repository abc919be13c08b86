"""``hsg-workstation sample-data OUTDIR [--case NAME ...] [--seed N] [--size N] [--frames N]``.

Writes synthetic HSG studies (DICOM + truth.json, one folder per case) so users and tests have realistic data
without any patient data. When the reporting package provides a reference-report builder, a filled
``report.json`` is written next to the truth.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from hsg_workstation.errors import HsgError


class SampleDataError(HsgError):
    """The sample-data command got an argument it cannot use (names the option and the value)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    from hsg_workstation.synthetic.cases import CASES  # light import: no numpy work at start-up

    p = subparsers.add_parser(
        "sample-data",
        help="write synthetic HSG studies with ground truth",
        description="Write synthetic HSG studies (scout, RF fill-sequence loop, spot images, truth.json) into "
        "OUTDIR/<case>/. Cases: " + ", ".join(CASES),
    )
    p.add_argument("outdir", metavar="OUTDIR", help="folder to write into (created if missing)")
    p.add_argument(
        "--case",
        dest="cases",
        metavar="NAME",
        action="extend",
        nargs="+",
        help="case(s) to write (repeatable; default: all cases)",
    )
    p.add_argument("--seed", type=int, default=0, help="varies anatomy, timing and noise (default 0)")
    p.add_argument("--size", type=int, default=512, help="matrix size in pixels (default 512)")
    p.add_argument("--frames", type=int, default=48, help="frames in the fill-sequence loop (default 48)")
    p.add_argument(
        "--motion-px",
        type=float,
        default=0.0,
        metavar="PX",
        help="smooth random patient/table motion of at most PX pixels across the loop; the shifts are in "
        "truth.json 'loop_motion' (default 0: none)",
    )
    p.add_argument(
        "--monochrome1-loop",
        action="store_true",
        help="store the RF loop as MONOCHROME1 — NOT conformant (the RF IOD allows MONOCHROME2 only; "
        "dciodvfy reports it) but what some vendors send: for testing readers",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object per written case")
    p.set_defaults(func=handle)


def _reference_report_builder():
    """Return ``build_reference_report(truth, case_dir) -> dict`` if the reporting package has it, else None.

    The reference report is written by another part of the project; the generator must work (and its tests
    must pass) whether or not that module exists yet, so the import is optional on purpose. Only a *missing*
    module is tolerated — an error inside it is a real bug and propagates.
    """
    try:
        module = importlib.import_module("hsg_workstation.reporting.reference")
    except ModuleNotFoundError as exc:
        if exc.name in ("hsg_workstation.reporting.reference", "hsg_workstation.reporting"):
            return None
        raise
    return getattr(module, "build_reference_report", None)


def handle(args: argparse.Namespace) -> int:
    from hsg_workstation.synthetic.study import CASES, generate_case

    cases = args.cases or list(CASES)
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise SampleDataError(f"--case: unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    if not 64 <= args.size <= 4096:
        raise SampleDataError(f"--size: must be between 64 and 4096 pixels, got {args.size}")
    if not 8 <= args.frames <= 2000:
        raise SampleDataError(f"--frames: must be between 8 and 2000, got {args.frames}")
    if not 0 <= args.motion_px <= args.size / 10:
        raise SampleDataError(
            f"--motion-px: must be between 0 and {args.size / 10:g} (10 % of --size), got {args.motion_px:g}"
        )
    outdir = Path(args.outdir)
    if outdir.exists() and not outdir.is_dir():
        raise SampleDataError(f"OUTDIR {outdir} exists and is not a folder")
    build_report = _reference_report_builder()
    for case in cases:
        generated = generate_case(
            case,
            seed=args.seed,
            size=args.size,
            frames=args.frames,
            motion_px=args.motion_px,
            monochrome1_loop=args.monochrome1_loop,
        )
        case_dir = generated.write(outdir)
        report_path = None
        if build_report is not None:
            report = build_report(generated.truth, case_dir)
            report_path = case_dir / "report.json"
            report_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        if args.json:
            print(
                json.dumps(
                    {
                        "case": case,
                        "folder": str(case_dir),
                        "files": len(generated.datasets),
                        "report": str(report_path) if report_path else None,
                    }
                )
            )
        else:
            print(
                f"{case}: {case_dir} ({len(generated.datasets)} DICOM files{', report.json' if report_path else ''})"
            )
        sys.stdout.flush()
    return 0
