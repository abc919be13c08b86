"""One report field or part → SR content items: the type-driven walk of the report's dataclass tree (SR format 3).

Why a walk and not a list of items: a walk cannot forget a field when the model grows. Each field becomes an item
whose value type follows the field type (enum → CODE, bool → CODE Yes/No, number → NUM with the vocabulary's UCUM
unit, date/time → DATE/TIME/DATETIME, ``*_uid`` → UIDREF, text → TEXT, nested part → CODE (field) = (part type)
with its fields below by HAS PROPERTIES, image region → SCOORD with its IMAGE). Split from ``sr.py`` (the document:
sections, headers, lifecycle) so each module is one subject.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import types
import typing
from collections.abc import Sequence
from typing import Any

import highdicom as hd
import numpy as np
from highdicom.sr import CodedConcept
from highdicom.sr.enum import RelationshipTypeValues as Rel
from pydicom.dataset import Dataset

from hsg_workstation.measurements import ImageRegion, Measurement, MeasurementKind, RegionType
from hsg_workstation.reporting import codes
from hsg_workstation.reporting.model import ImageLink, KeyImage, Tube
from hsg_workstation.reporting.vocabulary import concept, vocabulary

#: Finding Site of a part (HAS CONCEPT MOD on its CODE item); tubes get theirs from ``side``.
FINDING_SITES: dict[str, CodedConcept] = {
    "CervixFindings": codes.CERVIX.code,
    "UterineCavity": codes.UTERUS.code,
    "FillingDefect": codes.UTERUS.code,
    "IntrauterineAdhesions": codes.UTERUS.code,
    "Peritoneum": codes.PERITONEAL_CAVITY.code,
}


class SrBuildError(ValueError):
    """The report cannot be written as SR (e.g. an image link names an instance not among the sources)."""


def _float32_exact(points: Any) -> bool:
    return all(float(str(np.float32(v))) == float(v) for p in points for v in p)


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        non_none = [a for a in typing.get_args(hint) if a is not type(None)]
        return non_none[0]
    return hint


def field_concept(owner: type, name: str) -> CodedConcept:
    return concept(f"field:{owner.__name__}.{name}")


def enum_code(value: enum.Enum) -> CodedConcept:
    return concept(f"value:{type(value).__name__}.{value.value}")


def _ucum(unit: str) -> CodedConcept:
    names = {
        "mm": "millimeter",
        "mL": "milliliter",
        "deg": "degree",
        "s": "second",
        "d": "day",
        "mo": "month",
        "mGy": "milligray",
        "Gy.cm2": "Gray centimeter squared",
        "mg{I}/mL": "milligram iodine per milliliter",
        "{score}": "score",
        "{pixel}": "pixel",
    }
    return (
        CodedConcept(unit, "UCUM", names.get(unit, unit)) if unit else CodedConcept("1", "UCUM", "no units")
    )


def _unit_for(owner: Any, name: str) -> CodedConcept:
    if name == "dap_source_value" and getattr(owner, "dap_source_unit", None) is not None:
        unit = str(owner.dap_source_unit.value)
        return CodedConcept(unit, "UCUM", unit)
    c = vocabulary().get(f"field:{type(owner).__name__}.{name}")
    return _ucum(c.unit if c is not None else "")


class Writer:
    """Walks one report; keeps the source datasets to resolve SOP classes of referenced images."""

    def __init__(self, sources: Sequence[Dataset]) -> None:
        self.sop_class_by_uid = {str(ds.SOPInstanceUID): str(ds.SOPClassUID) for ds in sources}
        self.frames_by_uid = {
            str(ds.SOPInstanceUID): int(getattr(ds, "NumberOfFrames", 1) or 1) for ds in sources
        }

    # -- images ---------------------------------------------------------------------------------------
    def image_item(
        self, uid: str, frame: int, sop_class: str, rel: Rel, name: CodedConcept
    ) -> hd.sr.ImageContentItem:
        known_class = self.sop_class_by_uid.get(uid)
        if known_class is None:
            raise SrBuildError(
                f"image reference {uid} (frame {frame}): instance not found among the study's images"
            )
        n_frames = self.frames_by_uid.get(uid, 1)
        if not 1 <= frame <= n_frames:
            raise SrBuildError(f"image reference {uid}: frame {frame} outside 1..{n_frames}")
        return hd.sr.ImageContentItem(
            name=name,
            referenced_sop_class_uid=sop_class or known_class,
            referenced_sop_instance_uid=uid,
            referenced_frame_numbers=[frame] if n_frames > 1 else None,
            relationship_type=rel,
        )

    def scoord_item(self, name: CodedConcept, region: ImageRegion, sop_class: str) -> hd.sr.ScoordContentItem:
        points = [tuple(map(float, p)) for p in region.points]
        graphic_type = region.region_type.value
        if region.region_type is RegionType.POLYGON:
            # SR has no POLYGON: a closed POLYLINE (first point repeated) is one; the importer reopens it.
            points.append(points[0])
            graphic_type = "POLYLINE"
        item = hd.sr.ScoordContentItem(
            name=name,
            graphic_type=graphic_type,
            graphic_data=np.asarray(points, dtype=np.float32),
            pixel_origin_interpretation="FRAME",
            relationship_type=Rel.INFERRED_FROM,
        )
        item.ContentSequence = [
            self.image_item(
                region.sop_instance_uid,
                int(region.frame_number),
                sop_class,
                Rel.SELECTED_FROM,
                codes.IMAGE_REFERENCE.code,
            )
        ]
        return item

    # -- values ---------------------------------------------------------------------------------------
    def value_items(self, owner: Any, name: str, hint: Any, value: Any, rel: Rel) -> list[Any]:
        """Items for one field value (a list gives one item per element, all with the same concept name)."""
        if value is None:
            return []
        hint = _unwrap_optional(hint)
        name_concept = field_concept(type(owner), name)
        if typing.get_origin(hint) is list:
            (elem_hint,) = typing.get_args(hint)
            out: list[Any] = []
            for v in value:
                out.extend(self.value_items(owner, name, elem_hint, v, rel))
            return out
        if isinstance(value, ImageRegion):
            items = [self.scoord_item(name_concept, value, getattr(owner, "sop_class_uid", "") or "")]
            if not _float32_exact(value.points):
                # Graphic Data is 32-bit; keep the model's exact points beside it so the report round-trips.
                exact = json.dumps([[float(x), float(y)] for x, y in value.points])
                items.append(hd.sr.TextContentItem(concept("doc:exact_points"), exact, relationship_type=rel))
            return items
        if dataclasses.is_dataclass(value):
            return [self.part_item(name_concept, value, rel)]
        if isinstance(value, enum.Enum):
            return [hd.sr.CodeContentItem(name_concept, enum_code(value), relationship_type=rel)]
        if isinstance(value, bool):
            yes_no = codes.YES.code if value else codes.NO.code
            return [hd.sr.CodeContentItem(name_concept, yes_no, relationship_type=rel)]
        if isinstance(value, int | float):
            item = hd.sr.NumContentItem(name_concept, value, _unit_for(owner, name), relationship_type=rel)
            if isinstance(value, int):
                item.MeasuredValueSequence[0].NumericValue = str(value)  # "4", not "4.0", for counts
            return [item]
        if isinstance(value, _dt.datetime):
            return [datetime_item(name_concept, value, rel)]
        if isinstance(value, _dt.date):
            return [hd.sr.DateContentItem(name_concept, value, relationship_type=rel)]
        if isinstance(value, _dt.time):
            return [hd.sr.TimeContentItem(name_concept, value, relationship_type=rel)]
        if isinstance(value, str):
            if value == "":
                return [hd.sr.CodeContentItem(name_concept, concept("doc:empty_text"), relationship_type=rel)]
            if name.endswith("_uid"):
                return [hd.sr.UIDRefContentItem(name_concept, value, relationship_type=rel)]
            return [hd.sr.TextContentItem(name_concept, value, relationship_type=rel)]
        raise SrBuildError(f"SR writer: field {type(owner).__name__}.{name} of type {type(value).__name__}")

    def field_items(self, part: Any, rel: Rel, skip: frozenset[str] = frozenset()) -> list[Any]:
        """Items for every non-default field of a dataclass part, in declaration order."""
        hints = typing.get_type_hints(type(part))
        items: list[Any] = []
        for f in dataclasses.fields(part):
            if f.name in skip:
                continue
            value = getattr(part, f.name)
            if value is None or (isinstance(value, list) and not value):
                continue
            if isinstance(value, str) and value == "" and f.default == "":
                continue
            items.extend(self.value_items(part, f.name, hints[f.name], value, rel))
        return items

    def part_item(self, name: CodedConcept, part: Any, rel: Rel) -> hd.sr.CodeContentItem:
        """A nested part: CODE (field) = (part type) with its fields as HAS PROPERTIES children."""
        item = hd.sr.CodeContentItem(name, concept(f"type:{type(part).__name__}"), relationship_type=rel)
        children: list[Any] = self.modifiers(part)
        children.extend(self.field_items(part, Rel.HAS_PROPERTIES))
        if isinstance(part, Measurement):
            children.extend(self.measurement_value(part))
        children.extend(self.coded_findings(part))
        # An image link without a region, and a key image, reference their frame with an IMAGE item; a region
        # already references it through its SCOORD.
        if isinstance(part, KeyImage) or (isinstance(part, ImageLink) and part.region is None):
            children.append(
                self.image_item(
                    part.sop_instance_uid,
                    int(part.frame_number),
                    part.sop_class_uid,
                    Rel.INFERRED_FROM,
                    concept("doc:image_ref"),
                )
            )
        # Regions hang by INFERRED FROM; put them last so the properties read first in a dump.
        children.sort(key=lambda c: c.RelationshipType == "INFERRED FROM")
        if children:
            item.ContentSequence = children
        return item

    def coded_findings(self, part: Any) -> list[Any]:
        """Standard-coded findings for readers that look for (121071, DCM) Finding codes: hydrosalpinx (21711003,
        verified) with its diameter. Derived; the importer skips them (the part's own fields carry the data)."""
        if not isinstance(part, Tube) or not part.hydrosalpinx:
            return []
        item = hd.sr.CodeContentItem(
            codes.FINDING.code, codes.HYDROSALPINX.code, relationship_type=Rel.HAS_PROPERTIES
        )
        if part.hydrosalpinx_diameter_mm is not None:
            item.ContentSequence = [
                hd.sr.NumContentItem(
                    codes.DIAMETER.code,
                    float(part.hydrosalpinx_diameter_mm),
                    _ucum("mm"),
                    relationship_type=Rel.HAS_PROPERTIES,
                )
            ]
        return [item]

    def modifiers(self, part: Any) -> list[Any]:
        site: CodedConcept | None = FINDING_SITES.get(type(part).__name__)
        laterality: CodedConcept | None = None
        if isinstance(part, Tube):
            left = part.side.value == "left"
            site = (codes.LEFT_FALLOPIAN_TUBE if left else codes.RIGHT_FALLOPIAN_TUBE).code
            laterality = (codes.LEFT if left else codes.RIGHT).code
        out: list[Any] = []
        if site is not None:
            out.append(
                hd.sr.CodeContentItem(codes.FINDING_SITE.code, site, relationship_type=Rel.HAS_CONCEPT_MOD)
            )
        if laterality is not None:
            out.append(
                hd.sr.CodeContentItem(
                    codes.LATERALITY.code, laterality, relationship_type=Rel.HAS_CONCEPT_MOD
                )
            )
        return out

    def measurement_value(self, m: Measurement) -> list[Any]:
        """The measured length as a standard NUM (derived, for other readers; the importer skips it)."""
        if m.kind is not MeasurementKind.LENGTH or len(m.region.points) != 2:
            return []
        p0, p1 = m.region.points
        length = float(m.calibration.length(tuple(p0), tuple(p1)))
        unit = _ucum("mm" if m.calibration.unit == "mm" else "{pixel}")
        return [
            hd.sr.NumContentItem(
                codes.LENGTH.code, round(length, 3), unit, relationship_type=Rel.HAS_PROPERTIES
            )
        ]


def datetime_item(name: CodedConcept, value: _dt.datetime, rel: Rel) -> hd.sr.DateTimeContentItem:
    """DATETIME; a UTC time is written without offset plus a Time zone = UTC modifier.

    Why: DCMTK 3.6.7's VR check rejects the offset ``+0000`` (it accepts ``+0100``), so dsrdump fails an SR
    with UTC offsets although PS3.5 allows them. The modifier keeps "this is UTC" explicit and lets the
    importer restore an aware datetime; naive (local) times have neither offset nor modifier.
    """
    offset = value.utcoffset()
    item = hd.sr.DateTimeContentItem(name, value.replace(tzinfo=None), relationship_type=rel)
    if offset is None:
        return item
    if offset:
        item.DateTime = dicom_dt(value)
        return item
    item.ContentSequence = [
        hd.sr.CodeContentItem(
            concept("doc:time_zone"), concept("doc:utc"), relationship_type=Rel.HAS_CONCEPT_MOD
        ),
    ]
    return item


def dicom_dt(value: _dt.datetime) -> str:
    s = value.strftime("%Y%m%d%H%M%S")
    if value.microsecond:
        s += f".{value.microsecond:06d}"
    if value.utcoffset() is not None:
        off = value.utcoffset() or _dt.timedelta(0)
        sign = "+" if off >= _dt.timedelta(0) else "-"
        minutes = abs(int(off.total_seconds())) // 60
        s += f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    return s
