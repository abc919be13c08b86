"""Fixtures for the PACS integration tests: private loopback-only network, a real Orthanc, our SCP's port.

Every test in this package runs inside a private network namespace (see ``netns.py`` and docs/pacs.md); the
autouse fixture enters it before the first test and leaves it after the last. Orthanc is started once for the
package; tests that need a clean PACS call ``orthanc.delete_all()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import netns
from tests.integration.orthanc import Orthanc

ORTHANC_DICOM_PORT = 14242
ORTHANC_HTTP_PORT = 18042
OUR_AET = "HSGVIEW"
OUR_SCP_PORT = 11113  # the C-MOVE destination Orthanc knows


_QAPP: object = None


def _qt_app_outside_namespace() -> None:
    """Create the session's QApplication *before* entering the namespace (the panel test here may be the first
    Qt user of the run): Qt's helper threads must live in the normal namespace for the tests after ours."""
    global _QAPP
    from PySide6.QtWidgets import QApplication

    _QAPP = QApplication.instance() or QApplication([])


@pytest.fixture(scope="package", autouse=True)
def private_network() -> Iterator[None]:
    _qt_app_outside_namespace()
    try:
        previous = netns.enter_private_netns()
    except netns.NetnsError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield
    finally:
        netns.leave_private_netns(previous)


@pytest.fixture(scope="package")
def orthanc(private_network: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    workdir = tmp_path_factory.mktemp("orthanc")
    server = Orthanc(
        workdir,
        dicom_port=ORTHANC_DICOM_PORT,
        http_port=ORTHANC_HTTP_PORT,
        modalities={
            "hsgviewer": [OUR_AET, "127.0.0.1", OUR_SCP_PORT],
            "getscu": ["GETSCU", "127.0.0.1", 11199],
        },
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def store_consistent(data_dir: Path) -> list[str]:
    """Problems in the local store: partial temporaries, or files the index does not know."""
    from hsg_workstation.dicom_io.database import LocalDatabase

    problems = []
    store = data_dir / "store"
    if store.exists():
        problems += [f"partial file left: {p}" for p in store.rglob("*.part")]
        with LocalDatabase(data_dir) as db:
            known = {rel for _, rel in db.index.all_relpaths()}
            for f in store.rglob("*.dcm"):
                if db.store.relative(f) not in known:
                    problems.append(f"unindexed file: {f}")
    return problems
