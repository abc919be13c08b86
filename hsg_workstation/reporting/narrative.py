"""The report's sections as plain sentences, for the TEXT items a generic SR viewer shows (``sr.py``).

Why generated from the recorded fields and nothing else: an SR viewer that knows nothing of HSG shows only text, so
every section carries its findings in words next to the coded items — and the words may never state what the form
does not record (clinical-safety rule). Each sentence is "<part>: <field> <value>; ..." with the vocabulary's field
labels and value phrases (the words the PDF and the impression use), free-text notes verbatim as their own sentences. Image links, regions and measurements are left to the coded items
and the TID 1500 measurement report (they are pictures, not sentences). Qt-free.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
from typing import Any

from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.vocabulary import vocabulary

#: Fields never put into sentences: links to images, provenance of the DAP value, bookkeeping ids.
_SKIP = {
    "image_links",
    "id",
    "side",
    "dap_source_value",
    "dap_source_unit",
    "dap_source",
    "fluoroscopy_time_source",
}
_NOTE_FIELDS = {
    "note",
    "notes",
    "other",
    "patency_note",
    "indication_other",
    "catheter_other",
    "limitation_other",
}


def _lower_first(label: str) -> str:
    """ "Contrast type" → "contrast type", but "LMP date" / "ESHRE/ESGE class" keep their capitals."""
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


def _value_words(owner: Any, name: str, value: Any) -> str:
    v = vocabulary()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return v.phrase(value)
    if isinstance(value, list):
        return ", ".join(_value_words(owner, name, x) for x in value)
    if isinstance(value, float | int):
        c = v.get(f"field:{type(owner).__name__}.{name}")
        unit = c.unit if c is not None else ""
        num = f"{value:g}" if isinstance(value, float) else str(value)
        return f"{num} {unit}".strip() if unit and not unit.startswith("{") else num
    if isinstance(value, _dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    return str(value)


def part_sentences(part: Any, title: str) -> list[str]:
    """One "<title>: field value; ..." sentence for a part's recorded fields, then its notes verbatim."""
    v = vocabulary()
    owner = type(part).__name__
    items: list[str] = []
    notes: list[str] = []
    for f in dataclasses.fields(part):
        value = getattr(part, f.name)
        if f.name in _SKIP or value is None or value == "" or value == []:
            continue
        if dataclasses.is_dataclass(value) or (
            isinstance(value, list) and dataclasses.is_dataclass(value[0])
        ):
            continue  # nested parts get their own sentences
        if f.name in _NOTE_FIELDS and isinstance(value, str):
            label = v.field_label(owner, f.name)
            notes.append(f"{title} — {_lower_first(label)}: {value}" if f.name != "other" else value)
            continue
        items.append(f"{_lower_first(v.field_label(owner, f.name))} {_value_words(part, f.name, value)}")
    out = [f"{title}: {'; '.join(items)}."] if items else []
    return out + [n if n.endswith((".", "!", "?")) else n + "." for n in notes]


def section_sentences(report: HsgReport, section: str) -> list[str]:
    """The sentences of one report section (``clinical``, ``safety``, ``technique``, ``dose``, ``findings``,
    ``complications``, ``critical_result``); [] when nothing is recorded."""
    v = vocabulary()
    if section == "findings":
        f = report.findings
        out = part_sentences(f.cervix, "Cervix")
        out += part_sentences(f.cavity, "Uterine cavity")
        for n, d in enumerate(f.filling_defects, 1):
            out += part_sentences(d, f"Filling defect {n}")
        out += part_sentences(f.adhesions, "Intrauterine adhesions")
        out += part_sentences(f.tubes.right, v.field_label("Tubes", "right"))  # patient's right, named
        out += part_sentences(f.tubes.left, v.field_label("Tubes", "left"))
        out += part_sentences(f.peritoneum, "Peritoneum")
        if f.other:
            out.append(f.other if f.other.endswith(".") else f.other + ".")
        return out
    titles = {
        "clinical": "Clinical information",
        "safety": "Safety checks",
        "technique": "Technique",
        "dose": "Radiation dose",
        "complications": "Complications",
        "critical_result": "Critical result",
    }
    part = getattr(report, section)
    out = part_sentences(part, titles[section])
    if (
        section == "dose"
        and report.dose.dap_source_value is not None
        and report.dose.dap_source_unit is not None
    ):
        src = report.dose.dap_source
        src_words = v.phrase(src) if src is not None else "source not recorded"
        out.append(
            f"DAP as recorded: {report.dose.dap_source_value:g} {report.dose.dap_source_unit.value} ({src_words})."
        )
    return out
