"""A row checker for DICOM TID 2000 / 2002 / 2001 (PS3.16, all three non-extensible): which value type may stand
under which parent with which relationship type. Written from the template tables (docs/report.md, "TID 2000
conformance"), independent of the writer, so it can say where an SR departs from them.

What it checks, level by level:

* root: CONTAINER with Content Template Sequence TID 2000; children in the template's order — HAS CONCEPT MOD CODE
  (Procedure reported, Acquisition Device Type, Target Region, Language of Content TID 1204 whose own children are
  HAS CONCEPT MOD CODE), then HAS OBS CONTEXT (TID 1001), then only CONTAINS CONTAINER headings (BCID 7001);
* heading: optional HAS OBS CONTEXT (TID 1001) first, then TID 2002 rows — CONTAINS TEXT or CODE (BCID 7002), each
  with nothing below it but INFERRED FROM TID 2001 items; or CONTAINS TID 2001 itself;
* TID 2001: one IMAGE (no children) or one NUM of TID 1400 / 1401 / 1402 / 1404 — below a NUM only HAS CONCEPT MOD
  CODE and INFERRED FROM SCOORD, and below that SCOORD exactly one SELECTED FROM IMAGE.

Concept names are not checked: the context groups of these rows are baseline (BCID 7001 / 7002 / 7003), so a
declared private scheme may be used.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset


def _name(item: Dataset) -> str:
    seq = item.get("ConceptNameCodeSequence")
    return str(seq[0].CodeMeaning) if seq else "?"


def _children(item: Dataset) -> list[Dataset]:
    return list(item.get("ContentSequence", []) or [])


def _tid2001(item: Dataset, path: str, out: list[str]) -> None:
    vt = item.get("ValueType")
    if vt == "IMAGE":
        if _children(item):
            out.append(f"{path}: IMAGE (TID 2001) with children")
        return
    if vt != "NUM":
        out.append(f"{path}: {vt} '{_name(item)}' is not a TID 2001 observation (IMAGE or NUM)")
        return
    for n, c in enumerate(_children(item)):
        cpath = f"{path}[{n}]"
        rel, cvt = c.get("RelationshipType"), c.get("ValueType")
        if rel == "HAS CONCEPT MOD" and cvt == "CODE" and not _children(c):
            continue
        if rel == "INFERRED FROM" and cvt == "SCOORD":
            images = _children(c)
            if not (
                len(images) == 1
                and images[0].get("RelationshipType") == "SELECTED FROM"
                and images[0].get("ValueType") == "IMAGE"
                and not _children(images[0])
            ):
                out.append(f"{cpath}: SCOORD of a measurement must be SELECTED FROM exactly one IMAGE")
            continue
        out.append(f"{cpath}: {rel} {cvt} '{_name(c)}' below a TID 1400-series NUM")


def _tid2002(heading: Dataset, path: str, out: list[str]) -> None:
    context_allowed = True
    for n, item in enumerate(_children(heading)):
        ipath = f"{path}[{n}]"
        rel, vt = item.get("RelationshipType"), item.get("ValueType")
        if rel == "HAS OBS CONTEXT":
            if not context_allowed:
                out.append(f"{ipath}: observation context after the heading's content")
            continue
        context_allowed = False
        if rel != "CONTAINS":
            out.append(f"{ipath}: {rel} {vt} '{_name(item)}' under a heading (TID 2002 rows are CONTAINS)")
            continue
        if vt in ("TEXT", "CODE"):
            for m, c in enumerate(_children(item)):
                if c.get("RelationshipType") != "INFERRED FROM":
                    out.append(
                        f"{ipath}[{m}]: {c.get('RelationshipType')} {c.get('ValueType')} '{_name(c)}' below a "
                        f"TID 2002 {vt} (only INFERRED FROM TID 2001)"
                    )
                else:
                    _tid2001(c, f"{ipath}[{m}]", out)
        elif vt in ("IMAGE", "NUM"):
            _tid2001(item, ipath, out)
        else:
            out.append(
                f"{ipath}: {vt} '{_name(item)}' under heading '{_name(heading)}' (TID 2002: TEXT, CODE, TID 2001)"
            )
            if vt == "CONTAINER":  # a nested heading: say what is wrong inside it too
                _tid2002(item, f"{ipath} '{_name(item)}'", out)


def tid2000_violations(sr: Dataset) -> list[str]:
    """Every place where the SR's content tree departs from the TID 2000 / 2002 / 2001 rows ([] = conforms)."""
    out: list[str] = []
    templates = sr.get("ContentTemplateSequence") or []
    if sr.get("ValueType") != "CONTAINER" or not any(
        str(t.get("TemplateIdentifier", "")) == "2000" for t in templates
    ):
        out.append("root: not a CONTAINER declaring TID 2000")
    stage = 0  # 0 = concept modifiers, 1 = observation context, 2 = headings
    for n, item in enumerate(_children(sr)):
        path = f"root[{n}]"
        rel, vt = item.get("RelationshipType"), item.get("ValueType")
        if rel == "HAS CONCEPT MOD" and vt == "CODE":
            if stage > 0:
                out.append(f"{path}: concept modifier after the observation context or a heading")
            for m, c in enumerate(_children(item)):  # TID 1204: the country of the language
                if (c.get("RelationshipType"), c.get("ValueType")) != ("HAS CONCEPT MOD", "CODE"):
                    out.append(
                        f"{path}[{m}]: {c.get('RelationshipType')} {c.get('ValueType')} below Language"
                    )
        elif rel == "HAS OBS CONTEXT":
            if stage > 1:
                out.append(f"{path}: observation context after a heading")
            stage = max(stage, 1)
        elif rel == "CONTAINS" and vt == "CONTAINER":
            stage = 2
            _tid2002(item, f"{path} '{_name(item)}'", out)
        else:
            out.append(
                f"{path}: {rel} {vt} '{_name(item)}' at the root (TID 2000: modifiers, context, headings)"
            )
    return out


def kinds(violations: list[str]) -> set[str]:
    """The value types named in the violations (for asserting what a departure is)."""
    found: set[Any] = set()
    for v in violations:
        for vt in (
            "CONTAINER",
            "NUM",
            "DATE",
            "TIME",
            "DATETIME",
            "UIDREF",
            "SCOORD",
            "COMPOSITE",
            "HAS PROPERTIES",
        ):
            if f" {vt} " in f" {v} ":
                found.add(vt)
        if "HAS CONCEPT MOD" in v:
            found.add("HAS CONCEPT MOD")
    return found
