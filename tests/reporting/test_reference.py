"""Reference report from the generator's ground truth: valid, signable, faithful to the truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsg_workstation.measurements import RegionType
from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.reference import (
    ReferenceReportError,
    build_reference_report,
    example_truth,
    reference_report_from_truth,
)
from hsg_workstation.reporting.rules import Severity, validate
from hsg_workstation.synthetic import study as sample


def _hand_written_truth() -> dict:
    """The generator's truth.json contract, written out by hand (independent of the generator's code)."""
    return {
        "case": "handwritten",
        "study_instance_uid": "2.25.1234",
        "loop_sop_instance_uid": "2.25.1235",
        "pixel_spacing_mm": 0.4,
        "magnification": 1.25,
        "cavity_class": "normal",
        "max_distension_frame": 20,
        "sides": {
            "left": {
                "tube_filled": True,
                "patency": "occluded",
                "occlusion_level": "distal",
                "spill": "none",
                "hydrosalpinx": True,
                "hydrosalpinx_diameter_mm": 21.0,
            },
            "right": {
                "tube_filled": False,
                "patency": "occluded",
                "occlusion_level": "proximal",
                "spill": "none",
            },
        },
        "defects": [
            {"type": "submucous_myoma", "location": "fundal-right", "size_mm": 14.2, "row": 50, "column": 60}
        ],
        "intravasation": True,
        "dose": {"dap_dgycm2": 31.0, "fluoro_time_s": 75.0},
        "spot_images": [
            {
                "sop_instance_uid": "2.25.1236",
                "sop_class_uid": "1.2.840.10008.5.1.4.1.1.1.1",
                "phase": "early_filling",
            }
        ],
    }


def test_hand_written_truth_gives_a_valid_faithful_report(tmp_path: Path) -> None:
    data = build_reference_report(_hand_written_truth(), tmp_path)  # empty case dir: no DICOM to prefill from
    r = m.HsgReport.from_json(json.loads(json.dumps(data)))
    assert not [i for i in validate(r) if i.severity is Severity.ERROR]
    left, right = r.findings.tubes.left, r.findings.tubes.right
    assert (left.patency, left.occlusion_level, left.hydrosalpinx, left.hydrosalpinx_diameter_mm) == (
        m.Patency.OCCLUDED,
        m.OcclusionLevel.DISTAL,
        True,
        21.0,
    )
    assert (right.occlusion_level, right.opacified_to, right.proximal_spasm) == (
        m.OcclusionLevel.PROXIMAL,
        m.OpacifiedTo.NONE,
        m.ProximalSpasm.CANNOT_BE_EXCLUDED,
    )
    assert r.findings.peritoneum.peritoneal_spill_overall is m.PeritonealSpill.NONE
    assert r.findings.peritoneum.intravasation is m.Intravasation.VENOUS
    (d,) = r.findings.filling_defects
    assert (d.suspected_nature, d.size_mm, d.location) == (
        m.DefectNature.SUBMUCOUS_FIBROID,
        14.2,
        m.DefectLocation.FUNDUS,
    )
    (link,) = d.image_links
    region = r.link_region(link)  # the defect's measurement, linked by id
    assert link.measurement_id and r.link_measurement(link) is r.measurement(link.measurement_id)
    assert (link.sop_instance_uid, region.region_type) == ("2.25.1235", RegionType.ELLIPSE)
    # truth [row 50, column 60] is a pixel centre; SCOORD (0, 0) is the top-left pixel's top-left corner, as in
    # from_analysis: the ellipse is centred on (60.5, 50.5), not half a pixel up and left (issue 12)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = region.points
    assert ((x0 + x1) / 2, (y2 + y3) / 2) == (60.5, 50.5)
    assert r.link_measurement(link).calibration.row_spacing_mm == pytest.approx(0.32)
    assert r.dose.dap_total_gy_cm2 == pytest.approx(3.1) and r.dose.dap_source_unit is m.DapUnit.DGY_CM2
    # spot image, the loop frame the defect is marked on (its region burned into the PDF), max distension
    assert [(k.sop_instance_uid, k.frame_number) for k in r.key_images] == [
        ("2.25.1236", 1),
        ("2.25.1235", 1),
        ("2.25.1235", 20),
    ]
    assert r.key_images[1].note == "filling defect (submucous fibroid)"
    text = r.impression.text
    assert "hydrosalpinx (21 mm, severe: > 15 mm)" in text and "spasm" in text and "submucous fibroid" in text
    assert "before IVF" in text and "Venous intravasation" in text
    assert {x.key for x in r.recommendations} >= {"hydrosalpinx_before_ivf", "hysteroscopy_defect"}
    r.sign("Dr Reference")  # acknowledged warnings only: signable


def test_signed_reference_report(tmp_path: Path) -> None:
    data = build_reference_report(example_truth("bilateral_distal_hydrosalpinx"), tmp_path, signed=True)
    r = m.HsgReport.from_json(data)
    assert r.is_signed and r.signature.verifying_observer_name and r.signature.verification_datetime.tzinfo
    with pytest.raises(m.ReportLockedError):
        r.findings.tubes.left.spill = m.Spill.FREE


def test_patent_tube_whose_spill_was_not_recorded_is_read_as_indeterminate(tmp_path: Path) -> None:
    """Short generated loops end before a patent tube spills: truth says patent + spill 'none'. V08 (patency is
    defined by spill) forbids 'patent' there, so the reference reads what the images show - indeterminate."""
    truth = example_truth("normal")
    truth["sides"]["left"].update(spill="none")
    data = build_reference_report(truth, tmp_path)  # raised 'V08 findings.tubes.left.patency' before the fix
    left = m.HsgReport.from_json(data).findings.tubes.left
    assert (left.patency, left.spill, left.opacified_to) == (
        m.Patency.INDETERMINATE,
        m.Spill.NONE,
        m.OpacifiedTo.FIMBRIAL,
    )
    assert "no spill" in left.patency_note
    r = m.HsgReport.from_json(data)
    assert "Left tubal patency indeterminate" in r.impression.text
    assert r.findings.peritoneum.peritoneal_spill_overall is m.PeritonealSpill.UNILATERAL_FREE_R


def test_bad_truth_is_refused_with_the_field_named(tmp_path: Path) -> None:
    with pytest.raises(ReferenceReportError, match="sides"):
        build_reference_report({"case": "x"}, tmp_path)
    truth = example_truth("normal")
    truth["defects"] = [{"type": "tumour"}]
    with pytest.raises(ReferenceReportError, match=r"defects\[0\]\.type"):
        reference_report_from_truth(truth)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", sample.CASES)
def test_every_generated_case_gives_a_signable_report(case: str, tmp_path: Path) -> None:
    generated = sample.generate_case(case, seed=3, size=128, frames=12)
    case_dir = generated.write(tmp_path)
    truth = json.loads((case_dir / "truth.json").read_text())
    data = build_reference_report(truth, case_dir)
    r = m.HsgReport.from_json(json.loads(json.dumps(data)))
    assert r.to_json() == data
    issues = validate(r)
    assert not [i for i in issues if i.severity is Severity.ERROR], issues
    # identity comes from the DICOM headers, not invented
    first = generated.datasets[0]
    assert r.identity.study_instance_uid == truth["study_instance_uid"] == first.StudyInstanceUID
    assert r.identity.patient_id == first.PatientID and r.identity.patient_name == str(first.PatientName)
    assert len(r.identity.source_instances) == len(generated.datasets)
    # tubes follow the truth per patient side
    for side in ("left", "right"):
        ts, tube = truth["sides"][side], r.findings.tubes.side(side)
        if ts["patency"] == "patent" and ts["spill"] == "none":  # spill after the last frame: not seen
            assert (tube.patency, tube.spill) == (m.Patency.INDETERMINATE, m.Spill.NONE)
        elif ts["patency"] in ("patent", "occluded"):
            assert tube.patency.value == ts["patency"]
            assert tube.spill.value == ts["spill"]
            assert bool(tube.hydrosalpinx) == ts["hydrosalpinx"]
    assert len(r.findings.filling_defects) == len(truth["defects"])
    assert (r.findings.peritoneum.intravasation is not m.Intravasation.ABSENT) == bool(truth["intravasation"])
    assert r.dose.dap_total_gy_cm2 == pytest.approx(truth["dose"]["dap_dgycm2"] / 10)
    assert r.impression.sentences and all(s.generated for s in r.impression.sentences)
    r.sign("Dr Reference")
    assert r.is_signed
