"""SR content format 4: the report's coded detail as flat TID 2000 headings, one per report part instance.

Why flat: TID 2000 / 2002 / 2001 (PS3.16, non-extensible) allow under a heading only CODE and TEXT items (each
optionally INFERRED FROM an IMAGE or a TID 1400-series measurement) and TID 2001 items themselves (IMAGE, or a
TID 1400 / 1401 / 1402 / 1404 NUM). Format 3 nested the detail (containers in containers, CODE parts with HAS
PROPERTIES children, DATE / UIDREF / SCOORD / COMPOSITE items under headings), which those rows do not allow. So
format 4 writes every part of the report — each section object, each tube, each filling defect, each image link,
each measurement, each calibration — as its **own root-level heading** in pre-order (a part's heading before the
headings of its parts), whose first item is a TEXT "Report part" naming where the part stands in the report
(``findings.filling_defects[1]``, ``findings.cavity.image_links[0].measurement``; ``report`` for the report's own
fields). The reader rebuilds the tree from those paths (``sr_import``), so no nesting is needed in the SR.

Inside a heading (all CONTAINS): enum → CODE (field concept = value concept), list → repeated items, bool → CODE
Yes / No (SCT), number → NUM with the vocabulary's UCUM unit (TID 1404 style: a bare measurement), text, UID,
date, time and date-time → TEXT (ISO 8601 for dates and times), an image region → TEXT "<graphic type> <JSON
points>" INFERRED FROM the IMAGE (with its frame) — exact, parseable, and the TID 1500 measurement SR remains the
standard home of every region as SCOORD. A length measurement is also a TID 1400 linear measurement: NUM Length
INFERRED FROM SCOORD (121055, DCM, "Path") SELECTED FROM its IMAGE; its region is read back from that SCOORD
(+ the exact points as TEXT when 32-bit Graphic Data cannot hold them). Finding Site / Laterality are CODE items of
the heading; a key image and an image link without region carry an IMAGE item.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import math
import typing
from typing import Any

import highdicom as hd
import numpy as np
from highdicom.sr.enum import RelationshipTypeValues as Rel

from hsg_workstation.measurements import ImageRegion, Measurement, MeasurementKind, RegionType
from hsg_workstation.reporting import codes
from hsg_workstation.reporting.model import HsgReport, ImageLink, KeyImage, Tube
from hsg_workstation.reporting.sr_items import (
    FINDING_SITES,
    SrBuildError,
    Writer,
    _float32_exact,
    _ucum,
    _unit_for,
    _unwrap_optional,
    enum_code,
    field_concept,
)
from hsg_workstation.reporting.vocabulary import concept

#: The "Report part" path of the heading that holds the report's own fields (id, status, times, author, language).
ROOT_PART = "report"


def region_text(region: ImageRegion) -> str:
    """``POLYGON [[12.5, 30.0], [40.0, 50.25], …]`` — the graphic type and the (column, row) points as JSON (exact
    decimal round trip: JSON writes the shortest repr of each float). The IMAGE item below names instance and frame."""
    points = [[float(x), float(y)] for x, y in region.points]
    return f"{region.region_type.value} {json.dumps(points)}"


def parse_region_text(text: str, path: str) -> tuple[str, list[list[float]]]:
    """(graphic type, points) from :func:`region_text`; ValueError naming the item when malformed."""
    kind, _, rest = text.strip().partition(" ")
    if kind not in {t.value for t in RegionType}:
        raise ValueError(f"SR item {path}: region text does not start with a graphic type: {text[:40]!r}")
    try:
        points = [[float(x), float(y)] for x, y in json.loads(rest)]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"SR item {path}: region points are not a JSON list of [x, y] ({exc})") from None
    if not points or not all(math.isfinite(v) for p in points for v in p):
        raise ValueError(f"SR item {path}: region points are empty or not finite")
    return kind, points


def parse_part_path(part: str) -> list[tuple[str, int | None]] | None:
    """``findings.filling_defects[1]`` → [("findings", None), ("filling_defects", 1)]; None when malformed."""
    if part == ROOT_PART:
        return []
    out: list[tuple[str, int | None]] = []
    for seg in part.split("."):
        name, bracket, rest = seg.partition("[")
        if not name.isidentifier():
            return None
        index: int | None = None
        if bracket:
            if not rest.endswith("]") or not rest[:-1].isdigit():
                return None
            index = int(rest[:-1])
        out.append((name, index))
    return out


def part_type(segments: list[tuple[str, int | None]]) -> type | None:
    """The dataclass a part path names (HsgReport for the root), or None when the model has no such part."""
    owner: Any = HsgReport
    for name, index in segments:
        if not (isinstance(owner, type) and dataclasses.is_dataclass(owner)):
            return None
        hints = typing.get_type_hints(owner)
        if name not in hints:
            return None
        hint = _unwrap_optional(hints[name])
        if typing.get_origin(hint) is list:
            if index is None:
                return None
            hint = _unwrap_optional(typing.get_args(hint)[0])
        elif index is not None:
            return None
        owner = hint
    is_part = isinstance(owner, type) and dataclasses.is_dataclass(owner) and owner is not ImageRegion
    return owner if is_part else None


def place(tree: dict[str, Any], segments: list[tuple[str, int | None]], obj: dict[str, Any]) -> None:
    """Merge a part's JSON object into the report JSON at its path (lists grow to the index)."""
    node = tree
    for n, (name, index) in enumerate(segments):
        last = n == len(segments) - 1
        if index is None:
            child = node.setdefault(name, {})
        else:
            items = node.setdefault(name, [])
            while len(items) <= index:
                items.append({})
            child = items[index]
        if last:
            child.update(obj)
        node = child
    if not segments:
        tree.update(obj)


def _is_part(value: Any) -> bool:
    return dataclasses.is_dataclass(value) and not isinstance(value, ImageRegion | type)


class FlatWriter:
    """Format 4 headings of one report (see module docstring)."""

    def __init__(self, w: Writer) -> None:
        self.w = w

    def headings(
        self,
        path: str,
        part: Any,
        *,
        heading: str | None = None,
        skip: frozenset[str] = frozenset(),
        extra: list[Any] | None = None,
    ) -> list[Any]:
        """The heading of ``part`` (at report path ``path``) followed by the headings of its parts, in order."""
        items: list[Any] = [
            hd.sr.TextContentItem(concept("doc:part"), path, relationship_type=Rel.CONTAINS),
            *self.site_items(part),
        ]
        children: list[tuple[str, Any]] = []
        hints = typing.get_type_hints(type(part))
        for f in dataclasses.fields(part):
            if f.name in skip:
                continue
            value = getattr(part, f.name)
            if value is None or (isinstance(value, list) and not value):
                continue
            if isinstance(value, str) and value == "" and f.default == "":
                continue
            if _is_part(value):
                children.append((f"{path}.{f.name}", value))
            elif isinstance(value, list) and _is_part(value[0]):
                children.extend((f"{path}.{f.name}[{i}]", v) for i, v in enumerate(value))
            else:
                items.extend(self.value_items(part, f.name, hints[f.name], value))
        items.extend(self.derived_items(part))
        items.extend(extra or [])
        container = hd.sr.ContainerContentItem(
            name=concept(heading or f"type:{type(part).__name__}"), relationship_type=Rel.CONTAINS
        )
        container.ContentSequence = items
        out = [container]
        for child_path, child in children:
            out.extend(self.headings(child_path, child))
        return out

    def value_items(self, owner: Any, name: str, hint: Any, value: Any) -> list[Any]:
        """CODE / TEXT / NUM items of one field value (TID 2002 / TID 1404 rows only)."""
        hint = _unwrap_optional(hint)
        name_concept = field_concept(type(owner), name)
        rel = Rel.CONTAINS
        if typing.get_origin(hint) is list:
            (elem_hint,) = typing.get_args(hint)
            return [item for v in value for item in self.value_items(owner, name, elem_hint, v)]
        if isinstance(value, ImageRegion):
            if isinstance(owner, Measurement) and self.is_linear(owner):
                return self.exact_points(value)  # the region travels as the TID 1400 NUM's SCOORD
            item = hd.sr.TextContentItem(name_concept, region_text(value), relationship_type=rel)
            item.ContentSequence = [self.image(value.sop_instance_uid, value.frame_number, owner)]
            return [item]
        if isinstance(value, enum.Enum):
            return [hd.sr.CodeContentItem(name_concept, enum_code(value), relationship_type=rel)]
        if isinstance(value, bool):
            yes_no = codes.YES.code if value else codes.NO.code
            return [hd.sr.CodeContentItem(name_concept, yes_no, relationship_type=rel)]
        if isinstance(value, int | float):
            num = hd.sr.NumContentItem(name_concept, value, _unit_for(owner, name), relationship_type=rel)
            if isinstance(value, int):
                num.MeasuredValueSequence[0].NumericValue = str(value)  # "4", not "4.0", for counts
            return [num]
        if isinstance(value, _dt.datetime | _dt.date | _dt.time):
            return [hd.sr.TextContentItem(name_concept, value.isoformat(), relationship_type=rel)]
        if isinstance(value, str):
            if value == "":
                return [hd.sr.CodeContentItem(name_concept, concept("doc:empty_text"), relationship_type=rel)]
            return [hd.sr.TextContentItem(name_concept, value, relationship_type=rel)]
        raise SrBuildError(f"SR writer: field {type(owner).__name__}.{name} of type {type(value).__name__}")

    def image(self, uid: str, frame: int, owner: Any) -> hd.sr.ImageContentItem:
        return self.w.image_item(
            uid,
            int(frame),
            getattr(owner, "sop_class_uid", "") or "",
            Rel.INFERRED_FROM,
            concept("doc:image_ref"),
        )

    @staticmethod
    def is_linear(m: Measurement) -> bool:
        return m.kind is MeasurementKind.LENGTH and len(m.region.points) == 2

    def exact_points(self, region: ImageRegion) -> list[Any]:
        if _float32_exact(region.points):
            return []
        exact = json.dumps([[float(x), float(y)] for x, y in region.points])
        return [hd.sr.TextContentItem(concept("doc:exact_points"), exact, relationship_type=Rel.CONTAINS)]

    def site_items(self, part: Any) -> list[Any]:
        """Finding Site / Laterality as CODE items of the heading (format 3 had them as concept modifiers)."""
        site = FINDING_SITES.get(type(part).__name__)
        out: list[Any] = []
        laterality = None
        if isinstance(part, Tube):
            left = part.side.value == "left"
            site = (codes.LEFT_FALLOPIAN_TUBE if left else codes.RIGHT_FALLOPIAN_TUBE).code
            laterality = (codes.LEFT if left else codes.RIGHT).code
        if site is not None:
            out.append(hd.sr.CodeContentItem(codes.FINDING_SITE.code, site, relationship_type=Rel.CONTAINS))
        if laterality is not None:
            out.append(
                hd.sr.CodeContentItem(codes.LATERALITY.code, laterality, relationship_type=Rel.CONTAINS)
            )
        return out

    def derived_items(self, part: Any) -> list[Any]:
        """Items for other readers (the importer skips them): the TID 1400 length of a length measurement, the
        hydrosalpinx Finding of a tube, the IMAGE of a key image and of an image link without region."""
        out: list[Any] = []
        if isinstance(part, Measurement) and self.is_linear(part):
            out.append(self.linear_measurement(part))
        if isinstance(part, Tube) and part.hydrosalpinx:
            out.append(
                hd.sr.CodeContentItem(
                    codes.FINDING.code, codes.HYDROSALPINX.code, relationship_type=Rel.CONTAINS
                )
            )
        if isinstance(part, KeyImage) or (isinstance(part, ImageLink) and part.region is None):
            out.append(
                self.w.image_item(
                    part.sop_instance_uid,
                    int(part.frame_number),
                    part.sop_class_uid,
                    Rel.CONTAINS,
                    concept("doc:image_ref"),
                )
            )
        return out

    def linear_measurement(self, m: Measurement) -> hd.sr.NumContentItem:
        """TID 1400: NUM Length (mm, or {pixel} uncalibrated) > INFERRED FROM SCOORD Path (POLYLINE) >> SELECTED
        FROM IMAGE."""
        p0, p1 = m.region.points
        length = float(m.calibration.length(tuple(p0), tuple(p1)))
        unit = _ucum("mm" if m.calibration.unit == "mm" else "{pixel}")
        num = hd.sr.NumContentItem(codes.LENGTH.code, round(length, 3), unit, relationship_type=Rel.CONTAINS)
        scoord = hd.sr.ScoordContentItem(
            name=concept("std:PATH"),
            graphic_type="POLYLINE",
            graphic_data=np.asarray([tuple(map(float, p)) for p in m.region.points], dtype=np.float32),
            pixel_origin_interpretation="FRAME",
            relationship_type=Rel.INFERRED_FROM,
        )
        scoord.ContentSequence = [
            self.w.image_item(
                m.region.sop_instance_uid,
                int(m.region.frame_number),
                "",
                Rel.SELECTED_FROM,
                codes.IMAGE_REFERENCE.code,
            )
        ]
        num.ContentSequence = [scoord]
        return num


__all__ = [
    "ROOT_PART",
    "FlatWriter",
    "parse_part_path",
    "parse_region_text",
    "part_type",
    "place",
    "region_text",
]
