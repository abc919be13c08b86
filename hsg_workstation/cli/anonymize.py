"""``hsg-workstation anonymize STUDY... OUTDIR``: anonymised copies of studies for teaching files, audits and
bug reports (see :mod:`hsg_workstation.dicom_io.anonymize` for what is done and why)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hsg_workstation.config import resolve_data_dir
from hsg_workstation.errors import HsgError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "anonymize",
        help="write anonymised copies of studies (PS3.15 Basic profile) for teaching files and audits",
        description=(
            "Write anonymised copies of local studies (by Study Instance UID) or of DICOM files / folders into "
            "OUTDIR/<new study UID>/. Patient name and ID become a pseudonym that is stable per patient on this "
            "workstation; every instance UID is remapped consistently so SR / KOS references still resolve; "
            "dates are shifted by one offset; private tags and free-text descriptions are removed; the report "
            "text is checked for the patient's name and IDs. Encapsulated PDFs are not exported (their pages "
            "show the identity). Sources are never modified."
        ),
    )
    p.add_argument("sources", nargs="+", metavar="STUDY", help="Study Instance UIDs, files or folders")
    p.add_argument("out_dir", metavar="OUTDIR", help="folder for the anonymised copies")
    p.add_argument(
        "--keep-dates-shifted",
        type=int,
        metavar="DAYS",
        dest="shift_days",
        help="shift every date by exactly DAYS (negative = earlier); default: a secret offset of 62-730 days",
    )
    p.add_argument("--profile", choices=("basic",), default="basic", help="confidentiality profile (basic)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=handle)


def _files(sources: list[str], data_dir: Path) -> list[Path]:
    files: list[Path] = []
    uids: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files.extend(sorted(f for f in path.rglob("*") if f.is_file() and not f.name.startswith(".")))
        elif path.is_file():
            files.append(path)
        else:
            uids.append(source)
    if uids:
        from hsg_workstation.dicom_io.database import LocalDatabase

        with LocalDatabase(data_dir) as db:
            for uid in uids:
                if db.study(uid) is None:
                    raise HsgError(f"{uid}: neither a file, a folder nor a study in the local database")
                for series in db.series(uid):
                    files.extend(inst.path for inst in db.instances(series.series_instance_uid))
    return files


def handle(args: argparse.Namespace) -> int:
    from hsg_workstation.dicom_io.anonymize import anonymize_files, workstation_key

    data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    files = _files(args.sources, data_dir)
    if not files:
        raise HsgError("nothing to anonymise: no files found in the sources given")
    result = anonymize_files(
        files, Path(args.out_dir), key=workstation_key(data_dir), shift_days=args.shift_days
    )
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        for path, reason in result.skipped:
            print(f"skipped {path}: {reason}", file=sys.stderr)
        n = len(result.written)
        print(
            f"{n} instance{'s' if n != 1 else ''} of {result.studies} stud{'y' if result.studies == 1 else 'ies'} "
            f"written to {args.out_dir}; {len(result.skipped)} skipped; "
            f"{result.text_replacements} identifying text value(s) replaced"
        )
    if not result.written:
        return 1
    return 3 if result.skipped else 0
