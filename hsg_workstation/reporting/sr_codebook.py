"""Reading single SR items back (formats 2, 3 and 4): item accessors, the vocabulary codebook that turns concept codes
into model names, and the value decoders (dates, times, regions, exact points). Errors name the item's path.

Split from ``sr_import.py`` (identification, the walk over sections and fields, completeness) so each module is
one subject; ``sr_import`` re-exports what callers used from it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from hsg_workstation.errors import HsgError
from hsg_workstation.reporting import codes
from hsg_workstation.reporting.sr import NARRATIVE_CONCEPTS
from hsg_workstation.reporting.sr_flat import parse_region_text
from hsg_workstation.reporting.vocabulary import vocabulary

MAX_DEPTH = 40  # the writer nests at most ~8 levels; deeper trees are refused before Python's recursion limit
Key = tuple[str, str]


class SrImportError(HsgError):
    """The SR is not an HSG report this program wrote, or an item cannot be read back; names what and where."""


class _NotUnderstood(SrImportError):
    """A well-formed item whose coded value this version does not know: kept as text, not a failure."""


def _key(c: Any) -> Key:
    return (str(c.value), str(c.scheme_designator))


def _code_key(seq_item: Dataset, what: str, path: str) -> Key:
    value = seq_item.get("CodeValue") or seq_item.get("LongCodeValue") or seq_item.get("URNCodeValue")
    scheme = seq_item.get("CodingSchemeDesignator")
    if not value or not scheme:
        raise SrImportError(f"SR item {path}: {what} has no code value or no coding scheme designator")
    return (str(value), str(scheme))


def concept_of(item: Dataset, path: str) -> Key:
    seq = item.get("ConceptNameCodeSequence")
    if not seq:
        raise SrImportError(f"SR item {path}: no Concept Name Code Sequence")
    return _code_key(seq[0], "concept name", path)


def code_of(item: Dataset, path: str) -> Key:
    seq = item.get("ConceptCodeSequence")
    if not seq:
        raise SrImportError(f"SR item {path}: CODE item without Concept Code Sequence")
    return _code_key(seq[0], "coded value", path)


def value_type(item: Dataset, path: str) -> str:
    vt = item.get("ValueType")
    if not vt:
        raise SrImportError(f"SR item {path}: no Value Type")
    return str(vt)


def meaning_of(item: Dataset) -> str:
    seq = item.get("ConceptNameCodeSequence")
    return str(seq[0].get("CodeMeaning", "")) if seq else ""


class Format2Codebook:
    """Concept codes of SR content formats 2, 3 and 4 (the vocabulary) → model names."""

    def __init__(self, version: int = 3) -> None:
        self.version = version  # 2–4 share the codes; 3 drops the private block, 4 flattens the detail
        v = vocabulary()
        self.v = v
        self.headings = {
            _key(v.concept(n).coded): n.split(":", 1)[1] for n in v.names if n.startswith("section:")
        }
        self.admin = _key(v.concept("doc:administration").coded)
        self.structured = _key(v.concept("doc:structured_data").coded)
        self.empty = _key(v.concept("doc:empty_text").coded)
        self.time_zone = _key(v.concept("doc:time_zone").coded)
        self.utc = _key(v.concept("doc:utc").coded)
        self.exact_points = _key(v.concept("doc:exact_points").coded)
        self.narrative = {sec: _key(v.concept(k).coded) for sec, k in NARRATIVE_CONCEPTS.items()}
        self.skipped = {
            _key(c)
            for c in (
                codes.FINDING_SITE.code,
                codes.LATERALITY.code,
                codes.LENGTH.code,
                codes.FINDING.code,
                v.concept("doc:image_ref").coded,
                v.concept("doc:measurement_report").coded,
                v.concept("doc:schema_version").coded,
                v.concept("doc:item_count").coded,
            )
        }

    def section_of(self, key: Key) -> str | None:
        return self.headings.get(key)

    def field_of(self, owner: type, key: Key, vt: str) -> str | None:
        names = self.v.names_for(key[1], key[0], f"field:{owner.__name__}.")
        return names[0].split(".", 1)[1] if names else None

    def list_element(self, section: str) -> Key:
        return _key(self.v.concept(f"field:HsgReport.{section}").coded)

    def enum_value(self, enum_type: type, key: Key) -> str | None:
        names = self.v.names_for(key[1], key[0], f"value:{enum_type.__name__}.")
        return names[0].split(".", 1)[1] if names else None

    def exact_points_field(self, key: Key) -> bool:
        return key == self.exact_points

    def is_skipped(self, key: Key) -> bool:
        return key in self.skipped or key in self.narrative.values()


def _children(item: Dataset, path: str) -> list[Dataset]:
    try:
        return list(item.get("ContentSequence", []) or [])
    except (TypeError, ValueError) as exc:
        raise SrImportError(f"SR item {path}: unreadable Content Sequence ({exc})") from None


def format_items(top: list[Dataset]) -> list[Dataset]:
    """Where the format version and the item count stand: root modifiers (format 2) or the items of the first
    "HSG report format" heading (format 3)."""
    heading = _key(vocabulary().concept("doc:format_heading").coded)
    out: list[Dataset] = []
    for item in top:
        if item.get("ValueType") == "TEXT":
            out.append(item)
        elif item.get("ValueType") == "CONTAINER" and item.get("ConceptNameCodeSequence"):
            if concept_of(item, "root") == heading:
                out.extend(c for c in _children(item, "root") if c.get("ValueType") == "TEXT")
            break  # only the first heading can hold them
    return out


def is_format_heading(item: Dataset) -> bool:
    return item.get("ValueType") == "CONTAINER" and concept_of(item, "root") == _key(
        vocabulary().concept("doc:format_heading").coded
    )


def _item_count(top: list[Dataset]) -> int | None:
    key = _key(vocabulary().concept("doc:item_count").coded)
    for c in format_items(top):
        if concept_of(c, "root") == key:
            try:
                return int(str(c.get("TextValue", "")).strip())
            except ValueError:
                return None
    return None


def _da(d: str) -> str:
    try:
        return _dt.date(int(d[0:4]), int(d[4:6]), int(d[6:8])).isoformat()
    except ValueError as exc:
        raise SrImportError(f"date {d!r} is not a DICOM DA ({exc})") from None


def _parse_points(text: str, path: str) -> list[list[float]]:
    try:
        points = json.loads(text)
        out = [[float(x), float(y)] for x, y in points]
    except (ValueError, TypeError) as exc:
        raise SrImportError(
            f"SR item {path}: exact region points are not a JSON list of [x, y] ({exc})"
        ) from None
    if not all(math.isfinite(v) for p in out for v in p):
        raise SrImportError(f"SR item {path}: exact region points are not finite")
    return out


def _parse_tm(tm: str) -> _dt.time:
    main, _, frac = tm.partition(".")
    hh, mm, ss = int(main[0:2]), int(main[2:4] or 0), int(main[4:6] or 0)
    micro = int((frac + "000000")[:6]) if frac else 0
    return _dt.time(hh, mm, ss, micro)


def _f32(v: float) -> float:
    """The shortest decimal that a 32-bit Graphic Data value stands for (12.34 stays 12.34)."""
    return float(str(np.float32(v)))


def _decode_region(item: Dataset, path: str) -> dict[str, Any]:
    if item.get("ValueType") != "SCOORD":
        raise SrImportError(f"SR item {path}: a region must be SCOORD, got {item.get('ValueType')}")
    image = next((c for c in _children(item, path) if c.get("ValueType") == "IMAGE"), None)
    if image is None:
        raise SrImportError(f"SR item {path}: SCOORD without its IMAGE (SELECTED FROM)")
    ref = image.ReferencedSOPSequence[0]
    frames = ref.get("ReferencedFrameNumber", None)
    if frames is None:
        frame = 1
    elif isinstance(frames, str | int) or not hasattr(frames, "__len__"):
        frame = int(frames)
    else:
        frame = int(frames[0])
    data = [_f32(v) for v in item.GraphicData]
    if not all(math.isfinite(v) for v in data):
        raise SrImportError(f"SR item {path}: Graphic Data holds a non-finite number")
    points = [[data[i], data[i + 1]] for i in range(0, len(data) - 1, 2)]
    region_type = str(item.GraphicType)
    if region_type == "POLYLINE" and len(points) >= 4 and points[0] == points[-1]:
        region_type, points = "POLYGON", points[:-1]  # the writer closes polygons explicitly
    return {
        "sop_instance_uid": str(ref.ReferencedSOPInstanceUID),
        "frame_number": frame,
        "region_type": region_type,
        "points": points,
    }


def _iso(hint: Any, text: str, path: str) -> str:
    """Format 4 dates, times and date-times are ISO 8601 TEXT; checked, then given to the model as ISO."""
    try:
        return hint.fromisoformat(text.strip()).isoformat()
    except ValueError as exc:
        raise SrImportError(
            f"SR item {path}: {text!r} is not an ISO 8601 {getattr(hint, '__name__', hint)} ({exc})"
        ) from None


def _decode_region_text(item: Dataset, path: str) -> dict[str, Any]:
    """Format 4 region: TEXT "<graphic type> <JSON points>" INFERRED FROM its IMAGE (instance, frame)."""
    try:
        region_type, points = parse_region_text(str(item.TextValue), path)
    except ValueError as exc:
        raise SrImportError(str(exc)) from None
    image = next((c for c in _children(item, path) if c.get("ValueType") == "IMAGE"), None)
    if image is None:
        raise SrImportError(f"SR item {path}: region text without its IMAGE (INFERRED FROM)")
    ref = image.ReferencedSOPSequence[0]
    frames = ref.get("ReferencedFrameNumber", None)
    frame = 1 if frames is None else int(frames if not isinstance(frames, list | tuple) else frames[0])
    return {
        "sop_instance_uid": str(ref.ReferencedSOPInstanceUID),
        "frame_number": frame,
        "region_type": region_type,
        "points": points,
    }
