"""Shared pieces of the report SR writer: image references checked against the study's images, concepts and UCUM
units of fields, DICOM date-times. The type-driven walk of the report's dataclass tree that turns fields into
content items is ``sr_flat.py`` (format 4); format 3's nested walk (CODE parts with HAS PROPERTIES children,
SCOORD regions, DATE / UIDREF items) lived here up to commit 562c322 and is no longer written — its SRs are read by
``sr_import``. Split from ``sr.py`` (the document: sections, headers, lifecycle) so each module is one subject.
"""

from __future__ import annotations

import datetime as _dt
import enum
import types
import typing
from collections.abc import Sequence
from typing import Any

import highdicom as hd
import numpy as np
from highdicom.sr import CodedConcept
from highdicom.sr.enum import RelationshipTypeValues as Rel
from pydicom.dataset import Dataset

from hsg_workstation.reporting import codes
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
