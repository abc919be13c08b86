"""``hsg-workstation list [--json]``: the studies in the local database with their series and instance counts."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from hsg_workstation.cli import run_tolerating_broken_pipe
from hsg_workstation.config import resolve_data_dir
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import HsgError
from hsg_workstation.reporting.status import report_states


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "list",
        help="list the studies in the local database with their series and instance counts",
        description="List the local database's studies (newest first) with their series and instance counts.",
    )
    p.add_argument("--json", action="store_true", help="print JSON: a list of studies, each with its series")
    p.add_argument(
        "--search", default="", metavar="TEXT", help="only studies whose name/ID/accession/description match"
    )
    p.add_argument(
        "--from", dest="date_from", metavar="DATE", help="study date on or after (YYYYMMDD or YYYY-MM-DD)"
    )
    p.add_argument(
        "--to", dest="date_to", metavar="DATE", help="study date on or before (YYYYMMDD or YYYY-MM-DD)"
    )
    p.add_argument(
        "--unreported", action="store_true", help="only studies without a signed or amended report"
    )
    p.set_defaults(func=handle)


def _date(da: str) -> str:
    return f"{da[:4]}-{da[4:6]}-{da[6:8]}" if len(da) == 8 and da.isdigit() else da or "----------"


def _handle(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    with LocalDatabase(data_dir) as db:
        try:
            studies = db.studies(args.search, args.date_from, args.date_to)
        except ValueError as exc:
            raise HsgError(str(exc)) from exc
        states = report_states(db, data_dir / "drafts", [st.study_instance_uid for st in studies])
        if args.unreported:
            studies = [st for st in studies if states[st.study_instance_uid].state in ("none", "draft")]
        listing = [(st, db.series(st.study_instance_uid)) for st in studies]
    if args.json:
        out = []
        for st, series in listing:
            item = asdict(st)
            item["report_status"] = states[st.study_instance_uid].to_json()
            item["modalities"] = list(st.modalities)
            item["series"] = [asdict(se) for se in series]
            out.append(item)
        print(json.dumps(out, indent=2))
        return 0
    if not listing:
        print("no studies in the local database")
        return 0
    for st, series in listing:
        flag = "" if st.complete else " [incomplete]"
        state = states[st.study_instance_uid]
        flag += (
            f"  report: {state.state}"
            + (f" by {state.by}" if state.by else "")
            + (f" {state.at}" if state.at else "")
        )
        name = " ".join(part for part in str(st.patient_name).split("^") if part.strip()) or "(no name)"
        print(
            f"{_date(st.study_date)}  {name} ({st.patient_id or 'no ID'})  acc {st.accession_number or '-'}  "
            f"{st.study_description or ''}  — {st.series_count} series, {st.instance_count} instances{flag}"
        )
        print(f"    study {st.study_instance_uid}")
        for se in series:
            number = f"#{se.series_number}" if se.series_number is not None else "#-"
            desc = f" {se.series_description}" if se.series_description else ""
            print(
                f"    {number:>4} {se.modality or '?':<3}{desc}: {se.instance_count} instances  ({se.series_instance_uid})"
            )
    return 0


def handle(args: argparse.Namespace) -> int:
    """Run the command; a reader that closes the pipe early (``... | head``) is not an error."""
    return run_tolerating_broken_pipe(_handle, args)
