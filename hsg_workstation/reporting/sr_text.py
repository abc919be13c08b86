"""Any DICOM SR's content tree as simple HTML (headings, "name: value" lines) for the GUI's document view.

Why our own and not ``dsrdump``: the document view must show SRs of other producers (Basic Text reports, TID 1500
measurement reports, radiation dose reports) readably without depending on an external tool's options and output
format (``dsrdump -Ip`` fails with "--processing-details only allowed with verbose mode", and pydicom's dataset dump
prints a long UT text as "Array of N elements"). Qt-free; the view puts the HTML into a QTextDocument.
"""

from __future__ import annotations

import html
from typing import Any

from pydicom.dataset import Dataset

MAX_ITEMS = 5000  # a dose report can hold thousands of items; the view stays responsive
MAX_DEPTH = 30


def _meaning(seq: Any) -> str:
    try:
        item = seq[0]
    except (TypeError, IndexError):
        return ""
    return str(item.get("CodeMeaning", "") or item.get("CodeValue", "") or "")


def _value(item: Dataset) -> str:
    vt = str(item.get("ValueType", ""))
    try:
        if vt == "TEXT":
            return str(item.get("TextValue", ""))
        if vt == "CODE":
            return _meaning(item.get("ConceptCodeSequence"))
        if vt == "NUM":
            mv = item.get("MeasuredValueSequence")
            if not mv:
                return "(no value)"
            unit = mv[0].get("MeasurementUnitsCodeSequence")
            unit_text = str(unit[0].get("CodeValue", "")) if unit else ""
            return f"{mv[0].get('NumericValue', '')} {'' if unit_text == '1' else unit_text}".strip()
        if vt in ("DATE", "TIME", "DATETIME"):
            return str(item.get({"DATE": "Date", "TIME": "Time", "DATETIME": "DateTime"}[vt], ""))
        if vt == "PNAME":
            return str(item.get("PersonName", ""))
        if vt == "UIDREF":
            return str(item.get("UID", ""))
        if vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
            ref = item.get("ReferencedSOPSequence")
            if not ref:
                return vt.lower()
            uid = str(ref[0].get("ReferencedSOPInstanceUID", ""))
            frames = ref[0].get("ReferencedFrameNumber")
            return f"{vt.lower()} …{uid[-12:]}" + (f" frame {frames}" if frames else "")
        if vt in ("SCOORD", "SCOORD3D"):
            data = item.get("GraphicData") or []
            return (
                f"{item.get('GraphicType', '')} region, {len(data) // (2 if vt == 'SCOORD' else 3)} point(s)"
            )
        if vt == "TCOORD":
            return f"{item.get('TemporalRangeType', '')} time range"
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return "(unreadable value)"
    return vt.lower()


def sr_html(ds: Dataset, note: str = "") -> str:
    """The SR's title, header flags and content tree as HTML; never raises on a malformed item."""
    title = _meaning(ds.get("ConceptNameCodeSequence")) or "Structured report"
    out = [f"<h2>{html.escape(title)}</h2>"]
    if note:
        out.append(f"<p><i>{html.escape(note)}</i></p>")
    flags = [
        f"{label}: {html.escape(str(ds.get(k)))}"
        for k, label in (
            ("Manufacturer", "Producer"),
            ("CompletionFlag", "Completion"),
            ("VerificationFlag", "Verification"),
            ("ContentDate", "Content date"),
        )
        if ds.get(k)
    ]
    if flags:
        out.append("<p style='color:#555'>" + " · ".join(flags) + "</p>")
    count = [0]

    def walk(items: Any, depth: int) -> None:
        for item in items or []:
            count[0] += 1
            if count[0] > MAX_ITEMS:
                if count[0] == MAX_ITEMS + 1:
                    out.append(f"<p><i>… more than {MAX_ITEMS} items; the rest is not shown</i></p>")
                return
            if depth > MAX_DEPTH:
                out.append("<p><i>… nested deeper than shown</i></p>")
                return
            name = html.escape(_meaning(item.get("ConceptNameCodeSequence")))
            if str(item.get("ValueType", "")) == "CONTAINER":
                level = min(3 + depth, 6)
                out.append(f"<h{level}>{name}</h{level}>")
            else:
                value = html.escape(_value(item)).replace("\n", "<br>")
                indent = 12 * depth
                rel = str(item.get("RelationshipType", ""))
                prefix = (
                    ""
                    if rel in ("CONTAINS", "")
                    else f"<span style='color:#777'>{html.escape(rel.lower())}</span> "
                )
                out.append(
                    f"<p style='margin-left:{indent}px'>{prefix}<b>{name}</b>{': ' if name else ''}{value}</p>"
                )
            walk(item.get("ContentSequence"), depth + 1)

    try:
        walk(ds.get("ContentSequence"), 0)
    except Exception as exc:  # noqa: BLE001 - lazily parsed, a cut file fails anywhere; the view shows what it has
        out.append(f"<p><i>The rest of the document cannot be read ({html.escape(str(exc))})</i></p>")
    return "".join(out)
