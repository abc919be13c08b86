"""Desktop entry point: ``hsg-workstation`` with no sub-command (``make run``).

On first start with an empty database the bundled ``sample_data/`` is imported, so the app never opens on an
empty screen and a new user sees a fill sequence straight away.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import hsg_workstation
from hsg_workstation.config import resolve_data_dir
from hsg_workstation.errors import HsgError

log = logging.getLogger(__name__)

SAMPLE_DATA = Path(hsg_workstation.__file__).parents[1] / "sample_data"


# Qt messages known to be harmless that would otherwise reach the user's terminal on every start: the offscreen
# and some minimal platform plugins print this for each top-level window (nothing is wrong).
HARMLESS_QT_MESSAGES = ("does not support propagateSizeHints()",)


def display_problem(environ: os._Environ[str] | dict[str, str] | None = None) -> str:
    """Why a window cannot open here, or "" when it can (checked before Qt is loaded).

    Qt's own message without a display names a missing ``xcb-cursor0`` library even when it is installed —
    it tries every platform plugin and reports the last failure. Saying what is really missing saves the hour.
    """
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform and platform != "xcb":
        return ""  # offscreen, wayland, vnc ...: the user chose a platform; Qt reports its own problems
    if env.get("DISPLAY") or (env.get("WAYLAND_DISPLAY") and not platform):
        return ""
    return (
        "no display: run under a desktop session or with `xvfb-run hsg-workstation` "
        "(DISPLAY and WAYLAND_DISPLAY are not set)"
    )


def install_qt_message_filter() -> None:
    """Route Qt's messages to stderr except the known-harmless ones in :data:`HARMLESS_QT_MESSAGES`."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_mode, _context, message: str) -> None:
        if any(text in message for text in HARMLESS_QT_MESSAGES):
            return
        print(message, file=sys.stderr)

    qInstallMessageHandler(handler)


def make_application():
    """The QApplication (created once), with pyqtgraph configured for DICOM row-major arrays."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(imageAxisOrder="row-major")
    if QApplication.instance() is None:
        install_qt_message_filter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("hsg-workstation")
    app.setOrganizationName("hsg-workstation")
    return app


def import_samples_if_empty(database, sample_dir: Path = SAMPLE_DATA) -> int:
    """Import the bundled sample studies into an empty database; returns the number of files imported.

    An installed copy (``pip install .``, a wheel) has no ``sample_data/`` beside the package: the first start
    then generates one synthetic study (the "normal" case, a few seconds) into ``<data_dir>/sample_data``.
    """
    if not database.is_empty():
        return 0
    if not sample_dir.is_dir():
        from hsg_workstation.synthetic.study import generate_case  # first start only

        print("First start: generating a synthetic sample study (a few seconds)...", file=sys.stderr)
        generate_case("normal").write(database.data_dir / "sample_data")
        sample_dir = database.data_dir / "sample_data"
    results = database.import_paths([sample_dir])
    return sum(1 for r in results if r.status == "imported")


def dock_optional_panels(window, database, data_dir: Path | None = None) -> list[str]:
    """Dock the report, PACS, fill-curve and suggestions panels. One that fails to build is left out, and why is
    shown in the status bar and logged: the viewer always opens."""
    docked: list[str] = []
    if data_dir is not None:
        from hsg_workstation.ui.report_dock import attach_report_dock

        try:
            window.report_dock = attach_report_dock(window, data_dir)
        except Exception as exc:  # noqa: BLE001 - the viewer must open even if the report form is broken
            log.exception("report panel could not be built")
            window.report_dock = None
            window.statusBar().showMessage(f"Report panel unavailable: {exc}", 8000)
        if window.report_dock is not None:
            docked.append("Report")
            window.docks_menu.addAction(window.report_dock.dock.toggleViewAction())
            give_report_full_height(window, window.report_dock.dock)
    for title, factory in _panel_factories():
        try:
            dock = factory(window, database, data_dir)
        except Exception as exc:  # noqa: BLE001 - a broken panel must never stop the viewer opening; said + logged
            log.exception("%s panel could not be built", title)
            window.statusBar().showMessage(f"{title} panel unavailable: {exc}", 8000)
            continue
        if dock is not None:
            docked.append(title)
    return docked


def give_report_full_height(window, dock) -> None:
    """The report gets the whole right-hand column: a tab beside Key frames and Measurements, raised.

    Why: stacked under the two lists the form got ~280 px of height at 1920×1080 and the sum of the three
    minimum heights pushed the window's minimum to 850 px (Sign off-screen at 1366×768). As tabs the column
    needs only the tallest of them, and the report's own key-image list shows what the Key frames tab shows.
    """
    window.tabifyDockWidget(window.keys_dock, window.meas_dock)
    window.tabifyDockWidget(window.keys_dock, dock)
    dock.raise_()


def _pacs_panel(window, database, data_dir: Path | None):
    """Query/retrieve panel tabbed with the study browser; File ▸ DICOM nodes… edits nodes.json."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAction

    from hsg_workstation.ui.pacs_panel import PacsQueryPanel

    if data_dir is None:
        return None
    panel = PacsQueryPanel(data_dir, database)

    def open_local(uid: str) -> None:
        window.browser.refresh()
        window.open_study(uid)

    panel.studyActivated.connect(open_local)
    panel.studyRetrieved.connect(lambda *_a: window.browser.refresh())
    panel.studyRetrieved.connect(lambda uid, _status: window.refresh_display_sets(uid))
    window.aboutToClose.connect(panel.cancel)
    # (its query form's minimum height, ~450 px, sets the height of the tab group with the study list and so
    # squeezes the series thumbnails on smaller screens; a scroll area inside the panel would fix it — the panel
    # stays the dock's widget because tests/integration reads it as ``extra_docks["PACS"].widget()``)
    dock = window.add_panel("PACS", panel, Qt.DockWidgetArea.LeftDockWidgetArea)
    window.tabifyDockWidget(window.browser_dock, dock)
    window.browser_dock.raise_()
    window.docks_menu.addAction(dock.toggleViewAction())
    from hsg_workstation.ui.node_manager import NodeManagerDialog

    def edit_nodes() -> None:
        dlg = NodeManagerDialog(data_dir, parent=window)
        dlg.nodesSaved.connect(panel.reload_nodes)
        dlg.exec()

    act = QAction("DICOM nodes…", window)
    act.triggered.connect(edit_nodes)
    panel.addNodeRequested.connect(edit_nodes)
    window.file_menu.insertAction(window.actions_by_id["settings"], act)
    window.actions_by_id["nodes"] = act
    return dock


def _fill_curve_panel(window, database, data_dir: Path | None):
    """The fill-sequence analysis plot under the viewports (see ``ui/fill_dock.py``)."""
    from hsg_workstation.ui.fill_dock import attach_fill_curve_dock

    controller = attach_fill_curve_dock(window)
    window.fill_curve = controller
    if controller is None:
        return None
    window.docks_menu.addAction(controller.dock.toggleViewAction())
    return controller.dock


def _suggestions_panel(window, database, data_dir: Path | None):
    """Analysis suggestions beside the report, overlay toggle on the viewports (see ``ui/analysis_dock.py``)."""
    from hsg_workstation.ui.analysis_dock import attach_analysis_panels

    window.analysis = attach_analysis_panels(window)
    return None if window.analysis is None else window.analysis.dock


def _panel_factories():
    return (("PACS", _pacs_panel), ("Fill curve", _fill_curve_panel), ("Suggestions", _suggestions_panel))


def create_main_window(data_dir: str | Path | None, sample_dir: Path = SAMPLE_DATA):
    """Database (samples imported on first start), main window with the optional panels, newest study open.

    Returns ``(window, database)``; the caller runs the event loop and closes the database.
    """
    from PySide6.QtCore import QSettings

    from hsg_workstation.dicom_io.database import LocalDatabase
    from hsg_workstation.ui.main_window import MainWindow

    make_application()
    root = resolve_data_dir(data_dir)
    database = LocalDatabase(root)
    imported = import_samples_if_empty(database, sample_dir)
    settings = QSettings(str(root / "viewer-settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(database, settings)
    window.open_on_filled_frame = True
    dock_optional_panels(window, database, root)
    from hsg_workstation.ui.anonymize_action import attach_anonymize_action

    attach_anonymize_action(window, database, root)
    window.restore_dock_state()  # now that every panel exists, its saved place and visibility apply too
    if window.first_start:
        # A reading workstation uses the whole screen. The explicit geometry makes the window fit the screen
        # where no window manager honours showMaximized (a bare X server, some kiosk set-ups).
        window.setGeometry(window.screen().availableGeometry())
        window.showMaximized()
        window.apply_first_start_layout()
    else:
        window.show()
    studies = database.studies()
    if studies:
        window.open_study(studies[0].study_instance_uid)
    if imported:
        window.statusBar().showMessage(f"First start: imported {imported} sample files", 8000)
    return window, database


def run_gui(data_dir: str | None) -> int:
    problem = display_problem()
    if problem:
        raise HsgError(problem)
    from hsg_workstation.ui.loader import shared_pool, shutdown_shared_pool

    app = make_application()
    # The decoder worker processes import their codecs (~0.4 s) while the reader picks a study, so the first
    # frame of a compressed loop does not wait for them.
    shared_pool().warm_up()
    window, database = create_main_window(data_dir)
    try:
        return int(app.exec())
    finally:
        window.close_study()
        shutdown_shared_pool()
        database.close()
