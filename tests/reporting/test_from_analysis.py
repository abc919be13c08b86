"""Analysis suggestions → report: real analysis on small generated loops, accepted one by one."""

from __future__ import annotations

import numpy as np
import pytest

from hsg_workstation.analysis import AnalysisRequest, analyze_frames
from hsg_workstation.reporting.from_analysis import apply_suggestion, suggestions_from_analysis
from hsg_workstation.reporting.model import (
    HsgReport,
    Intravasation,
    Patency,
    ReportLockedError,
    Spill,
    SpillAssessment,
)
from tests.analysis.conftest import analysed, generated

pytestmark = pytest.mark.timeout(180)


def _loop(case: str, seed: int, **kw):
    g = generated(case, seed, **kw)
    loop = g.datasets[1]
    return g, loop, analysed(case, seed, **kw)


def test_suggestions_are_built_but_never_written_on_their_own() -> None:
    _, loop, r = _loop("normal", 0)
    report = HsgReport()
    before = report.to_json()
    sugg = suggestions_from_analysis(r, loop.SOPInstanceUID, loop.SOPClassUID)
    assert report.to_json() == before  # building suggestions does not touch any report
    ids = [s.id for s in sugg]
    assert len(ids) == len(set(ids))
    assert {"spill_left", "spill_right", "max_distension", "intravasation"} <= set(ids)
    left = next(s for s in sugg if s.id == "spill_left")
    onset = r.sides["left"].spill_onset_frame
    assert left.frame == onset
    assert f"frame {onset}" in left.label and "free spill" in left.label and "confidence" in left.label
    assert left.label.startswith("Left tube:")


def test_accept_fills_fields_and_links_the_frame() -> None:
    g, loop, r = _loop("normal", 0)
    report = HsgReport()
    seen: list[str] = []
    report.add_listener(lambda _r, path: seen.append(path))
    sugg = {s.id: s for s in suggestions_from_analysis(r, loop.SOPInstanceUID, loop.SOPClassUID)}

    paths = apply_suggestion(report, sugg["spill_left"])
    left = report.findings.tubes.left
    assert left.spill is Spill.FREE and left.patency is Patency.PATENT
    assert report.findings.peritoneum.spill_assessed_on is SpillAssessment.SEQUENCE_OR_DELAYED
    assert report.findings.tubes.right.spill is None  # only the accepted side
    assert "findings.tubes.left.spill" in paths and "findings.tubes.left.spill" in seen
    onset = r.sides["left"].spill_onset_frame
    assert abs(onset - g.truth["sides"]["left"]["spill_onset_frame"]) <= 2
    (link,) = left.image_links
    assert (link.sop_instance_uid, link.frame_number, link.sop_class_uid) == (
        loop.SOPInstanceUID,
        onset,
        loop.SOPClassUID,
    )
    assert [(k.sop_instance_uid, k.frame_number) for k in report.key_images] == [(loop.SOPInstanceUID, onset)]

    # accepting twice does not duplicate the link or the key image
    apply_suggestion(report, sugg["spill_left"])
    assert len(left.image_links) == 1 and len(report.key_images) == 1

    apply_suggestion(report, sugg["intravasation"])
    assert report.findings.peritoneum.intravasation is Intravasation.ABSENT

    apply_suggestion(report, sugg["max_distension"])
    cav = report.findings.cavity
    assert cav.image_links[0].frame_number == r.max_distension_frame
    assert cav.intercornual_distance_mm == pytest.approx(r.shape.intercornual_distance, abs=0.06)
    assert cav.internal_indentation_depth_mm is not None and cav.internal_indentation_depth_mm < 3
    # the report round-trips through its JSON form with the accepted values
    again = HsgReport.from_json(report.to_json())
    assert again.findings.tubes.left.spill is Spill.FREE
    assert again.findings.tubes.left.image_links[0].frame_number == onset


def test_occluded_side_is_suggested_as_not_filling_on_the_patients_side() -> None:
    g, loop, r = _loop("unilateral_proximal_occlusion", 2, flip=True)
    occluded = next(s for s, t in g.truth["sides"].items() if t["occlusion_level"] == "proximal")
    sugg = {s.id: s for s in suggestions_from_analysis(r, loop.SOPInstanceUID, loop.SOPClassUID)}
    assert f"not_filled_{occluded}" in sugg and f"spill_{occluded}" not in sugg
    report = HsgReport()
    apply_suggestion(report, sugg[f"not_filled_{occluded}"])
    tube = report.findings.tubes.side(occluded)
    assert tube.spill is Spill.NONE and tube.opacified_to.value == "none"
    assert tube.patency is None  # the reader decides occluded vs spasm


def test_defect_candidate_creates_a_filling_defect_with_size_and_region() -> None:
    _, loop, r = _loop("endometrial_polyp", 0)
    sugg = [
        s for s in suggestions_from_analysis(r, loop.SOPInstanceUID, loop.SOPClassUID) if s.kind == "defect"
    ]
    assert len(sugg) == len(r.defects) >= 1
    report = HsgReport()
    apply_suggestion(report, sugg[0])
    (defect,) = report.findings.filling_defects
    assert defect.size_mm == pytest.approx(r.defects[0].diameter_mm, abs=0.06)
    (link,) = defect.image_links
    assert link.frame_number == r.defects[0].frame
    col, row = link.region.points[0]
    assert (row, col) == pytest.approx((r.defects[0].row + 0.5, r.defects[0].column + 0.5))


def test_signed_report_refuses_and_is_unchanged() -> None:
    _, loop, r = _loop("normal", 0)
    sugg = suggestions_from_analysis(r, loop.SOPInstanceUID, loop.SOPClassUID)
    data = HsgReport().to_json()
    data["status"] = "signed"
    data["signature"] = {
        "verifying_observer_name": "Reader^Anna",
        "verifying_organization": "Synthetic Hospital",
        "verification_datetime": "2026-01-05T11:00:00+00:00",
    }
    signed = HsgReport.from_json(data)
    before = signed.to_json()
    for s in sugg:
        with pytest.raises(ReportLockedError):
            apply_suggestion(signed, s)
    assert signed.to_json() == before


def test_missing_loop_uid_is_refused() -> None:
    _, _, r = _loop("normal", 0)
    with pytest.raises(ValueError, match="SOP Instance UID"):
        suggestions_from_analysis(r, "")


def test_no_cavity_found_proposes_no_tube_or_intravasation_findings() -> None:
    # a loop without contrast: the analysis assessed nothing, so "tube does not fill" must not be suggested
    rng = np.random.default_rng(0)
    r = analyze_frames(AnalysisRequest.from_frames((1000 + rng.normal(0, 5, (12, 64, 64))).astype(np.uint16)))
    assert r.max_distension_frame is None
    sugg = suggestions_from_analysis(r, "1.2.826.0.1.3680043.8.498.1")
    assert all(s.kind == "key_frame" and not s.fields for s in sugg)


def test_filling_without_spill_or_sac_is_not_stated_as_a_fact() -> None:
    """The bundled proximal-occlusion loop: the analysis sees "contrast" in the occluded (right) tube at frame 18
    (the truth: it never fills). Without spill or a sac nothing confirms a filling, so the no-spill suggestion does
    not say "fills" (that reads as a distal block) and the first-fill key image is offered as frames to look at,
    not as a one-click fact. The spilling side keeps its confident suggestions."""
    from pathlib import Path

    import pydicom

    from hsg_workstation.analysis import analyze_dataset

    path = (
        Path(__file__).resolve().parents[2] / "sample_data" / "unilateral_proximal_occlusion" / "02_loop.dcm"
    )
    loop = pydicom.dcmread(path)
    sugg = {s.id: s for s in suggestions_from_analysis(analyze_dataset(loop), str(loop.SOPInstanceUID))}
    right = sugg.get("no_spill_right") or sugg["not_filled_right"]
    assert "fills (" not in right.label and right.fields["findings.tubes.right.spill"] == "none"
    if "first_fill_right" in sugg:
        assert not sugg["first_fill_right"].one_click and sugg["first_fill_right"].review_frames is not None
    assert sugg["spill_left"].one_click and sugg["first_fill_left"].one_click
