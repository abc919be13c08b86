"""DICOM SR written by this program → HsgReport (``report import``; reopening an archived report for amendment).

Why versioned and tolerant: an SR archived in a PACS is read years after it was written, by a program whose model
has changed. So the reader

* recognises every SR content format this project ever wrote — format 1 (name-derived ``HSG-F-``/``HSG-V-`` codes,
  commit 17ceedc and before; ``sr_format1``), format 2 (vocabulary codes, impression audit in a private block,
  commit ad06cd8 and before), format 3 (the same codes, sentence provenance as coded items, no private block,
  coded detail nested in one "structured data" container; commit 562c322 and before) and format 4 (``sr.py`` /
  ``sr_flat.py``: the coded detail as one flat TID 2000 heading per report part, put back together by its
  "Report part" path) — each through a *codebook* that turns concept codes into model names; retired vocabulary
  concepts map forward;
* keeps what it does not understand as free text (appended to ``findings.other``, named in a warning) instead of
  failing, and skips the items the writer adds only for other readers (Finding Site, Laterality, derived codes);
* takes patient / study identity from the header, where a PACS corrects it, not from the content;
* refuses another producer's SR (Manufacturer and this program's private items, not only the title);
* detects an incomplete (truncated) SR — formats 2 to 4 record their content item count — and says what is missing;
* turns every malformed item into :class:`SrImportError` naming the item's path, never a traceback.

Why this module is long (~620 lines): one reader state (warnings, unknown items, completeness) serves the walks of all
four formats, each item mapped onto the report model with its own error message naming the item's path; the item
decoders are in ``sr_codebook``, format 1's codes in ``sr_format1``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import io
import json
import math
import os
import struct
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.valuerep import DT

from hsg_workstation.dicom_io import limits
from hsg_workstation.measurements import ImageRegion, Measurement
from hsg_workstation.reporting import codes
from hsg_workstation.reporting.model import SCHEMA_VERSION, HsgReport, ReportJsonError
from hsg_workstation.reporting.sr import (
    AUDIT_ELEMENT,
    HEADER_IDENTITY,
    MANUFACTURER,
    PRIVATE_CREATOR,
    PRIVATE_GROUP,
)
from hsg_workstation.reporting.sr_codebook import (
    MAX_DEPTH,
    Format2Codebook,
    SrImportError,
    _children,
    _da,
    _decode_region,
    _decode_region_text,
    _iso,
    _item_count,
    _key,
    _NotUnderstood,
    _parse_points,
    _parse_tm,
    code_of,
    concept_of,
    format_items,
    is_format_heading,
    meaning_of,
    value_type,
)
from hsg_workstation.reporting.sr_flat import parse_part_path, part_type, place
from hsg_workstation.reporting.sr_format1 import Format1Codebook
from hsg_workstation.reporting.sr_items import _unwrap_optional
from hsg_workstation.reporting.vocabulary import vocabulary

_SR_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.88.11",
    "1.2.840.10008.5.1.4.1.1.88.22",
    "1.2.840.10008.5.1.4.1.1.88.33",
    "1.2.840.10008.5.1.4.1.1.88.34",
}
_SKIP = object()


@dataclass
class ImportResult:
    report: HsgReport
    format_version: int
    warnings: list[str] = field(default_factory=list)
    incomplete: bool = False  # content is missing (truncated / cut SR): the caller must not treat it as whole


Codebook = Format1Codebook | Format2Codebook


def read_sr(source: Dataset | str | Path) -> ImportResult:
    """Rebuild the report from an SR dataset or file, with warnings. Raises :class:`SrImportError`."""
    ds = _read(source)
    name = _name(source)
    try:
        return _Reader(ds, name).run()
    except SrImportError as exc:
        raise SrImportError(f"{name}: {exc}" if not str(exc).startswith(name) else str(exc)) from None
    except RecursionError:
        raise SrImportError(f"{name}: content tree nested too deeply to read") from None
    except ReportJsonError as exc:
        raise SrImportError(f"{name}: {exc}") from None
    except (
        struct.error,
        OSError,
        EOFError,
        AttributeError,
        IndexError,
        KeyError,
        TypeError,
        ValueError,
        OverflowError,
    ) as exc:
        # pydicom parses nested sequences lazily: a truncated or corrupt file fails only here.
        raise SrImportError(
            f"{name}: the SR content cannot be read — truncated or corrupt file ({type(exc).__name__}: {exc})"
        ) from None


def report_from_sr(source: Dataset | str | Path) -> HsgReport:
    """The report of an SR (warnings dropped; an incomplete SR is refused). Raises :class:`SrImportError`."""
    result = read_sr(source)
    if result.incomplete:
        raise SrImportError(f"{_name(source)}: incomplete SR — " + "; ".join(result.warnings))
    return result.report


def _read(source: Dataset | str | Path) -> Dataset:
    if isinstance(source, Dataset):
        ds = source
    else:
        try:
            ds = dcmread(io.BytesIO(_file_bytes(source)))
            # pydicom parses values lazily: a damaged value (a truncated length, an impossible VR) would
            # otherwise fail deep inside the reader as struct.error / BytesLengthException. Touch every value
            # once here, so every such file gets this one message.
            for elem in ds.iterall():
                _ = elem.value
        except RecursionError:
            raise SrImportError(f"{source}: content tree nested too deeply to read") from None
        except SrImportError:
            raise
        except Exception as exc:  # noqa: BLE001 - pydicom / zlib raise many types on corrupt input
            raise SrImportError(f"{source}: cannot read as DICOM ({type(exc).__name__}: {exc})") from None
    if str(ds.get("SOPClassUID", "")) not in _SR_CLASSES:
        raise SrImportError(
            f"{_name(source)}: SOP class {ds.get('SOPClassUID', '?')} is not a structured report"
        )
    return ds


def _file_bytes(source: str | Path) -> bytes:
    """The whole file, refused above :data:`limits.MAX_SR_FILE_BYTES`. pydicom is handed these bytes, not the
    open file: reading a file object, it asks for an element's *declared* length in one ``read()``, and Python
    allocates that much before finding the file shorter — a 3 KB file declaring a 4 GB value needed 4 GB.
    ``BytesIO.read`` allocates only what is there."""
    path = Path(source)
    try:
        with open(path, "rb") as fp:
            size = os.fstat(fp.fileno()).st_size
            if size > limits.MAX_SR_FILE_BYTES:
                raise SrImportError(
                    f"{source}: {size:,} bytes is above the limit of {limits.MAX_SR_FILE_BYTES:,} bytes for a "
                    "structured report (an HSG report SR is a few kilobytes)"
                )
            return fp.read(limits.MAX_SR_FILE_BYTES + 1)
    except OSError as exc:
        raise SrImportError(f"{source}: cannot be read: {exc.strerror or exc}") from None


def _name(source: Any) -> str:
    return str(source) if not isinstance(source, Dataset) else "SR dataset"


def _count(items: Sequence[Dataset], depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        raise SrImportError(f"SR content tree deeper than {MAX_DEPTH} levels: not an HSG report")
    return sum(1 + _count(_children(i, "?"), depth + 1) for i in items)


class _Reader:
    def __init__(self, ds: Dataset, name: str) -> None:
        self.ds = ds
        self.name = name
        self.warnings: list[str] = []
        self.incomplete = False
        self.unknown: list[str] = []
        self.book_version = 0

    # -- identification -----------------------------------------------------------------------------------
    def codebook(self, top: list[Dataset]) -> Codebook:
        title = concept_of(self.ds, "document title") if "ConceptNameCodeSequence" in self.ds else ("", "")
        manufacturer = str(self.ds.get("Manufacturer", "") or "")
        if manufacturer != MANUFACTURER:
            raise SrImportError(
                f"{self.name}: written by {manufacturer or 'an unnamed producer'!r}, not by this program "
                f"({MANUFACTURER!r}); shown as a document, not imported as an HSG report"
            )
        if title != _key(codes.HSG_REPORT_TITLE.code):
            raise SrImportError(
                f"{self.name}: document title {title} is not an HSG report written by this program "
                f"(expected {_key(codes.HSG_REPORT_TITLE.code)})"
            )
        version_key = _key(vocabulary().concept("doc:schema_version").coded)
        for item in format_items(top):
            if concept_of(item, "root") == version_key:
                version = str(item.get("TextValue", "")).strip()
                if version not in ("2", "3", "4"):
                    raise SrImportError(
                        f"{self.name}: SR content format {version!r} is newer than this program reads (1, 2, 3, 4)"
                    )
                return Format2Codebook(int(version))
        f1 = Format1Codebook()
        if any(f1.is_own(item, self) for item in top):
            return f1
        raise SrImportError(
            f"{self.name}: no HSG workstation content (neither format 1 nor 2 / 3 items): not a report of this program"
        )

    # -- the walk -----------------------------------------------------------------------------------------
    def run(self) -> ImportResult:
        top = _children(self.ds, "root")
        book = self.codebook(top)
        self.book_version = book.version
        data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        sections_seen: list[str] = []
        containers = [
            (f"root[{i}]", it) for i, it in enumerate(top) if value_type(it, f"root[{i}]") == "CONTAINER"
        ]
        if book.version >= 4:
            self.flat(book, containers, data, sections_seen)
            containers = []
        elif book.version >= 2:
            # narrative headings first (impression / recommendations are data too), then the structured data
            data_items: list[tuple[str, Dataset]] = []
            for path, item in containers:
                if is_format_heading(item):
                    continue  # format version and item count: read by codebook() / check_complete()
                key = concept_of(item, path)
                children = _children(item, path)
                if key == book.structured:
                    data_items += [(f"{path}[{n}]", c) for n, c in enumerate(children)]
                    continue
                section = book.section_of(key)
                if section in ("impression", "recommendations"):
                    sections_seen.append(section)
                    data[section] = self.text_section(section, children, path)
                elif section is None:
                    self.keep_unknown(item, path)
                else:
                    for n, c in enumerate(children):
                        if not book.is_skipped(concept_of(c, path)):
                            self.keep_unknown(c, f"{path}[{n}]")
            containers = data_items
        for path, item in containers:
            if book.version >= 3 and self.is_provenance(book, item, path):
                meta: dict[str, Any] = {}
                self.section(book, item, path, meta, [])
                self.merge_provenance(data, meta)
                continue
            self.section(book, item, path, data, sections_seen)
        self.header_identity(data)
        self.check_complete(book, data, sections_seen, top)
        if self.unknown:
            note = "Not understood in the SR (kept as text): " + "; ".join(self.unknown)
            findings = data.setdefault("findings", {})
            findings["other"] = (findings.get("other", "") + "\n" + note).strip()
            self.warnings.append(f"{len(self.unknown)} item(s) not understood, kept in findings.other")
        report = HsgReport.from_json(data)
        return ImportResult(report, book.version, self.warnings, self.incomplete)

    def flat(
        self, book: Codebook, containers: list[tuple[str, Dataset]], data: dict[str, Any], seen: list[str]
    ) -> None:
        """Format 4: narrative headings (impression / recommendation text) and one flat heading per report part,
        whose first item names the part's path (``sr_flat``); the parts are put back together by path."""
        part_key = _key(vocabulary().concept("doc:part").coded)
        meta: dict[str, Any] = {}
        for path, item in containers:
            if is_format_heading(item):
                continue  # format version and item count: read by codebook() / check_complete()
            children = _children(item, path)
            first = children[0] if children else None
            if first is not None and first.get("ValueType") == "TEXT" and concept_of(first, path) == part_key:
                part = str(first.get("TextValue", "")).strip()
                segments = parse_part_path(part)
                owner = part_type(segments) if segments is not None else None
                if segments is None or owner is None:
                    self.keep_unknown(item, path)
                    continue
                obj = self.fields(owner, children[1:], part, book, depth=2)
                provenance = bool(segments) and segments[0][0] in ("impression", "recommendations")
                place(meta if provenance else data, segments, obj)
                if segments and segments[0][0] not in seen:
                    seen.append(segments[0][0])
                continue
            section = book.section_of(concept_of(item, path))
            if section in ("impression", "recommendations"):
                seen.append(section)
                data[section] = self.text_section(section, children, path)
            elif section is None:
                self.keep_unknown(item, path)
            else:
                for n, c in enumerate(children):
                    if not book.is_skipped(concept_of(c, path)):
                        self.keep_unknown(c, f"{path}[{n}]")
        self.merge_provenance(data, meta)

    def section(
        self, book: Codebook, item: Dataset, path: str, data: dict[str, Any], seen: list[str]
    ) -> None:
        """One heading container of coded items (format 1: every top-level heading; format 2: the structured
        data's headings) into ``data``."""
        if value_type(item, path) != "CONTAINER":
            self.keep_unknown(item, path)
            return
        key = concept_of(item, path)
        children = _children(item, path)
        if key == book.admin:
            data.update(self.fields(HsgReport, children, "", book, depth=1))
            return
        section = book.section_of(key)
        if section is None:
            self.keep_unknown(item, path)
            return
        seen.append(section)
        hint = _unwrap_optional(typing.get_type_hints(HsgReport)[section])
        if typing.get_origin(hint) is list:
            wanted = book.list_element(section)
            elems = [c for c in children if concept_of(c, path) == wanted]
            elem_hint = typing.get_args(hint)[0]
            data[section] = [
                self.value(elem_hint, c, f"{section}[{n}]", book, depth=2) for n, c in enumerate(elems)
            ]
            for n, c in enumerate(children):
                if concept_of(c, path) != wanted and not book.is_skipped(concept_of(c, path)):
                    self.keep_unknown(c, f"{path}[{n}]")
        else:
            data[section] = self.fields(hint, children, section, book, depth=2)

    def keep_unknown(self, item: Dataset, path: str) -> None:
        """An item this version does not understand: its meaning and value as text, never a failure."""
        try:
            vt = str(item.get("ValueType", "?"))
            label = meaning_of(item) or "?"
            if vt == "TEXT":
                value = str(item.get("TextValue", ""))
            elif vt == "CODE" and item.get("ConceptCodeSequence"):
                value = str(item.ConceptCodeSequence[0].get("CodeMeaning", ""))
            elif vt == "NUM" and item.get("MeasuredValueSequence"):
                mv = item.MeasuredValueSequence[0]
                value = f"{mv.get('NumericValue', '')} {mv.MeasurementUnitsCodeSequence[0].CodeValue}"
            elif vt == "CONTAINER":
                value = f"section with {len(_children(item, path))} item(s)"
            else:
                value = vt
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            label, value = "?", "unreadable item"
        self.unknown.append(f"{label}: {value}".strip())

    def is_provenance(self, book: Codebook, item: Dataset, path: str) -> bool:
        """Format 3: the structured data's impression / recommendations heading (provenance, no text)."""
        if value_type(item, path) != "CONTAINER":
            return False
        return book.section_of(concept_of(item, path)) in ("impression", "recommendations")

    def merge_provenance(self, data: dict[str, Any], meta: dict[str, Any]) -> None:
        """Format 3: each TEXT sentence takes the provenance item of the same position; the generator's wording
        is the sentence itself while it is still generated (an edited sentence's old wording is not in the SR)."""
        pairs = []
        if "impression" in meta:
            pairs.append(("impression", meta["impression"].get("sentences", []), data.get("impression", {})))
        if "recommendations" in meta:
            pairs.append(
                ("recommendations", meta["recommendations"], {"sentences": data.get("recommendations")})
            )
        for section, provenance, target in pairs:
            texts = target.get("sentences") or []
            if len(provenance) != len(texts):
                self.warnings.append(
                    f"{section}: provenance items do not match the text items; provenance dropped"
                )
                continue
            merged = [{**p, "text": t["text"]} for p, t in zip(provenance, texts, strict=True)]
            if section == "impression":
                for m in merged:
                    m["generated_text"] = m["text"] if m.get("generated", True) else ""
                data.setdefault("impression", {"edits": []})["sentences"] = merged
            else:
                data["recommendations"] = merged

    def text_section(self, section: str, children: list[Dataset], path: str) -> Any:
        """Format 2 / 3 impression / recommendations: TEXT items (+ format 2's private audit block)."""
        wanted = _key((codes.IMPRESSION if section == "impression" else codes.RECOMMENDATION).code)
        texts: list[str] = []
        for n, c in enumerate(children):
            if value_type(c, f"{path}[{n}]") == "TEXT" and concept_of(c, path) == wanted:
                texts.append(str(c.get("TextValue", "")))
            else:
                self.keep_unknown(c, f"{path}[{n}]")
        audit = self.audit() if self.book_version == 2 else {}
        meta_key = "sentences" if section == "impression" else "recommendations"
        meta = audit.get(meta_key, [])
        if len(meta) != len(texts):
            if meta:
                self.warnings.append(
                    f"{section}: audit record does not match the text items; provenance dropped"
                )
            meta = [{"generated": False}] * len(texts) if section == "impression" else [{}] * len(texts)
        items = [{**m, "text": t} for m, t in zip(meta, texts, strict=True)]
        if section == "impression":
            return {"sentences": items, "edits": audit.get("edits", [])}
        return items

    def audit(self) -> dict[str, Any]:
        try:
            block = self.ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
            raw = block[AUDIT_ELEMENT].value
        except KeyError:
            return {}
        try:
            data = json.loads(str(raw))
        except ValueError:
            self.warnings.append("the private audit block is not valid JSON; impression provenance dropped")
            return {}
        return data if isinstance(data, dict) and data.get("format") == 1 else {}

    def header_identity(self, data: dict[str, Any]) -> None:
        """Identity from the header (a PACS corrects it there); content copies (format 1) only as fallback."""
        ident = data.setdefault("identity", {})
        for field_name, keyword in HEADER_IDENTITY.items():
            if keyword not in self.ds:
                continue
            raw = self.ds.get(keyword)
            text = "" if raw is None else str(raw).strip()
            if field_name in ("patient_birth_date", "study_date"):
                ident[field_name] = _da(text) if text else None
            elif field_name == "study_time":
                ident[field_name] = _parse_tm(text).isoformat() if text else None
            elif field_name == "patient_sex":
                ident[field_name] = text if text in ("F", "M", "O") else ""
            else:
                ident[field_name] = text
        for k in [k for k, v in ident.items() if v is None]:
            del ident[k]

    def check_complete(
        self,
        book: Codebook,
        data: dict[str, Any],
        sections: list[str],
        top: list[Dataset],
    ) -> None:
        verified = str(self.ds.get("VerificationFlag", "")) == "VERIFIED"
        status = data.get("status")
        if verified and status != "signed":
            self.incomplete = True
            self.warnings.append(
                "the header says VERIFIED (signed) but the content has no signed status: content is missing"
            )
        if "report_id" not in data:
            self.incomplete = True
            self.warnings.append("no report administration (report id, status): the SR is cut short")
        if book.version >= 2:
            recorded = _item_count(top)
            present = _count(
                [t for t in top if t.get("RelationshipType") == "CONTAINS" and not is_format_heading(t)]
            )
            if recorded is None:
                self.incomplete = True
                self.warnings.append("no content item count: the SR is cut short")
            elif present != recorded:
                self.incomplete = True
                self.warnings.append(
                    f"{present} of {recorded} content items present (sections read: {', '.join(sections) or 'none'})"
                )
        findings = data.get("findings", {})
        if status == "signed" and ("tubes" not in findings or "cavity" not in findings):
            self.incomplete = True
            missing = [p for p in ("cavity", "tubes") if p not in findings]
            self.warnings.append(f"signed report without findings.{' / findings.'.join(missing)}")

    # -- fields and values --------------------------------------------------------------------------------
    def fields(
        self, owner: type, children: list[Dataset], path: str, book: Codebook, depth: int
    ) -> dict[str, Any]:
        """JSON object for dataclass ``owner`` from its field items (absent fields take the model's defaults)."""
        if depth > MAX_DEPTH:
            raise SrImportError(f"SR item {path}: nested deeper than {MAX_DEPTH} levels")
        hints = typing.get_type_hints(owner)
        names = {f.name for f in dataclasses.fields(owner)}
        grouped: dict[str, list[tuple[Dataset, str]]] = {}
        exact_points: dict[str, list[list[float]]] = {}
        scoord_regions: dict[str, tuple[Dataset, str]] = {}
        for n, child in enumerate(children):
            cpath = f"{path}[{n}]" if path else f"[{n}]"
            key = concept_of(child, cpath)
            vt = value_type(child, cpath)
            if book.version >= 4 and vt == "NUM" and key == _key(codes.LENGTH.code):
                region = _region_field(owner)
                scoord = next((c for c in _children(child, cpath) if c.get("ValueType") == "SCOORD"), None)
                if region and scoord is not None and owner is Measurement:
                    scoord_regions[region] = (scoord, f"{cpath}[0]")
                continue
            points_field = book.exact_points_field(key)
            if points_field and vt == "TEXT":
                region = points_field if isinstance(points_field, str) else _region_field(owner)
                if region:
                    exact_points[region] = _parse_points(str(child.get("TextValue", "")), cpath)
                continue
            name = book.field_of(owner, key, vt)
            if name is None or name not in names:
                if not book.is_skipped(key) and vt not in ("IMAGE",):
                    self.keep_unknown(child, cpath)
                continue
            grouped.setdefault(name, []).append((child, cpath))
        out: dict[str, Any] = {}
        for name, (scoord, spath) in scoord_regions.items():
            if name not in grouped:  # format 4: a length measurement's region is its TID 1400 SCOORD
                grouped[name] = [(scoord, spath)]
        for name, items in grouped.items():
            hint = _unwrap_optional(hints[name])
            sub = f"{path}.{name}" if path else name
            if typing.get_origin(hint) is list:
                elem = typing.get_args(hint)[0]
                values = [
                    self.understood(elem, it, f"{sub}[{i}]", book, depth + 1)
                    for i, (it, _) in enumerate(items)
                ]
                out[name] = [v for v in values if v is not _SKIP]
            else:
                value = self.understood(hint, items[0][0], sub, book, depth + 1)
                if value is _SKIP:
                    continue
                out[name] = value
                if hint is ImageRegion and name in exact_points:
                    if len(exact_points[name]) != len(out[name]["points"]):
                        raise SrImportError(
                            f"SR item {sub}: exact points do not match the SCOORD's point count"
                        )
                    out[name]["points"] = exact_points[name]
        return out

    def understood(self, hint: Any, item: Dataset, path: str, book: Codebook, depth: int) -> Any:
        """The field value, or _SKIP after keeping an item with an unknown coded value as text."""
        try:
            return self.value(hint, item, path, book, depth)
        except _NotUnderstood:
            self.keep_unknown(item, path)
            return _SKIP

    def value(self, hint: Any, item: Dataset, path: str, book: Codebook, depth: int) -> Any:
        hint = _unwrap_optional(hint)
        vt = value_type(item, path)
        try:
            if hint is ImageRegion and vt == "TEXT":
                return _decode_region_text(item, path)
            if hint is ImageRegion:
                return _decode_region(item, path)
            if vt == "TEXT" and hint in (_dt.datetime, _dt.date, _dt.time):
                return _iso(hint, str(item.TextValue), path)
            if isinstance(hint, type) and dataclasses.is_dataclass(hint):
                return self.fields(hint, _children(item, path), path, book, depth)
            if vt == "CODE" and code_of(item, path) == book.empty:
                return ""
            if isinstance(hint, type) and issubclass(hint, enum.Enum):
                code = code_of(item, path)
                value = book.enum_value(hint, code)
                if value is None:
                    raise _NotUnderstood(f"SR item {path}: code {code} is not a value of {hint.__name__}")
                return value
            if hint is bool:
                code = code_of(item, path)
                if code == _key(codes.YES.code):
                    return True
                if code == _key(codes.NO.code):
                    return False
                raise _NotUnderstood(f"SR item {path}: code {code} is neither Yes nor No")
            if hint is int or hint is float:
                mv = item.MeasuredValueSequence[0]
                number = (
                    float(mv.FloatingPointValue) if "FloatingPointValue" in mv else float(mv.NumericValue)
                )
                if not math.isfinite(number):
                    raise SrImportError(f"SR item {path}: {number} is not a finite number")
                return int(round(number)) if hint is int else number
            if hint is _dt.datetime:
                value = DT(str(item.DateTime))
                if value.tzinfo is None and any(
                    c.get("ValueType") == "CODE"
                    and concept_of(c, path) == book.time_zone
                    and code_of(c, path) == book.utc
                    for c in _children(item, path)
                ):
                    value = value.replace(tzinfo=_dt.UTC)
                return value.isoformat()
            if hint is _dt.date:
                return _da(str(item.Date))
            if hint is _dt.time:
                return _parse_tm(str(item.Time)).isoformat()
            if hint is str:
                if vt == "UIDREF":
                    return str(item.UID)
                return str(item.TextValue)
        except SrImportError:
            raise
        except (AttributeError, IndexError, KeyError, ValueError, TypeError, OverflowError) as exc:
            raise SrImportError(
                f"SR item {path}: value type {vt} cannot be read as {_hint_name(hint)} ({exc})"
            ) from None
        raise SrImportError(f"SR item {path}: no reader for {_hint_name(hint)}")


def _hint_name(hint: Any) -> str:
    return getattr(hint, "__name__", str(hint))


def _region_field(owner: type) -> str | None:
    hints = typing.get_type_hints(owner)
    return next((n for n, h in hints.items() if _unwrap_optional(h) is ImageRegion), None)


__all__ = ["ImportResult", "SrImportError", "read_sr", "report_from_sr"]
