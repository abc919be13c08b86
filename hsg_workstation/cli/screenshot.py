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
import sys
import tempfile
import time
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
        "--panels",
        action="store_true",
        help="(default) dock the other panels as the application does: report form, fill curve, PACS",
    )
    p.add_argument(
        "--viewer-only", action="store_true", help="the viewer without the report and other panels"
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
            return _render(
                database,
                study_uid,
                Path(args.out),
                args.frame,
                (width, height),
                args.layout,
                args.demo,
                tmp,
                truth,
                panels=not args.viewer_only,
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


def _render(
    database,
    study_uid: str,
    out: Path,
    frame: int | None,
    size,
    layout: str,
    demo: bool,
    tmp: str,
    truth: dict | None = None,
    panels: bool = False,
) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from hsg_workstation.ui.app import make_application
    from hsg_workstation.ui.main_window import MainWindow

    app = make_application()
    settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(database, settings)
    window.resize(*size)
    window.set_layout(layout)
    if panels:
        from hsg_workstation.ui.app import dock_optional_panels

        dock_optional_panels(window, database, Path(tmp))
    window.show()
    if panels:
        window.apply_first_start_layout()
    window.open_study(study_uid)
    vp = window.active
    if vp is None or not vp.frames:
        window.close()
        raise HsgError(f"study {study_uid}: nothing displayable")
    index = (frame - 1) if frame else len(vp.frames) // 2
    if not 0 <= index < len(vp.frames):
        window.close()
        raise HsgError(f"--frame {frame}: the loop has {len(vp.frames)} frames")
    vp.show_frame(index)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        app.processEvents()
        if all(v.displayed_index == v.index or v.error or not v.frames for v in window.viewports):
            break
        time.sleep(0.01)
    fill = getattr(window, "fill_curve", None)
    if fill is not None:  # wait for the loop analysis so the curve is in the picture
        deadline = time.monotonic() + 60
        while (
            fill.result is None and "failed" not in fill.widget.title.text() and time.monotonic() < deadline
        ):
            app.processEvents()
            time.sleep(0.02)
        vp.show_frame(index)
    if demo:
        _demo_annotations(window, truth)
    for _ in range(20):  # let thumbnails and overlays settle
        app.processEvents()
        time.sleep(0.02)
    out.parent.mkdir(parents=True, exist_ok=True)
    shot = window.grab()
    if (shot.width(), shot.height()) != tuple(size):
        print(
            f"note: the window needs at least {shot.width()}x{shot.height()} with these panels; rendered at that size",
            file=sys.stderr,
        )
    ok = shot.save(str(out))
    window.close()
    QApplication.processEvents()
    if not ok:
        raise HsgError(f"{out}: could not write PNG")
    print(out)
    return 0


def _demo_annotations(window, truth: dict | None = None) -> None:
    """A length, an ROI on the cavity and an arrow — enough to show what the viewer does.

    With a sample study's truth.json: intercornual distance, an ellipse over the cavity and an arrow at the
    fimbrial end where contrast spills; otherwise the same shapes at fixed fractions of the image.
    """
    from hsg_workstation.measurements import MeasurementKind

    vp = window.active
    h = vp.header
    if h is None:
        return
    try:
        sides = truth["sides"] if truth else None
        # truth points are (row, column); the viewer's are (column, row)
        rc, lc = sides["right"]["cornu"], sides["left"]["cornu"]
        tip = truth["catheter_tip"]
        fim = sides["right"]["fimbrial_end"]
    except (KeyError, TypeError):
        sides = None
    if sides:
        p_r, p_l = (rc[1], rc[0]), (lc[1], lc[0])
        vp.add_measurement(MeasurementKind.LENGTH, (p_r, p_l))
        cx = (p_r[0] + p_l[0]) / 2
        top = min(p_r[1], p_l[1])
        bottom = tip[0]
        half_w = abs(p_l[0] - p_r[0]) / 2
        cy = (top + bottom) / 2
        vp.add_measurement(
            MeasurementKind.ELLIPSE,
            ((cx - half_w, cy), (cx + half_w, cy), (cx, top - 4), (cx, bottom + 4)),
        )
        vp.add_measurement(
            MeasurementKind.ARROW, ((fim[1] - 45, fim[0] + 60), (fim[1] - 6, fim[0] + 8)), label="free spill"
        )
        window.toggle_key_frame()
        return
    w_, h_ = h.columns, h.rows
    vp.add_measurement(MeasurementKind.LENGTH, ((0.30 * w_, 0.80 * h_), (0.70 * w_, 0.80 * h_)))
    vp.add_measurement(
        MeasurementKind.ELLIPSE,
        ((0.40 * w_, 0.45 * h_), (0.60 * w_, 0.45 * h_), (0.50 * w_, 0.35 * h_), (0.50 * w_, 0.55 * h_)),
    )
    vp.add_measurement(MeasurementKind.ARROW, ((0.15 * w_, 0.20 * h_), (0.25 * w_, 0.30 * h_)), label="spill")
    window.toggle_key_frame()
