"""DICOM TLS against a real peer: a second Orthanc with DicomTlsEnabled and client certificates required.

Orthanc presents one certificate both as a server and, for C-MOVE sub-associations to our storage SCP, as a
client: the test PKI's ``peer`` certificate carries both extended key usages (a serverAuth-only certificate is
refused by our listener, which checks the client purpose).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.client import DicomClient, retrieve_by_move
from hsg_workstation.pacs.nodes import LocalNode, RemoteNode, TlsSettings
from hsg_workstation.pacs.types import StudyQuery, Timeouts
from tests.integration import dicomgen
from tests.integration.certs import Pki, make_pki
from tests.integration.conftest import OUR_AET, store_consistent
from tests.integration.orthanc import Orthanc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

OUR_TLS_SCP_PORT = 11114  # the TLS C-MOVE destination this Orthanc knows
T = Timeouts(connect=3, acse=5, dimse=15, network=30, stall=15, cancel_grace=5)


class TlsOrthanc(Orthanc):
    def __init__(self, workdir: Path, pki: Pki) -> None:
        modalities = {
            "hsgtls": {"AET": OUR_AET, "Host": "127.0.0.1", "Port": OUR_TLS_SCP_PORT, "UseDicomTls": True}
        }
        super().__init__(workdir, dicom_port=14243, http_port=18043, modalities=modalities)  # type: ignore[arg-type]
        self.pki = pki

    def config(self) -> dict:  # type: ignore[type-arg]
        cfg = super().config()
        cfg.update(
            {
                "DicomTlsEnabled": True,
                "DicomTlsCertificate": str(self.pki.peer_cert),
                "DicomTlsPrivateKey": str(self.pki.peer_key),
                "DicomTlsTrustedCertificates": str(self.pki.ca),
                "DicomTlsRemoteCertificateRequired": True,
            }
        )
        return cfg


@pytest.fixture(scope="module")
def tls_orthanc(private_network: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsOrthanc]:
    pki = make_pki(tmp_path_factory.mktemp("orthanc-pki"))
    server = TlsOrthanc(tmp_path_factory.mktemp("orthanc-tls"), pki)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def client(o: TlsOrthanc, tls: TlsSettings) -> DicomClient:
    return DicomClient(RemoteNode("tls-orthanc", o.aet, "127.0.0.1", o.dicom_port, tls), OUR_AET, T)


def test_find_and_get_over_tls_with_orthanc(tls_orthanc: TlsOrthanc, data_dir: Path) -> None:
    p = tls_orthanc.pki
    study = dicomgen.make_study(series=1, per_series=2, patient_name="TLS^ORTHANC")
    for data in study.encoded():
        tls_orthanc.upload(data)
    c = client(tls_orthanc, TlsSettings(True, str(p.ca), str(p.client_cert), str(p.client_key)))
    assert c.echo() < 5
    (match,) = c.find_studies(StudyQuery(patient_name="TLS*")).matches
    assert match.study_instance_uid == study.study_uid
    with LocalDatabase(data_dir) as db:
        assert c.get(study.study_uid, db).status == "complete"
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids


def test_orthanc_refuses_client_without_certificate(tls_orthanc: TlsOrthanc) -> None:
    p = tls_orthanc.pki
    with pytest.raises(
        PacsError, match=r"TLS handshake with ORTHANC@127.0.0.1:14243 \(TLS\) failed.*certificate"
    ):
        client(tls_orthanc, TlsSettings(True, str(p.ca))).echo()


def test_orthanc_refuses_rogue_client_certificate(tls_orthanc: TlsOrthanc) -> None:
    p = tls_orthanc.pki
    rogue = TlsSettings(True, str(p.ca), str(p.rogue_client_cert), str(p.rogue_client_key))
    with pytest.raises(
        PacsError, match=r"TLS handshake with ORTHANC@127.0.0.1:14243 \(TLS\) failed.*unknown ca"
    ):
        client(tls_orthanc, rogue).echo()


def test_plain_client_cannot_talk_to_tls_orthanc(tls_orthanc: TlsOrthanc) -> None:
    with pytest.raises(PacsError, match=r"ORTHANC@127.0.0.1:14243 closed .* enable TLS for this node"):
        client(tls_orthanc, TlsSettings()).echo()


def test_client_refuses_orthanc_it_cannot_verify(tls_orthanc: TlsOrthanc) -> None:
    p = tls_orthanc.pki
    wrong_ca = TlsSettings(True, str(p.rogue_ca), str(p.client_cert), str(p.client_key))
    with pytest.raises(PacsError, match=r"TLS handshake .* failed.*CERTIFICATE_VERIFY_FAILED"):
        client(tls_orthanc, wrong_ca).echo()


def tls_listener(p: Pki, ca: Path) -> LocalNode:
    """Our C-MOVE destination with TLS on: our server certificate, clients verified against ``ca``."""
    return LocalNode(
        ae_title=OUR_AET,
        port=OUR_TLS_SCP_PORT,
        bind_address="127.0.0.1",
        tls=TlsSettings(True, str(ca), str(p.server_cert), str(p.server_key)),
    )


def test_cmove_over_tls_into_our_tls_listener(tls_orthanc: TlsOrthanc, data_dir: Path) -> None:
    """Both legs encrypted: our C-MOVE request to Orthanc, and Orthanc's C-STORE sub-association to our SCP."""
    p = tls_orthanc.pki
    study = dicomgen.make_study(series=2, per_series=2, patient_name="TLS^MOVE")
    for data in study.encoded():
        tls_orthanc.upload(data)
    c = client(tls_orthanc, TlsSettings(True, str(p.ca), str(p.client_cert), str(p.client_key)))
    with LocalDatabase(data_dir) as db:
        result = retrieve_by_move(c, study.study_uid, db, tls_listener(p, p.ca))
        assert result.status == "complete", result.message
        assert result.progress.received == 4
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids
    assert store_consistent(data_dir) == []


def test_cmove_refused_by_our_listener_when_orthanc_certificate_is_not_trusted(
    tls_orthanc: TlsOrthanc, data_dir: Path
) -> None:
    """Our listener trusts only the rogue CA: Orthanc's sub-association fails the handshake, nothing is
    stored, and the move ends as a failure that says so instead of hanging."""
    p = tls_orthanc.pki
    study = dicomgen.make_study(series=1, per_series=2, patient_name="TLS^UNTRUSTED")
    for data in study.encoded():
        tls_orthanc.upload(data)
    c = client(tls_orthanc, TlsSettings(True, str(p.ca), str(p.client_cert), str(p.client_key)))
    with LocalDatabase(data_dir) as db:
        result = retrieve_by_move(c, study.study_uid, db, tls_listener(p, p.rogue_ca))
        assert result.status == "failed", result.message
        assert "ORTHANC@127.0.0.1:14243 (TLS) could not deliver to our storage SCP HSGVIEW" in result.message
        assert "TLS (with a certificate our CA trusts)" in result.message
        assert result.progress.received == 0
        assert db.sop_instance_uids(study.study_uid) == set()
    assert store_consistent(data_dir) == []
