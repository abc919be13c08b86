"""The report as HTML for the PDF (Qt-free): header, page-1 summary, clinical sections, findings tables, the
patient's after-care page, key-image captions.

Why apart from ``pdf.py``: what the PDF *says* (every value in the vocabulary's words, ``wording.words``; every
row name a vocabulary label where the row is one field) is a different subject from how it is *laid out and
printed* (Qt: images with burned-in regions, pagination, PDF/A writer), and ``pdf.py`` was over 1 000 lines.
Just over 600 lines itself: one subject (the report's text, section by section); splitting the findings tables off
would only move the shared row helpers into a third module.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset

from hsg_workstation import __version__
from hsg_workstation.dicom_io.orientation import ap_display_flips, describe_display, orientation_of
from hsg_workstation.measurements import (
    Measurement,
    angle_degrees,
    ellipse_area,
    ellipse_axes,
    polygon_area,
)
from hsg_workstation.reporting.model import HsgReport, ImageLink, KeyImage, Tube
from hsg_workstation.reporting.vocabulary import vocabulary
from hsg_workstation.reporting.wording import (
    dap_source_words,
    drl_comparison,
    findings_on_image,
    findings_with_links,
    is_analysis_text,
    key_findings,
    patient_age,
    person_name,
    words,
)

TUBE_ROWS = (
    "status",
    "opacified_to",
    "patency",
    "occlusion_level",
    "proximal_spasm",
    "spill",
    "calibre",
    "hydrosalpinx",
    "mucosal_folds",
    "wall_pattern",
    "peritubal_adhesion_signs",
    "patency_note",
    "note",
)
_DEFECT_COLUMNS = ("location", "size_mm", "count", "contour", "behaviour", "suspected_nature", "note")


def _label(owner: str, field: str) -> str:
    """A row name: the vocabulary's label of the field (the form shows the same words)."""
    return vocabulary().concept(f"field:{owner}.{field}").label


def _f(part: Any, field: str) -> str:
    return _label(type(part).__name__, field)


ImageSource = Path | str | Dataset
"""A key image's source: a DICOM file path (decoded one frame at a time) or a dataset with pixel data."""

KEY_IMAGES_PER_ROW = 4  # four across: a normal HSG's key images take a third of a page, not two pages
KEY_IMAGE_WIDTH = 135

AFTERCARE_TEXT = [
    "You may have cramps like period pains. They usually settle within an hour. A simple pain killer such as "
    "paracetamol or ibuprofen can help.",
    "Light spotting or a little bleeding, and a sticky discharge from the contrast fluid, are normal for a few days.",
    "Please contact a doctor straight away if you get a fever, a foul-smelling discharge, heavy bleeding or "
    "bleeding that goes on for more than a few days, or pain that gets worse instead of better.",
    "Infection after this test is rare: it happens in about 1 in 100 women (about 1 %).",
    "You can go back to your normal activities today. Your doctor will discuss the results with you.",
]


def _e(text: Any) -> str:
    return html.escape(words(text) if not isinstance(text, str) else text)


def _rows(pairs: list[tuple[str, Any]], unit: dict[str, str] | None = None) -> str:
    """Two-column table of the filled fields only (an empty form line says nothing)."""
    out = []
    for label, value in pairs:
        if value is None or value == "" or value == []:
            continue
        text = words(value)
        if unit and label in unit:
            text += f" {unit[label]}"
        out.append((html.escape(label), html.escape(text)))
    if not out:
        return "<p class='none'>Not recorded.</p>"
    if len(out) <= 4 or any(len(t) > 38 for _l, t in out):
        rows = "".join(f"<tr><td class='k'>{k}</td><td>{v}</td></tr>" for k, v in out)
        return f"<table class='kv'>{rows}</table>"
    # short values side by side in two pairs of columns: half the height (a normal HSG fits on two pages)
    half = (len(out) + 1) // 2
    rows = []
    for i in range(half):
        left = out[i]
        right = out[half + i] if half + i < len(out) else ("", "")
        rows.append(
            f"<tr><td class='k2'>{left[0]}</td><td class='v2'>{left[1]}</td>"
            f"<td class='k2'>{right[0]}</td><td class='v2'>{right[1]}</td></tr>"
        )
    return f"<table class='kv' width='100%'>{''.join(rows)}</table>"


def _all_image_links(report: HsgReport) -> list[ImageLink]:
    f = report.findings
    links = list(f.cervix.image_links) + list(f.cavity.image_links) + list(f.adhesions.image_links)
    for d in f.filling_defects:
        links.extend(d.image_links)
    for t in f.tubes:
        links.extend(t.image_links)
    links.extend(f.peritoneum.image_links)
    return links


def _source_header(source: ImageSource) -> Dataset:
    """The header of a key image's source (an empty dataset when unreadable: captions never fail the PDF)."""
    if isinstance(source, Dataset):
        return source
    try:
        return dcmread(source, stop_before_pixels=True)
    except Exception:  # noqa: BLE001
        return Dataset()


_CSS = """
body { font-size: 9pt; }
h1 { font-size: 15pt; margin: 0; }
h2 { font-size: 11pt; margin-top: 10px; margin-bottom: 3px; color: #1a3d6d; border-bottom: 1px solid #1a3d6d; }
h3 { font-size: 9.5pt; margin-top: 6px; margin-bottom: 2px; }
table.kv td { padding: 1px 6px 1px 0; }
td.k { color: #444; width: 38%; }
td.k2 { color: #444; width: 22%; }
td.v2 { width: 28%; }
table.grid { border-collapse: collapse; }
table.grid th { background: #e6ecf5; border: 1px solid #999; padding: 2px 4px; text-align: left; }
table.grid td { border: 1px solid #999; padding: 2px 4px; }
p.none { color: #777; }
.imp { font-size: 10pt; }
.draft { color: #b00000; font-weight: bold; }
.small { font-size: 7.5pt; color: #555; }
"""


def _header(r: HsgReport) -> str:
    i = r.identity
    inst = html.escape(i.institution_name or "—")
    addr = html.escape(i.institution_address) if i.institution_address else ""
    status = (
        f"<span class='draft'>{html.escape(_status_line(r))}</span>"
        if not r.is_signed or r.predecessor is not None
        else html.escape(_status_line(r))
    )
    age = patient_age(i.patient_birth_date, i.study_date)
    return (
        "<h1>Hysterosalpingography (HSG) report</h1>"
        f"<table width='100%'><tr><td>{inst}{'<br/>' + addr if addr else ''}</td>"
        f"<td align='right'>{status}</td></tr></table>"
        "<table class='kv' width='100%'><tr>"
        f"<td class='k'>Patient</td><td>{html.escape(person_name(i.patient_name))}</td>"
        f"<td class='k'>Patient ID</td><td>{html.escape(i.patient_id or '—')}</td></tr><tr>"
        f"<td class='k'>Date of birth</td><td>{_e(i.patient_birth_date)}"
        f"{f' (age {html.escape(age)})' if age else ''}</td>"
        f"<td class='k'>Sex</td><td>{_e(i.patient_sex)}</td></tr><tr>"
        f"<td class='k'>Study date</td><td>{_e(i.study_date)} {_e(i.study_time) if i.study_time else ''}</td>"
        f"<td class='k'>Accession</td><td>{html.escape(i.accession_number or '—')}</td></tr><tr>"
        f"<td class='k'>Study</td><td>{html.escape(i.study_description or '—')}</td>"
        f"<td class='k'>Referring physician</td><td>{html.escape(person_name(i.referring_physician_name))}</td></tr>"
        "</table>"
    )


def _clinical(r: HsgReport) -> str:
    c, s = r.clinical, r.safety
    indications = words(c.indications)
    if c.indication_other:
        indications += f" ({c.indication_other})"
    obstetric = None
    if any(v is not None for v in (c.gravidity, c.parity, c.miscarriages, c.ectopics)):
        obstetric = f"G{c.gravidity or 0} P{c.parity or 0}, miscarriages {c.miscarriages or 0}, ectopic {c.ectopics or 0}"
    clinical = _rows(
        [
            (_f(c, "indications"), indications if c.indications else ""),
            (
                _f(c, "infertility_duration_months"),
                f"{c.infertility_duration_months} months" if c.infertility_duration_months else "",
            ),
            ("Obstetric history", obstetric),
            (_f(c, "risk_history"), c.risk_history),
            (
                _f(c, "prior_imaging"),
                f"{c.prior_imaging} {words(c.prior_imaging_date) if c.prior_imaging_date else ''}".strip(),
            ),
            (_f(c, "comparison"), c.comparison),
            (_f(c, "notes"), c.notes),
        ]
    )
    safety = _rows(
        [
            (_f(s, "lmp_date"), "unknown" if s.lmp_unknown else s.lmp_date),
            (_f(s, "cycle_day"), r.effective_cycle_day()),
            (_f(s, "cycle_pattern"), s.cycle_pattern),
            (_f(s, "menstrual_bleeding_today"), s.menstrual_bleeding_today),
            (
                _f(s, "pregnancy_test"),
                f"{words(s.pregnancy_test)} {words(s.pregnancy_test_datetime) if s.pregnancy_test_datetime else ''}".strip()
                if s.pregnancy_test
                else "",
            ),
            (_f(s, "pregnancy_status"), s.pregnancy_status),
            (_f(s, "contraindications"), s.contraindications),
            (_f(s, "contraindication_override_note"), s.contraindication_override_note),
            (
                _f(s, "antibiotic_prophylaxis"),
                f"{words(s.antibiotic_prophylaxis)} {s.antibiotic_details}".strip()
                if s.antibiotic_prophylaxis
                else "",
            ),
            (_f(s, "premedication"), s.premedication),
            (_f(s, "consent"), s.consent),
        ]
    )
    return f"<h2>Clinical information</h2>{clinical}<h2>Pre-procedure safety checks</h2>{safety}"


def _technique(r: HsgReport) -> str:
    t, d = r.technique, r.dose
    catheter = words(t.catheter_type) + (f" ({t.catheter_other})" if t.catheter_other else "")
    balloon = ""
    if t.balloon_position is not None:
        balloon = words(t.balloon_position) + (f", {t.balloon_volume_ml:g} mL" if t.balloon_volume_ml else "")
    contrast = ""
    if t.contrast_type is not None:
        contrast = words(t.contrast_type)
        if t.contrast_product:
            contrast += f", {t.contrast_product}"
        if t.contrast_concentration_mgi_ml:
            contrast += f" {t.contrast_concentration_mgi_ml:g} mgI/mL"
    quality = words(t.study_quality) if t.study_quality else ""
    if t.limitation_reasons:
        quality += f" — limited by {words(t.limitation_reasons)}" + (
            f" ({t.limitation_other})" if t.limitation_other else ""
        )
    technique = _rows(
        [
            (_f(t, "catheter_type"), catheter if t.catheter_type else ""),
            (_f(t, "balloon_position"), balloon),
            (_f(t, "contrast_type"), contrast),
            (
                _f(t, "contrast_volume_ml"),
                f"{t.contrast_volume_ml:g} mL" if t.contrast_volume_ml is not None else "",
            ),
            (_f(t, "views"), t.views),
            (
                _f(t, "selective_salpingography"),
                f"{words(t.selective_salpingography)} {t.selective_salpingography_result}".strip()
                if t.selective_salpingography
                else "",
            ),
            (_f(t, "study_quality"), quality),
        ]
    )
    dap = ""
    if d.dap_total_gy_cm2 is not None:
        dap = f"{d.dap_total_gy_cm2:.3g} Gy·cm²"
        if d.dap_source_value is not None and d.dap_source_unit is not None:
            unit = d.dap_source_unit.value.replace(".", "·").replace("cm2", "cm²").replace("m2", "m²")
            dap += f" (recorded {d.dap_source_value:g} {unit}; {dap_source_words(d.dap_source)})"
    dose = _rows(
        [
            (_f(d, "dap_total_gy_cm2"), dap),
            (
                _f(d, "fluoroscopy_time_s"),
                f"{d.fluoroscopy_time_s:g} s" if d.fluoroscopy_time_s is not None else "",
            ),
            (_f(d, "radiographic_images"), d.radiographic_images),
            (
                _f(d, "entrance_dose_mgy"),
                f"{d.entrance_dose_mgy:g} mGy" if d.entrance_dose_mgy is not None else "",
            ),
            ("Reference level", drl_comparison(d.dap_total_gy_cm2, d.fluoroscopy_time_s)),
            (_f(d, "dose_review_reason"), d.dose_review_reason),
        ]
    )
    return f"<h2>Technique</h2>{technique}<h2>Radiation dose</h2>{dose}"


def _mm(v: float | None) -> str:
    return f"{v:g} mm" if v is not None else ""


def _tube_cell(t: Tube, attr: str) -> str:
    v = getattr(t, attr)
    if attr == "hydrosalpinx":
        if v is None:
            return "—"
        text = words(v)
        if v and t.hydrosalpinx_diameter_mm:
            text += f", {t.hydrosalpinx_diameter_mm:g} mm"
        if v and t.hydrosalpinx_grade:
            text += f", {words(t.hydrosalpinx_grade)}"
        return text
    return words(v)


def _findings(r: HsgReport, schematic_url: str) -> str:
    f = r.findings
    cx, cav = f.cervix, f.cavity
    parts = ["<h2>Findings</h2>", f"<p align='center'><img src='{schematic_url}' width='210'/></p>"]
    parts.append("<h3>Cervix and cervical canal</h3>")
    parts.append(
        _rows(
            [
                (_f(cx, "cervical_canal"), cx.cervical_canal),
                (_f(cx, "eshre_cervix"), cx.eshre_cervix),
                (_f(cx, "eshre_vagina"), cx.eshre_vagina if cx.eshre_vagina.value != "not_assessed" else ""),
                (_f(cx, "note"), cx.note),
            ]
        )
    )
    parts.append("<h3>Uterine cavity</h3>")
    parts.append(
        _rows(
            [
                (_f(cav, "opacified"), cav.opacified),
                (_f(cav, "size"), cav.size),
                (_f(cav, "shape"), cav.shape),
                (_f(cav, "internal_indentation_depth_mm"), _mm(cav.internal_indentation_depth_mm)),
                (
                    _f(cav, "indentation_angle_deg"),
                    f"{cav.indentation_angle_deg:g}°" if cav.indentation_angle_deg is not None else "",
                ),
                (
                    _f(cav, "hemicavity_divergence_angle_deg"),
                    f"{cav.hemicavity_divergence_angle_deg:g}°"
                    if cav.hemicavity_divergence_angle_deg is not None
                    else "",
                ),
                (_f(cav, "intercornual_distance_mm"), _mm(cav.intercornual_distance_mm)),
                (
                    _f(cav, "external_contour_source"),
                    words(cav.external_contour_source)
                    + (" (HSG alone)" if cav.external_contour_source.value == "not_assessed" else ""),
                ),
                (_f(cav, "external_fundal_indentation_mm"), _mm(cav.external_fundal_indentation_mm)),
                (_f(cav, "eshre_uterus"), cav.eshre_uterus),
                (_f(cav, "asrm2021_category"), cav.asrm2021_category),
                (_f(cav, "classification_confidence"), cav.classification_confidence),
                (_f(cav, "adenomyosis_signs"), cav.adenomyosis_signs),
                (
                    _f(cav, "caesarean_niche"),
                    f"{words(cav.caesarean_niche)} {_mm(cav.caesarean_niche_depth_mm)}".strip()
                    if cav.caesarean_niche
                    else "",
                ),
                (_f(cav, "note"), cav.note),
            ]
        )
    )
    a = f.adhesions
    if not f.filling_defects and not a.present:
        # one line instead of two headed sections saying "none" (a normal HSG fits on two pages)
        adhesions = "none" if a.present is False else "not assessed"
        parts.append(f"<p><b>Filling defects:</b> none. <b>Intrauterine adhesions:</b> {adhesions}.</p>")
    else:
        parts.append("<h3>Filling defects</h3>")
    if f.filling_defects:
        head = "".join(f"<th>{h}</th>" for h in ("#", *(_label("FillingDefect", n) for n in _DEFECT_COLUMNS)))
        rows = []
        for n, d in enumerate(f.filling_defects, 1):
            cells = [
                str(n),
                words(d.location),
                _mm(d.size_mm) or "—",
                str(d.count),
                words(d.contour),
                words(d.behaviour),
                words(d.suspected_nature),
                d.note or "",
            ]
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        parts.append(f"<table class='grid' width='100%'><tr>{head}</tr>{''.join(rows)}</table>")
    elif a.present:
        parts.append("<p>No filling defect.</p>")
    if a.present:
        parts.append("<h3>Intrauterine adhesions</h3>")
        afs = (
            f"score {a.afs_score}, stage {words(a.afs_stage)}"
            if a.afs_score is not None and a.afs_stage
            else "incomplete"
        )
        parts.append(
            _rows(
                [
                    (_f(a, "present"), True),
                    (
                        "AFS 1988 extent / type / menses",
                        f"{words(a.afs_extent)} / {words(a.afs_type)} / {words(a.afs_menstrual_pattern)}",
                    ),
                    ("AFS 1988", afs),
                    (_f(a, "march"), a.march),
                    (_f(a, "esh_esge"), a.esh_esge),
                    (_f(a, "note"), a.note),
                ]
            )
        )
    elif f.filling_defects:
        parts.append(
            "<p><b>Intrauterine adhesions:</b> "
            + ("none." if a.present is False else "not assessed.")
            + "</p>"
        )
    parts.append("<h3>Fallopian tubes</h3>")
    right, left = f.tubes.right, f.tubes.left
    tube_rows = [(_label("Tube", attr), attr) for attr in TUBE_ROWS]
    rows = []
    for label, attr in tube_rows:
        if getattr(right, attr) in (None, "", []) and getattr(left, attr) in (None, "", []):
            continue
        rows.append(
            f"<tr><td class='k'>{label}</td><td>{html.escape(_tube_cell(right, attr))}</td>"
            f"<td>{html.escape(_tube_cell(left, attr))}</td></tr>"
        )
    parts.append(
        "<table class='grid' width='100%'><tr><th width='24%'></th>"
        f"<th width='38%'>{_label('Tubes', 'right')}</th><th width='38%'>{_label('Tubes', 'left')}</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    pe = f.peritoneum
    parts.append("<h3>Peritoneum and intravasation</h3>")
    parts.append(
        _rows(
            [
                (_f(pe, "peritoneal_spill_overall"), pe.peritoneal_spill_overall),
                (_f(pe, "spill_assessed_on"), pe.spill_assessed_on),
                (_f(pe, "intravasation"), pe.intravasation),
                (_f(pe, "intravasation_extent"), pe.intravasation_extent),
                (_f(pe, "intravasation_action"), pe.intravasation_action),
                (_f(pe, "note"), pe.note),
                ("Other findings", f.other),
            ]
        )
    )
    parts.append(_measurements_table(r))
    return "".join(parts)


def measurement_value(m: Measurement) -> str:
    """A measurement's value in words: length, angle, ellipse axes (calibrated mm or pixels)."""
    pts = [tuple(map(float, p)) for p in m.region.points]
    cal = m.calibration
    unit = cal.unit.strip("{}")
    if m.kind.value == "length" and len(pts) == 2:
        return f"{cal.length(pts[0], pts[1]):.1f} {unit}"
    if m.kind.value == "angle" and len(pts) == 3:
        # in physical space, as the viewer measures it: anisotropic pixels (0.2 × 0.1 mm) change angles
        return f"{angle_degrees(pts, cal):.0f}°"
    if m.kind.value == "ellipse" and len(pts) == 4:
        long_axis, short_axis = ellipse_axes(pts, cal)
        area_unit = "mm²" if cal.is_calibrated else "px²"
        return f"{long_axis:.1f} × {short_axis:.1f} {unit}, {ellipse_area(pts, cal):.0f} {area_unit}"
    if m.kind.value == "polygon" and len(pts) >= 3:
        return f"{polygon_area(pts, cal):.0f} {'mm²' if cal.is_calibrated else 'px²'}"
    return "—"


def _measurements_table(r: HsgReport) -> str:
    """Every measurement with its value and calibration basis (how pixels became millimetres)."""
    seen: dict[str, Measurement] = {}
    linked = [r.link_measurement(link) for link in _all_image_links(r)]
    for m in list(r.measurements) + [m for m in linked if m is not None]:
        seen.setdefault(m.id, m)
    if not seen:
        return ""
    # a measurement a finding links to is named by that finding ("Left tube: ellipse"), as on the key images
    finding_of: dict[str, str] = {}
    for name, _phrase, link in findings_with_links(r):
        linked_m = r.link_measurement(link)
        if linked_m is not None:
            finding_of.setdefault(linked_m.id, name)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(c)}</td>"
            for c in (
                ": ".join(x for x in (finding_of.get(m.id, ""), m.label or words(m.kind)) if x),
                measurement_value(m),
                f"frame {m.region.frame_number}",
                words(m.calibration.basis),
            )
        )
        + "</tr>"
        for m in seen.values()
    )
    head = "".join(f"<th>{h}</th>" for h in ("Measurement", "Value", "Image", "Calibration"))
    return f"<h3>Measurements</h3><table class='grid' width='100%'><tr>{head}</tr>{rows}</table>"


def _status_line(r: HsgReport) -> str:
    """The banner every page repeats: DRAFT / AMENDED / signed."""
    if not r.is_signed:
        return "DRAFT — not signed, not valid for clinical use"
    signed = f"Signed {words(r.signature.verification_datetime)}"
    return f"AMENDED REPORT — {signed}" if r.predecessor is not None else signed


def _summary(r: HsgReport) -> str:
    """Page 1 after the header: impression, key findings, recommendations, signature — what the referrer reads."""
    parts = ["<h2>Impression</h2>"]
    if r.impression.sentences:
        items = "".join(f"<li>{html.escape(s.text)}</li>" for s in r.impression.sentences)
        parts.append(f"<ol class='imp'>{items}</ol>")
    else:
        parts.append("<p class='draft'>No impression recorded — this report cannot be signed.</p>")
    if r.critical_result.flagged:
        cr = r.critical_result
        parts.append(
            f"<p><b>Critical result:</b> {html.escape(cr.reason)}; communicated to "
            f"{html.escape(cr.communicated_to or '—')} by {html.escape(cr.communicated_by or '—')} "
            f"{html.escape(words(cr.communicated_at)) if cr.communicated_at else ''} {html.escape(cr.method)}</p>"
        )
    parts.append("<h2>Key findings</h2>")
    parts.append(_rows(key_findings(r)))
    if r.recommendations:
        parts.append("<h2>Recommendations</h2>")
        parts.append("<ul>" + "".join(f"<li>{html.escape(x.text)}</li>" for x in r.recommendations) + "</ul>")
    parts.append("<h2>Signature</h2>")
    if r.is_signed:
        sig = r.signature
        org = f", {html.escape(sig.verifying_organization)}" if sig.verifying_organization else ""
        parts.append(
            f"<p>Electronically signed by <b>{html.escape(person_name(sig.verifying_observer_name))}</b>{org} "
            f"on {html.escape(words(sig.verification_datetime))} (UTC).</p>"
        )
    else:
        parts.append(
            "<p class='draft'>DRAFT — this report has not been signed and is not valid for clinical use.</p>"
        )
    if r.author_name:
        parts.append(f"<p class='small'>Reported by {html.escape(person_name(r.author_name))}.</p>")
    if r.predecessor is not None:
        reason = r.predecessor.reason.strip()
        said = f": {html.escape(reason)}" if reason else " (no reason was given)"
        parts.append(f"<p><b>Amended report</b> — replaces the earlier report{said}.</p>")
    return "".join(parts)


def _rest(r: HsgReport, key_urls: list[tuple[str, KeyImage, str]]) -> str:
    c = r.complications
    parts = ["<h2>Complications and tolerance</h2>"]
    parts.append(
        _rows(
            [
                (_f(c, "complications"), c.complications),
                (_f(c, "pain_score"), c.pain_score),
                (_f(c, "note"), c.note),
                (_f(c, "infection_followup"), c.infection_followup),
            ]
        )
    )
    if r.acknowledgements:
        acks = "; ".join(f"{a.rule_id} ({a.reason}, {person_name(a.who)})" for a in r.acknowledgements)
        parts.append(f"<p class='small'>Warnings acknowledged by the reader: {html.escape(acks)}</p>")
    parts.append(
        f"<p class='small'>Report {html.escape(r.report_id)} · HSG workstation {__version__} · "
        "Classifications: ESHRE/ESGE 2013, ASRM 2021, AFS 1988.</p>"
    )
    if key_urls:
        # One table per row: keep_headings_with_content moves a whole row (image + caption) to the next page
        # instead of printing an image on one page and its caption on the next.
        parts.append("<h2>Key images</h2>")
        per_row = KEY_IMAGES_PER_ROW
        for n, (url, _key, caption) in enumerate(key_urls):
            if n % per_row == 0:
                parts.append("<table width='100%'><tr>")
            parts.append(
                f"<td align='center' valign='top' width='{100 // per_row}%'><img src='{url}' width='{KEY_IMAGE_WIDTH}'/><br/>"
                f"<span class='small'>{html.escape(caption)}</span></td>"
            )
            if n % per_row == per_row - 1 or n == len(key_urls) - 1:
                parts.append("</tr></table>")
    return "".join(parts)


def _aftercare(r: HsgReport) -> str:
    items = "".join(f"<li style='margin-bottom:8px'>{html.escape(t)}</li>" for t in AFTERCARE_TEXT)
    inst = html.escape(r.identity.institution_name or "the department")
    return (
        "<div style='page-break-before: always'>"
        "<h1>After your HSG (X-ray test of the womb and tubes)</h1>"
        f"<p>Information for {html.escape(person_name(r.identity.patient_name))}</p>"
        f"<ul style='font-size:11pt'>{items}</ul>"
        f"<p style='font-size:11pt'>If you are worried, call your doctor or {inst}.</p></div>"
    )


def _key_image_caption(n: int, key: KeyImage, source: ImageSource, report: HsgReport | None = None) -> str:
    """'Image 2: RF series 2 (fill sequence), frame 17 — Left tube: patent, free spill (orientation)'.

    What the image shows comes from the report's recorded findings linked to that frame; the key image's note
    is added only when it is the reader's own words (an accepted suggestion's text — 'confidence 0.95',
    'candidate' — is never printed as a caption)."""
    header = _source_header(source)
    desc = str(getattr(header, "SeriesDescription", "") or "")
    if not desc and getattr(header, "SeriesNumber", None) not in (None, ""):
        desc = f"{getattr(header, 'Modality', '')} series {header.SeriesNumber}".strip()
    orientation = orientation_of(header)
    flips = ap_display_flips(orientation)
    text = f"Image {n}: {desc + ', ' if desc else ''}frame {key.frame_number}"
    shown = findings_on_image(report, key.sop_instance_uid, int(key.frame_number)) if report else []
    if key.note and not is_analysis_text(key.note):
        shown.append(key.note)
    if shown:
        text += " — " + "; ".join(shown)
    return text + f" ({describe_display(orientation, *flips)})"


def report_body_html(report: HsgReport, key_urls: list[tuple[str, KeyImage, str]], schematic_url: str) -> str:
    """The whole report as HTML: header, summary (page 1), clinical sections, findings, the rest, after-care."""
    r = report
    out = _header(r) + _summary(r) + _clinical(r) + _technique(r)
    return out + _findings(r, schematic_url) + _rest(r, key_urls) + _aftercare(r)


CSS = _CSS
status_line = _status_line
key_image_caption = _key_image_caption
source_header = _source_header
all_image_links = _all_image_links
