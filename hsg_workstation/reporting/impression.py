"""Auto-impression (spec §3): findings → ordered, hedged impression sentences and recommendations.

Principles: one sentence per clinically distinct problem, most significant first (a critical result such as a
failed sterilisation leads); hedge where HSG is weak — never call septate versus bicornuate from HSG alone
(accuracy ~55 %, Reuter 1989), proximal non-filling may be spasm or a mucus plug, adhesion assessment on HSG
is poorly reproducible. Every sentence carries a ``source_key`` so the report can tell which generated
sentences the radiologist edited or removed.

The advice phrases (what to do next) live in ``PHRASES`` and ``RECOMMENDATIONS`` — plain dicts a site can
replace — so clinical policy is not buried in the logic. They are sentences of advice, not names of concepts; every
recorded value a sentence names (level, location, contour, nature, side, grade, reasons, categories) is the
vocabulary's phrase of that value (``_w``), the same words the PDF and the SR narrative use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hsg_workstation.reporting import eshre
from hsg_workstation.reporting.enums import (
    CavityOpacified,
    CavityShape,
    Complication,
    ContrastType,
    DefectNature,
    ExternalContourSource,
    Indication,
    Intravasation,
    OcclusionLevel,
    Patency,
    PresentAbsent,
    ProximalSpasm,
    Severity3,
    Spill,
    StudyQuality,
    TubeStatus,
    WallPattern,
)
from hsg_workstation.reporting.form_spec import hydrosalpinx_grade_for
from hsg_workstation.reporting.sections import ImpressionSentence, Recommendation, Tube
from hsg_workstation.reporting.vocabulary import vocabulary

if TYPE_CHECKING:  # pragma: no cover - the report imports this module; the type only
    from hsg_workstation.reporting.report import HsgReport

# Phrases appended to impression sentences (site policy; keys are stable).
PHRASES: dict[str, str] = {
    "proximal_hedge": "tubal spasm or a mucus plug cannot be excluded",
    "proximal_persistent": "persists after spasmolytic / delayed injection",
    "septate_vs_bicornuate": "septate versus bicornuate configuration cannot be distinguished on HSG",
    "narrow_angle_septate": "The narrow angle favours a septate uterus.",
    "indentation_indeterminate": "the external contour decides",
    "indentation_septate": "the external contour decides",
    "eshre_not_assessable": "ESHRE/ESGE class not assessable on HSG (external contour not assessed)",
    "unicornuate": "a non-communicating rudimentary horn and a catheter / balloon position artefact are not "
    "excluded",
    "iua": "HSG agreement for adhesions is poor",
    "hydrosalpinx_ivf": "relevant before IVF",
    "sterilisation_failed": "communicate as a critical result; alternative contraception until resolved",
}

# Recommendation library: key -> sentence for the Recommendations section.
RECOMMENDATIONS: dict[str, str] = {
    "repeat_or_selective_salpingography": "Repeat HSG or selective salpingography to distinguish spasm from "
    "true proximal tubal occlusion.",
    "hydrosalpinx_before_ivf": "Gynaecology review of the hydrosalpinx before IVF (salpingectomy or proximal "
    "tubal occlusion).",
    "3d_us_or_mri_anomaly": "3D transvaginal ultrasound or MRI to assess the external fundal contour.",
    "hysteroscopy_defect": "Hysteroscopy or saline infusion sonohysterography to characterise the filling defect.",
    "hysteroscopy_iua": "Hysteroscopy to confirm and treat intrauterine adhesions.",
    "renal_imaging": "Renal ultrasound if not already done (associated renal anomalies).",
    "sterilisation_failed": "Alternative contraception and gynaecology review: tubal occlusion not confirmed.",
    "mri_adenomyosis": "Pelvic MRI or transvaginal ultrasound if adenomyosis is clinically relevant.",
}


def _w(member: Any) -> str:
    """An enum value in running text: the vocabulary's phrase (``vocabulary.tsv``) — the impression keeps no
    value words of its own, so the PDF, the SR narrative and the impression say the same thing."""
    return vocabulary().phrase(member)


def _a(phrase: str) -> str:
    """The indefinite article for a phrase ("an endometrial polyp", "a submucous fibroid")."""
    return "an" if phrase[:1].lower() in "aeiou" else "a"


def _num(x: float | None) -> str:
    """Reading precision: whole millimetres / degrees from 10 up (18 mm, not 17.8 mm), one decimal below."""
    if x is None:
        return "?"
    return f"{x:.0f}" if abs(x) >= 10 else f"{round(x, 1):g}"


def _s(text: str, key: str, critical: bool = False) -> ImpressionSentence:
    return ImpressionSentence(
        text=text, source_key=key, generated=True, generated_text=text, critical=critical
    )


def _wall_suffix(t: Tube) -> str:
    parts = []
    if WallPattern.SIN_ISTHMIC_DIVERTICULA in t.wall_pattern:
        parts.append("features of salpingitis isthmica nodosa")
    if WallPattern.RIGID_PIPE_STEM in t.wall_pattern:
        parts.append("a rigid pipe-stem appearance")
    if WallPattern.BEADED in t.wall_pattern:
        parts.append("a beaded contour")
    return f", with {' and '.join(parts)}" if parts else ""


_GRADE_CRITERIA = {"mild": "< 10 mm", "moderate": "10–15 mm", "severe": "> 15 mm"}


def _hydro_detail(t: Tube) -> str:
    """' (18 mm, severe: > 15 mm)' — the diameter at reading precision and the grade with its stated criterion."""
    parts = []
    grade = t.hydrosalpinx_grade.value if t.hydrosalpinx_grade is not None else None
    if t.hydrosalpinx_diameter_mm:
        parts.append(f"{_num(t.hydrosalpinx_diameter_mm)} mm")
        grade = hydrosalpinx_grade_for(t.hydrosalpinx_diameter_mm)  # the stated criteria decide
    if grade is not None:
        parts.append(f"{_w(Severity3(grade))}: {_GRADE_CRITERIA[grade]}")
    return f" ({', '.join(parts)})" if parts else ""


def _not_assessable(cav, phrases: Mapping[str, str]) -> str:
    """' ESHRE/ESGE class not assessable on HSG …' when the form records that class, else nothing (the
    impression never states what the form does not record)."""
    return f" {phrases['eshre_not_assessable']}." if cav.eshre_uterus is eshre.NOT_ASSESSABLE else ""


def _tube_ok(t: Tube) -> bool:
    return t.patency is Patency.PATENT and t.spill is Spill.FREE


def _tube_sentence(t: Tube, phrases: Mapping[str, str]) -> str | None:
    side = _w(t.side).capitalize()
    if t.status is TubeStatus.SURGICALLY_ABSENT:
        return f"{side} tube surgically absent."
    if t.patency is Patency.OCCLUDED and t.occlusion_level is OcclusionLevel.PROXIMAL:
        s = f"{side} proximal (cornual) tubal non-filling"
        if t.proximal_spasm is ProximalSpasm.RULED_OUT:
            s += f", {phrases['proximal_persistent']}"
        else:
            s += f" - {phrases['proximal_hedge']}"
    elif t.patency is Patency.OCCLUDED:
        level = _w(t.occlusion_level) if t.occlusion_level else ""
        s = f"{side} {level + ' ' if level else ''}tubal occlusion"
        if t.hydrosalpinx:
            s += f" with hydrosalpinx{_hydro_detail(t)}"
    elif t.patency is Patency.PATENT and t.spill is Spill.LOCULATED:
        s = f"{side} tube patent with loculated spill, suggesting peritubal adhesions"
    elif t.patency is Patency.PATENT and t.spill is Spill.DELAYED:
        s = f"{side} tube patent with delayed peritoneal spill"
    elif t.patency is Patency.INDETERMINATE:
        reason = f" ({t.patency_note.strip()})" if t.patency_note.strip() else ""
        s = f"{side} tubal patency indeterminate{reason}"
    elif _tube_ok(t):
        s = f"{side} tube patent with free peritoneal spill"
    else:
        return None
    if t.hydrosalpinx and t.patency is not Patency.OCCLUDED:
        s += f", with a dilated ampulla / hydrosalpinx{_hydro_detail(t)}"
    return s + _wall_suffix(t) + "."


def generate_impression(
    report: HsgReport, phrases: Mapping[str, str] | None = None
) -> list[ImpressionSentence]:
    """Ordered impression sentences for ``report`` (does not modify it)."""
    p = {**PHRASES, **(phrases or {})}
    out: list[ImpressionSentence] = []
    f = report.findings
    left, right = f.tubes.left, f.tubes.right

    # Critical first: sterilisation check.
    if Indication.STERILIZATION_CONFIRMATION in report.clinical.indications:
        passing = [
            t for t in (left, right) if t.patency is Patency.PATENT or t.spill in (Spill.FREE, Spill.DELAYED)
        ]
        if passing:
            sides = " and ".join(_w(t.side) for t in passing)
            out.append(
                _s(
                    f"CRITICAL: contrast passes the {sides} tube - occlusion NOT confirmed; "
                    f"{p['sterilisation_failed']}.",
                    "critical.sterilisation",
                    critical=True,
                )
            )
        elif all(
            t.patency is Patency.OCCLUDED or t.status is TubeStatus.SURGICALLY_ABSENT for t in (left, right)
        ):
            out.append(_s("Bilateral tubal occlusion confirmed.", "sterilisation"))

    # 0. Adequacy.
    q = report.technique.study_quality
    if q is not None and q is not StudyQuality.DIAGNOSTIC:
        reasons = ", ".join(_w(r) for r in report.technique.limitation_reasons) or "see technique"
        out.append(_s(f"{_w(q).capitalize()} study ({reasons}); findings below are provisional.", "quality"))

    # 1. Tubes.
    both_occluded = all(t.patency is Patency.OCCLUDED for t in (left, right))
    sterilisation = Indication.STERILIZATION_CONFIRMATION in report.clinical.indications
    plain = not any(t.hydrosalpinx or _wall_suffix(t) for t in (left, right))
    if _tube_ok(left) and _tube_ok(right) and plain:
        out.append(_s("Bilateral tubal patency with free peritoneal spill.", "tubes.bilateral"))
    elif both_occluded and not sterilisation:
        parts = [(_tube_sentence(t, p) or "").rstrip(".") for t in (right, left)]
        parts = [x[0].lower() + x[1:] for x in parts]
        out.append(_s(f"Bilateral tubal occlusion: {'; '.join(parts)}.", "tubes.bilateral"))
    elif not (sterilisation and both_occluded):
        # abnormal side first (most significant first), the patient's right before left otherwise
        for t in sorted((right, left), key=_tube_ok):
            text = _tube_sentence(t, p)
            if text:
                out.append(_s(text, f"tube.{t.side.value}"))
    hydro = [t for t in (right, left) if t.hydrosalpinx]
    if hydro:
        sides = " and ".join(_w(t.side) for t in hydro)
        out.append(_s(f"Hydrosalpinx ({sides}) is {p['hydrosalpinx_ivf']}.", "tubes.hydrosalpinx"))

    # 2. Cavity / congenital.
    cav = f.cavity
    relevant_defects = [
        d
        for d in f.filling_defects
        if d.suspected_nature not in (DefectNature.AIR_BUBBLE, DefectNature.CLOT_OR_DEBRIS)
    ]
    if cav.opacified is CavityOpacified.NO:
        out.append(_s("Uterine cavity not opacified.", "cavity"))
    elif cav.shape is CavityShape.NORMAL_TRIANGULAR and not relevant_defects and not f.adhesions.present:
        out.append(_s("Normal uterine cavity.", "cavity"))
    elif cav.shape is CavityShape.TWO_HEMICAVITIES:
        if cav.external_contour_source is ExternalContourSource.NOT_ASSESSED:
            detail = []
            if cav.hemicavity_divergence_angle_deg is not None:
                detail.append(f"divergence {_num(cav.hemicavity_divergence_angle_deg)}°")
            if cav.intercornual_distance_mm is not None:
                detail.append(f"intercornual distance {_num(cav.intercornual_distance_mm)} mm")
            d = f" ({', '.join(detail)})" if detail else ""
            text = f"Two uterine hemicavities{d}: {p['septate_vs_bicornuate']}."
            angle = cav.hemicavity_divergence_angle_deg
            if angle is not None and angle <= 75:
                text += f" {p['narrow_angle_septate']}"
            out.append(_s(text + _not_assessable(cav, p), "cavity"))
        else:
            name = _w(cav.asrm2021_category) if cav.asrm2021_category else "Anomalous"
            eshre = _w(cav.eshre_uterus) if cav.eshre_uterus else "unclassified"
            out.append(
                _s(
                    f"{name[:1].upper() + name[1:]} uterus (ESHRE/ESGE {eshre}; external contour assessed on "
                    f"{_w(cav.external_contour_source)}).",
                    "cavity",
                )
            )
    elif cav.shape is CavityShape.FUNDAL_INDENTATION:
        depth, angle = cav.internal_indentation_depth_mm, cav.indentation_angle_deg
        if depth is not None and angle is not None and depth < 10 and angle > 90:
            out.append(
                _s(
                    "Mild fundal indentation - normal / arcuate variant (ASRM 2016 criteria)."
                    + _not_assessable(cav, p),
                    "cavity",
                )
            )
        elif depth is not None and angle is not None and depth > 15 and angle < 90:
            out.append(
                _s(
                    "Fundal indentation meets ASRM septate criteria on the cavity outline; "
                    f"{p['indentation_septate']}." + _not_assessable(cav, p),
                    "cavity",
                )
            )
        else:
            out.append(
                _s(
                    f"Fundal indentation (depth {_num(depth)} mm, angle {_num(angle)}°) in the indeterminate range; "
                    f"{p['indentation_indeterminate']}." + _not_assessable(cav, p),
                    "cavity",
                )
            )
    elif cav.shape is CavityShape.SINGLE_HEMICAVITY_FUSIFORM:
        out.append(
            _s(
                f"Single fusiform hemicavity with one tube - unicornuate (hemi-)uterus suspected; {p['unicornuate']}.",
                "cavity",
            )
        )
    elif cav.shape is CavityShape.T_SHAPED_NARROW:
        out.append(_s("Narrow T-shaped cavity (ESHRE/ESGE U1a pattern).", "cavity"))
    elif cav.shape is CavityShape.IRREGULAR_CONTOUR and not f.adhesions.present:
        out.append(_s("Irregular uterine cavity contour.", "cavity"))
    elif cav.shape is CavityShape.OBLITERATED and not f.adhesions.present:
        out.append(_s("Obliterated, non-distending uterine cavity.", "cavity"))

    # 3. Filling defects, largest first; adhesion-type defects are covered by the IUA sentence when present.
    for d in sorted(relevant_defects, key=lambda d: -(d.size_mm or 0.0)):
        if d.suspected_nature is DefectNature.ADHESION and f.adhesions.present:
            continue
        size = f"{_num(d.size_mm)} mm " if d.size_mm is not None else ""
        contour = f"{_w(d.contour)} " if d.contour else ""
        where = f" at the {_w(d.location)}" if d.location else ""
        count = f"{d.count} " if d.count > 1 else ""
        noun = "filling defects" if d.count > 1 else "filling defect"
        if d.suspected_nature in (DefectNature.POLYP, DefectNature.SUBMUCOUS_FIBROID, DefectNature.ADHESION):
            kind = _w(d.suspected_nature)
            nature = f"likely {_a(kind)} {kind}"
        else:
            nature = f"of {_w(DefectNature.INDETERMINATE)} nature"
        if d.suspected_nature is DefectNature.SUBMUCOUS_FIBROID and d.figo_submucous_type is not None:
            nature += f", {_w(d.figo_submucous_type)}, provisional on HSG"
        text = f"{count}{size}{contour}{noun}{where}, {nature}."
        out.append(_s(text[0].upper() + text[1:], f"defect.{d.id}"))

    a = f.adhesions
    if a.present:
        if a.afs_score is not None and a.afs_stage is not None:
            grade = f", AFS stage {_w(a.afs_stage)} (score {a.afs_score}; HSG-estimated extent)"
        else:
            grade = " (AFS score not assessable on HSG)"
        out.append(_s(f"Intrauterine adhesions{grade} - {p['iua']}.", "adhesions"))

    # 4. Other.
    if cav.adenomyosis_signs is PresentAbsent.PRESENT:
        out.append(_s("Myometrial contrast diverticula suggesting adenomyosis.", "adenomyosis"))
    pe = f.peritoneum
    if pe.intravasation not in (None, Intravasation.ABSENT):
        extent = f" ({_w(pe.intravasation_extent)})" if pe.intravasation_extent else ""
        oil = " with oil-based contrast" if report.technique.contrast_type is ContrastType.OIL_BASED else ""
        recorded = report.complications.complications
        no_sequelae = bool(recorded) and all(
            c in (Complication.NONE, Complication.INTRAVASATION) for c in recorded
        )
        # "without sequelae" only when the form records that nothing else happened
        tail = ", without sequelae" if no_sequelae else ""
        out.append(
            _s(f"{_w(pe.intravasation).capitalize()} intravasation{extent}{oil}{tail}.", "intravasation")
        )
    comps = [
        c
        for c in report.complications.complications
        if c not in (Complication.NONE, Complication.INTRAVASATION)
    ]
    if comps:
        names = ", ".join(_w(c) for c in comps)
        out.append(_s(f"Complications: {names}.", "complications"))
    return [s for s in out if s.text]


def generate_recommendations(
    report: HsgReport, library: Mapping[str, str] | None = None
) -> list[Recommendation]:
    """Recommendation items triggered by the findings, texts from ``library`` (default ``RECOMMENDATIONS``)."""
    lib = {**RECOMMENDATIONS, **(library or {})}
    f = report.findings
    keys: list[str] = []
    tubes = (f.tubes.left, f.tubes.right)
    if Indication.STERILIZATION_CONFIRMATION in report.clinical.indications and any(
        t.patency is Patency.PATENT for t in tubes
    ):
        keys.append("sterilisation_failed")
    if any(
        t.occlusion_level is OcclusionLevel.PROXIMAL and t.proximal_spasm is not ProximalSpasm.RULED_OUT
        for t in tubes
    ):
        keys.append("repeat_or_selective_salpingography")
    if any(t.hydrosalpinx for t in tubes):
        keys.append("hydrosalpinx_before_ivf")
    cav = f.cavity
    if (
        cav.shape is CavityShape.TWO_HEMICAVITIES
        and cav.external_contour_source is ExternalContourSource.NOT_ASSESSED
    ) or (cav.shape is CavityShape.FUNDAL_INDENTATION):
        keys.append("3d_us_or_mri_anomaly")
    if cav.shape is CavityShape.SINGLE_HEMICAVITY_FUSIFORM:
        keys.extend(["3d_us_or_mri_anomaly", "renal_imaging"])
    if any(d.suspected_nature in (DefectNature.POLYP, DefectNature.SUBMUCOUS_FIBROID, DefectNature.INDETERMINATE) for d in f.filling_defects):  # fmt: skip
        keys.append("hysteroscopy_defect")
    if f.adhesions.present:
        keys.append("hysteroscopy_iua")
    if cav.adenomyosis_signs is PresentAbsent.PRESENT:
        keys.append("mri_adenomyosis")
    seen: list[str] = []
    for k in keys:
        if k not in seen and k in lib:
            seen.append(k)
    return [Recommendation(text=lib[k], key=k, generated=True) for k in seen]
