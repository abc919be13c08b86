"""The GUI query panel against the real Orthanc: search, retrieve with progress, double-click opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.pacs.nodes import LocalNode, NodeConfig, RemoteNode, save_nodes
from tests.integration import dicomgen
from tests.integration.conftest import OUR_AET, OUR_SCP_PORT
from tests.integration.orthanc import Orthanc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.mark.parametrize("method", ["C-GET", "C-MOVE"])
def test_panel_search_retrieve_open(qtbot: Any, orthanc: Orthanc, data_dir: Path, method: str) -> None:
    from hsg_workstation.ui.pacs_panel import PacsQueryPanel

    orthanc.delete_all()
    study = dicomgen.make_study(series=2, per_series=2, patient_name="PANEL^TEST", size=32)
    for data in study.encoded():
        orthanc.upload(data)
    cfg = NodeConfig(local=LocalNode(OUR_AET, OUR_SCP_PORT, bind_address="127.0.0.1"))
    save_nodes(data_dir, cfg.with_node(RemoteNode("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port)))
    with LocalDatabase(data_dir) as db:
        panel = PacsQueryPanel(data_dir, db)
        qtbot.addWidget(panel)
        panel.method_combo.setCurrentText(method)
        panel.patient_name.setText("PANEL*")
        panel.search_button.click()
        qtbot.waitUntil(lambda: not panel.is_busy() and panel.model.rowCount() == 1, timeout=20000)
        assert panel.model.item(0, 4).text() == "4"
        opened: list[str] = []
        panel.studyActivated.connect(opened.append)
        with qtbot.waitSignal(panel.studyRetrieved, timeout=30000) as sig:
            panel.table.doubleClicked.emit(panel.proxy.index(0, 0))
        assert sig.args == [study.study_uid, "complete"], panel.status.text()
        qtbot.waitUntil(lambda: opened == [study.study_uid], timeout=5000)
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids
        assert panel.progress_bar.value() == panel.progress_bar.maximum() == 4


def test_main_window_double_click_retrieves_and_opens_in_viewer(
    qtbot: Any, orthanc: Orthanc, data_dir: Path, tmp_path: Path
) -> None:
    """The whole path a reader uses: the PACS tab of the real main window (as ``make run`` builds it), one
    double-click on a study that is not local → C-GET → the viewer opens it."""
    from hsg_workstation.ui.app import create_main_window

    orthanc.delete_all()
    study = dicomgen.make_study(series=1, per_series=2, patient_name="WINDOW^OPEN", size=32)
    for data in study.encoded():
        orthanc.upload(data)
    cfg = NodeConfig(local=LocalNode(OUR_AET, OUR_SCP_PORT, bind_address="127.0.0.1"))
    save_nodes(data_dir, cfg.with_node(RemoteNode("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port)))
    empty_samples = tmp_path / "no-samples"
    empty_samples.mkdir()
    window, db = create_main_window(data_dir, sample_dir=empty_samples)
    try:
        qtbot.addWidget(window)
        panel = window.extra_docks["PACS"].widget()
        panel.patient_name.setText("WINDOW*")
        panel.search_button.click()
        qtbot.waitUntil(lambda: not panel.is_busy() and panel.model.rowCount() == 1, timeout=20000)
        # The viewer opens at the first instance that lands; the retrieval goes on and ends after it.
        events: list[str] = []
        window.studyOpened.connect(lambda uid: events.append(f"opened {uid}"))
        panel.studyRetrieved.connect(lambda uid, status: events.append(f"{status} {uid}"))
        with qtbot.waitSignal(panel.studyRetrieved, timeout=30000):
            panel.table.doubleClicked.emit(panel.proxy.index(0, 0))
        assert events == [f"opened {study.study_uid}", f"complete {study.study_uid}"]
        assert window.study.study_instance_uid == study.study_uid and window.viewports
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids
    finally:
        window.close_study()
        window.close()
        db.close()


def test_panel_runs_the_configured_listener_for_pushes_and_cmove(
    qtbot: Any, orthanc: Orthanc, data_dir: Path, tmp_path: Path
) -> None:
    """``listener_enabled`` in nodes.json: the panel starts the storage SCP, a push (storescu calling as the
    configured node) lands in the database and is announced as ``studyRetrieved(uid, "received")``, a C-MOVE
    goes through the same running listener, and turning it off in nodes.json stops it."""
    import socket
    import subprocess

    from hsg_workstation.ui.pacs_panel import PacsQueryPanel
    from tests.integration.orthanc import which

    orthanc.delete_all()
    pushed = dicomgen.make_study(series=1, per_series=2, patient_name="PUSHED^STUDY", size=16)
    moved = dicomgen.make_study(series=1, per_series=2, patient_name="MOVED^STUDY", size=16)
    for data in moved.encoded():
        orthanc.upload(data)
    local = LocalNode(OUR_AET, OUR_SCP_PORT, bind_address="127.0.0.1", listener_enabled=True)
    node = RemoteNode("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port)
    save_nodes(data_dir, NodeConfig(local=local).with_node(node))
    with LocalDatabase(data_dir) as db:
        panel = PacsQueryPanel(data_dir, db)
        qtbot.addWidget(panel)
        try:
            assert panel.listener is not None and panel.listener.port == OUR_SCP_PORT
            assert "HSGVIEW on port 11113" in panel.listener_status.text()
            assert "ORTHANC" in panel.listener_status.text()
            with qtbot.waitSignal(panel.studyRetrieved, timeout=20000) as sig:
                push = subprocess.run(
                    [which("storescu"), "-aet", orthanc.aet, "-aec", OUR_AET, "127.0.0.1", str(OUR_SCP_PORT),
                     *map(str, pushed.write(tmp_path / "push"))],
                    capture_output=True, text=True, timeout=30,
                )  # fmt: skip
                assert push.returncode == 0, push.stderr
            assert sig.args == [pushed.study_uid, "received"]
            assert db.sop_instance_uids(pushed.study_uid) == pushed.sop_uids
            assert "2 instance(s) received" in panel.listener_status.text()

            panel.method_combo.setCurrentText("C-MOVE")
            panel.patient_name.setText("MOVED*")
            panel.search_button.click()
            qtbot.waitUntil(lambda: not panel.is_busy() and panel.model.rowCount() == 1, timeout=20000)
            panel.table.selectRow(0)
            with qtbot.waitSignal(panel.studyRetrieved, timeout=30000) as sig:
                panel.retrieve_button.click()
            assert sig.args == [moved.study_uid, "complete"], panel.status.text()
            assert db.sop_instance_uids(moved.study_uid) == moved.sop_uids

            save_nodes(data_dir, NodeConfig(local=LocalNode(OUR_AET, OUR_SCP_PORT)).with_node(node))
            panel.reload_nodes()
            assert panel.listener is None and "off" in panel.listener_status.text()
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", OUR_SCP_PORT), timeout=5).close()
        finally:
            panel.stop_listener()


def test_node_manager_echo_button_against_orthanc(qtbot: Any, orthanc: Orthanc, data_dir: Path) -> None:
    """'Test (C-ECHO)' with the real client: ok against Orthanc, the reason in words against a closed port."""
    from hsg_workstation.ui.node_manager import NodeManagerDialog

    dlg = NodeManagerDialog(data_dir)
    qtbot.addWidget(dlg)
    dlg.name.setText("orthanc")
    dlg.ae_title.setText(orthanc.aet)
    dlg.host.setText("127.0.0.1")
    dlg.port.setValue(orthanc.dicom_port)
    dlg.echo_button.click()
    qtbot.waitUntil(lambda: not dlg.echo_running() and dlg.echo_button.isEnabled(), timeout=30000)
    assert dlg.message.text().startswith(f"C-ECHO {orthanc.aet}: ok"), dlg.message.text()
    dlg.port.setValue(1)
    dlg.echo_button.click()
    qtbot.waitUntil(lambda: "C-ECHO failed" in dlg.message.text(), timeout=30000)
    assert f"cannot connect to {orthanc.aet}@127.0.0.1:1" in dlg.message.text()
