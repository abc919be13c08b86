"""``hsg-workstation import PATH... [--json]``: copy DICOM files, folders (recursively) and DICOMDIRs into the
local database.

Prints one result per file found: ``imported``, ``duplicate`` (SOP Instance UID already present) or ``skipped``
with the reason. Sources are only read, never modified.

Exit codes: 0 when the import ran — bad or duplicate files are *reported*, not errors, so importing a CD with a
stray README still succeeds; 1 when something failed locally (a PATH that does not exist, a file that could not be
written into the store, the database cannot be opened).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections import Counter
from dataclasses import asdict

from hsg_workstation.cli import run_tolerating_broken_pipe
from hsg_workstation.config import resolve_data_dir
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.reader import configured_max_pixel_bytes

EXIT_OK = 0
EXIT_ERROR = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "import",
        help="import DICOM files, folders (recursively) or DICOMDIRs into the local database",
        description="Copy DICOM files into the local database (sources are never modified). Prints one result "
        "per file: imported / duplicate / skipped with the reason. Exit 0 unless something failed locally "
        "(missing PATH, store not writable).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="a DICOM file, a folder, or a DICOMDIR")
    p.add_argument("--json", action="store_true", help="print a JSON array with one object per file")
    p.add_argument(
        "--max-image-mb",
        type=float,
        metavar="MB",
        help="skip images whose decoded pixel data would exceed MB MiB (default: $HSG_WORKSTATION_MAX_IMAGE_MB, "
        "else 4096)",
    )
    p.set_defaults(func=handle)


def _handle(args: argparse.Namespace) -> int:
    cap = configured_max_pixel_bytes(getattr(args, "max_image_mb", None))  # bad value: error before any work
    data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    with warnings.catch_warnings():
        # pydicom warns about every vendor quirk it tolerates; the per-file result already says what matters.
        warnings.simplefilter("ignore")
        with LocalDatabase(data_dir, max_pixel_bytes=cap) as db:
            results = db.import_paths(args.paths)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for r in results:
            line = f"{r.status:<9} {r.path}"
            if r.status == "skipped" and r.reason:
                reason = r.reason[len(r.path) + 2 :] if r.reason.startswith(r.path + ": ") else r.reason
                line += f": {reason}"
            print(line)
        counts = Counter(r.status for r in results)
        print(
            f"{counts['imported']} imported, {counts['duplicate']} duplicate, {counts['skipped']} skipped "
            f"(database: {data_dir})",
            file=sys.stderr,
        )
    return EXIT_ERROR if any(r.local_failure for r in results) else EXIT_OK


def handle(args: argparse.Namespace) -> int:
    """Run the command; a reader that closes the pipe early (``... | head``) is not an error."""
    return run_tolerating_broken_pipe(_handle, args)
