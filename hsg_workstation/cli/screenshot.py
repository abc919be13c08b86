"""``hsg-workstation screenshot STUDY_OR_PATH OUT.png [--frame N] [--size WxH]``.

Renders the real main window (offscreen unless a display is set) with a study open and saves it as PNG — for
the README and for the test that checks the window under a real X server. STUDY_OR_PATH is a Study Instance
UID in the local database, or a DICOM file / folder, which is imported into a throw-away database so the
user's own one is never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from hsg_workstation.config import resolve_data_dir
from hsg_workstation.errors import HsgError


def register(subparsers) -> None:
    p = subparsers.add_parser("screenshot", help="render the main window with a study open to a PNG")
    p.add_argument(
        "study", metavar="STUDY_OR_PATH", help="Study Instance UID in the local database, or a file/folder"
    )
    p.add_argument("out", metavar="OUT.png")
    p.add_argument(
        "--frame", type=int, default=None, help="1-based frame of the loop to show (default: middle)"
    )
    p.add_argument("--size", default="1600x1000", help="window size WxH (default 1600x1000)")
    p.add_argument("--layout", choices=("1x1", "1x2", "2x2"), default="1x1")
    p.add_argument("--demo", action="store_true", help="add example measurements and a key frame")
    p.add_argument(
        "--panels", action="store_true", help="dock the optional panels too (report form, fill curve, PACS)"
    )
    p.set_defaults(func=handle)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise HsgError(f"--size {text!r}: expected WxH, e.g. 1600x1000") from exc
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise HsgError(f"--size {text!r}: width and height must be 200–8000")
    return w, h


def handle(args: argparse.Namespace) -> int:
    width, height = _size(args.size)
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from hsg_workstation.dicom_io.database import LocalDatabase
    from hsg_workstation.ui.screenshot import render_window

    target = Path(args.study)
    with tempfile.TemporaryDirectory(prefix="hsg-shot-") as tmp:
        if target.exists():
            database = LocalDatabase(Path(tmp) / "db")
            results = database.import_paths([target])
            studies = database.studies()
            if not studies:
                reasons = "; ".join(r.reason for r in results if r.reason)[:300]
                raise HsgError(f"{target}: no DICOM study found ({reasons or 'no files'})")
            study_uid = studies[0].study_instance_uid
        else:
            database = LocalDatabase(resolve_data_dir(args.data_dir))
            if database.study(args.study) is None:
                raise HsgError(
                    f"{args.study}: neither a file/folder nor a Study Instance UID in the local database"
                )
            study_uid = args.study
        try:
            truth = _sample_truth(target) if args.demo and target.exists() else None
            return render_window(
                database,
                study_uid,
                Path(args.out),
                args.frame,
                (width, height),
                args.layout,
                args.demo,
                tmp,
                truth,
                panels=args.panels,
            )
        finally:
            database.close()


def _sample_truth(target: Path) -> dict | None:
    """truth.json of a generated sample study (``sample-data``), used to place the demo annotations on anatomy."""
    path = (target if target.is_dir() else target.parent) / "truth.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
