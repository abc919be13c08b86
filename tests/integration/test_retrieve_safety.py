"""Issue 16 part A, point 3: what a peer sends on a retrieve cannot escape the target folder, instances of
other studies are refused and counted, and 'retrieve again' never trusts a peer that ignores the query level."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.client import DicomClient
from hsg_workstation.pacs.nodes import RemoteNode
from hsg_workstation.pacs.sinks import FolderSink
from hsg_workstation.pacs.types import Timeouts
from tests.integration import dicomgen
from tests.integration.fake_qr import FAKE_AET, FakeQR

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:Invalid value for VR UI"),  # the invalid UIDs are the point
]

SHORT = Timeouts(connect=2, acse=2, dimse=2.0, network=5, stall=2, cancel_grace=0.6)


def client_for(qr: FakeQR) -> DicomClient:
    return DicomClient(RemoteNode("fake", FAKE_AET, "127.0.0.1", qr.port), "HSGVIEW", SHORT)


def sending(datasets: list[Dataset]) -> Any:
    def handle_get(event: Any) -> Any:
        yield len(datasets)
        for ds in datasets:
            yield 0xFF00, ds

    return handle_get


def with_study_uid(ds: Dataset, uid: str) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the invalid UID we want to send
        ds.StudyInstanceUID = uid
    return ds


def test_folder_sink_refuses_uids_that_are_not_uids(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sink = FolderSink(out)
    for bad in ("..", ".", "../x", "1.2/../../3", "a.b"):
        ds = with_study_uid(dicomgen.make_instance(study_uid="1.2.3", series_uid="1.2.3.1", number=1), bad)
        result = sink.add_encoded(dicomgen.encode(ds))
        assert result.status == "skipped", bad
        assert "Study Instance UID" in result.reason and "not a valid UID" in result.reason
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["out"]


def test_get_out_dir_with_a_peer_sending_dotdot_writes_nothing_outside(tmp_path: Path) -> None:
    asked = "1.2.826.0.1.3680043.8.498.1"
    study = dicomgen.make_study(series=1, per_series=2)
    bad = [with_study_uid(ds, "..") for ds in study.datasets]
    out = tmp_path / "inner" / "out"
    with FakeQR(get=sending(bad)) as qr:
        result = client_for(qr).get(asked, FolderSink(out))
    assert sorted(p.name for p in tmp_path.rglob("*.dcm")) == []
    assert result.status == "failed", result.message
    assert result.progress.foreign == 2
    assert "2 instance(s) of other studies refused" in result.message


def test_instances_of_other_studies_are_refused_and_counted(data_dir: Path) -> None:
    asked = dicomgen.make_study(series=1, per_series=2)
    other = dicomgen.make_study(series=1, per_series=3)
    with FakeQR(get=sending(asked.datasets + other.datasets)) as qr, LocalDatabase(data_dir) as db:
        result = client_for(qr).get(asked.study_uid, db)
        assert db.sop_instance_uids(asked.study_uid) == asked.sop_uids
        assert db.sop_instance_uids(other.study_uid) == set()
        assert [s.study_instance_uid for s in db.studies()] == [asked.study_uid]
    assert result.progress.foreign == 3 and result.progress.received == 2
    assert result.status == "partial"
    assert "3 instance(s) of other studies refused" in result.message


def test_a_requested_uid_that_is_not_a_uid_is_refused_before_sending(tmp_path: Path) -> None:
    with FakeQR() as qr:
        with pytest.raises(PacsError, match=r"Study Instance UID '\.\.' is not a valid UID"):
            client_for(qr).get("..", FolderSink(tmp_path / "out"))


def _study_level_answer(study_uid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid
    ds.PatientName = "FAKE^PATIENT"
    return ds


@pytest.mark.parametrize("misbehaviour", ["study-level answers", "no instances listed", "no series"])
def test_retrieve_again_never_marks_complete_on_an_answer_that_does_not_prove_it(
    data_dir: Path, misbehaviour: str
) -> None:
    """The local database holds 3 of 6 instances; the peer ignores the query level (or lists nothing)."""
    study = dicomgen.make_study(series=2, per_series=3)
    held = study.datasets[:3]

    def handle_find(event: Any) -> Any:
        level = event.identifier.QueryRetrieveLevel
        if misbehaviour == "study-level answers":
            yield 0xFF00, _study_level_answer(study.study_uid)
        elif misbehaviour == "no instances listed" and level == "SERIES":
            for uid in study.series_uids():
                ds = Dataset()
                ds.QueryRetrieveLevel = "SERIES"
                ds.StudyInstanceUID = study.study_uid
                ds.SeriesInstanceUID = uid
                yield 0xFF00, ds
        yield 0x0000, None

    with FakeQR(find=handle_find) as qr, LocalDatabase(data_dir) as db:
        for ds in held:
            assert db.add_encoded(dicomgen.encode(ds)).status == "imported"
        db.set_study_complete(study.study_uid, False)
        result = client_for(qr).get_missing(study.study_uid, db)
        assert result.status == "failed", result.message
        assert "nothing missing" not in result.message
        assert db.study(study.study_uid).complete is False
    if misbehaviour == "study-level answers":
        assert "ignores the query level" in result.message
    else:
        assert "cannot tell what is missing" in result.message


def test_retrieve_again_with_an_honest_peer_marks_complete(data_dir: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=2)

    def handle_find(event: Any) -> Any:
        level = event.identifier.QueryRetrieveLevel
        if level == "SERIES":
            ds = Dataset()
            ds.QueryRetrieveLevel = "SERIES"
            ds.StudyInstanceUID = study.study_uid
            ds.SeriesInstanceUID = study.series_uids()[0]
            yield 0xFF00, ds
        elif level == "IMAGE":
            for inst in study.datasets:
                ds = Dataset()
                ds.QueryRetrieveLevel = "IMAGE"
                ds.StudyInstanceUID = study.study_uid
                ds.SeriesInstanceUID = inst.SeriesInstanceUID
                ds.SOPInstanceUID = inst.SOPInstanceUID
                yield 0xFF00, ds
        yield 0x0000, None

    with FakeQR(find=handle_find) as qr, LocalDatabase(data_dir) as db:
        for ds in study.datasets:
            db.add_encoded(dicomgen.encode(ds))
        db.set_study_complete(study.study_uid, False)
        result = client_for(qr).get_missing(study.study_uid, db)
        assert result.status == "complete", result.message
        assert db.study(study.study_uid).complete is True
