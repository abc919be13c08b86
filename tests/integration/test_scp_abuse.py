"""Issue 16 part A, point 2: the storage SCP survives silent and closed TCP connections.

Ten silent connections used to lock the listener (pynetdicom's 10 association slots, each held until the 15 s
ACSE timeout even after the peer closed its socket; idle associations for 120 s): every legitimate sender was
refused with 'Local Limit Exceeded'. The guard in ``pacs/scp.py`` evicts the oldest connection that has not sent
an A-ASSOCIATE-RQ when a peer's or the listener's connection budget is full.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hsg_workstation.dicom_io import limits
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.client import DicomClient
from hsg_workstation.pacs.nodes import LocalNode, RemoteNode
from hsg_workstation.pacs.scp import StorageSCP
from hsg_workstation.pacs.types import Timeouts
from tests.integration import dicomgen
from tests.integration.conftest import OUR_AET, store_consistent

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

STORESCU = "/usr/bin/storescu"  # DCMTK, by absolute path (the venv has pynetdicom's script of the same name)
T = Timeouts(connect=3, acse=15, dimse=15, network=120, stall=15, cancel_grace=5)


@pytest.fixture
def scp(data_dir: Path) -> Iterator[tuple[StorageSCP, LocalDatabase]]:
    db = LocalDatabase(data_dir)
    local = LocalNode(ae_title=OUR_AET, port=0, bind_address="127.0.0.1", allow_any_calling_ae=True)
    server = StorageSCP(local, db, timeouts=T).start()
    yield server, db
    server.stop()
    db.close()


def silent_connections(port: int, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        socks.append(s)
    return socks


def echo(port: int) -> float:
    node = RemoteNode("ours", OUR_AET, "127.0.0.1", port)
    return DicomClient(node, "SENDER", Timeouts(connect=3, acse=5, dimse=5, network=10)).echo()


def test_twenty_silent_connections_and_storescu_every_instance_stored(
    scp: tuple[StorageSCP, LocalDatabase], tmp_path: Path, data_dir: Path
) -> None:
    server, db = scp
    study = dicomgen.make_study(series=2, per_series=4)
    files = study.write(tmp_path / "push")
    socks = silent_connections(server.port, 20)
    try:
        proc = subprocess.run(
            [STORESCU, "-aet", "MODALITY", "-aec", OUR_AET, "127.0.0.1", str(server.port), *map(str, files)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        for s in socks:
            s.close()
    assert proc.returncode == 0, proc.stderr
    assert db.sop_instance_uids(study.study_uid) == study.sop_uids
    assert store_consistent(data_dir) == []


def test_closed_sockets_free_their_slot_at_once(scp: tuple[StorageSCP, LocalDatabase]) -> None:
    server, _ = scp
    for s in silent_connections(server.port, 30):
        s.close()
    echo(server.port)  # refused 'Local Limit Exceeded' for ~15 s before


def test_a_sender_retrying_every_second_gets_through_a_connection_flood(
    scp: tuple[StorageSCP, LocalDatabase],
) -> None:
    """An attacker keeps re-opening silent connections for the whole test; a sender echoes every second."""
    server, _ = scp
    stop = threading.Event()
    opened = [0]

    def flood() -> None:
        held: list[socket.socket] = []
        while not stop.is_set():
            try:
                held.append(socket.create_connection(("127.0.0.1", server.port), timeout=1))
                opened[0] += 1
            except OSError:
                pass
            if len(held) > 40:
                held.pop(0).close()
            time.sleep(0.02)
        for s in held:
            s.close()

    attacker = threading.Thread(target=flood, daemon=True)
    attacker.start()
    outcomes: list[str] = []
    try:
        time.sleep(0.5)
        for _ in range(6):
            try:
                echo(server.port)
                outcomes.append("ok")
            except PacsError as exc:
                outcomes.append(str(exc))
            time.sleep(1.0)
    finally:
        stop.set()
        attacker.join(10)
    assert opened[0] > 40
    assert outcomes == ["ok"] * 6


def test_one_peer_cannot_hold_more_than_its_share(scp: tuple[StorageSCP, LocalDatabase]) -> None:
    """A peer's silent connections beyond its budget evict its own oldest silent ones: the listener never holds
    more than MAX_ASSOCIATIONS_PER_PEER connections of one peer that has not associated."""
    server, _ = scp
    socks = silent_connections(server.port, limits.MAX_ASSOCIATIONS_PER_PEER + 5)
    try:
        deadline = time.monotonic() + 5
        closed: list[int] = []
        while time.monotonic() < deadline:
            closed = [i for i, s in enumerate(socks) if _closed_by_peer(s)]
            if len(closed) >= 5:
                break
            time.sleep(0.1)
        assert closed == list(range(5))  # the oldest ones
    finally:
        for s in socks:
            s.close()


def _closed_by_peer(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        s.setblocking(True)


def test_a_frames_bomb_over_c_store_is_refused_and_nothing_is_stored(
    scp: tuple[StorageSCP, LocalDatabase], tmp_path: Path, data_dir: Path
) -> None:
    """Issue 16 point 1 over the network: a 5 KB file declaring 10⁸ frames of 1×1 pixels."""
    from tests.dicom_io.hostile import encapsulated_frames_bomb

    server, db = scp
    bomb = encapsulated_frames_bomb(tmp_path / "bomb.dcm", frames=100_000_000)
    proc = subprocess.run(
        [
            STORESCU,
            "-v",
            "-xr",
            "-aet",
            "MODALITY",
            "-aec",
            OUR_AET,
            "127.0.0.1",
            str(server.port),
            str(bomb),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Received Store Response (Error: CannotUnderstand)" in proc.stdout + proc.stderr  # our 0xC211
    assert db.studies() == [] and not list((data_dir / "store").rglob("*.dcm"))


def test_eight_parallel_senders_after_silent_connections_all_get_through(
    scp: tuple[StorageSCP, LocalDatabase], tmp_path: Path
) -> None:
    """After hostile tests, 3 of 8 parallel senders used to be refused ('Local Limit Exceeded')."""
    server, db = scp
    studies = [dicomgen.make_study(series=1, per_series=2) for _ in range(8)]
    socks = silent_connections(server.port, 20)
    try:
        procs = [
            subprocess.Popen(
                [STORESCU, "-aet", f"MOD{i}", "-aec", OUR_AET, "127.0.0.1", str(server.port)]
                + [str(p) for p in study.write(tmp_path / f"s{i}")],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for i, study in enumerate(studies)
        ]
        outputs = [p.communicate(timeout=90)[0] for p in procs]
    finally:
        for s in socks:
            s.close()
    assert [p.returncode for p in procs] == [0] * 8, outputs
    for study in studies:
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids
