"""Orthanc (a PACS nobody here wrote) accepts every report object and returns it unchanged, filed in the source
study (issue 12): draft / signed / amended SR, the TID 1500 measurement SR, KOS and Encapsulated PDF."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.reporting.export import export_all
from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.reference import build_reference_report
from hsg_workstation.reporting.sr import as_recorded_in_sr
from hsg_workstation.reporting.sr_import import read_sr
from hsg_workstation.synthetic.study import write_case
from tests.integration.orthanc import Orthanc


@pytest.mark.timeout(300)
def test_orthanc_files_and_returns_every_report_object_unchanged(orthanc: Orthanc, tmp_path: Path) -> None:
    case_dir = write_case("endometrial_polyp", tmp_path / "cases", size=128, frames=8, spot_images=2)
    truth = json.loads((case_dir / "truth.json").read_text(encoding="utf-8"))
    out = tmp_path / "out"
    draft = HsgReport.from_json(build_reference_report(truth, case_dir))
    export_all(draft, case_dir, sr_path=out / "draft.dcm")
    signed = HsgReport.from_json(build_reference_report(truth, case_dir, signed=True))
    export_all(
        signed,
        case_dir,
        sr_path=out / "signed.dcm",
        measurement_sr_path=out / "measurements.dcm",
        kos_path=out / "kos.dcm",
        encapsulated_pdf_path=out / "pdf.dcm",
    )
    old = dcmread(out / "signed.dcm")
    amended = signed.amend(str(old.SOPInstanceUID), "wording")
    amended.edit_impression_sentence(0, "Reviewed: both tubes patent.", who="Reader^Amy", reason="clarity")
    for ack in signed.acknowledgements:
        amended.acknowledge(ack.rule_id, ack.field_path, ack.reason, "Reader^Amy")
    amended.sign("Reader^Amy", dt.datetime(2026, 1, 6, 9, 30, tzinfo=dt.UTC))
    export_all(amended, case_dir, sr_path=out / "amended.dcm", predecessor=old)

    files = sorted(out.glob("*.dcm"))
    assert len(files) == 6
    for path in files:
        data = path.read_bytes()
        answer = orthanc.upload(data)
        assert answer["Status"] in ("Success", "AlreadyStored"), (path.name, answer)
        returned = orthanc._request_bytes(f"/instances/{answer['ID']}/file")
        assert dcmread_bytes(returned) == dcmread(path), path.name  # every attribute
    sops = orthanc.find_study_sop_uids(signed.identity.study_instance_uid)
    assert {str(dcmread(p).SOPInstanceUID) for p in files} <= sops
    # what the PACS gives back imports to the same reports
    for name, report in (("draft.dcm", draft), ("signed.dcm", signed), ("amended.dcm", amended)):
        uid = str(dcmread(out / name).SOPInstanceUID)
        (iid,) = [
            i
            for i in orthanc.get("/instances")
            if orthanc.get(f"/instances/{i}/simplified-tags")["SOPInstanceUID"] == uid
        ]
        back = tmp_path / f"back-{name}"
        back.write_bytes(orthanc._request_bytes(f"/instances/{iid}/file"))
        assert read_sr(back).report == as_recorded_in_sr(report)


def dcmread_bytes(data: bytes):
    import io

    return dcmread(io.BytesIO(data))
