"""``hsg-workstation pacs ...`` end to end against Orthanc, with the documented exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hsg_workstation.__main__ import main
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.pacs.nodes import load_nodes
from tests.integration import dicomgen
from tests.integration.certs import make_pki
from tests.integration.conftest import OUR_AET, OUR_SCP_PORT, store_consistent
from tests.integration.fake_qr import FAKE_AET, FakeQR, sleep_until
from tests.integration.orthanc import Orthanc, which

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def pacs(orthanc: Orthanc) -> Orthanc:
    orthanc.delete_all()
    return orthanc


def remote(o: Orthanc) -> list[str]:
    return [
        "--host",
        "127.0.0.1",
        "--port",
        str(o.dicom_port),
        "--aec",
        o.aet,
        "--aet",
        OUR_AET,
        "--timeout",
        "10",
    ]


def cli(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), "pacs", *args])


def test_echo_exit_codes(pacs: Orthanc, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(data_dir, "echo", *remote(pacs)) == 0
    assert "ok" in capsys.readouterr().out
    assert (
        cli(data_dir, "echo", "--host", "127.0.0.1", "--port", "1", "--aec", "X", "--connect-timeout", "2")
        == 1
    )
    assert "cannot connect" in capsys.readouterr().err
    assert cli(data_dir, "echo") == 2
    assert "give --node NAME" in capsys.readouterr().err
    assert cli(data_dir, "echo", "--host", "h", "--port", "104", "--aec", "WAY_TOO_LONG_AE_TITLE_X") == 2
    assert "longer than 16" in capsys.readouterr().err
    assert cli(data_dir, "echo", "--node", "nosuch") == 2
    assert "no DICOM node named 'nosuch'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # argparse usage error
        cli(data_dir, "echo", "--port", "notanumber")
    assert info.value.code == 2


def test_nodes_then_find_json_get_move_send(
    pacs: Orthanc, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = dicomgen.make_study(series=2, per_series=2, patient_name="CLI^TEST", patient_id="C1")
    for data in study.encoded():
        pacs.upload(data)
    assert (
        cli(
            data_dir,
            "nodes",
            "add",
            "pacs",
            "--aec",
            pacs.aet,
            "--host",
            "127.0.0.1",
            "--port",
            str(pacs.dicom_port),
        )
        == 0
    )
    assert (
        cli(data_dir, "nodes", "local", "--aet", OUR_AET, "--port", str(OUR_SCP_PORT), "--bind", "127.0.0.1")
        == 0
    )
    saved = json.loads((data_dir / "nodes.json").read_text())
    assert saved["nodes"][0]["ae_title"] == pacs.aet and saved["local"]["port"] == OUR_SCP_PORT
    capsys.readouterr()

    assert cli(data_dir, "find", "--node", "pacs", "--patient-name", "CLI*", "--json") == 0
    found = json.loads(capsys.readouterr().out)
    assert [m["study_instance_uid"] for m in found["matches"]] == [study.study_uid]
    assert found["matches"][0]["number_of_instances"] == 4 and found["matches"][0]["modalities"] == ["RF"]

    assert (
        cli(data_dir, "find", "--node", "pacs", "--level", "series", "--study-uid", study.study_uid, "--json")
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)) == 2

    first_series = study.series_uids()[0]
    assert cli(data_dir, "get", "--node", "pacs", study.study_uid, "--series", first_series) == 0
    assert cli(data_dir, "get", "--node", "pacs", study.study_uid, "--missing", "--json") == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["received"] == 2
    with LocalDatabase(data_dir) as db:
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids

    folder = tmp_path / "moved"
    assert cli(data_dir, "get", "--node", "pacs", study.study_uid, "--out", str(folder)) == 0
    assert len(list(folder.rglob("*.dcm"))) == 4

    other = tmp_path / "other-data"
    assert (
        main(
            [
                "--data-dir",
                str(other),
                "pacs",
                "move",
                *remote(pacs),
                study.study_uid,
                "--listen-port",
                str(OUR_SCP_PORT),
            ]
        )
        == 0
    )
    with LocalDatabase(other) as db:
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids
    assert cli(data_dir, "move", "--node", "pacs", study.study_uid, "--dest", "UNKNOWNAE") == 1
    assert cli(data_dir, "move", "--node", "pacs", study.study_uid, "--dest", "X", "--missing") == 2
    assert cli(data_dir, "move", "--node", "pacs", study.study_uid, "--missing") == 0  # nothing missing

    new = dicomgen.make_study(series=1, per_series=2)
    files = new.write(tmp_path / "send")
    assert cli(data_dir, "send", "--node", "pacs", str(tmp_path / "send")) == 0
    assert pacs.find_study_sop_uids(new.study_uid) == new.sop_uids
    (tmp_path / "send" / "junk.dcm").write_bytes(b"junk")
    capsys.readouterr()
    assert cli(data_dir, "send", "--node", "pacs", *map(str, files), str(tmp_path / "send" / "junk.dcm")) == 3
    assert "2 of 3 sent" in capsys.readouterr().out


def test_listen_receives_from_storescu_and_stops_on_sigterm(data_dir: Path, tmp_path: Path) -> None:
    port = 11121
    proc = subprocess.Popen(
        [sys.executable, "-m", "hsg_workstation", "--data-dir", str(data_dir), "pacs", "listen",
         "--port", str(port), "--bind", "127.0.0.1", "--aet", OUR_AET, "--allow", "MODALITY", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        seen = []
        for _ in range(50):  # skip any warning a library may print first
            line = proc.stderr.readline()  # type: ignore[union-attr]
            seen.append(line)
            if "listening as" in line or not line:
                break
        assert "listening as HSGVIEW on port 11121" in seen[-1], seen
        study = dicomgen.make_study(series=1, per_series=2)
        files = study.write(tmp_path / "push")
        push = subprocess.run(
            [which("storescu"), "-aet", "MODALITY", "-aec", OUR_AET, "127.0.0.1", str(port), *map(str, files)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert push.returncode == 0, push.stderr
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    events = [json.loads(x) for x in out.splitlines()]
    assert {e["sop_instance_uid"] for e in events} == study.sop_uids
    assert {e["outcome"] for e in events} == {"stored"} or {e["outcome"] for e in events} == {"imported"}
    assert "2 instance(s) stored" in err
    with LocalDatabase(data_dir) as db:
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids


def test_tls_listener_configured_by_cli_receives_from_dcmtk_and_our_send(
    data_dir: Path, tmp_path: Path
) -> None:
    """``nodes local --tls`` refuses an incomplete or mismatched configuration (exit 2, file named); the TLS
    listener then accepts DCMTK ``storescu +tls`` and ``pacs send --tls``, and refuses a client without a
    certificate (exit 1)."""
    pki = make_pki(tmp_path / "pki")
    port = 11123
    assert cli(data_dir, "nodes", "local", "--tls", "yes") == 2
    assert cli(data_dir, "nodes", "local", "--ca", str(pki.ca), "--cert", str(pki.server_cert),
               "--key", str(pki.client_key), "--tls", "yes") == 2  # fmt: skip
    assert load_nodes(data_dir).local.tls.enabled is False
    assert cli(data_dir, "nodes", "local", "--aet", OUR_AET, "--port", str(port), "--bind", "127.0.0.1",
               "--allow-any", "yes", "--tls", "yes", "--ca", str(pki.ca), "--cert", str(pki.server_cert),
               "--key", str(pki.server_key)) == 0  # fmt: skip
    assert load_nodes(data_dir).local.tls.key_file == str(pki.server_key)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hsg_workstation", "--data-dir", str(data_dir), "pacs", "listen", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    study = dicomgen.make_study(series=1, per_series=2)
    files = study.write(tmp_path / "push")
    peer = [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--aec",
        OUR_AET,
        "--aet",
        "SENDER",
        "--timeout",
        "10",
    ]
    try:
        seen = []
        for _ in range(50):
            line = proc.stderr.readline()  # type: ignore[union-attr]
            seen.append(line)
            if "listening as" in line or not line:
                break
        assert f"listening as HSGVIEW on port {port}" in seen[-1], seen
        push = subprocess.run(
            [which("storescu"), "+tls", str(pki.client_key), str(pki.client_cert), "+cf", str(pki.ca),
             "-aet", "MODALITY", "-aec", OUR_AET, "127.0.0.1", str(port), str(files[0])],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert push.returncode == 0, push.stderr
        tls = ["--tls", "--ca", str(pki.ca), "--cert", str(pki.client_cert), "--key", str(pki.client_key)]
        assert main(["--data-dir", str(tmp_path / "cli"), "pacs", "send", *peer, *tls, str(files[1])]) == 0
        no_cert = ["--tls", "--ca", str(pki.ca), "--connect-timeout", "5"]
        assert main(["--data-dir", str(tmp_path / "cli"), "pacs", "echo", *peer, *no_cert]) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert {json.loads(x)["sop_instance_uid"] for x in out.splitlines()} == study.sop_uids
    with LocalDatabase(data_dir) as db:
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids


@pytest.mark.parametrize(
    ("date", "why"),
    [
        ("2024-01-01", "use YYYYMMDD"),
        ("20240230", "not a calendar date"),
        ("20240201-20240101", "starts after"),
    ],
)
def test_find_with_malformed_date_is_a_usage_error(
    pacs: Orthanc, data_dir: Path, capsys: pytest.CaptureFixture[str], date: str, why: str
) -> None:
    """Sent as is, an invalid DA makes a PACS answer 'no matches' (Orthanc did: exit 0, '0 studies')."""
    assert cli(data_dir, "find", *remote(pacs), "--date", date) == 2
    err = capsys.readouterr().err
    assert f"study date {date!r}" in err and why in err


def _get_subprocess(data_dir: Path, port: int, study_uid: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hsg_workstation", "--data-dir", str(data_dir), "pacs", "get", "--host",
         "127.0.0.1", "--port", str(port), "--aec", FAKE_AET, "--aet", OUR_AET, "--timeout", "300", study_uid],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _wait_for_first_file(proc: subprocess.Popen[str], store: Path) -> None:
    for _ in range(600):  # up to 60 s on a loaded machine
        if proc.poll() is not None or list(store.rglob("*.dcm")):
            return
        time.sleep(0.1)


@pytest.mark.parametrize("peer_honours_cancel", [True, False])
def test_ctrl_c_during_get_sends_c_cancel_then_interrupts(data_dir: Path, peer_honours_cancel: bool) -> None:
    """Ctrl-C once: C-CANCEL, what arrived is kept, exit 3 (cancelled). A peer that ignores it: a second
    Ctrl-C interrupts for real, exit 130. The peer is silent after the first instance in both cases."""
    study = dicomgen.make_study(series=1, per_series=2)

    def handle_get(event: Any) -> Any:
        yield 2
        yield 0xFF00, study.datasets[0]
        while not qr.stop_event.is_set() and not (peer_honours_cancel and event.is_cancelled):
            sleep_until(qr.stop_event, 0.05)
        yield 0xFE00, None

    with FakeQR(get=handle_get) as qr:
        proc = _get_subprocess(data_dir, qr.port, study.study_uid)
        try:
            _wait_for_first_file(proc, data_dir / "store")
            proc.send_signal(signal.SIGINT)
            if not peer_honours_cancel:
                time.sleep(1.0)
                assert proc.poll() is None  # still waiting: the peer ignored the C-CANCEL
                proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert "cancelling (C-CANCEL)" in err
    if peer_honours_cancel:
        assert proc.returncode == 3, err
        assert "cancelled by the user; 1 instance(s) kept" in out + err
    else:
        assert proc.returncode == 130, err
    with LocalDatabase(data_dir) as db:
        assert db.sop_instance_uids(study.study_uid) == {str(study.datasets[0].SOPInstanceUID)}
    assert store_consistent(data_dir) == []
