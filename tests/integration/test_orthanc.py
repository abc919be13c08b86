"""The PACS client against a real Orthanc: echo, find, get, move, retrieve again, cancel, send back."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.client import DicomClient, move_missing, retrieve_by_move
from hsg_workstation.pacs.nodes import LocalNode, RemoteNode
from hsg_workstation.pacs.types import Progress, StudyQuery, Timeouts
from tests.integration import dicomgen
from tests.integration.conftest import OUR_AET, OUR_SCP_PORT, store_consistent
from tests.integration.orthanc import Orthanc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FAST = Timeouts(connect=3, acse=5, dimse=15, network=30, stall=15, cancel_grace=5)


@pytest.fixture
def pacs(orthanc: Orthanc) -> Orthanc:
    orthanc.delete_all()
    return orthanc


@pytest.fixture
def client(orthanc: Orthanc) -> DicomClient:
    node = RemoteNode("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port)
    return DicomClient(node, OUR_AET, FAST)


def upload(pacs: Orthanc, study: dicomgen.Study) -> None:
    for data in study.encoded():
        pacs.upload(data)


def test_echo(client: DicomClient) -> None:
    assert client.echo() < 5


def test_echo_closed_port_says_cannot_connect(orthanc: Orthanc) -> None:
    node = RemoteNode("nobody", "NOBODY", "127.0.0.1", 1)
    with pytest.raises(PacsError, match="cannot connect to NOBODY@127.0.0.1:1"):
        DicomClient(node, OUR_AET, FAST).echo()


def test_find_study_and_series_level_keys(pacs: Orthanc, client: DicomClient) -> None:
    a = dicomgen.make_study(
        series=2,
        per_series=3,
        patient_name="DOE^JANE",
        patient_id="P1",
        study_date="20240110",
        accession="A100",
        description="HSG left",
    )
    b = dicomgen.make_study(
        series=1,
        per_series=2,
        patient_name="ROE^ANNA",
        patient_id="P2",
        study_date="20240220",
        accession="A200",
        description="HSG control",
        sop_class=dicomgen.DX,
        modality="DX",
    )
    upload(pacs, a)
    upload(pacs, b)

    def uids(**kw: str) -> set[str]:
        return {m.study_instance_uid for m in client.find_studies(StudyQuery(**kw)).matches}

    assert uids() == {a.study_uid, b.study_uid}
    assert uids(patient_name="DOE*") == {a.study_uid}
    assert uids(patient_name="R?E^ANNA") == {b.study_uid}
    assert uids(patient_id="P2") == {b.study_uid}
    assert uids(study_date="20240201-20240229") == {b.study_uid}
    assert uids(study_date="-20240131") == {a.study_uid}
    assert uids(modality="DX") == {b.study_uid}
    assert uids(accession_number="A100") == {a.study_uid}
    assert uids(study_description="*control*") == {b.study_uid}

    (match,) = client.find_studies(StudyQuery(patient_id="P1")).matches
    assert match.modalities == ("RF",)
    assert match.number_of_instances == 6
    assert match.number_of_series == 2
    assert match.patient_name == "DOE^JANE"

    series = client.find_series(a.study_uid)
    assert [s.series_instance_uid for s in series] == sorted(
        a.series_uids(), key=lambda u: next(d.SeriesNumber for d in a.datasets if d.SeriesInstanceUID == u)
    )
    assert [s.number_of_instances for s in series] == [3, 3]
    assert {s.modality for s in series} == {"RF"}


def test_find_stops_at_max_results(pacs: Orthanc, client: DicomClient) -> None:
    for i in range(5):
        upload(pacs, dicomgen.make_study(series=1, per_series=1, patient_id=f"M{i}", size=16))
    result = client.find_studies(StudyQuery(), max_results=3)
    assert result.truncated and len(result.matches) == 3
    assert "stopped after 3" in result.message


def test_cget_study_into_local_database_then_duplicates(
    pacs: Orthanc, client: DicomClient, data_dir: Path
) -> None:
    study = dicomgen.make_study(series=2, per_series=3)
    upload(pacs, study)
    seen: list[Progress] = []
    with LocalDatabase(data_dir) as db:
        result = client.get(study.study_uid, db, progress=seen.append)
        assert result.status == "complete", result.message
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids
        assert seen[-1].remaining == 0 and seen[-1].completed == 6 and seen[-1].received == 6
        assert db.study(study.study_uid) is not None

        again = client.get(study.study_uid, db)
        assert again.status == "complete"
        assert again.progress.duplicates == 6
        assert "already in the local database" in again.message
    assert store_consistent(data_dir) == []


def test_cget_of_unknown_study_says_nothing_matched(
    pacs: Orthanc, client: DicomClient, data_dir: Path
) -> None:
    with LocalDatabase(data_dir) as db:
        result = client.get("1.2.826.0.1.999999.1", db)
        assert result.status == "failed"
        # Orthanc 1.10 answers 0xC000; a peer answering success with no sub-operation gets the same status
        # (see test_faults.py::test_cget_with_zero_matches_is_not_complete).
        assert result.message == (
            "C-GET answered 0xC000 (error: unable to process); 0 instance(s) received; "
            "ORTHANC@127.0.0.1:14242 does not hold study 1.2.826.0.1.999999.1 (a C-FIND finds nothing)"
        )
        assert db.studies() == []


def test_cmove_of_unknown_series_says_the_peer_does_not_hold_it(
    pacs: Orthanc, client: DicomClient, data_dir: Path
) -> None:
    study = dicomgen.make_study(series=1, per_series=1)
    upload(pacs, study)
    local = LocalNode(ae_title=OUR_AET, port=OUR_SCP_PORT, bind_address="127.0.0.1")
    with LocalDatabase(data_dir) as db:
        result = retrieve_by_move(client, study.study_uid, db, local, series_uid="1.2.826.0.1.999999.2")
        assert result.status == "failed"
        assert result.message.endswith(
            f"ORTHANC@127.0.0.1:14242 does not hold series 1.2.826.0.1.999999.2 of study {study.study_uid}"
            " (a C-FIND finds nothing)"
        ), result.message
        assert "could not deliver" not in result.message


def test_retrieve_again_fetches_only_missing(pacs: Orthanc, client: DicomClient, data_dir: Path) -> None:
    study = dicomgen.make_study(series=2, per_series=3)
    upload(pacs, study)
    first_series = study.series_uids()[0]
    with LocalDatabase(data_dir) as db:
        part = client.get(study.study_uid, db, series_uid=first_series)
        assert part.status == "complete" and part.progress.received == 3
        db.set_study_complete(study.study_uid, False)

        missing = client.missing_instances(study.study_uid, db.sop_instance_uids(study.study_uid))
        assert sum(len(v) for v in missing.values()) == 3 and first_series not in missing

        again = client.get_missing(study.study_uid, db)
        assert again.status == "complete", again.message
        assert again.progress.received == 3 and again.progress.duplicates == 0
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids

        nothing = client.get_missing(study.study_uid, db)
        assert nothing.status == "complete" and "nothing missing" in nothing.message


def test_cancel_keeps_what_arrived_and_marks_incomplete(
    pacs: Orthanc, client: DicomClient, data_dir: Path
) -> None:
    study = dicomgen.make_study(series=1, per_series=20, size=128)
    upload(pacs, study)
    cancel = threading.Event()

    def on_progress(p: Progress) -> None:
        if p.received >= 2:
            cancel.set()

    with LocalDatabase(data_dir) as db:
        result = client.get(study.study_uid, db, progress=on_progress, cancel=cancel)
        assert result.status == "cancelled", result.message
        have = db.sop_instance_uids(study.study_uid)
        assert 2 <= len(have) < 20
        assert set(result.received_sop_instance_uids) == have
        assert "cancelled by the user" in result.message
        (row,) = [s for s in db.studies() if s.study_instance_uid == study.study_uid]
        assert row.complete is False

        rest = client.get_missing(study.study_uid, db)
        assert rest.status == "complete"
        assert rest.progress.received == 20 - len(have)
    assert store_consistent(data_dir) == []


def test_cmove_into_our_storage_scp(pacs: Orthanc, client: DicomClient, data_dir: Path) -> None:
    study = dicomgen.make_study(series=2, per_series=2)
    upload(pacs, study)
    local = LocalNode(ae_title=OUR_AET, port=OUR_SCP_PORT, bind_address="127.0.0.1")
    with LocalDatabase(data_dir) as db:
        seen: list[Progress] = []
        result = retrieve_by_move(client, study.study_uid, db, local, progress=seen.append)
        assert result.status == "complete", result.message
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids
        assert result.progress.received == 4 and seen


def test_move_missing_fetches_only_missing(pacs: Orthanc, client: DicomClient, data_dir: Path) -> None:
    study = dicomgen.make_study(series=2, per_series=2)
    upload(pacs, study)
    local = LocalNode(ae_title=OUR_AET, port=OUR_SCP_PORT, bind_address="127.0.0.1")
    with LocalDatabase(data_dir) as db:
        first = retrieve_by_move(client, study.study_uid, db, local, series_uid=study.series_uids()[0])
        assert first.status == "complete" and first.progress.received == 2
        rest = move_missing(client, study.study_uid, db, local)
        assert rest.status == "complete", rest.message
        assert rest.progress.received == 2 and rest.progress.duplicates == 0
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids


def test_cmove_to_unknown_destination_fails_clearly(pacs: Orthanc, client: DicomClient) -> None:
    study = dicomgen.make_study(series=1, per_series=1)
    upload(pacs, study)
    result = client.move(study.study_uid, "NOSUCHAE")
    assert result.status == "failed"
    assert "C-MOVE to NOSUCHAE" in result.message and "0x" in result.message


def test_send_back_to_orthanc(pacs: Orthanc, client: DicomClient, tmp_path: Path) -> None:
    study = dicomgen.make_study(series=1, per_series=3)
    files = study.write(tmp_path / "out")
    before = [f.read_bytes() for f in files]
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom")
    outcomes = client.send([*files, junk])
    assert [o.ok for o in outcomes] == [False, True, True, True]
    assert "not a readable DICOM file" in outcomes[0].message and "junk.dcm" in outcomes[0].message
    assert pacs.find_study_sop_uids(study.study_uid) == study.sop_uids
    assert [f.read_bytes() for f in files] == before  # sources never modified


@pytest.mark.parametrize("method", ["C-GET", "C-MOVE"])
def test_compressed_studies_are_retrieved_as_orthanc_holds_them_or_transcoded(
    pacs: Orthanc, client: DicomClient, data_dir: Path, method: str
) -> None:
    """Fluoroscopy often sits compressed in the PACS. RLE and JPEG 2000 lossless are among our C-GET contexts
    and arrive byte for byte; JPEG-LS is not (the 128-context budget), so Orthanc transcodes it for a C-GET,
    while our storage SCP accepts it as is for a C-MOVE. Every instance decodes."""
    import pydicom
    from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

    expected = {
        RLELossless: RLELossless,
        JPEG2000Lossless: JPEG2000Lossless,
        JPEGLSLossless: JPEGLSLossless if method == "C-MOVE" else pydicom.uid.ExplicitVRLittleEndian,
    }
    local = LocalNode(ae_title=OUR_AET, port=OUR_SCP_PORT, bind_address="127.0.0.1")
    with LocalDatabase(data_dir) as db:
        for syntax, stored_as in expected.items():
            study = dicomgen.make_study(series=1, per_series=1, size=32)
            for ds in study.datasets:
                ds.compress(syntax)
            upload(pacs, study)
            if method == "C-GET":
                result = client.get(study.study_uid, db)
            else:
                result = retrieve_by_move(client, study.study_uid, db, local)
            assert result.status == "complete", (syntax.name, result.message)
            (path,) = (data_dir / "store").rglob(f"{study.datasets[0].SOPInstanceUID}.dcm")
            back = pydicom.dcmread(path)
            assert back.file_meta.TransferSyntaxUID == stored_as, syntax.name
            assert back.pixel_array.shape == (32, 32)


def test_report_objects_sent_then_retrieved_with_the_study(
    pacs: Orthanc, client: DicomClient, data_dir: Path, tmp_path: Path
) -> None:
    """What 'Send' is for: the Encapsulated PDF and the KOS built by ``reporting`` go to the PACS with a status
    per instance, and a later C-GET of the study brings them back with the images (their classes are among
    our C-GET contexts)."""
    from hsg_workstation.reporting.encapsulated import build_encapsulated_pdf
    from hsg_workstation.reporting.kos import build_kos

    study = dicomgen.make_study(series=1, per_series=2, size=16)
    upload(pacs, study)
    pdf = build_encapsulated_pdf(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", study.datasets)
    kos = build_kos(study.datasets, [(str(study.datasets[1].SOPInstanceUID), 1)])
    paths = []
    for name, ds in (("pdf.dcm", pdf), ("kos.dcm", kos)):
        paths.append(tmp_path / name)
        ds.save_as(paths[-1], enforce_file_format=True)
    outcomes = client.send(paths)
    assert [(o.ok, o.status_code) for o in outcomes] == [(True, 0x0000), (True, 0x0000)], outcomes
    sent = {str(pdf.SOPInstanceUID), str(kos.SOPInstanceUID)}
    assert pacs.find_study_sop_uids(study.study_uid) == study.sop_uids | sent
    with LocalDatabase(data_dir) as db:
        result = client.get(study.study_uid, db)
        assert result.status == "complete", result.message
        assert db.sop_instance_uids(study.study_uid) == study.sop_uids | sent
