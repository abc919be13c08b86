"""DCMTK as the other side: storescu pushes to our storage SCP; findscu / getscu agree with our client."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.client import DicomClient
from hsg_workstation.pacs.nodes import LocalNode, NodeConfig, RemoteNode, save_nodes
from hsg_workstation.pacs.scp import StorageSCP, listener_from_config
from hsg_workstation.pacs.types import StudyQuery, Timeouts
from tests.integration import dicomgen
from tests.integration.conftest import OUR_AET, store_consistent
from tests.integration.orthanc import Orthanc, which

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T = Timeouts(connect=3, acse=5, dimse=15, network=30, stall=15, cancel_grace=5)


def run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([which(cmd[0]), *cmd[1:]], capture_output=True, text=True, timeout=60, cwd=cwd)


@pytest.fixture
def scp(data_dir: Path):  # type: ignore[no-untyped-def]
    db = LocalDatabase(data_dir)
    local = LocalNode(ae_title=OUR_AET, port=0, bind_address="127.0.0.1")
    received: list[tuple[str, str, str]] = []
    server = StorageSCP(
        local, db, allowed_calling_aes={"MODALITY"}, timeouts=T, on_instance=lambda *a: received.append(a)
    )
    server.start()
    yield server, db, received
    server.stop()
    db.close()


def test_storescu_pushes_into_our_scp(scp, tmp_path: Path, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    server, db, received = scp
    study = dicomgen.make_study(series=2, per_series=2)
    files = study.write(tmp_path / "push")
    proc = run(
        ["storescu", "-aet", "MODALITY", "-aec", OUR_AET, "127.0.0.1", str(server.port), *map(str, files)]
    )
    assert proc.returncode == 0, proc.stderr
    assert db.sop_instance_uids(study.study_uid) == study.sop_uids
    assert {r[0] for r in received} == {"MODALITY"} and {r[2] for r in received} == {"imported"}
    again = run(
        ["storescu", "-aet", "MODALITY", "-aec", OUR_AET, "127.0.0.1", str(server.port), str(files[0])]
    )
    assert again.returncode == 0 and received[-1][2] == "duplicate"
    assert store_consistent(data_dir) == []


def test_unknown_calling_ae_is_refused(scp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, db, _ = scp
    study = dicomgen.make_study(series=1, per_series=1)
    files = study.write(tmp_path / "push")
    proc = run(
        ["storescu", "-aet", "STRANGER", "-aec", OUR_AET, "127.0.0.1", str(server.port), str(files[0])]
    )
    assert proc.returncode != 0
    assert "Association Rejected" in proc.stderr and "Calling AE Title Not Recognized" in proc.stderr
    assert db.sop_instance_uids(study.study_uid) == set()


def test_allow_any_accepts_unknown_calling_ae(data_dir: Path, tmp_path: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=1)
    files = study.write(tmp_path / "push")
    with LocalDatabase(data_dir) as db:
        local = LocalNode(ae_title=OUR_AET, port=0, bind_address="127.0.0.1", allow_any_calling_ae=True)
        with StorageSCP(local, db, timeouts=T) as server:
            proc = run(
                [
                    "storescu",
                    "-aet",
                    "STRANGER",
                    "-aec",
                    OUR_AET,
                    "127.0.0.1",
                    str(server.port),
                    str(files[0]),
                ]
            )
        assert proc.returncode == 0, proc.stderr
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids


def test_unsupported_sop_class_is_refused(scp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, db, _ = scp
    ct = dicomgen.make_study(series=1, per_series=1, sop_class=dicomgen.CT, modality="CT")
    (path,) = ct.write(tmp_path / "ct")
    proc = run(["storescu", "-aet", "MODALITY", "-aec", OUR_AET, "127.0.0.1", str(server.port), str(path)])
    assert proc.returncode != 0
    assert (
        "no presentation context" in proc.stderr.lower()
        or "no acceptable presentation contexts" in proc.stderr.lower()
    )
    assert db.sop_instance_uids(ct.study_uid) == set()
    # Our own client reports the same refusal per instance, in words.
    client = DicomClient(RemoteNode("us", OUR_AET, "127.0.0.1", server.port), "MODALITY", T)
    with pytest.raises(PacsError, match="accepted none of the proposed presentation contexts"):
        client.send([path])


def test_listener_from_config(data_dir: Path, tmp_path: Path) -> None:
    with LocalDatabase(data_dir) as db:
        assert listener_from_config(data_dir, db) is None  # default: listener off
        cfg = NodeConfig(local=LocalNode(OUR_AET, 11131, bind_address="127.0.0.1", listener_enabled=True))
        save_nodes(data_dir, cfg.with_node(RemoteNode("modality", "MODALITY", "127.0.0.1", 104)))
        server = listener_from_config(data_dir, db)
        assert server is not None and server.port == 11131
        try:
            study = dicomgen.make_study(series=1, per_series=1)
            files = study.write(tmp_path / "push")
            ok = run(["storescu", "-aet", "MODALITY", "-aec", OUR_AET, "127.0.0.1", "11131", str(files[0])])
            refused = run(["storescu", "-aet", "OTHER", "-aec", OUR_AET, "127.0.0.1", "11131", str(files[0])])
        finally:
            server.stop()
        assert ok.returncode == 0 and refused.returncode != 0
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids


def test_scp_stops_cleanly(data_dir: Path) -> None:
    with LocalDatabase(data_dir) as db:
        server = StorageSCP(LocalNode(ae_title=OUR_AET, port=0, bind_address="127.0.0.1"), db, allow_any=True)
        server.start()
        port = server.port
        assert DicomClient(RemoteNode("us", OUR_AET, "127.0.0.1", port), "X", T).echo() < 5
        server.stop()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_findscu_agrees_with_our_cfind(orthanc: Orthanc, tmp_path: Path) -> None:
    orthanc.delete_all()
    studies = [
        dicomgen.make_study(series=1, per_series=1, patient_name=f"DCM^{i}", size=16) for i in range(3)
    ]
    other = dicomgen.make_study(series=1, per_series=1, patient_name="OTHER^X", size=16)
    for s in [*studies, other]:
        for data in s.encoded():
            orthanc.upload(data)
    out = tmp_path / "rsp"
    out.mkdir()
    proc = run(
        ["findscu", "-S", "-aet", OUR_AET, "-aec", orthanc.aet, "-X", "--output-directory", str(out),
         "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName=DCM*", "-k", "StudyInstanceUID",
         "127.0.0.1", str(orthanc.dicom_port)]
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    theirs = {str(dcmread(p).StudyInstanceUID) for p in out.glob("*.dcm")}
    client = DicomClient(RemoteNode("o", orthanc.aet, "127.0.0.1", orthanc.dicom_port), OUR_AET, T)
    ours = {m.study_instance_uid for m in client.find_studies(StudyQuery(patient_name="DCM*")).matches}
    assert ours == theirs == {s.study_uid for s in studies}


def test_getscu_agrees_with_our_cget(orthanc: Orthanc, tmp_path: Path, data_dir: Path) -> None:
    orthanc.delete_all()
    study = dicomgen.make_study(series=2, per_series=2, size=32)
    for data in study.encoded():
        orthanc.upload(data)
    out = tmp_path / "getscu"
    out.mkdir()
    proc = run(
        ["getscu", "-S", "-aet", OUR_AET, "-aec", orthanc.aet, "-od", str(out),
         "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study.study_uid}",
         "127.0.0.1", str(orthanc.dicom_port)]
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    theirs = {str(dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in out.iterdir()}
    client = DicomClient(RemoteNode("o", orthanc.aet, "127.0.0.1", orthanc.dicom_port), OUR_AET, T)
    with LocalDatabase(data_dir) as db:
        result = client.get(study.study_uid, db)
        assert result.status == "complete"
        assert db.sop_instance_uids(study.study_uid) == theirs == study.sop_uids
