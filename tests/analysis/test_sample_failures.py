"""The failures issue 10 found on the bundled samples, each reproduced against the sample's own truth.json.

- ``submucous_myoma``: the faint contrast beside the myoma, inside the cavity's outline, was taken for the left
  tube filling at frame 8 (truth 17), and the GUI offered it as a key image.
- ``bilateral_distal_hydrosalpinx``: only "fills, no spill, confidence 0.30"; nothing named the sacs.
- ``unilateral_proximal_occlusion``: contrast refluxing below the internal os (cervix / catheter) persisted within
  the tube search distance, and the right tube, which never fills, "filled at frame 18".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsg_workstation.analysis import analyze_path
from hsg_workstation.reporting.from_analysis import suggestions_from_analysis

pytestmark = pytest.mark.timeout(120)

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


def _truth(case: str) -> dict:
    return json.loads((SAMPLES / case / "truth.json").read_text())


def test_myoma_contrast_inside_the_cavity_outline_is_not_the_tube_filling() -> None:
    truth = _truth("submucous_myoma")
    r = analyze_path(SAMPLES / "submucous_myoma" / "02_loop.dcm")
    for side in ("left", "right"):
        t = truth["sides"][side]["first_fill_frame"]
        got = r.sides[side].first_fill_frame
        assert got is not None and abs(got - t) <= 2, (side, got, t)
    # the key image offered for the left tube's first filling is that frame, not the myoma's early one
    sugg = {s.id: s for s in suggestions_from_analysis(r, truth["loop_sop_instance_uid"])}
    if "first_fill_left" in sugg:
        assert abs(sugg["first_fill_left"].frame - truth["sides"]["left"]["first_fill_frame"]) <= 2


def test_bilateral_hydrosalpinx_names_both_sacs_with_their_diameter() -> None:
    truth = _truth("bilateral_distal_hydrosalpinx")
    r = analyze_path(SAMPLES / "bilateral_distal_hydrosalpinx" / "02_loop.dcm")
    for side in ("left", "right"):
        s, t = r.sides[side], truth["sides"][side]
        assert t["hydrosalpinx"] and s.spill == "none", (side, s.spill)
        assert s.hydrosalpinx_mm is not None
        assert s.hydrosalpinx_mm == pytest.approx(t["hydrosalpinx_diameter_mm"], rel=0.2), side
        assert s.confidence >= 0.9  # a calibrated, confident "no spill": not 0.30
    sugg = {s.id: s for s in suggestions_from_analysis(r, truth["loop_sop_instance_uid"])}
    for side in ("left", "right"):
        no_spill = sugg[f"no_spill_{side}"]
        assert "hydrosalpinx" in no_spill.label and " mm" in no_spill.label
        assert no_spill.fields[f"findings.tubes.{side}.hydrosalpinx"] is True
        assert no_spill.fields[f"findings.tubes.{side}.hydrosalpinx_diameter_mm"] == pytest.approx(
            truth["sides"][side]["hydrosalpinx_diameter_mm"], rel=0.2
        )


def test_proximally_occluded_tube_is_not_reported_as_filling() -> None:
    truth = _truth("unilateral_proximal_occlusion")
    r = analyze_path(SAMPLES / "unilateral_proximal_occlusion" / "02_loop.dcm")
    occluded = [side for side in ("left", "right") if not truth["sides"][side]["tube_filled"]]
    assert occluded == ["right"]  # the sample as bundled: the patient's right tube
    for side in ("left", "right"):
        t, s = truth["sides"][side], r.sides[side]
        if t["tube_filled"]:
            assert s.tube_filled and abs(s.first_fill_frame - t["first_fill_frame"]) <= 2, (side, s)
        else:
            assert not s.tube_filled and s.first_fill_frame is None, (side, s)
            assert s.spill in ("none", "indeterminate")
    sugg = {s.id for s in suggestions_from_analysis(r, truth["loop_sop_instance_uid"])}
    assert "first_fill_right" not in sugg
