"""HsgReport → DICOM Comprehensive SR (highdicom) in the source study — SR content format 3.

Why this shape (docs/report.md has the full tree and the reasons):

* A generic SR viewer (dsr2html, a PACS) must read it as a report: the root CONTAINER declares TID 2000 (Basic
  Diagnostic Imaging Report); each section is a CID 7001 heading holding TEXT sentences in words (``narrative``);
  the impression and the recommendations are plain TEXT items; the coded items follow in one trailing
  "structured data" container under the same headings, so they do not interrupt the text.
* It must stay readable when the code changes: every concept comes from the frozen vocabulary
  (``vocabulary.tsv``; private codes HSG0001… in the declared 99HSG scheme), the SR records its content format
  version, and the model ↔ concept map lives in one data file. ``sr_import`` reads this format and the older one.
* It must round-trip: the coded items are a type-driven walk of the report's dataclass tree (``sr_items.py``; a walk cannot forget a
  field when the model grows), each field an item whose value type follows the field type (enum → CODE, bool → CODE
  Yes/No, number → NUM with the vocabulary's UCUM unit, date/time → DATE/TIME/DATETIME, ``*_uid`` → UIDREF, text →
  TEXT, nested part → CODE (field) = (part type) with its fields below by HAS PROPERTIES, image region → SCOORD
  with its IMAGE).
* Patient identity is NOT copied into the content: it is in the header, where a PACS corrects it.
* The audit trail of the impression (the edit log with removed / old wording, and the generator's wording of an
  edited sentence) is not part of the SR at all: a removed sentence must not travel with the signed document, and
  the log stays where the report lives (draft store, signed store — ``drafts.py``). The SR carries each
  sentence's provenance without text (source key, generated, critical) as coded items, so ``report import`` gives
  :func:`as_recorded_in_sr` of the report. Format 2 kept the trail in a private block (0011,1001), which
  dciodvfy reports as "Unrecognized tag"; its files still read whole (``sr_import``).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import enum
import typing
from collections.abc import Sequence
from typing import Any

import highdicom as hd
from highdicom.sr import CodedConcept
from highdicom.sr.enum import RelationshipTypeValues as Rel
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from hsg_workstation import __version__
from hsg_workstation.measurements import ImageRegion
from hsg_workstation.reporting import codes, narrative
from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.sr_items import (
    FINDING_SITES,
    SrBuildError,
    Writer,
    _unwrap_optional,
    datetime_item,
    dicom_dt,
    enum_code,
    field_concept,
)
from hsg_workstation.reporting.vocabulary import concept, vocabulary

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
DEFAULT_SR_SERIES_NUMBER = 901
MANUFACTURER = "HSG workstation"
#: Version of the SR content format. 1 = the name-derived HSG-F-/HSG-V- codes (commit 17ceedc and before);
#: 2 = vocabulary codes, TID 2000 layout, narrative TEXT, identity from the header, audit in a private block
#: (commit ad06cd8 and before); 3 = as 2, without the private block: sentence provenance as coded items, no edit log.
SR_FORMAT_VERSION = 3

#: Private attribute block of format 2 that held the impression's audit trail (JSON); read, no longer written.
PRIVATE_GROUP = 0x0011
PRIVATE_CREATOR = "HSG workstation report"
AUDIT_ELEMENT = 0x01  # → (0011,1001) UT
#: Fields of the impression that are audit trail, not document: never written into the SR (format 3).
AUDIT_ONLY_FIELDS = frozenset({"text", "generated_text"})

#: Sections in the order they are written; section name → vocabulary key of the heading.
SECTION_ORDER: tuple[str, ...] = (
    "clinical",
    "safety",
    "technique",
    "dose",
    "findings",
    "complications",
    "impression",
    "recommendations",
    "critical_result",
    "key_images",
    "measurements",
    "acknowledgements",
    "signature",
    "predecessor",
    "identity",
)
#: Concept name of the narrative TEXT items of a section (CID 7002 where one fits).
NARRATIVE_CONCEPTS: dict[str, str] = {
    "clinical": "doc:clinical_text",
    "safety": "doc:safety_text",
    "technique": "std:PROCEDURE_DESCRIPTION",
    "dose": "std:PROCEDURE_DESCRIPTION",
    "findings": "std:FINDING",
    "complications": "std:COMPLICATION_OF_PROCEDURE",
    "critical_result": "doc:critical_text",
}
#: Identity fields read from the SR header (Patient / General Study / equipment), never written into the content.
HEADER_IDENTITY: dict[str, str] = {
    "patient_name": "PatientName",
    "patient_id": "PatientID",
    "patient_birth_date": "PatientBirthDate",
    "patient_sex": "PatientSex",
    "other_patient_ids": "OtherPatientIDs",
    "study_instance_uid": "StudyInstanceUID",
    "accession_number": "AccessionNumber",
    "study_id": "StudyID",
    "study_date": "StudyDate",
    "study_time": "StudyTime",
    "study_description": "StudyDescription",
    "referring_physician_name": "ReferringPhysicianName",
    "institution_name": "InstitutionName",
    "institution_address": "InstitutionAddress",
}


def as_recorded_in_sr(report: HsgReport) -> HsgReport:
    """The report as its SR (format 3) records it, i.e. what ``report import`` gives back: the impression without
    its edit log, and each sentence's generator wording only while the sentence is still the generator's (an
    edited sentence's original wording is removed text). Everything else is the report itself."""
    data = report.to_json()
    data.pop("integrity", None)
    imp = data.get("impression", {})
    imp["edits"] = []
    for s in imp.get("sentences", []):
        s["generated_text"] = s["text"] if s.get("generated") else ""
    return HsgReport.from_json(data)


def _provenance_items(report: HsgReport, section: str, w: Writer) -> list[Any]:
    """Impression / recommendation provenance without any text: CODE (list field) = (part type) with the
    source key / library key, generated and critical by HAS PROPERTIES — one per TEXT item, in the same order."""
    if section == "impression":
        parts: list[Any] = [s for s in report.impression.sentences if s.text]
        name = concept("field:Impression.sentences")
    else:
        parts = [r for r in report.recommendations if r.text]
        name = concept("field:HsgReport.recommendations")
    out = []
    for part in parts:
        item = hd.sr.CodeContentItem(
            name, concept(f"type:{type(part).__name__}"), relationship_type=Rel.CONTAINS
        )
        children = w.field_items(part, Rel.HAS_PROPERTIES, skip=AUDIT_ONLY_FIELDS)
        if children:
            item.ContentSequence = children
        out.append(item)
    return out


def _heading(section: str, items: list[Any]) -> hd.sr.ContainerContentItem:
    heading = hd.sr.ContainerContentItem(name=concept(f"section:{section}"), relationship_type=Rel.CONTAINS)
    heading.ContentSequence = items
    return heading


def _sections(report: HsgReport, w: Writer) -> tuple[list[Any], list[Any]]:
    """(narrative sections, coded data sections). The narrative sections are what a generic viewer shows as the
    report — headings with sentences, the impression, the recommendations; the coded items of every section go
    under the same headings inside one trailing "structured data" container, so they do not interrupt the text."""
    hints = typing.get_type_hints(HsgReport)
    shown: list[Any] = []
    data: list[Any] = []
    for section in SECTION_ORDER:
        value = getattr(report, section)
        if value is None or (isinstance(value, list) and not value):
            continue
        text: list[Any] = []
        if section in NARRATIVE_CONCEPTS:
            name = concept(NARRATIVE_CONCEPTS[section])
            text = [
                hd.sr.TextContentItem(name, s, relationship_type=Rel.CONTAINS)
                for s in narrative.section_sentences(report, section)
            ]
        items: list[Any] = []
        if section == "impression":
            text = [
                hd.sr.TextContentItem(codes.IMPRESSION.code, s.text, relationship_type=Rel.CONTAINS)
                for s in report.impression.sentences
                if s.text
            ]
            items = _provenance_items(report, section, w)
        elif section == "recommendations":
            text = [
                hd.sr.TextContentItem(codes.RECOMMENDATION.code, r.text, relationship_type=Rel.CONTAINS)
                for r in report.recommendations
                if r.text
            ]
            items = _provenance_items(report, section, w)
        elif section == "identity":
            skip = frozenset(HEADER_IDENTITY)  # patient / study identity lives in the header only
            items = w.field_items(report.identity, Rel.CONTAINS, skip=skip)
        elif isinstance(value, list):
            items = w.value_items(report, section, hints[section], value, Rel.CONTAINS)
        else:
            items = w.field_items(value, Rel.CONTAINS)
        if text:
            shown.append(_heading(section, text))
        if items:
            data.append(_heading(section, items))
    return shown, data


def _count_items(items: Any) -> int:
    n = 0
    for item in items:
        n += 1 + _count_items(item.get("ContentSequence", []))
    return n


def build_content(
    report: HsgReport, source_datasets: Sequence[Dataset], measurement_sr: Dataset | None = None
) -> hd.sr.ContainerContentItem:
    """The root CONTAINER of the report's SR tree (see module docstring and docs/report.md)."""
    w = Writer(source_datasets)
    root = hd.sr.ContainerContentItem(name=codes.HSG_REPORT_TITLE.code, template_id="2000")
    # TID 2000 rows in their order (the template's order is significant): Procedure reported (row 2), Language
    # (row 5), Observation Context (row 7, mandatory: the author, else this program as the device observer).
    children: list[Any] = [
        hd.sr.CodeContentItem(
            codes.PROCEDURE_REPORTED.code, codes.HSG_PROCEDURE.code, relationship_type=Rel.HAS_CONCEPT_MOD
        )
    ]
    lang = report.language or "en"
    children.extend(
        hd.sr.LanguageOfContentItemAndDescendants(
            language=CodedConcept(lang, "RFC5646", _language_name(lang))
        )
    )
    observer_name = report.author_name or report.signature.verifying_observer_name
    if observer_name:
        observer = hd.sr.ObserverContext(
            observer_type=CodedConcept("121006", "DCM", "Person"),
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=observer_name),
        )
    else:
        observer = hd.sr.ObserverContext(
            observer_type=CodedConcept("121007", "DCM", "Device"),
            observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
                uid=generate_uid(entropy_srcs=["hsg-workstation-device-observer"]), name=MANUFACTURER
            ),
        )
    children.extend(hd.sr.ObservationContext(observer_person_context=observer))
    shown, data = _sections(report, w)
    if measurement_sr is not None:
        ref = hd.sr.CompositeContentItem(
            concept("doc:measurement_report"),
            referenced_sop_class_uid=str(measurement_sr.SOPClassUID),
            referenced_sop_instance_uid=str(measurement_sr.SOPInstanceUID),
            relationship_type=Rel.CONTAINS,
        )
        target = next((s for s in data if _is(s, "section:measurements")), None)
        if target is None:
            target = _heading("measurements", [])
            data.append(target)
        target.ContentSequence.append(ref)
    admin: list[Any] = []
    hints = typing.get_type_hints(HsgReport)
    for f in dataclasses.fields(HsgReport):
        if f.name in SECTION_ORDER:
            continue
        value = getattr(report, f.name)
        if isinstance(value, str) and value == "" and f.default == "":
            continue
        admin.extend(w.value_items(report, f.name, hints[f.name], value, Rel.CONTAINS))
    container = hd.sr.ContainerContentItem(name=concept("doc:administration"), relationship_type=Rel.CONTAINS)
    container.ContentSequence = admin
    structured = hd.sr.ContainerContentItem(
        name=concept("doc:structured_data"), relationship_type=Rel.CONTAINS
    )
    structured.ContentSequence = [container, *data]
    body = [*shown, structured]
    # The format version and the number of content items below come first — in the first heading (format 3; a
    # private heading code and TEXT items are what TID 2000 row 8 / TID 2002 allow; format 2 had them as root
    # modifiers, which TID 2000 does not list): the importer identifies the format from them, and a truncated file
    # (whose tail is lost) shows as fewer items than recorded.
    info = hd.sr.ContainerContentItem(name=concept("doc:format_heading"), relationship_type=Rel.CONTAINS)
    info.ContentSequence = [
        hd.sr.TextContentItem(
            concept("doc:schema_version"), str(SR_FORMAT_VERSION), relationship_type=Rel.CONTAINS
        ),
        hd.sr.TextContentItem(
            concept("doc:item_count"), str(_count_items(body)), relationship_type=Rel.CONTAINS
        ),
    ]
    root.ContentSequence = [*children, info, *body]
    return root


def _is(item: Dataset, key: str) -> bool:
    c = concept(key)
    name = item.ConceptNameCodeSequence[0]
    return str(name.CodeValue) == c.value and str(name.CodingSchemeDesignator) == c.scheme_designator


def _language_name(tag: str) -> str:
    return {"en": "English", "de": "German", "fr": "French", "nl": "Dutch", "es": "Spanish"}.get(tag, tag)


SR_STORAGE_PREFIX = (
    "1.2.840.10008.5.1.4.1.1.88."  # every SR storage SOP class (Basic / Enhanced / Comprehensive ...)
)


def report_series_uid(study_instance_uid: str) -> str:
    """The Series Instance UID of this program's SR series (#901) in a study: derived from the study UID.

    Why deterministic: an amendment must reference its predecessor SR by series + instance, and the form often
    only knows the earlier SR's SOP Instance UID. All reports of a study share this series, so the reference is
    right without a PACS look-up (a random UID here would point at a series that does not exist)."""
    return document_series_uid(study_instance_uid, "report-sr")


def document_series_uid(study_instance_uid: str, kind: str) -> str:
    """One series per document type (report SR, PDF, KOS, measurement SR) per study, derived from the study UID,
    so every version of a document lands in the same series with increasing Instance Numbers."""
    source = "hsg-workstation-report-sr-series" if kind == "report-sr" else f"hsg-workstation-{kind}-series"
    return generate_uid(entropy_srcs=[source, study_instance_uid])


def _predecessor_refs(report: HsgReport, predecessor: Dataset | None) -> list[Dataset] | None:
    study = report.identity.study_instance_uid
    p = report.predecessor
    if predecessor is not None:
        sop_class = str(getattr(predecessor, "SOPClassUID", ""))
        uid = str(getattr(predecessor, "SOPInstanceUID", ""))
        if not sop_class.startswith(SR_STORAGE_PREFIX):
            raise SrBuildError(
                f"predecessor {uid or '(no SOP Instance UID)'} is not a structured report (SOP Class {sop_class})"
            )
        other_study = str(getattr(predecessor, "StudyInstanceUID", ""))
        if study and other_study != study:
            raise SrBuildError(
                f"predecessor SR {uid} belongs to study {other_study}, not to this report's study {study}"
            )
        if p is not None and p.sr_sop_instance_uid and p.sr_sop_instance_uid != uid:
            raise SrBuildError(
                f"predecessor SR {uid} is not the one this amendment replaces ({p.sr_sop_instance_uid})"
            )
        return [predecessor]
    if p is None or not p.sr_sop_instance_uid:
        return None
    ref = Dataset()
    ref.SOPClassUID = COMPREHENSIVE_SR
    ref.SOPInstanceUID = p.sr_sop_instance_uid
    ref.StudyInstanceUID = p.study_instance_uid or study
    ref.SeriesInstanceUID = p.sr_series_instance_uid or report_series_uid(ref.StudyInstanceUID)
    return [ref]


def lifecycle_word(report: HsgReport) -> str:
    """ "draft", "signed" or "amended" (a signed report that replaces an earlier one) — for titles and headers."""
    if not report.is_signed:
        return "draft amendment" if report.predecessor is not None else "draft"
    return "amended" if report.predecessor is not None else "signed"


def build_sr(
    report: HsgReport,
    source_datasets: Sequence[Dataset],
    *,
    series_number: int = DEFAULT_SR_SERIES_NUMBER,
    instance_number: int = 1,
    predecessor: Dataset | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    measurement_sr: Dataset | None = None,
) -> Dataset:
    """The report as a Comprehensive SR in the study of ``source_datasets`` (patient/study copied from them).

    Signed reports are COMPLETE + FINAL + VERIFIED with the verifying observer, the signing time as Verification
    DateTime and as Content Date/Time; drafts are PARTIAL + PRELIMINARY + UNVERIFIED. ``predecessor`` (the
    earlier SR dataset) or ``report.predecessor`` fills Predecessor Documents Sequence for amendments.
    ``measurement_sr`` (the TID 1500 SR of the same report, ``measurement_sr.build_measurement_sr``) is referenced
    by a COMPOSITE item and listed as evidence. Raises :class:`SrBuildError` when an image link points outside the
    sources.
    """
    if not source_datasets:
        raise SrBuildError("SR: at least one source image dataset is needed (patient and study come from it)")
    content = build_content(report, source_datasets, measurement_sr)
    signed = report.is_signed
    sig = report.signature
    institution = report.identity.institution_name or getattr(source_datasets[0], "InstitutionName", None)
    evidence = list(source_datasets) + ([measurement_sr] if measurement_sr is not None else [])
    sr = hd.sr.ComprehensiveSR(
        evidence=evidence,
        content=content,
        series_instance_uid=series_instance_uid
        or report_series_uid(str(source_datasets[0].StudyInstanceUID)),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        is_complete=signed,
        is_final=signed,
        is_verified=signed and bool(sig.verifying_observer_name),
        institution_name=institution or None,
        verifying_observer_name=sig.verifying_observer_name if signed else None,
        verifying_organization=(sig.verifying_organization or institution or "Unknown") if signed else None,
        previous_versions=_predecessor_refs(report, predecessor),
    )
    # highdicom puts the evidence's own Patient / Study DataElement objects into the SR: a later change to the SR
    # (e.g. a de-identification or a PACS coercion in the caller) would silently change the viewer's source
    # datasets. Give the SR its own copies.
    for source in source_datasets:
        for elem in list(sr):
            if elem.tag in source and source[elem.tag] is elem:
                sr[elem.tag] = copy.deepcopy(elem)
    _header_identity(sr, report, source_datasets[0])
    if signed and sig.verification_datetime is not None:
        if "VerifyingObserverSequence" in sr:
            sr.VerifyingObserverSequence[0].VerificationDateTime = dicom_dt(sig.verification_datetime)
        sr.ContentDate = sig.verification_datetime.strftime("%Y%m%d")
        sr.ContentTime = sig.verification_datetime.strftime("%H%M%S")
    sr.SeriesDescription = "HSG structured report"
    sr.SoftwareVersions = __version__
    sr.SpecificCharacterSet = "ISO_IR 192"
    sr.CodingSchemeIdentificationSequence = [codes.coding_scheme_identification()]
    sr.CodingSchemeIdentificationSequence[0].CodingSchemeVersion = vocabulary().version
    return sr


def _header_identity(sr: Dataset, report: HsgReport, source: Dataset) -> None:
    """Header identity the images lack but the report recorded (the images' own values always win)."""
    ident = report.identity
    for field, keyword in (
        ("study_description", "StudyDescription"),
        ("institution_address", "InstitutionAddress"),
        ("other_patient_ids", "OtherPatientIDs"),
    ):
        value = str(source.get(keyword, "") or getattr(ident, field))
        if value:
            setattr(sr, keyword, value)
        elif keyword in sr:
            del sr[keyword]
    if "PatientAge" in source:
        sr.PatientAge = source.PatientAge


def _value_type(name: str, hint: Any) -> str:
    """The SR value type the writer uses for a field of this type (``sr_items.Writer.value_items``)."""
    if (isinstance(hint, type) and issubclass(hint, enum.Enum)) or hint is bool:
        return "CODE"
    if hint in (int, float):
        return "NUM"
    if hint is _dt.datetime:
        return "DATETIME"
    if hint is _dt.date:
        return "DATE"
    if hint is _dt.time:
        return "TIME"
    if hint is ImageRegion:
        return "SCOORD (+ IMAGE)"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return "CODE (part)"
    return "UIDREF" if name.endswith("_uid") else "TEXT"


def mapping_rows() -> list[tuple[str, str, str, str, str]]:
    """(field path, concept, value type, where, UCUM unit) for every model field — the table in docs/report.md,
    generated from the vocabulary and the model so it cannot drift (``test_docs_mapping_table_is_current``)."""
    v = vocabulary()
    rows: list[tuple[str, str, str, str, str]] = []

    def name(c: Any) -> str:
        return f'({c.code}, {c.scheme}, "{c.meaning}")'

    def walk(owner: type, prefix: str, where: str, seen: tuple[type, ...]) -> None:
        hints = typing.get_type_hints(owner)
        for f in dataclasses.fields(owner):
            path = f"{prefix}{f.name}"
            hint = _unwrap_optional(hints[f.name])
            elem = typing.get_args(hint)[0] if typing.get_origin(hint) is list else hint
            elem = _unwrap_optional(elem)
            c = v.concept(f"field:{owner.__name__}.{f.name}")
            vt = _value_type(f.name, elem) + (" (one per element)" if typing.get_origin(hint) is list else "")
            if owner.__name__ == "StudyIdentity" and f.name in HEADER_IDENTITY:
                rows.append((path, "—", "—", f"header only ({HEADER_IDENTITY[f.name]})", ""))
                continue
            if owner.__name__ == "ImpressionSentence" and f.name in AUDIT_ONLY_FIELDS:
                text = (
                    "TEXT (121073, DCM) in the Impressions heading"
                    if f.name == "text"
                    else "not written (audit)"
                )
                rows.append((path, name(c) if f.name != "text" else "—", "—", text, ""))
                continue
            if owner.__name__ == "Recommendation" and f.name == "text":
                rows.append((path, "—", "—", "TEXT (121075, DCM) in the Recommendations heading", ""))
                continue
            if owner.__name__ == "Impression" and f.name == "edits":
                rows.append((path, "—", "—", "not written (audit: draft / signed store)", ""))
                continue
            rows.append((path, name(c), vt, where, c.unit))
            if isinstance(elem, type) and dataclasses.is_dataclass(elem) and elem not in seen:
                walk(elem, f"{path}.", "HAS PROPERTIES", (*seen, elem))

    hints = typing.get_type_hints(HsgReport)
    for f in dataclasses.fields(HsgReport):
        if f.name in SECTION_ORDER:
            continue
        c = v.concept(f"field:HsgReport.{f.name}")
        admin = v.concept("doc:administration")
        where = f"CONTAINS in {name(admin)}"
        rows.append((f.name, name(c), _value_type(f.name, _unwrap_optional(hints[f.name])), where, c.unit))
    for section in SECTION_ORDER:
        heading = v.concept(f"section:{section}")
        hint = _unwrap_optional(hints[section])
        elem = typing.get_args(hint)[0] if typing.get_origin(hint) is list else hint
        where = f"CONTAINS in {name(heading)}"
        if typing.get_origin(hint) is list:
            c = v.concept(f"field:HsgReport.{section}")
            rows.append((section, name(c), "CODE (part, one per element)", where, ""))
            walk(elem, f"{section}.", "HAS PROPERTIES", (elem,))
        else:
            walk(elem, f"{section}.", where, (elem,))
    return rows


def mapping_table() -> str:
    """:func:`mapping_rows` as the Markdown table of docs/report.md."""
    lines = ["| Field | Concept name | Value type | Relationship | UCUM unit |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in mapping_rows()]
    return "\n".join(lines) + "\n"


_dicom_dt = dicom_dt  # old name, used by callers of the first format
__all__ = [
    "FINDING_SITES",
    "SrBuildError",
    "as_recorded_in_sr",
    "build_content",
    "build_sr",
    "datetime_item",
    "dicom_dt",
    "document_series_uid",
    "enum_code",
    "field_concept",
    "lifecycle_word",
    "mapping_rows",
    "mapping_table",
    "report_series_uid",
]
