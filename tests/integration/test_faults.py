"""Fault injection: a pynetdicom SCP that rejects, aborts, goes silent, never finishes, or sends bad data.

Every case must end with a clear message, a consistent store (no partial file, every file indexed) and every
instance received before the fault still in the local database.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.client import DicomClient
from hsg_workstation.pacs.nodes import RemoteNode
from hsg_workstation.pacs.types import StudyQuery, Timeouts
from tests.integration import dicomgen
from tests.integration.conftest import store_consistent
from tests.integration.fake_qr import FAKE_AET, FakeQR, send_pending_get_response, sleep_until, study_match

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

SHORT = Timeouts(connect=2, acse=2, dimse=1.0, network=5, stall=0.6, cancel_grace=0.6)


def client_for(qr: FakeQR, timeouts: Timeouts = SHORT) -> DicomClient:
    return DicomClient(RemoteNode("fake", FAKE_AET, "127.0.0.1", qr.port), "HSGVIEW", timeouts)


def study_incomplete(db: LocalDatabase, study_uid: str) -> bool:
    (row,) = [s for s in db.studies() if s.study_instance_uid == study_uid]
    return row.complete is False


def test_association_rejected_names_the_reason() -> None:
    with FakeQR(require_calling_aet=["SOMEONE"]) as qr:
        with pytest.raises(PacsError) as info:
            client_for(qr).echo()
    msg = str(info.value)
    assert "FAKEPACS@127.0.0.1" in msg and "rejected the association" in msg
    assert "calling AE" in msg.lower() or "HSGVIEW" in msg


def test_peer_without_cget_says_use_cmove(data_dir: Path) -> None:
    with FakeQR(offer_get=False) as qr, LocalDatabase(data_dir) as db:
        result = client_for(qr).get("1.2.3.4", db)
    assert result.status == "failed"
    assert result.message == (
        f"FAKEPACS@127.0.0.1:{qr.port} does not support Study Root C-GET (retrieve by C-MOVE instead)"
    )


def test_cget_with_zero_matches_is_not_complete(data_dir: Path) -> None:
    def handle_get(event: Any) -> Any:
        yield 0

    with FakeQR(get=handle_get) as qr, LocalDatabase(data_dir) as db:
        result = client_for(qr).get("1.2.3.4", db)
        assert result.status == "failed"
        assert "has no matching instances (nothing was retrieved)" in result.message
        assert db.studies() == []


def test_abort_in_the_middle_of_a_cget_keeps_what_arrived(data_dir: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=5)

    def handle_get(event: Any) -> Any:
        yield len(study.datasets)
        for ds in study.datasets[:2]:
            yield 0xFF00, ds
        event.assoc.abort()

    with FakeQR(get=handle_get) as qr, LocalDatabase(data_dir) as db:
        result = client_for(qr).get(study.study_uid, db)
        assert result.status == "partial", result.message
        assert "aborted the association" in result.message
        assert "2 instance(s) received before the failure were kept" in result.message
        assert db.sop_instance_uids(study.study_uid) == {str(d.SOPInstanceUID) for d in study.datasets[:2]}
        assert study_incomplete(db, study.study_uid)
    assert store_consistent(data_dir) == []


def test_cfind_without_answer_times_out_clearly() -> None:
    def handle_find(event: Any) -> Any:
        sleep_until(qr.stop_event, 4)
        yield 0x0000, None

    with FakeQR(find=handle_find) as qr:
        with pytest.raises(PacsError, match=r"did not answer within 1 s \(DIMSE timeout\)"):
            client_for(qr).find_studies(StudyQuery())


def test_cget_silent_after_first_instance_is_partial(data_dir: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=3)

    def handle_get(event: Any) -> Any:
        yield 3
        yield 0xFF00, study.datasets[0]
        sleep_until(qr.stop_event, 4)
        yield 0xFF00, study.datasets[1]

    with FakeQR(get=handle_get) as qr, LocalDatabase(data_dir) as db:
        result = client_for(qr).get(study.study_uid, db)
        assert result.status == "partial"
        assert "did not answer within 1 s" in result.message
        assert db.sop_instance_uids(study.study_uid) == {str(study.datasets[0].SOPInstanceUID)}
        assert study_incomplete(db, study.study_uid)
    assert store_consistent(data_dir) == []


def test_cancel_while_peer_is_silent_ends_after_the_grace_not_the_dimse_timeout(data_dir: Path) -> None:
    """The user cancels while the peer says nothing (no response to carry the C-CANCEL): the retrieve must
    end after ``cancel_grace``, not after the DIMSE timeout, as 'cancelled', keeping what arrived."""
    study = dicomgen.make_study(series=1, per_series=2)
    cancel = threading.Event()

    def handle_get(event: Any) -> Any:
        yield 2
        yield 0xFF00, study.datasets[0]
        sleep_until(qr.stop_event, 600)  # silent, like a PACS stuck reading its archive
        yield 0xFF00, study.datasets[1]

    def on_progress(p: Any) -> None:
        if p.received:
            cancel.set()

    # DIMSE timeout and stall far beyond this test's pytest timeout (60 s): only the cancel can end it in time.
    patient = Timeouts(connect=2, acse=2, dimse=300, network=300, stall=300, cancel_grace=0.6)
    with FakeQR(get=handle_get) as qr, LocalDatabase(data_dir) as db:
        result = client_for(qr, patient).get(study.study_uid, db, progress=on_progress, cancel=cancel)
        assert result.status == "cancelled", result.message
        assert "cancelled by the user" in result.message and "did not answer for 0.6 s" in result.message
        assert db.sop_instance_uids(study.study_uid) == {str(study.datasets[0].SOPInstanceUID)}
        assert study_incomplete(db, study.study_uid)
    assert store_consistent(data_dir) == []


def test_cancel_reaches_a_silent_peer_that_honours_c_cancel(data_dir: Path) -> None:
    """Between responses the C-CANCEL is sent by the watchdog; a peer that honours it answers 0xFE00."""
    study = dicomgen.make_study(series=1, per_series=2)
    cancel = threading.Event()

    def handle_get(event: Any) -> Any:
        yield 2
        yield 0xFF00, study.datasets[0]
        while not event.is_cancelled and not qr.stop_event.is_set():
            sleep_until(qr.stop_event, 0.05)
        yield 0xFE00, None

    patient = Timeouts(connect=2, acse=2, dimse=300, network=300, stall=300, cancel_grace=120)
    with FakeQR(get=handle_get) as qr, LocalDatabase(data_dir) as db:
        result = client_for(qr, patient).get(
            study.study_uid, db, progress=lambda p: p.received and cancel.set(), cancel=cancel
        )
    assert result.status == "cancelled" and result.final_status_code == 0xFE00, result.message
    assert result.message == "C-GET: cancelled by the user; 1 instance(s) kept"


def test_cget_endless_pending_is_cancelled_then_aborted(data_dir: Path) -> None:
    def handle_get(event: Any) -> Any:
        yield 1
        while event.assoc.is_established and not qr.stop_event.is_set():  # ignores C-CANCEL on purpose
            send_pending_get_response(event, remaining=1)
            sleep_until(qr.stop_event, 0.1)
        return

    with FakeQR(get=handle_get) as qr, LocalDatabase(data_dir) as db:
        result = client_for(qr).get("1.2.3.4", db)
    assert result.status == "cancelled"
    assert "no progress for 0.6 s" in result.message
    assert "ignored C-CANCEL" in result.message and "aborted" in result.message


def test_cfind_endless_pending_stops_at_max_results() -> None:
    def handle_find(event: Any) -> Any:
        for i in itertools.count():  # never ends, ignores C-CANCEL
            if qr.stop_event.is_set() or not event.assoc.is_established:
                return
            yield 0xFF00, study_match(f"1.2.3.{i}")

    with FakeQR(find=handle_find) as qr:
        result = client_for(qr).find_studies(StudyQuery(), max_results=50)
    assert result.truncated and len(result.matches) == 50
    assert "stopped after 50 matches" in result.message


def test_cmove_to_unknown_destination() -> None:
    def handle_move(event: Any) -> Any:
        yield None, None  # pynetdicom answers 0xA801

    with FakeQR(move=handle_move) as qr:
        result = client_for(qr).move("1.2.3.4", "NOWHERE")
    assert result.status == "failed"
    assert "0xA801 (refused: move destination unknown)" in result.message


@pytest.mark.parametrize("write_behind", [0, 64 * 1024 * 1024], ids=["synchronous", "write-behind"])
def test_instance_that_cannot_be_stored_is_reported_others_kept(data_dir: Path, write_behind: int) -> None:
    study = dicomgen.make_study(series=1, per_series=3)
    broken = study.datasets[1]
    broken.PixelData = broken.PixelData[:100]  # truncated pixel data: the local database refuses it

    def handle_get(event: Any) -> Any:
        yield 3
        for ds in study.datasets:
            yield 0xFF00, ds

    with FakeQR(get=handle_get) as qr, LocalDatabase(data_dir) as db:
        client = DicomClient(
            RemoteNode("fake", FAKE_AET, "127.0.0.1", qr.port),
            "HSGVIEW",
            SHORT,
            write_behind_bytes=write_behind,
        )
        result = client.get(study.study_uid, db)
        assert result.status == "partial", result.message
        assert result.progress.local_failures == 1
        assert "1 instance(s) could not be stored here" in result.message
        assert str(broken.SOPInstanceUID) in result.message
        if not write_behind:  # the peer learnt of the failure through the C-STORE status
            assert result.progress.failed == 1
            assert result.failed_sop_instance_uids == [str(broken.SOPInstanceUID)]
        assert db.sop_instance_uids(study.study_uid) == {
            str(study.datasets[0].SOPInstanceUID),
            str(study.datasets[2].SOPInstanceUID),
        }
        assert study_incomplete(db, study.study_uid)
    assert store_consistent(data_dir) == []


class DiskFullSink:
    """Wraps the database; the second instance fails like a full disk would."""

    def __init__(self, db: LocalDatabase) -> None:
        self.db = db
        self.calls = 0
        self.lock = threading.Lock()

    def add_encoded(self, data: bytes, *, source: str = "network") -> Any:
        with self.lock:
            self.calls += 1
            n = self.calls
        if n == 2:
            raise OSError(28, "No space left on device")
        return self.db.add_encoded(data, source=source)

    def set_study_complete(self, study_uid: str, complete: bool) -> None:
        self.db.set_study_complete(study_uid, complete)


def test_disk_full_during_retrieve(data_dir: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=3)

    def handle_get(event: Any) -> Any:
        yield 3
        for ds in study.datasets:
            yield 0xFF00, ds

    with FakeQR(get=handle_get) as qr, LocalDatabase(data_dir) as db:
        result = client_for(qr).get(study.study_uid, DiskFullSink(db))
        assert result.status == "partial"
        assert "No space left on device" in result.message
        assert len(db.sop_instance_uids(study.study_uid)) == 2
        assert study_incomplete(db, study.study_uid)
    assert store_consistent(data_dir) == []
