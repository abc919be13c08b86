"""DICOM TLS with certificates generated in the test: echo, send, find and C-GET over TLS; wrong certs refused."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.client import DicomClient
from hsg_workstation.pacs.nodes import LocalNode, RemoteNode, TlsSettings
from hsg_workstation.pacs.scp import StorageSCP
from hsg_workstation.pacs.tls import server_context
from hsg_workstation.pacs.types import StudyQuery, Timeouts
from tests.integration import dicomgen
from tests.integration.certs import Pki, make_pki, refused
from tests.integration.fake_qr import FAKE_AET, FakeQR, study_match

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

T = Timeouts(connect=3, acse=3, dimse=5, network=10, stall=5, cancel_grace=2)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def client_tls(pki: Pki) -> TlsSettings:
    return TlsSettings(True, str(pki.ca), str(pki.client_cert), str(pki.client_key))


@pytest.fixture
def tls_scp(pki: Pki, data_dir: Path) -> Any:
    local = LocalNode(
        ae_title="HSGTLS",
        port=0,
        bind_address="127.0.0.1",
        tls=TlsSettings(True, str(pki.ca), str(pki.server_cert), str(pki.server_key)),
    )
    db = LocalDatabase(data_dir)
    with StorageSCP(local, db, allowed_calling_aes={"SENDER"}, timeouts=T) as scp:
        yield scp, db
    db.close()


def node(port: int, tls: TlsSettings, ae: str = "HSGTLS") -> RemoteNode:
    return RemoteNode("tls", ae, "127.0.0.1", port, tls)


def test_echo_and_send_over_tls(pki: Pki, tls_scp: Any, tmp_path: Path) -> None:
    scp, db = tls_scp
    client = DicomClient(node(scp.port, client_tls(pki)), "SENDER", T)
    assert client.echo() < 5
    study = dicomgen.make_study(series=1, per_series=2)
    outcomes = client.send(study.write(tmp_path / "f"))
    assert all(o.ok for o in outcomes), outcomes
    assert db.sop_instance_uids(study.study_uid) == study.sop_uids


def test_silent_tcp_client_does_not_block_the_tls_listener(pki: Pki, tls_scp: Any, tmp_path: Path) -> None:
    """A client that connects and never starts TLS (port scanner, health check) used to freeze the listener:
    pynetdicom did the handshake in its accept thread. Now other senders are served meanwhile."""
    scp, db = tls_scp
    with (
        socket.create_connection(("127.0.0.1", scp.port), timeout=5),
        socket.create_connection(("127.0.0.1", scp.port), timeout=5),
    ):
        client = DicomClient(node(scp.port, client_tls(pki)), "SENDER", T)
        assert client.echo() < 3
        study = dicomgen.make_study(series=1, per_series=1)
        assert all(o.ok for o in client.send(study.write(tmp_path / "f")))
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids


def test_client_without_certificate_is_refused(pki: Pki, tls_scp: Any) -> None:
    scp, _db = tls_scp
    no_cert = TlsSettings(True, str(pki.ca))
    with pytest.raises(PacsError, match=refused(f"HSGTLS@127.0.0.1:{scp.port}", "certificate")):
        DicomClient(node(scp.port, no_cert), "SENDER", T).echo()


def test_client_with_certificate_from_another_ca_is_refused(pki: Pki, tls_scp: Any) -> None:
    scp, _db = tls_scp
    rogue = TlsSettings(True, str(pki.ca), str(pki.rogue_client_cert), str(pki.rogue_client_key))
    with pytest.raises(PacsError, match=refused(f"HSGTLS@127.0.0.1:{scp.port}", "unknown ca")):
        DicomClient(node(scp.port, rogue), "SENDER", T).echo()


def test_client_refuses_server_it_cannot_verify(pki: Pki, tls_scp: Any) -> None:
    scp, _db = tls_scp
    wrong_ca = TlsSettings(True, str(pki.rogue_ca), str(pki.client_cert), str(pki.client_key))
    with pytest.raises(PacsError, match="TLS handshake with HSGTLS@127.0.0.1:[0-9]+ \\(TLS\\) failed"):
        DicomClient(node(scp.port, wrong_ca), "SENDER", T).echo()


def test_plain_client_against_tls_listener_fails_clearly(tls_scp: Any) -> None:
    scp, _db = tls_scp
    with pytest.raises(PacsError, match="HSGTLS@127.0.0.1"):
        DicomClient(node(scp.port, TlsSettings()), "SENDER", T).echo()


def test_find_and_cget_over_tls(pki: Pki, data_dir: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=2)

    def handle_find(event: Any) -> Any:
        yield 0xFF00, study_match(study.study_uid)

    def handle_get(event: Any) -> Any:
        yield len(study.datasets)
        for ds in study.datasets:
            yield 0xFF00, ds

    ctx = server_context(TlsSettings(True, str(pki.ca), str(pki.server_cert), str(pki.server_key)))
    with (
        FakeQR(find=handle_find, get=handle_get, ssl_context=ctx) as qr,
        LocalDatabase(data_dir / "db") as db,
    ):
        client = DicomClient(node(qr.port, client_tls(pki), FAKE_AET), "HSGVIEW", T)
        (match,) = client.find_studies(StudyQuery()).matches
        assert match.study_instance_uid == study.study_uid
        result = client.get(study.study_uid, db)
        assert result.status == "complete", result.message
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids
