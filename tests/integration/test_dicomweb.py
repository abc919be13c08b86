"""The DICOMweb client against the real Orthanc DICOMweb plugin (HTTP basic auth on), and against small
misbehaving HTTP servers for the faults a real archive does not produce on demand (closing mid-multipart,
answering too slowly)."""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.dicomweb import DicomWebClient
from hsg_workstation.pacs.multipart import MultipartError, iter_parts
from hsg_workstation.pacs.nodes import DicomWebNode
from hsg_workstation.pacs.types import StudyQuery, Timeouts
from tests.integration import dicomgen
from tests.integration.conftest import store_consistent
from tests.integration.orthanc import Orthanc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

WEB_DICOM_PORT = 14244
WEB_HTTP_PORT = 18044
USER, PASSWORD = "hsg", "s3cret-pw"
FAST = Timeouts(connect=3, acse=5, dimse=4, network=10, stall=10, cancel_grace=3)


@pytest.fixture(scope="module")
def orthanc_web(private_network: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    workdir = tmp_path_factory.mktemp("orthanc-web")
    server = Orthanc(
        workdir,
        dicom_port=WEB_DICOM_PORT,
        http_port=WEB_HTTP_PORT,
        modalities={},
        extra_config={
            "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
            "AuthenticationEnabled": True,
            "RegisteredUsers": {USER: PASSWORD},
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        },
        credentials=(USER, PASSWORD),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def web(orthanc_web: Orthanc) -> Orthanc:
    orthanc_web.delete_all()
    return orthanc_web


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path


def web_node(password_file: Path, *, password: Path | None = None) -> DicomWebNode:
    return DicomWebNode(
        name="orthanc-web",
        base_url=f"http://127.0.0.1:{WEB_HTTP_PORT}/dicom-web",
        auth="basic",
        username=USER,
        password_file=str(password or password_file),
    )


def upload(pacs: Orthanc, study: dicomgen.Study) -> list[bytes]:
    encoded = list(study.encoded())
    for data in encoded:
        pacs.upload(data)
    return encoded


def test_qido_search_filters_and_paging(web: Orthanc, password_file: Path) -> None:
    studies = [
        dicomgen.make_study(
            series=1,
            per_series=1,
            patient_name=f"DOE^JANE{i}",
            patient_id=f"P{i}",
            study_date=f"202401{10 + i}",
            accession=f"A{i}",
        )
        for i in range(5)
    ]
    other = dicomgen.make_study(series=1, per_series=1, patient_name="ROE^ANN", study_date="20230101")
    for s in (*studies, other):
        upload(web, s)
    client = DicomWebClient(web_node(password_file), FAST)
    assert client.echo() < 5
    # paging: 5 matches read two at a time, every study once
    result = client.find_studies(StudyQuery(patient_name="DOE*"), page_size=2)
    assert sorted(m.study_instance_uid for m in result.matches) == sorted(s.study_uid for s in studies)
    assert not result.truncated
    assert {m.patient_name for m in result.matches} == {f"DOE^JANE{i}" for i in range(5)}
    # date range and max_results behave as C-FIND's do
    ranged = client.find_studies(StudyQuery(study_date="20240111-20240113"))
    assert sorted(m.patient_id for m in ranged.matches) == ["P1", "P2", "P3"]
    capped = client.find_studies(StudyQuery(patient_name="DOE*"), max_results=3, page_size=2)
    assert len(capped.matches) == 3 and capped.truncated
    series = client.find_series(studies[0].study_uid)
    assert len(series) == 1 and series[0].modality == "RF"


def test_wado_retrieves_the_archive_bytes_into_the_database(
    web: Orthanc, password_file: Path, tmp_path: Path
) -> None:
    study = dicomgen.make_study(series=2, per_series=3, size=128)
    sent = upload(web, study)
    client = DicomWebClient(web_node(password_file), FAST)
    data_dir = tmp_path / "data"
    seen: list[int] = []
    with LocalDatabase(data_dir) as db:
        result = client.get(study.study_uid, db, progress=lambda p: seen.append(p.completed))
        assert result.status == "complete", result.message
        assert db.sop_instance_uids(study.study_uid) == {ds.SOPInstanceUID for ds in study.datasets}
        assert db.study(study.study_uid).complete is True
        stored = {p.read_bytes() for p in (data_dir / "store").rglob("*.dcm")}
    assert stored == set(sent)  # byte for byte what the archive holds: nothing decoded and re-encoded
    assert seen == sorted(seen) and seen[-1] == 6
    assert store_consistent(data_dir) == []


def test_retrieve_missing_only_fetches_what_is_not_here(
    web: Orthanc, password_file: Path, tmp_path: Path
) -> None:
    study = dicomgen.make_study(series=2, per_series=3)
    upload(web, study)
    client = DicomWebClient(web_node(password_file), FAST)
    first_series = study.datasets[0].SeriesInstanceUID
    with LocalDatabase(tmp_path / "data") as db:
        part = client.get(study.study_uid, db, series_uid=first_series)
        assert part.status == "complete" and len(part.received_sop_instance_uids) == 3
        assert db.study(study.study_uid).complete is not True
        again = client.get_missing(study.study_uid, db)
        assert again.status == "complete", again.message
        assert len(again.received_sop_instance_uids) == 3  # only the other series
        assert len(db.sop_instance_uids(study.study_uid)) == 6
        assert db.study(study.study_uid).complete is True
        nothing = client.get_missing(study.study_uid, db)
        assert nothing.status == "complete" and "nothing missing" in nothing.message


def test_stow_sends_files_as_stored(web: Orthanc, password_file: Path, tmp_path: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=3)
    paths = study.write(tmp_path / "out")
    bad = tmp_path / "out" / "not-dicom.dcm"
    bad.write_text("hello")
    client = DicomWebClient(web_node(password_file), FAST)
    outcomes = client.send([*paths, bad])
    assert [o.ok for o in outcomes[:3]] == [True, True, True]
    assert not outcomes[3].ok and "not a readable DICOM file" in outcomes[3].message
    assert web.find_study_sop_uids(study.study_uid) == {ds.SOPInstanceUID for ds in study.datasets}


def test_wrong_password_is_a_clear_401(web: Orthanc, password_file: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    client = DicomWebClient(web_node(password_file, password=wrong), FAST)
    with pytest.raises(PacsError, match=r"HTTP 401: the server refused the credentials"):
        client.echo()
    result = client.get("1.2.3.4", LocalDatabase(tmp_path / "d"))
    assert result.status == "failed" and "401" in result.message


def test_unknown_study_is_a_clear_failure(web: Orthanc, password_file: Path, tmp_path: Path) -> None:
    client = DicomWebClient(web_node(password_file), FAST)
    with LocalDatabase(tmp_path / "data") as db:
        result = client.get("1.2.826.0.1.3680043.99.1", db)
    assert result.status == "failed"
    assert "holds no instance of study 1.2.826.0.1.3680043.99.1" in result.message
    assert not (tmp_path / "data" / "store").exists() or not list(
        (tmp_path / "data" / "store").rglob("*.dcm")
    )


def test_cli_find_get_send_over_dicomweb(web: Orthanc, password_file: Path, tmp_path: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=2, patient_name="CLI^WEB")
    upload(web, study)
    base = [sys.executable, "-m", "hsg_workstation", "--data-dir", str(tmp_path / "data"), "pacs"]
    auth = [
        "--dicomweb",
        f"http://127.0.0.1:{WEB_HTTP_PORT}/dicom-web",
        "--user",
        USER,
        "--password-file",
        str(password_file),
    ]
    found = subprocess.run(
        [*base, "find", *auth, "--patient-name", "CLI*", "--json"], capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0, found.stderr
    matches = json.loads(found.stdout)["matches"]
    assert [m["study_instance_uid"] for m in matches] == [study.study_uid]
    got = subprocess.run(
        [*base, "get", *auth, study.study_uid, "--json"], capture_output=True, text=True, timeout=60
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["status"] == "complete"
    wrong = tmp_path / "wrong"
    wrong.write_text("nope")
    denied = subprocess.run(
        [*base, "echo", *auth[:4], "--password-file", str(wrong)], capture_output=True, text=True, timeout=60
    )
    assert denied.returncode == 1 and "HTTP 401" in denied.stderr and "Traceback" not in denied.stderr


# -- faults a real archive does not produce on demand ----------------------------------------------------


class _FaultyArchive(http.server.BaseHTTPRequestHandler):
    """QIDO lists three instances; WADO sends one whole part, half of the second, then closes (``mode=cut``)
    or sleeps past the client's timeout before answering (``mode=slow``)."""

    parts: list[bytes] = []
    listing: list[dict] = []
    mode = "cut"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if "/instances" in self.path and "/series/" not in self.path:
            body = json.dumps(self.listing).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/dicom+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.mode == "slow":
            time.sleep(8)  # the client has given up by now; writing may meet a closed socket
            return
        if self.mode == "drip":  # every part, one every 0.5 s, then the closing delimiter
            self.send_response(200)
            self.send_header("Content-Type", 'multipart/related; type="application/dicom"; boundary=BOUND')
            self.end_headers()
            try:
                for part in self.parts:
                    self.wfile.write(b"--BOUND\r\nContent-Type: application/dicom\r\n\r\n" + part + b"\r\n")
                    self.wfile.flush()
                    time.sleep(0.5)
                self.wfile.write(b"--BOUND--\r\n")
            except OSError:  # the client cancelled and closed the connection
                pass
            return
        self.send_response(200)
        self.send_header("Content-Type", 'multipart/related; type="application/dicom"; boundary=BOUND')
        self.end_headers()
        first, second = self.parts[0], self.parts[1]
        self.wfile.write(b"--BOUND\r\nContent-Type: application/dicom\r\n\r\n" + first + b"\r\n")
        self.wfile.write(b"--BOUND\r\nContent-Type: application/dicom\r\n\r\n" + second[: len(second) // 2])
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)


def _faulty_server(study: dicomgen.Study, mode: str) -> tuple[http.server.HTTPServer, str]:
    encoded = list(study.encoded())
    handler = type(
        "Handler",
        (_FaultyArchive,),
        {
            "parts": encoded,
            "mode": mode,
            "listing": [
                {
                    "0020000E": {"vr": "UI", "Value": [ds.SeriesInstanceUID]},
                    "00080018": {"vr": "UI", "Value": [ds.SOPInstanceUID]},
                }
                for ds in study.datasets
            ],
        },
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/dicom-web"


def test_connection_closed_mid_multipart_keeps_whole_instances_only(tmp_path: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=3, size=128)
    server, url = _faulty_server(study, "cut")
    try:
        client = DicomWebClient(DicomWebNode(name="faulty", base_url=url), FAST)
        data_dir = tmp_path / "data"
        with LocalDatabase(data_dir) as db:
            result = client.get(study.study_uid, db)
            assert result.status == "partial"
            assert "retrieved 1 of 3" in result.message and "closed mid-transfer" in result.message
            assert db.sop_instance_uids(study.study_uid) == {study.datasets[0].SOPInstanceUID}
            assert db.study(study.study_uid).complete is False
        assert store_consistent(data_dir) == []  # no .part file, nothing unindexed
    finally:
        server.shutdown()


def test_cancel_stops_the_retrieval_and_keeps_what_arrived(tmp_path: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=5, size=64)
    server, url = _faulty_server(study, "drip")
    try:
        client = DicomWebClient(DicomWebNode(name="drip", base_url=url), FAST)
        cancel = threading.Event()
        data_dir = tmp_path / "data"
        with LocalDatabase(data_dir) as db:
            result = client.get(
                study.study_uid,
                db,
                progress=lambda p: cancel.set() if p.received >= 1 else None,
                cancel=cancel,
            )
            assert result.status == "cancelled", result.message
            kept = db.sop_instance_uids(study.study_uid)
            assert 1 <= len(kept) < 5 and db.study(study.study_uid).complete is False
        assert store_consistent(data_dir) == []
    finally:
        server.shutdown()


def test_slow_server_past_the_timeout_is_a_clear_failure(tmp_path: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=2)
    server, url = _faulty_server(study, "slow")
    try:
        client = DicomWebClient(DicomWebNode(name="slow", base_url=url), FAST)
        t0 = time.monotonic()
        with LocalDatabase(tmp_path / "data") as db:
            result = client.get(study.study_uid, db)
            assert db.sop_instance_uids(study.study_uid) == set()
        assert time.monotonic() - t0 < 8
        assert result.status == "failed" and f"no answer within {FAST.dimse:g} s" in result.message
    finally:
        server.shutdown()


def test_multipart_reader_splits_parts_across_any_chunking() -> None:
    parts = [b"A" * 10, b"", b"\r\n--BOUNDARX" * 3, bytes(range(256)) * 50]
    body = (
        b"preamble\r\n"
        + b"".join(b"--BOUND\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in parts)
        + b"--BOUND--\r\n"
    )
    for size in (1, 2, 3, 7, 64, 1000, len(body)):
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        assert list(iter_parts(chunks, b"BOUND", max_part_bytes=1 << 20)) == parts
    with pytest.raises(MultipartError, match="closed mid-transfer"):
        list(iter_parts([body[:-30]], b"BOUND", max_part_bytes=1 << 20))
    with pytest.raises(MultipartError, match="larger than"):
        list(iter_parts([body], b"BOUND", max_part_bytes=100))


def test_panel_worklist_over_dicomweb_marks_local_and_reported_and_retrieves(
    qtbot: Any, web: Orthanc, password_file: Path, tmp_path: Path
) -> None:
    """The PACS panel with a DICOMweb node: the HSG worklist button (a real click) lists this week's RF
    studies; one is already here with a draft report, the other is retrieved by a double-click over WADO-RS."""
    import datetime as dt

    from PySide6.QtCore import Qt

    from hsg_workstation.pacs.nodes import NodeConfig, save_nodes
    from hsg_workstation.ui.pacs_panel import COLUMNS, PacsQueryPanel

    today = dt.date.today().strftime("%Y%m%d")
    here = dicomgen.make_study(series=1, per_series=2, patient_name="WORK^HERE", study_date=today, size=32)
    there = dicomgen.make_study(series=1, per_series=3, patient_name="WORK^THERE", study_date=today, size=32)
    old = dicomgen.make_study(series=1, per_series=1, patient_name="WORK^OLD", study_date="20200101", size=32)
    for s in (here, there, old):
        upload(web, s)
    data_dir = tmp_path / "data"
    save_nodes(data_dir, NodeConfig().with_web_node(web_node(password_file)))
    with LocalDatabase(data_dir) as db:
        for data in here.encoded():
            db.add_encoded(data)
        panel = PacsQueryPanel(data_dir, db)
        qtbot.addWidget(panel)
        assert panel.node_combo.currentText() == "orthanc-web" and not panel.method_combo.isVisibleTo(panel)
        qtbot.mouseClick(panel.worklist_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not panel.is_busy() and panel.model.rowCount() == 2, timeout=20000)
        rows = {
            panel.model.item(r, 0).text(): (
                panel.model.item(r, COLUMNS.index("Local")).text(),
                panel.model.item(r, COLUMNS.index("Report here")).text(),
            )
            for r in range(panel.model.rowCount())
        }
        assert rows == {"WORK HERE": ("complete", "none"), "WORK THERE": ("—", "")}
        row = next(r for r in range(panel.proxy.rowCount()) if panel.proxy.index(r, 0).data() == "WORK THERE")
        events: list[tuple[str, str]] = []
        panel.studyActivated.connect(lambda uid: events.append(("opened", uid)))
        panel.studyRetrieved.connect(lambda uid, status: events.append((status, uid)))
        with qtbot.waitSignal(panel.studyRetrieved, timeout=30000) as sig:
            panel.table.doubleClicked.emit(panel.proxy.index(row, 0))
        assert sig.args == [there.study_uid, "complete"], panel.status.text()
        # opened on its first instance, before the retrieval ended; opened once
        assert events == [("opened", there.study_uid), ("complete", there.study_uid)]
        assert db.sop_instance_uids(there.study_uid) == {ds.SOPInstanceUID for ds in there.datasets}
        assert "WADO-RS" in panel.status.text() or "Retrieved" in panel.status.text()


def test_node_manager_adds_tests_and_saves_a_dicomweb_node(
    qtbot: Any, web: Orthanc, password_file: Path, tmp_path: Path
) -> None:
    """Typed into the node manager's DICOMweb section: a bad URL is refused naming it; a good node is tested with
    one QIDO-RS search against Orthanc and saved into nodes.json beside the DIMSE nodes (no password in it)."""
    from PySide6.QtCore import Qt

    from hsg_workstation.pacs.nodes import load_nodes
    from hsg_workstation.ui.node_manager import NodeManagerDialog

    data_dir = tmp_path / "data"
    dlg = NodeManagerDialog(data_dir)
    qtbot.addWidget(dlg)
    box = dlg.web_box
    qtbot.keyClicks(box.name, "archive")
    qtbot.keyClicks(box.url, "ftp://nowhere")
    qtbot.mouseClick(box.apply_button, Qt.MouseButton.LeftButton)
    assert "base URL 'ftp://nowhere' must start with http:// or https://" in dlg.message.text()
    box.url.clear()
    qtbot.keyClicks(box.url, f"http://127.0.0.1:{WEB_HTTP_PORT}/dicom-web")
    box.auth.setCurrentText("basic")
    qtbot.keyClicks(box.user, USER)
    qtbot.keyClicks(box.password_file, str(password_file))
    qtbot.mouseClick(box.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.test_running() and "answers" in dlg.message.text(), timeout=20000)
    qtbot.mouseClick(box.apply_button, Qt.MouseButton.LeftButton)
    assert dlg.save()
    saved = load_nodes(data_dir)
    assert [n.name for n in saved.web_nodes] == ["archive"] and saved.web_nodes[0].auth == "basic"
    assert PASSWORD not in (data_dir / "nodes.json").read_text()
    # the other fields round-trip through the form too (a client certificate that does not exist is named)
    qtbot.keyClicks(box.wado_prefix, "wado")
    qtbot.keyClicks(box.client_cert, str(tmp_path / "missing.pem"))
    qtbot.mouseClick(box.apply_button, Qt.MouseButton.LeftButton)
    assert "client_cert" in dlg.message.text() and "does not exist" in dlg.message.text()
    box.client_cert.clear()
    qtbot.mouseClick(box.apply_button, Qt.MouseButton.LeftButton)
    assert dlg.save() and load_nodes(data_dir).web_nodes[0].wado_prefix == "wado"
