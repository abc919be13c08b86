"""DICOM SR written by :mod:`sr` → HsgReport (``report import``; reopening an archived report for amendment).

The walk mirrors the writer: heading containers give the report sections, items named (HSG-F-<field>, 99HSG) or
one of the writer's standard field concepts give the fields, and each field's declared type in the model says how
to read the item back. Derived items the writer adds for other readers (Finding Site, Laterality, the measured
Length, the IMAGE reference of an image link) are skipped. The result goes through ``HsgReport.from_json`` so the
model's own validation of values applies.

Precision: NUM values come back exactly (Floating Point Value is written for floats). SCOORD Graphic Data is
32-bit in DICOM; when that would change a point, the writer adds the exact points as a TEXT (HSG-XY-<field>)
beside the SCOORD and the importer prefers it.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import json
import typing
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.valuerep import DT

from hsg_workstation.errors import HsgError
from hsg_workstation.measurements import ImageRegion
from hsg_workstation.reporting import codes
from hsg_workstation.reporting.model import SCHEMA_VERSION, HsgReport
from hsg_workstation.reporting.sr import (
    ADMIN_HEADING,
    EMPTY_TEXT,
    ENUM_CODES,
    FIELD_CONCEPTS,
    SECTION_HEADINGS,
    TIME_ZONE,
    UTC,
    _unwrap_optional,
)

_SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.33",
    "1.2.840.10008.5.1.4.1.1.88.22",
    "1.2.840.10008.5.1.4.1.1.88.34",
}


class SrImportError(HsgError):
    """The SR is not an HSG report this program wrote, or an item cannot be read back; names what and where."""


def _key(concept: Any) -> tuple[str, str]:
    return (str(concept.value), str(concept.scheme_designator))


def _concept_of(item: Dataset) -> tuple[str, str]:
    c = item.ConceptNameCodeSequence[0]
    value = c.get("CodeValue") or c.get("LongCodeValue") or c.get("URNCodeValue") or ""
    return (str(value), str(c.CodingSchemeDesignator))


def _code_of(item: Dataset) -> tuple[str, str]:
    c = item.ConceptCodeSequence[0]
    value = c.get("CodeValue") or c.get("LongCodeValue") or c.get("URNCodeValue") or ""
    return (str(value), str(c.CodingSchemeDesignator))


_HEADING_KEYS = {_key(c): name for name, c in SECTION_HEADINGS.items()}
_FIELD_BY_CONCEPT = {(owner, _key(c)): name for (owner, name), c in FIELD_CONCEPTS.items()}
_ENUM_BY_CODE = {(enum_name, _key(c)): value for (enum_name, value), c in ENUM_CODES.items()}


def report_from_sr(source: Dataset | str | Path) -> HsgReport:
    """Rebuild the report from an SR dataset or file. Raises :class:`SrImportError` with the reason."""
    ds = _read(source)
    title = _concept_of(ds) if "ConceptNameCodeSequence" in ds else ("", "")
    if title != _key(codes.HSG_REPORT_TITLE.code):
        raise SrImportError(
            f"{_name(source)}: document title {title} is not an HSG report written by this program "
            f"(expected {_key(codes.HSG_REPORT_TITLE.code)})"
        )
    hints = typing.get_type_hints(HsgReport)
    data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
    for item in ds.get("ContentSequence", []):
        if item.ValueType != "CONTAINER":
            continue
        concept = _concept_of(item)
        children = list(item.get("ContentSequence", []))
        if concept == _key(ADMIN_HEADING):
            data.update(_decode_fields(HsgReport, children, path=""))
            continue
        section = _HEADING_KEYS.get(concept)
        if section is None:
            continue  # a heading this version does not know: leave it (forward compatibility)
        hint = _unwrap_optional(hints[section])
        if typing.get_origin(hint) is list:
            wanted = codes.field_concept(section)
            elems = [c for c in children if _concept_of(c) == _key(wanted)]
            data[section] = [_decode_value(typing.get_args(hint)[0], c, section) for c in elems]
        else:
            data[section] = _decode_fields(hint, children, path=section)
    return HsgReport.from_json(data)


def _read(source: Dataset | str | Path) -> Dataset:
    if isinstance(source, Dataset):
        ds = source
    else:
        try:
            ds = dcmread(source)
        except (InvalidDicomError, OSError) as exc:
            raise SrImportError(f"{source}: cannot read as DICOM ({exc})") from None
    if str(ds.get("SOPClassUID", "")) not in _SR_CLASSES:
        raise SrImportError(
            f"{_name(source)}: SOP class {ds.get('SOPClassUID', '?')} is not a structured report"
        )
    return ds


def _name(source: Any) -> str:
    return str(source) if not isinstance(source, Dataset) else "SR dataset"


def _field_of(owner: type, item: Dataset) -> str | None:
    concept = _concept_of(item)
    if concept[1] == codes.LOCAL_SCHEME and concept[0].startswith("HSG-F-"):
        return concept[0][len("HSG-F-") :]
    name = _FIELD_BY_CONCEPT.get((owner.__name__, concept))
    # Standard field concepts name TEXT / NUM fields only; a CODE with the same concept name (e.g. a derived
    # (121071, DCM) Finding = Hydrosalpinx) is an addition for other readers, not a field.
    if name is not None and item.ValueType not in ("TEXT", "NUM"):
        return None
    return name


def _decode_fields(owner: type, children: list[Dataset], path: str) -> dict[str, Any]:
    """JSON object for dataclass ``owner`` from its field items (absent fields take the model's defaults)."""
    hints = typing.get_type_hints(owner)
    names = {f.name for f in dataclasses.fields(owner)}
    grouped: dict[str, list[Dataset]] = {}
    exact_points: dict[str, list[list[float]]] = {}
    for child in children:
        concept = _concept_of(child)
        if (
            concept[1] == codes.LOCAL_SCHEME
            and concept[0].startswith("HSG-XY-")
            and child.ValueType == "TEXT"
        ):
            exact_points[concept[0][len("HSG-XY-") :]] = _parse_points(str(child.TextValue), path)
            continue
        name = _field_of(owner, child)
        if name is None:
            continue
        if name not in names:
            raise SrImportError(f"SR item {path}.{name}: no such field in {owner.__name__}")
        grouped.setdefault(name, []).append(child)
    out: dict[str, Any] = {}
    for name, items in grouped.items():
        hint = _unwrap_optional(hints[name])
        sub = f"{path}.{name}" if path else name
        if typing.get_origin(hint) is list:
            elem = typing.get_args(hint)[0]
            out[name] = [_decode_value(elem, it, f"{sub}[{i}]") for i, it in enumerate(items)]
        else:
            out[name] = _decode_value(hint, items[0], sub)
            if hint is ImageRegion and name in exact_points:
                if len(exact_points[name]) != len(out[name]["points"]):
                    raise SrImportError(f"SR item {sub}: exact points do not match the SCOORD's point count")
                out[name]["points"] = exact_points[name]
    return out


def _parse_points(text: str, path: str) -> list[list[float]]:
    try:
        points = json.loads(text)
        return [[float(x), float(y)] for x, y in points]
    except (ValueError, TypeError) as exc:
        raise SrImportError(
            f"SR item {path}: exact region points are not a JSON list of [x, y] ({exc})"
        ) from None


def _decode_value(hint: Any, item: Dataset, path: str) -> Any:
    hint = _unwrap_optional(hint)
    vt = item.ValueType
    try:
        if hint is ImageRegion:
            return _decode_region(item, path)
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            return _decode_fields(hint, list(item.get("ContentSequence", [])), path)
        if vt == "CODE" and _code_of(item) == _key(EMPTY_TEXT):
            return ""
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            code = _code_of(item)
            if code[1] == codes.LOCAL_SCHEME and code[0].startswith("HSG-V-"):
                return code[0][len("HSG-V-") :]
            value = _ENUM_BY_CODE.get((hint.__name__, code))
            if value is None:
                raise SrImportError(f"SR item {path}: code {code} is not a value of {hint.__name__}")
            return value
        if hint is bool:
            code = _code_of(item)
            if code == _key(codes.YES.code):
                return True
            if code == _key(codes.NO.code):
                return False
            raise SrImportError(f"SR item {path}: code {code} is neither Yes nor No")
        if hint is int:
            return int(round(float(item.MeasuredValueSequence[0].NumericValue)))
        if hint is float:
            mv = item.MeasuredValueSequence[0]
            if "FloatingPointValue" in mv:
                return float(mv.FloatingPointValue)
            return float(mv.NumericValue)
        if hint is _dt.datetime:
            value = DT(str(item.DateTime))
            if value.tzinfo is None and any(
                c.ValueType == "CODE" and _concept_of(c) == _key(TIME_ZONE) and _code_of(c) == _key(UTC)
                for c in item.get("ContentSequence", [])
            ):
                value = value.replace(tzinfo=_dt.UTC)
            return value.isoformat()
        if hint is _dt.date:
            d = str(item.Date)
            return _dt.date(int(d[0:4]), int(d[4:6]), int(d[6:8])).isoformat()
        if hint is _dt.time:
            return _parse_tm(str(item.Time)).isoformat()
        if hint is str:
            if vt == "UIDREF":
                return str(item.UID)
            return str(item.TextValue)
    except (AttributeError, IndexError, KeyError, ValueError) as exc:
        raise SrImportError(f"SR item {path}: value type {vt} cannot be read as {hint} ({exc})") from None
    raise SrImportError(f"SR item {path}: no reader for {hint!r}")


def _parse_tm(tm: str) -> _dt.time:
    main, _, frac = tm.partition(".")
    hh, mm, ss = int(main[0:2]), int(main[2:4] or 0), int(main[4:6] or 0)
    micro = int((frac + "000000")[:6]) if frac else 0
    return _dt.time(hh, mm, ss, micro)


def _f32(v: float) -> float:
    """The shortest decimal that a 32-bit Graphic Data value stands for (12.34 stays 12.34)."""
    return float(str(np.float32(v)))


def _decode_region(item: Dataset, path: str) -> dict[str, Any]:
    if item.ValueType != "SCOORD":
        raise SrImportError(f"SR item {path}: a region must be SCOORD, got {item.ValueType}")
    image = next((c for c in item.get("ContentSequence", []) if c.ValueType == "IMAGE"), None)
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
    points = [[data[i], data[i + 1]] for i in range(0, len(data), 2)]
    region_type = str(item.GraphicType)
    if region_type == "POLYLINE" and len(points) >= 4 and points[0] == points[-1]:
        region_type, points = "POLYGON", points[:-1]  # the writer closes polygons explicitly
    return {
        "sop_instance_uid": str(ref.ReferencedSOPInstanceUID),
        "frame_number": frame,
        "region_type": region_type,
        "points": points,
    }
