"""``hsg-workstation report export|import``: the report outputs from the command line.

``report export REPORT.json --study DIR [--sr OUT.dcm] [--pdf OUT.pdf] [--encapsulated-pdf OUT.dcm] [--kos OUT.dcm]``
writes any subset of the outputs in the report's study; ``report import SR.dcm`` prints the report rebuilt from
an SR this program wrote as JSON on stdout. Errors (malformed report JSON, missing study files, an image link
outside the study) are reported with the file / field and exit code 1. Qt is imported only for PDF output.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hsg_workstation.errors import HsgError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "report",
        help="export a report as DICOM SR / PDF / Encapsulated PDF / KOS, or import it back from an SR",
        description="Structured HSG report outputs.",
    )
    sub = p.add_subparsers(dest="report_command", metavar="ACTION", required=True)
    e = sub.add_parser(
        "export",
        help="write SR, PDF/A, Encapsulated PDF and/or Key Object Selection for a report",
        description="Write any subset of the outputs for REPORT.json; the DICOM objects join the study in DIR.",
    )
    e.add_argument("report", metavar="REPORT.json", help="the report (JSON written by the workstation)")
    e.add_argument("--study", required=True, metavar="DIR", help="folder with the study's DICOM images")
    e.add_argument("--sr", metavar="OUT.dcm", help="Comprehensive SR output")
    e.add_argument("--pdf", metavar="OUT.pdf", help="PDF/A report output")
    e.add_argument("--encapsulated-pdf", metavar="OUT.dcm", help="Encapsulated PDF DICOM output")
    e.add_argument("--kos", metavar="OUT.dcm", help="Key Object Selection output (key images)")
    e.add_argument(
        "--measurement-sr",
        metavar="OUT.dcm",
        help="TID 1500 measurement report of the image regions and measurements (referenced by --sr)",
    )
    e.add_argument("--predecessor", metavar="SR.dcm", help="earlier SR this amended report replaces")
    e.add_argument(
        "--force",
        action="store_true",
        help="export a draft even when validation finds errors (outputs stay marked as draft)",
    )
    e.set_defaults(func=handle_export)
    i = sub.add_parser(
        "import",
        help="rebuild the report from an SR written by this program and print it as JSON",
        description="Read SR.dcm and print the report as JSON on stdout.",
    )
    i.add_argument("sr", metavar="SR.dcm", help="a Comprehensive SR written by 'report export'")
    i.set_defaults(func=handle_import)


def read_report_json(path: str | Path):
    """Load REPORT.json (``workflows.load_report_json``: answers on fields that do not apply are cleared, each
    named on stderr); HsgError naming the file for unreadable / malformed content."""
    from hsg_workstation.reporting.codec import _encode
    from hsg_workstation.reporting.workflows import load_report_json

    loaded = load_report_json(path)
    for field_path, value in loaded.cleared.items():
        shown = json.dumps(_encode(value), ensure_ascii=False)
        print(
            f"note: {path}: {field_path} = {shown} cleared: the field does not apply to this report",
            file=sys.stderr,
        )
    return loaded.report


def check_output_paths(args: argparse.Namespace) -> None:
    """Refuse, before any work, outputs that would overwrite each other or an input, or that name a folder.

    Why: ``--sr a.dcm --kos a.dcm`` used to write the SR and then silently replace it with the KOS.
    """
    named = {
        "--sr": args.sr,
        "--pdf": args.pdf,
        "--encapsulated-pdf": args.encapsulated_pdf,
        "--kos": args.kos,
        "--measurement-sr": args.measurement_sr,
    }
    inputs = {Path(p).resolve(): f"the input {p}" for p in (args.report, args.predecessor) if p}
    seen: dict[Path, str] = {}
    for option, value in named.items():
        if not value:
            continue
        path = Path(value)
        if path.is_dir():
            raise HsgError(f"{option} {value}: is a folder; give a file name (e.g. {path / 'report.dcm'})")
        resolved = path.resolve()
        if resolved in seen:
            raise HsgError(
                f"{option} {value}: the same file as {seen[resolved]}; give each output its own name"
            )
        if resolved in inputs:
            raise HsgError(f"{option} {value}: is {inputs[resolved]}; refusing to overwrite it")
        seen[resolved] = f"{option} {value}"


def handle_export(args: argparse.Namespace) -> int:
    from hsg_workstation.reporting.workflows import export_report

    outputs = (args.sr, args.pdf, args.encapsulated_pdf, args.kos, args.measurement_sr)
    if not any(outputs):
        raise HsgError(
            "report export: name at least one output (--sr, --pdf, --encapsulated-pdf, --kos, --measurement-sr)"
        )
    check_output_paths(args)
    report = read_report_json(args.report)
    errors = [i for i in report.validate() if i.severity.value == "error"]
    if errors and not args.force:
        listed = "; ".join(f"{i.rule_id} {i.field_path}: {i.message}" for i in errors)
        raise HsgError(
            f"{args.report}: the report has {len(errors)} validation error(s): {listed} (use --force to export a draft anyway)"
        )
    predecessor = None
    if args.predecessor:
        from pydicom import dcmread
        from pydicom.errors import InvalidDicomError

        try:
            predecessor = dcmread(args.predecessor, stop_before_pixels=True)
        except (InvalidDicomError, OSError) as exc:
            raise HsgError(f"--predecessor {args.predecessor}: cannot read as DICOM ({exc})") from None
    result = export_report(
        report,
        args.study,
        sr_path=args.sr,
        pdf_path=args.pdf,
        encapsulated_pdf_path=args.encapsulated_pdf,
        kos_path=args.kos,
        measurement_sr_path=args.measurement_sr,
        predecessor=predecessor,
    )
    if not report.is_signed:
        print("note: the report is a draft (not signed); outputs are marked as such", file=sys.stderr)
    for path in result.written:
        print(path)
    return 0


def handle_import(args: argparse.Namespace) -> int:
    """Report JSON on stdout; warnings on stderr. Exit 2 when the SR is incomplete (e.g. a truncated file): the
    JSON is still printed so nothing is hidden, but a script must not take it for the whole report."""
    from hsg_workstation.reporting.sr_import import read_sr

    result = read_sr(Path(args.sr))
    report = result.report
    for warning in result.warnings:
        print(f"warning: {args.sr}: {warning}", file=sys.stderr)
    if result.incomplete:
        print(
            f"error: {args.sr}: the SR is incomplete — the report above lacks content (exit 2)",
            file=sys.stderr,
        )
    text = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:  # always UTF-8, whatever the console's encoding (report.json is UTF-8)
        sys.stdout.flush()
        buffer.write(text.encode("utf-8"))
        buffer.flush()
    else:
        sys.stdout.write(text)
    return 2 if result.incomplete else 0
