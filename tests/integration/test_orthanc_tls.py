"""DICOM TLS against a real peer: a second Orthanc with DicomTlsEnabled and client certificates required."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.nodes import RemoteNode, TlsSettings
from hsg_workstation.dicom_io.pacs import DicomClient
from hsg_workstation.dicom_io.pacs_types import StudyQuery, Timeouts
from hsg_workstation.errors import PacsError
from tests.integration import dicomgen
from tests.integration.certs import Pki, make_pki
from tests.integration.conftest import OUR_AET
from tests.integration.orthanc import Orthanc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T = Timeouts(connect=3, acse=5, dimse=15, network=30, stall=15, cancel_grace=5)


class TlsOrthanc(Orthanc):
    def __init__(self, workdir: Path, pki: Pki) -> None:
        super().__init__(workdir, dicom_port=14243, http_port=18043, modalities={})
        self.pki = pki

    def config(self) -> dict:  # type: ignore[type-arg]
        cfg = super().config()
        cfg.update(
            {
                "DicomTlsEnabled": True,
                "DicomTlsCertificate": str(self.pki.server_cert),
                "DicomTlsPrivateKey": str(self.pki.server_key),
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
