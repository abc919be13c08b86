"""Auto-impression: order, hedging, critical results, library phrases, edit tracking."""

from __future__ import annotations

import re

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.impression import (
    PHRASES,
    RECOMMENDATIONS,
    generate_impression,
    generate_recommendations,
)
from hsg_workstation.reporting.reference import example_report


def texts(r: m.HsgReport) -> list[str]:
    return [s.text for s in generate_impression(r)]


def test_normal_study() -> None:
    sentences = generate_impression(example_report("normal"))
    assert [s.text for s in sentences] == [
        "Bilateral tubal patency with free peritoneal spill.",
        "Normal uterine cavity.",
    ]
    assert all(s.generated and s.generated_text == s.text and not s.edited for s in sentences)
    assert [s.source_key for s in sentences] == ["tubes.bilateral", "cavity"]


def test_proximal_non_filling_is_hedged_as_possible_spasm() -> None:
    r = example_report("unilateral_proximal_occlusion")
    first = texts(r)[0]
    assert first.startswith("Left proximal (cornual) tubal non-filling")
    assert "spasm" in first and "cannot be excluded" in first
    r.findings.tubes.left.proximal_spasm = m.ProximalSpasm.RULED_OUT
    first = texts(r)[0]
    assert "cannot be excluded" not in first and "persists" in first
    assert "Right tube patent with free peritoneal spill." in texts(r)


def test_hydrosalpinx_relevant_before_ivf() -> None:
    t = texts(example_report("bilateral_distal_hydrosalpinx"))
    assert t[0].startswith("Bilateral tubal occlusion:") and "hydrosalpinx (16 mm, severe: > 15 mm)" in t[0]
    assert t[0].index("right") < t[0].index("left")  # the patient's right before left (issue 11)
    assert any("before IVF" in s for s in t)


def test_never_septate_versus_bicornuate_from_hsg_alone() -> None:
    r = example_report("two_hemicavities")
    r.findings.cavity.hemicavity_divergence_angle_deg = 60.0
    r.findings.cavity.intercornual_distance_mm = 25.0
    (cavity,) = [s.text for s in generate_impression(r) if s.source_key == "cavity"]
    assert "cannot be distinguished on HSG" in cavity
    # the advice is the Recommendations section's, not repeated in the impression (issue 11)
    assert "3D ultrasound or MRI" not in cavity
    assert any("3D transvaginal ultrasound or MRI" in x.text for x in generate_recommendations(r))
    assert "divergence 60°" in cavity and "intercornual distance 25 mm" in cavity
    assert "favours a septate" in cavity  # narrow angle hint, still not a diagnosis
    assert not re.search(r"\b(is|shows) a (septate|bicornuate) uterus", cavity, re.I)
    r.findings.cavity.hemicavity_divergence_angle_deg = 100.0
    assert "favours" not in [s.text for s in generate_impression(r) if s.source_key == "cavity"][0]
    # with the external contour from MRI the category may be named
    r.findings.cavity.external_contour_source = m.ExternalContourSource.MRI
    r.findings.cavity.asrm2021_category = m.Asrm2021Category.SEPTATE
    r.findings.cavity.eshre_uterus = m.EshreUterus.U2A
    (cavity,) = [s.text for s in generate_impression(r) if s.source_key == "cavity"]
    assert cavity.startswith("Septate uterus (ESHRE/ESGE U2a") and "MRI" in cavity


def test_fundal_indentation_uses_asrm_thresholds() -> None:
    r = example_report("normal")
    c = r.findings.cavity
    c.shape = m.CavityShape.FUNDAL_INDENTATION
    c.internal_indentation_depth_mm, c.indentation_angle_deg = 6.0, 120.0
    assert "arcuate" in texts(r)[1]
    c.internal_indentation_depth_mm, c.indentation_angle_deg = 18.0, 70.0
    assert "meets ASRM septate criteria" in texts(r)[1] and "external contour" in texts(r)[1]
    c.internal_indentation_depth_mm, c.indentation_angle_deg = 12.0, 100.0
    assert "indeterminate range" in texts(r)[1]


def test_failed_sterilisation_is_first_and_critical() -> None:
    r = example_report("normal")
    r.clinical.indications = [m.Indication.STERILIZATION_CONFIRMATION]
    r.findings.tubes.right.status = m.TubeStatus.STERILIZED
    first = generate_impression(r)[0]
    assert first.critical and first.source_key == "critical.sterilisation"
    assert "NOT confirmed" in first.text and "left and right" in first.text
    assert "sterilisation_failed" in [x.key for x in generate_recommendations(r)]
    # both occluded -> confirmed, not critical
    for t in r.findings.tubes:
        t.patency, t.occlusion_level, t.spill = m.Patency.OCCLUDED, m.OcclusionLevel.ISTHMIC, m.Spill.NONE
    s = generate_impression(r)
    assert s[0].text == "Bilateral tubal occlusion confirmed." and not any(x.critical for x in s)


def test_order_most_significant_first_and_defects_largest_first() -> None:
    r = example_report("unilateral_proximal_occlusion")
    r.technique.study_quality = m.StudyQuality.LIMITED
    r.technique.limitation_reasons = [m.LimitationReason.CONTRAST_REFLUX]
    small = m.FillingDefect(
        location=m.DefectLocation.FUNDUS, size_mm=4, suspected_nature=m.DefectNature.POLYP
    )
    big = m.FillingDefect(
        location=m.DefectLocation.BODY_NS, size_mm=15, suspected_nature=m.DefectNature.SUBMUCOUS_FIBROID
    )
    bubble = m.FillingDefect(size_mm=3, suspected_nature=m.DefectNature.AIR_BUBBLE)
    r.findings.filling_defects[:] = [small, bubble, big]
    r.findings.peritoneum.intravasation = m.Intravasation.VENOUS
    keys = [s.source_key for s in generate_impression(r)]
    assert keys == [
        "quality",
        "tube.left",
        "tube.right",
        f"defect.{big.id}",
        f"defect.{small.id}",
        "intravasation",
    ]
    assert f"defect.{bubble.id}" not in keys  # air bubbles stay in the findings
    assert "Limited study (contrast reflux)" in texts(r)[0]


def test_adhesions_hedged_with_afs_stage() -> None:
    t = texts(example_report("intrauterine_adhesions"))
    (iua,) = [s for s in t if s.startswith("Intrauterine adhesions")]
    assert "AFS stage II (score 5" in iua and "poor" in iua and "hysteroscopy" not in iua
    r = example_report("intrauterine_adhesions")
    assert any("Hysteroscopy" in x.text for x in generate_recommendations(r))


def test_other_sentences() -> None:
    r = example_report("normal")
    r.technique.contrast_type = m.ContrastType.OIL_BASED
    r.findings.peritoneum.intravasation = m.Intravasation.VENOUS
    r.findings.peritoneum.intravasation_extent = m.Severity3.MODERATE
    r.findings.cavity.adenomyosis_signs = m.PresentAbsent.PRESENT
    r.complications.complications = [m.Complication.VASOVAGAL]
    r.findings.tubes.right.wall_pattern = [m.WallPattern.SIN_ISTHMIC_DIVERTICULA]
    t = texts(r)
    # a complication is recorded: no "without sequelae" (issue 11)
    assert "Venous intravasation (moderate) with oil-based contrast." in t
    r.complications.complications = [m.Complication.NONE]
    assert "Venous intravasation (moderate) with oil-based contrast, without sequelae." in texts(r)
    r.complications.complications = []  # not recorded: not stated either
    assert "Venous intravasation (moderate) with oil-based contrast." in texts(r)
    r.complications.complications = [m.Complication.VASOVAGAL]
    t = texts(r)
    assert any("adenomyosis" in s for s in t) and "Complications: vasovagal." in t
    assert any("salpingitis isthmica nodosa" in s and s.startswith("Right") for s in t)


def test_phrases_come_from_the_library() -> None:
    r = example_report("unilateral_proximal_occlusion")
    custom = {"proximal_hedge": "SITE POLICY PHRASE"}
    assert "SITE POLICY PHRASE" in generate_impression(r, custom)[0].text
    assert PHRASES["proximal_hedge"] not in generate_impression(r, custom)[0].text
    recs = generate_recommendations(r, {"repeat_or_selective_salpingography": "Local advice."})
    assert [(x.key, x.text, x.generated) for x in recs] == [
        ("repeat_or_selective_salpingography", "Local advice.", True)
    ]
    assert set(RECOMMENDATIONS) >= {x.key for x in generate_recommendations(example_report("unicornuate"))}


def test_edits_are_tracked_and_regeneration_keeps_them() -> None:
    r = example_report("unilateral_proximal_occlusion")
    r.edit_impression_sentence(
        0, "Left cornual non-filling, probably spasm.", who="Dr A", reason="clinical context"
    )
    s0 = r.impression.sentences[0]
    assert not s0.generated and s0.edited and s0.generated_text.startswith("Left proximal (cornual)")
    r.add_impression_sentence("Discussed with the referrer.", who="Dr A")
    r.findings.cavity.adenomyosis_signs = m.PresentAbsent.PRESENT  # finding changed after the edit
    r.regenerate_impression(who="Dr A")
    t = [s.text for s in r.impression.sentences]
    assert t[0] == "Left cornual non-filling, probably spasm."  # edited sentence kept in its place
    assert any("adenomyosis" in x for x in t) and t[-1] == "Discussed with the referrer."
    assert sum("proximal (cornual)" in x for x in t) == 0  # generated version not duplicated
    assert [e.action for e in r.impression.edits] == [
        m.ImpressionEditAction.EDITED,
        m.ImpressionEditAction.ADDED,
        m.ImpressionEditAction.REGENERATED,
    ]
    assert r.impression.edits[0].old_text.startswith("Left proximal") and r.impression.edits[0].who == "Dr A"
    assert r.impression.text.startswith("1. Left cornual non-filling")


def test_regeneration_respects_removed_sentences_until_their_finding_changes() -> None:
    r = example_report("venous_intravasation")
    idx = [s.source_key for s in r.impression.sentences].index("intravasation")
    r.remove_impression_sentence(idx, who="Dr A", reason="trivial")
    r.regenerate_impression(who="Dr A")
    assert "intravasation" not in [s.source_key for s in r.impression.sentences]
    r.findings.peritoneum.intravasation_extent = m.Severity3.SEVERE
    r.regenerate_impression(who="Dr A")
    assert "intravasation" in [s.source_key for s in r.impression.sentences]


def test_abnormal_side_comes_first() -> None:
    r = example_report("normal")
    t = r.findings.tubes.right
    t.patency, t.occlusion_level, t.spill, t.proximal_spasm = (
        m.Patency.OCCLUDED,
        m.OcclusionLevel.PROXIMAL,
        m.Spill.NONE,
        m.ProximalSpasm.CANNOT_BE_EXCLUDED,
    )
    assert [s.source_key for s in generate_impression(r)][:2] == ["tube.right", "tube.left"]


def test_typing_the_generated_text_back_marks_the_sentence_generated_again() -> None:
    r = example_report("normal")
    original = r.impression.sentences[0].text
    r.edit_impression_sentence(0, "Tubes fine.", who="Dr A")
    assert not r.impression.sentences[0].generated
    r.edit_impression_sentence(0, original, who="Dr A")
    s = r.impression.sentences[0]
    assert s.generated and not s.edited and len(r.impression.edits) == 2
    r.add_impression_sentence("Free text.", who="Dr A")
    r.edit_impression_sentence(2, "Free text, changed.", who="Dr A")
    assert not r.impression.sentences[2].generated
