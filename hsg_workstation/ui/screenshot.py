"""The main window rendered to a PNG for ``hsg-workstation screenshot`` (README pictures, the Xvfb test).

Why in ui/: it drives Qt (the window, its event loop, ``grab()``); the command in ``cli/screenshot.py`` parses
the arguments, prepares the database and calls :func:`render_window`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from hsg_workstation.errors import HsgError
from hsg_workstation.measurements import MeasurementKind
from hsg_workstation.ui.app import dock_optional_panels, make_application
from hsg_workstation.ui.main_window import MainWindow


def render_window(
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
    """Open ``study_uid`` in a real main window of ``size``, optionally with the panels and demo annotations,
    wait until every viewport shows its frame (and the fill curve its analysis), and save the window as PNG."""
    app = make_application()
    settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(database, settings)
    window.resize(*size)
    window.set_layout(layout)
    if panels:
        dock_optional_panels(window, database, Path(tmp))
    window.show()
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
