"""Report values in clinical words, shared by the PDF and the viewer: enum values, names, the patient's age, the
short phrase of each finding (key-findings table, key-image captions, labels burned into key images).

Why a module of its own (Qt-free): the PDF's captions must come from what the form *records* — the signed
findings — and never from the analysis' suggestion text ("confidence 0.95", "candidate"), which a key image's
note or an image link's label may still carry after a suggestion was accepted.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from collections.abc import Iterator
from typing import Any

from hsg_workstation.reporting.model import FillingDefect, HsgReport, ImageLink, Tube
from hsg_workstation.reporting.vocabulary import vocabulary


def words(value: Any) -> str:
    """A model value in clinical language (enum values, booleans, numbers, dates). Enum values are the
    vocabulary's phrase of their concept (``vocabulary.tsv``) — the one table of value words; text is printed as
    it was typed."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(words(v) for v in value) if value else "—"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, enum.Enum):
        return vocabulary().phrase(value)
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return (
            value.isoformat(sep=" ", timespec="minutes")
            if hasattr(value, "hour") and hasattr(value, "day")
            else value.isoformat()
        )
    return str(value)


def person_name(pn: str) -> str:
    """DICOM PN 'Family^Given' → 'Given Family' for reading."""
    parts = [p for p in str(pn).split("^") if p]
    return " ".join(parts[1:2] + parts[:1]) if len(parts) >= 2 else (parts[0] if parts else "—")


_ANALYSIS_TEXT = re.compile(r"confidence\s*[0-9.]|candidate|row \d+, column \d+|^Key image:", re.IGNORECASE)


def is_analysis_text(text: str) -> bool:
    """Text written by the analysis suggestions (confidence figures, 'candidate', pixel positions): never
    printed as if it were the reader's finding."""
    return bool(text and _ANALYSIS_TEXT.search(text))


UK_DRL_HSG_DAP_GY_CM2 = 2.0  # UK national diagnostic reference level for HSG (issue 11): DAP
UK_DRL_HSG_FLUORO_S = 42.0  # ... and fluoroscopy time, 0.7 min


def dap_source_words(source: Any) -> str:
    """Where the DAP total comes from, in words the referrer understands (the DoseSource phrases)."""
    return words(source)


def drl_comparison(
    dap_gy_cm2: float | None,
    fluoro_s: float | None,
    drl_dap: float = UK_DRL_HSG_DAP_GY_CM2,
    drl_s: float = UK_DRL_HSG_FLUORO_S,
) -> str:
    """'Below the UK national reference level for HSG (2 Gy·cm², 0.7 min)' — or which figure exceeds it."""
    ref = f"the UK national reference level for HSG ({drl_dap:g} Gy·cm², {drl_s / 60:g} min)"
    if dap_gy_cm2 is None and fluoro_s is None:
        return ""
    over = []
    if dap_gy_cm2 is not None and dap_gy_cm2 > drl_dap:
        over.append(f"DAP {dap_gy_cm2:.2g} Gy·cm²")
    if fluoro_s is not None and fluoro_s > drl_s:
        over.append(f"fluoroscopy {fluoro_s / 60:.1f} min")
    if over:
        return f"{' and '.join(over)} above {ref}"
    known = [w for w, v in (("DAP", dap_gy_cm2), ("fluoroscopy time", fluoro_s)) if v is not None]
    text = " and ".join(known)
    return f"{text[:1].upper() + text[1:]} below {ref}"


def parse_reader_date(text: str, reference: _dt.date) -> _dt.date:
    """A date as a reader types it: ISO ('2025-12-28', '20251228') or day.month ('28.12', '28/12', '28-12'),
    which means the most recent such day not after ``reference`` (the study date) — an LMP is in the past.
    ValueError names what could not be read."""
    t = text.strip()
    m = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-]?", t)
    if m:
        day, month = int(m.group(1)), int(m.group(2))
        for year in (reference.year, reference.year - 1):
            try:
                candidate = _dt.date(year, month, day)
            except ValueError as exc:
                raise ValueError(f"{t!r}: no such day ({exc})") from None
            if candidate <= reference:
                return candidate
    try:
        return _dt.date.fromisoformat(t)
    except ValueError:
        raise ValueError(f"{t!r}: expected a date as 2025-12-28 or 28.12") from None


def patient_age(birth: _dt.date | None, on: _dt.date | None) -> str:
    """'34 years' at the study date ('' when either date is missing or the result is impossible)."""
    if birth is None or on is None:
        return ""
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return f"{years} years" if 0 <= years < 130 else ""


def _mm(value: float | None) -> str:
    """Millimetres at reading precision: whole mm from 10 mm up, one decimal below."""
    if value is None:
        return ""
    return f"{value:.0f} mm" if abs(value) >= 10 else f"{value:.1f} mm".replace(".0 mm", " mm")


def tube_phrase(tube: Tube) -> str:
    """'patent, free spill' / 'occluded (distal, fimbrial), hydrosalpinx 18 mm' / 'surgically absent'."""
    if tube.status is not None and tube.status.value not in ("present", "unknown"):
        return words(tube.status)
    parts: list[str] = []
    if tube.patency is not None:
        text = words(tube.patency)
        if tube.patency.value == "occluded" and tube.occlusion_level is not None:
            text += f" ({words(tube.occlusion_level)})"
        parts.append(text)
    if tube.spill is not None:
        parts.append("no spill" if tube.spill.value == "none" else f"{words(tube.spill)} spill")
    if tube.hydrosalpinx:
        parts.append(("hydrosalpinx " + _mm(tube.hydrosalpinx_diameter_mm)).strip())
    return ", ".join(parts) or "not recorded"


def defect_phrase(defect: FillingDefect) -> str:
    """'19 mm submucous fibroid, left lateral wall'."""
    head = " ".join(
        p
        for p in (
            _mm(defect.size_mm),
            words(defect.suspected_nature) if defect.suspected_nature else "filling defect",
        )
        if p
    )
    if defect.location is not None:
        head += f", {words(defect.location)}"
    return head


def cavity_phrase(report: HsgReport) -> str:
    cav = report.findings.cavity
    parts = []
    if cav.shape is not None:
        parts.append(words(cav.shape))
    if cav.opacified is not None and cav.opacified.value != "yes":
        parts.append(f"opacified: {words(cav.opacified)}")
    n = len(report.findings.filling_defects)
    parts.append(f"{n} filling defect{'s' if n != 1 else ''}" if n else "no filling defect")
    return ", ".join(parts)


def label(name: str) -> str:
    """The vocabulary's display label of a map key (``type:UterineCavity`` → "Uterine cavity")."""
    return vocabulary().concept(name).label


def findings_with_links(report: HsgReport) -> Iterator[tuple[str, str, ImageLink]]:
    """(short name, phrase from the recorded values, link) for every image link of every finding."""
    f = report.findings
    for link in f.cavity.image_links:
        yield label("type:UterineCavity"), cavity_phrase(report), link
    for n, d in enumerate(f.filling_defects, 1):
        for link in d.image_links:
            yield f"{label('type:FillingDefect')} {n}", defect_phrase(d), link
    for tube, name in (
        (f.tubes.right, label("field:Tubes.right")),
        (f.tubes.left, label("field:Tubes.left")),
    ):
        for link in tube.image_links:
            yield name, tube_phrase(tube), link
    for link in f.cervix.image_links:
        yield label("field:Findings.cervix"), words(f.cervix.cervical_canal), link
    for link in f.adhesions.image_links:
        yield (
            label("field:Findings.adhesions"),
            "present" if f.adhesions.present else "not recorded as present",
            link,
        )
    p = f.peritoneum
    for link in p.image_links:
        phrase = f"spill: {words(p.peritoneal_spill_overall)}; intravasation: {words(p.intravasation)}"
        yield label("field:Findings.peritoneum"), phrase, link


def findings_on_image(report: HsgReport, uid: str, frame: int) -> list[str]:
    """'Left tube: patent, free spill' for each finding linked to this frame (each once, in report order)."""
    out: list[str] = []
    for name, phrase, link in findings_with_links(report):
        if link.sop_instance_uid == uid and int(link.frame_number) == int(frame):
            text = f"{name}: {phrase}"
            if text not in out:
                out.append(text)
    return out


def key_findings(report: HsgReport) -> list[tuple[str, str]]:
    """The page-1 summary: cavity, defects, right tube, left tube (patient's right first), peritoneum,
    complications — each from what the form records ('not recorded' otherwise)."""
    f = report.findings
    rows = [(label("type:UterineCavity"), cavity_phrase(report))]
    for n, d in enumerate(f.filling_defects, 1):
        rows.append((f"{label('type:FillingDefect')} {n}", defect_phrase(d)))
    rows.append((label("field:Tubes.right"), tube_phrase(f.tubes.right)))
    rows.append((label("field:Tubes.left"), tube_phrase(f.tubes.left)))
    p = f.peritoneum
    rows.append(
        (
            label("field:Peritoneum.peritoneal_spill_overall"),
            words(p.peritoneal_spill_overall) if p.peritoneal_spill_overall else "not recorded",
        )
    )
    if p.intravasation is not None:
        rows.append((label("field:Peritoneum.intravasation"), words(p.intravasation)))
    c = report.complications
    rows.append(
        (
            label("field:Complications.complications"),
            words(c.complications) if c.complications else "not recorded",
        )
    )
    return rows


__all__ = [
    "UK_DRL_HSG_DAP_GY_CM2",
    "UK_DRL_HSG_FLUORO_S",
    "cavity_phrase",
    "dap_source_words",
    "drl_comparison",
    "defect_phrase",
    "findings_on_image",
    "findings_with_links",
    "is_analysis_text",
    "key_findings",
    "label",
    "parse_reader_date",
    "patient_age",
    "person_name",
    "tube_phrase",
    "words",
]
