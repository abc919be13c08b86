"""``hsg-workstation doctor [--json] [--rebuild-index]``: check the local database and store, repair what is safe.

Checks SQLite's ``integrity_check`` of the index, index rows whose file is missing (removed from the index),
leftover ``.part`` temporaries (removed) and store files the index does not know (indexed, or moved to
``quarantine/`` when they are not acceptable instances). Prints one line per finding, or ``--json``.

Exit codes: 0 when the data directory is sound (after the repairs), 1 when the index is damaged and was not
rebuilt, 3 when another hsg-workstation process uses the directory (checked only; close it and run again).
"""

from __future__ import annotations

import argparse
import json

from hsg_workstation.cli import run_tolerating_broken_pipe
from hsg_workstation.config import resolve_data_dir
from hsg_workstation.dicom_io.doctor import run_doctor

EXIT_OK = 0
EXIT_DAMAGED = 1
EXIT_BUSY = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "doctor",
        help="check the local database and store; repair what is safe",
        description="Check the local database (SQLite integrity, rows pointing at missing files) and the store "
        "(leftover temporary files, files the index does not know) and repair what is safe. Source files and "
        "store files are never deleted: unusable store files are moved to quarantine/.",
    )
    p.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    p.add_argument(
        "--rebuild-index",
        action="store_true",
        help="if the index file is damaged, move it aside and build a new one from the store",
    )
    p.set_defaults(func=handle)


def _handle(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    report = run_doctor(data_dir, rebuild_index=args.rebuild_index)
    if args.json:
        print(json.dumps({"data_dir": str(data_dir), **report.to_json()}, indent=2))
    else:
        print(f"data directory: {data_dir}")
        for line in report.lines():
            print(line)
    if report.busy:
        return EXIT_BUSY
    return EXIT_OK if report.database_ok else EXIT_DAMAGED


def handle(args: argparse.Namespace) -> int:
    return run_tolerating_broken_pipe(_handle, args)
