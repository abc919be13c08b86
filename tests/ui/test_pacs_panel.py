"""PACS query panel and node manager as standalone widgets, with a scripted client (no network here;
the same panel against a real Orthanc is in tests/integration/test_pacs_panel_orthanc.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.nodes import NodeConfig, RemoteNode, load_nodes, save_nodes
from hsg_workstation.pacs.types import (
    FindResult,
    Progress,
    RetrieveResult,
    SeriesMatch,
    StudyMatch,
    StudyQuery,
)
from hsg_workstation.ui.node_manager import NodeManagerDialog
from hsg_workstation.ui.pacs_panel import COLUMNS, PacsQueryPanel, dicom_date_range
from tests.integration import dicomgen
from tests.integration.certs import make_pki

pytestmark = pytest.mark.timeout(60)


class ScriptedClient:
    """Behaves like DicomClient for the panel: serves one generated study; can block until cancelled."""

    def __init__(
        self, node: RemoteNode, study: dicomgen.Study, *, block: bool = False, fail: str = ""
    ) -> None:
        self.node = node
        self.study = study
        self.block = block
        self.fail = fail
        self.queries: list[StudyQuery] = []
        self.gets = 0
        self.get_series: list[str | None] = []

    def match(self) -> StudyMatch:
        return StudyMatch(self.study.study_uid, "DOE^JANE", "P1", "19900101", "F", "20240115", "101500", "A1",
                          "HSG", ("RF",), 1, len(self.study.datasets))  # fmt: skip

    def echo(self) -> float:
        if self.fail:
            raise PacsError(self.fail)
        return 0.012

    def find_studies(self, query: StudyQuery, **_: Any) -> FindResult[StudyMatch]:
        self.queries.append(query)
        if self.fail:
            raise PacsError(self.fail)
        return FindResult([self.match()])

    def find_series(self, uid: str) -> list[SeriesMatch]:
        return [
            SeriesMatch(uid, "1.2.9.1", "RF", 1, "scout", 1),
            SeriesMatch(uid, "1.2.9.2", "RF", 2, "fill", 2),
        ]

    def get(
        self,
        uid: str,
        db: Any,
        *,
        progress: Any = None,
        cancel: threading.Event | None = None,
        series_uid: str | None = None,
        **_: Any,
    ) -> RetrieveResult:
        self.gets += 1
        self.get_series.append(series_uid)
        n = len(self.study.datasets)
        received = []
        for i, data in enumerate(self.study.encoded()):
            if self.block and i == 1:
                assert cancel is not None and cancel.wait(20)
                db.set_study_complete(uid, False)
                return RetrieveResult("cancelled", "C-GET: cancelled by the user; 1 instance(s) kept",
                                      Progress(1, n - 1, 0, 0, 1), received)  # fmt: skip
            r = db.add_encoded(data)
            received.append(r.sop_instance_uid)
            if progress:
                progress(Progress(i + 1, n - i - 1, 0, 0, i + 1))
        db.set_study_complete(uid, True)
        return RetrieveResult(
            "complete", f"C-GET: {n} instance(s) retrieved", Progress(n, 0, 0, 0, n), received
        )

    def get_missing(self, uid: str, db: Any, **kw: Any) -> RetrieveResult:
        return self.get(uid, db, **kw)


@pytest.fixture
def setup(data_dir: Path) -> Any:
    save_nodes(data_dir, NodeConfig().with_node(RemoteNode("pacs", "ORTHANC", "127.0.0.1", 4242)))
    study = dicomgen.make_study(series=1, per_series=3, size=16)
    db = LocalDatabase(data_dir)
    yield data_dir, db, study
    db.close()


def make_panel(qtbot: Any, setup: Any, **client_kw: Any) -> tuple[PacsQueryPanel, list[ScriptedClient]]:
    data_dir, db, study = setup
    clients: list[ScriptedClient] = []

    def factory(node: RemoteNode, calling: str) -> ScriptedClient:
        clients.append(ScriptedClient(node, study, **client_kw))
        return clients[-1]

    panel = PacsQueryPanel(data_dir, db, client_factory=factory)
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    return panel, clients


def search(qtbot: Any, panel: PacsQueryPanel) -> None:
    panel.search_button.click()
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.search_button.isEnabled(), timeout=10000)


def test_date_range() -> None:
    assert dicom_date_range("2024-01-01", "2024-01-31") == "20240101-20240131"
    assert dicom_date_range("", "20240131") == "-20240131"
    assert dicom_date_range("2024-01-01", "") == "20240101-"
    assert dicom_date_range("2024-01-05", "2024-01-05") == "20240105"
    with pytest.raises(ValueError, match="from date '2024-1' is not YYYY-MM-DD"):
        dicom_date_range("2024-1", "")
    with pytest.raises(ValueError, match="after"):
        dicom_date_range("2024-02-01", "2024-01-01")


def test_search_fills_table_from_form(qtbot: Any, setup: Any) -> None:
    panel, clients = make_panel(qtbot, setup)
    panel.patient_name.setText("DOE*")
    panel.date_from.setText("2024-01-01")
    panel.modality.setCurrentText("rf")
    search(qtbot, panel)
    q = clients[-1].queries[-1]
    assert (q.patient_name, q.study_date, q.modality) == ("DOE*", "20240101-", "RF")
    assert panel.model.rowCount() == 1
    row = [panel.model.item(0, c).text() for c in range(panel.model.columnCount())]
    assert row[:5] == ["DOE JANE", "P1", "2024-01-15", "RF", "3"] and row[-2:] == ["—", ""]
    assert panel.status.text() == "1 study found"


def test_bad_date_is_reported_without_searching(qtbot: Any, setup: Any) -> None:
    panel, clients = make_panel(qtbot, setup)
    panel.date_to.setText("31/01/24")
    panel.search_button.click()
    assert "to date '31/01/24' is not YYYY-MM-DD" in panel.status.text()
    assert clients == []


def test_retrieve_progress_and_double_click_opens(qtbot: Any, setup: Any) -> None:
    _, db, study = setup
    panel, clients = make_panel(qtbot, setup)
    search(qtbot, panel)
    activated: list[str] = []
    panel.studyActivated.connect(activated.append)
    index = panel.proxy.index(0, 0)
    with qtbot.waitSignal(panel.studyRetrieved, timeout=10000) as sig:
        panel.table.doubleClicked.emit(index)  # not local yet: retrieve, then open
    assert sig.args == [study.study_uid, "complete"]
    qtbot.waitUntil(lambda: activated == [study.study_uid], timeout=5000)
    assert db.sop_instance_uids(study.study_uid) == study.sop_uids
    assert panel.progress_bar.value() == panel.progress_bar.maximum()
    assert panel.status.text().startswith("Retrieved: C-GET: 3 instance(s)")
    assert panel.model.item(0, COLUMNS.index("Local")).text() == "complete"
    gets = clients[-1].gets
    panel.table.doubleClicked.emit(index)  # local and complete: opens at once
    assert activated == [study.study_uid, study.study_uid] and clients[-1].gets == gets


def test_series_list_and_series_retrieve(qtbot: Any, setup: Any) -> None:
    panel, clients = make_panel(qtbot, setup)
    search(qtbot, panel)
    assert not panel.series_button.isEnabled()
    panel.table.selectRow(0)
    panel.series_button.click()
    qtbot.waitUntil(lambda: not panel.is_busy() and panel.series_model.rowCount() == 2, timeout=5000)
    assert [panel.series_model.item(r, 3).text() for r in range(2)] == ["scout", "fill"]
    assert panel.status.text() == "2 series; select one to retrieve only it"
    panel.series_table.selectRow(1)
    assert panel.selected_series_uid() == "1.2.9.2"
    with qtbot.waitSignal(panel.studyRetrieved, timeout=10000):
        panel.retrieve_button.click()
    assert clients[-1].get_series == ["1.2.9.2"]
    assert panel.status.text().startswith("Retrieved:")


def test_cancel_keeps_partial_and_offers_retrieve_missing(qtbot: Any, setup: Any) -> None:
    _, db, study = setup
    panel, _ = make_panel(qtbot, setup, block=True)
    search(qtbot, panel)
    panel.table.selectRow(0)
    assert panel.retrieve_button.isEnabled() and not panel.cancel_button.isEnabled()
    panel.retrieve_button.click()
    qtbot.waitUntil(lambda: panel.cancel_button.isEnabled(), timeout=5000)
    with qtbot.waitSignal(panel.studyRetrieved, timeout=10000) as sig:
        panel.cancel_button.click()
    assert sig.args[1] == "cancelled"
    assert panel.status.text().startswith("Cancelled:")
    assert "color" in panel.status.styleSheet()
    assert len(db.sop_instance_uids(study.study_uid)) == 1
    assert panel.model.item(0, COLUMNS.index("Local")).text() == "incomplete"
    assert panel.missing_button.isEnabled()


def test_network_error_shown_in_words(qtbot: Any, setup: Any) -> None:
    panel, _ = make_panel(qtbot, setup, fail="cannot connect to ORTHANC@127.0.0.1:4242: connection refused")
    search(qtbot, panel)
    assert panel.status.text() == "cannot connect to ORTHANC@127.0.0.1:4242: connection refused"
    assert panel.model.rowCount() == 0


def test_no_node_configured(qtbot: Any, tmp_path: Path) -> None:
    with LocalDatabase(tmp_path / "d") as db:
        panel = PacsQueryPanel(tmp_path / "d", db)
        qtbot.addWidget(panel)
        assert not panel.search_button.isEnabled()
        assert "No PACS node configured" in panel.status.text()


def test_node_manager_validates_saves_and_echoes(qtbot: Any, data_dir: Path) -> None:
    results = {"fail": ""}
    study = dicomgen.make_study(series=1, per_series=1, size=8)
    dlg = NodeManagerDialog(
        data_dir, client_factory=lambda node, aet: ScriptedClient(node, study, fail=results["fail"])
    )
    qtbot.addWidget(dlg)
    dlg.name.setText("main pacs")
    dlg.ae_title.setText("A_VERY_LONG_AE_TITLE")
    dlg.host.setText("pacs.local")
    dlg.port.setValue(11112)
    assert dlg.apply_node() is False
    assert "node 'main pacs' ae_title" in dlg.message.text() and "longer than 16" in dlg.message.text()
    dlg.ae_title.setText("MAINPACS")
    assert dlg.apply_node() is True and dlg.node_list.count() == 1

    dlg.echo_button.click()
    qtbot.waitUntil(lambda: dlg.echo_button.isEnabled() and "ok" in dlg.message.text(), timeout=5000)
    results["fail"] = "MAINPACS@pacs.local:11112 rejected the association"
    dlg.echo_button.click()
    qtbot.waitUntil(
        lambda: "C-ECHO failed: MAINPACS@pacs.local:11112 rejected" in dlg.message.text(), timeout=5000
    )

    dlg.local_aet.setText("MYWS")
    with qtbot.waitSignal(dlg.nodesSaved, timeout=2000):
        assert dlg.save()
    cfg = load_nodes(data_dir)
    assert cfg.local.ae_title == "MYWS" and cfg.get("main pacs").ae_title == "MAINPACS"


def test_node_manager_listener_tls_fields_validated_and_saved(qtbot: Any, data_dir: Path) -> None:
    """The local listener's TLS (CA / certificate / key) is editable and checked by loading it as the listener
    would: missing files, a non-PEM CA and a key that does not belong to the certificate are refused by name."""
    pki = make_pki(data_dir / "pki")
    dlg = NodeManagerDialog(data_dir)
    qtbot.addWidget(dlg)
    dlg.name.setText("pacs")
    dlg.ae_title.setText("PACS")
    dlg.host.setText("127.0.0.1")
    assert dlg.apply_node()
    dlg.local_tls.setChecked(True)
    assert not dlg.save()
    assert "local TLS: the listener needs ca_file, cert_file, key_file" in dlg.message.text()
    dlg.local_ca.setText(str(pki.server_key))  # a key is not a CA certificate
    dlg.local_cert.setText(str(pki.server_cert))
    dlg.local_key.setText(str(pki.client_key))  # the wrong key for this certificate
    assert not dlg.save()
    assert "cannot load CA file" in dlg.message.text() and "server.key" in dlg.message.text()
    dlg.local_ca.setText(str(pki.ca))
    assert not dlg.save()
    assert "local: server TLS: cannot load certificate" in dlg.message.text()
    dlg.local_key.setText(str(pki.server_key))
    assert dlg.save(), dlg.message.text()
    tls = load_nodes(data_dir).local.tls
    assert tls.enabled and (tls.ca_file, tls.cert_file, tls.key_file) == tuple(
        str(p) for p in (pki.ca, pki.server_cert, pki.server_key)
    )
    again = NodeManagerDialog(data_dir)
    qtbot.addWidget(again)
    assert again.local_tls.isChecked() and again.local_cert.text() == str(pki.server_cert)
    assert again.local_ca.parentWidget().isEnabled()


def test_node_manager_remote_tls_key_mismatch_named(qtbot: Any, data_dir: Path) -> None:
    pki = make_pki(data_dir / "pki")
    dlg = NodeManagerDialog(data_dir)
    qtbot.addWidget(dlg)
    dlg.name.setText("secure")
    dlg.ae_title.setText("PACS")
    dlg.host.setText("127.0.0.1")
    dlg.tls.setChecked(True)
    dlg.ca_file.setText(str(pki.ca))
    dlg.cert_file.setText(str(pki.client_cert))
    dlg.key_file.setText(str(pki.server_key))
    assert not dlg.apply_node()
    assert "node 'secure': client TLS: cannot load certificate" in dlg.message.text()
    dlg.key_file.setText(str(pki.client_key))
    assert dlg.apply_node(), dlg.message.text()


def test_screenshot(qtbot: Any, setup: Any, tmp_path: Path) -> None:
    panel, _ = make_panel(qtbot, setup)
    panel.show()
    search(qtbot, panel)
    panel.table.selectRow(0)
    img = panel.grab()
    assert img.width() > 300
    assert img.save(str(tmp_path / "pacs-panel.png"))
    dlg = NodeManagerDialog(setup[0])
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.grab().save(str(tmp_path / "node-manager.png"))


def test_panel_does_not_impose_its_form_height_on_the_dock_group(qtbot: Any, setup: Any) -> None:
    """The query form is ~450 px tall; inside a scroll area the panel's minimum height stays small, so the study
    list it is tabbed with and the series thumbnails keep their room on small screens."""
    panel, _ = make_panel(qtbot, setup)
    assert panel.minimumSizeHint().height() < 200
    panel.resize(400, 250)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.search_button.isVisibleTo(panel)
