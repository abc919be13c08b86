"""HsgReport → DICOM Comprehensive SR (highdicom) in the source study — SR content format 4.

Why this shape (docs/report.md has the full tree, the TID rows and the reasons):

* A generic SR viewer (dsr2html, a PACS) must read it as a report: the root CONTAINER declares TID 2000 (Basic
  Diagnostic Imaging Report); each section is a CID 7001 heading holding TEXT sentences in words (``narrative``);
  the impression and the recommendations are plain TEXT items; the coded detail follows the text.
* It must follow TID 2000 / 2002 / 2001 everywhere (non-extensible templates), so the coded detail is flat
  (format 4, ``sr_flat.py``): one root-level heading per report part — each section object, tube, filling defect,
  image link, measurement, … — named by a TEXT "Report part" path, holding only CODE / TEXT items and TID 2001
  observations (IMAGE, NUM; a length as a TID 1400 NUM with its SCOORD). Format 3 nested it in one trailing
  "structured data" container (CODE parts with HAS PROPERTIES children, DATE / UIDREF / SCOORD items), which those
  rows do not allow; its files still read (``sr_import``).
* It must stay readable when the code changes: every concept comes from the frozen vocabulary
  (``vocabulary.tsv``; private codes HSG0001… in the declared 99HSG scheme), the SR records its content format
  version, and the model ↔ concept map lives in one data file. ``sr_import`` reads this format and the older ones.
* It must round-trip: the coded items are a type-driven walk of the report's dataclass tree (a walk cannot forget
  a field when the model grows); ``report import`` gives :func:`as_recorded_in_sr` of the report.
* Patient identity is NOT copied into the content: it is in the header, where a PACS corrects it.
* The audit trail of the impression (the edit log with removed / old wording, and the generator's wording of an
  edited sentence) is not part of the SR at all: a removed sentence must not travel with the signed document, and
  the log stays where the report lives (draft store, signed store — ``drafts.py``). The SR carries each
  sentence's provenance without text (source key, generated, critical) as coded items. Format 2 kept the trail in
  a private block (0011,1001), which dciodvfy reports as "Unrecognized tag"; its files still read whole.
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
from hsg_workstation.reporting.sr_flat import ROOT_PART, FlatWriter
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
#: (commit ad06cd8 and before); 3 = as 2, without the private block: sentence provenance as coded items, no edit log
#: (commit 562c322 and before); 4 = as 3 with the coded detail flattened to one TID 2000 heading per report part
#: (``sr_flat.py``), so the whole document follows TID 2000 / 2002 / 2001.
SR_FORMAT_VERSION = 4

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


def _heading(section: str, items: list[Any]) -> hd.sr.ContainerContentItem:
    heading = hd.sr.ContainerContentItem(name=concept(f"section:{section}"), relationship_type=Rel.CONTAINS)
    heading.ContentSequence = items
    return heading


def _narrative(report: HsgReport) -> list[Any]:
    """The headings a generic viewer shows as the report — sections with sentences, the impression, the
    recommendations (TEXT items only); the coded detail follows them in :func:`_data_headings`."""
    shown: list[Any] = []
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
        elif section == "impression":
            text = [
                hd.sr.TextContentItem(codes.IMPRESSION.code, s.text, relationship_type=Rel.CONTAINS)
                for s in report.impression.sentences
                if s.text
            ]
        elif section == "recommendations":
            text = [
                hd.sr.TextContentItem(codes.RECOMMENDATION.code, r.text, relationship_type=Rel.CONTAINS)
                for r in report.recommendations
                if r.text
            ]
        if text:
            shown.append(_heading(section, text))
    return shown


def _data_headings(report: HsgReport, w: Writer, measurement_sr: Dataset | None) -> list[Any]:
    """Format 4: one flat heading per report part (``sr_flat``), the report's own fields first. The impression
    and the recommendations give only their provenance (no text: the TEXT items above are the text; one heading
    per written sentence, same order); patient / study identity stays in the header."""
    flat = FlatWriter(w)
    extra: list[Any] = []
    if measurement_sr is not None:
        # TID 2002 has no COMPOSITE row: the TID 1500 SR is named by its SOP Instance UID (and is evidence).
        extra.append(
            hd.sr.TextContentItem(
                concept("doc:measurement_report"),
                str(measurement_sr.SOPInstanceUID),
                relationship_type=Rel.CONTAINS,
            )
        )
    out = flat.headings(
        ROOT_PART, report, heading="doc:administration", skip=frozenset(SECTION_ORDER), extra=extra
    )
    for section in SECTION_ORDER:
        value = getattr(report, section)
        if value is None or (isinstance(value, list) and not value):
            continue
        if section == "impression":
            written = [s for s in report.impression.sentences if s.text]
            for i, sentence in enumerate(written):
                out.extend(flat.headings(f"impression.sentences[{i}]", sentence, skip=AUDIT_ONLY_FIELDS))
        elif section == "recommendations":
            written_r = [r for r in report.recommendations if r.text]
            for i, rec in enumerate(written_r):
                out.extend(flat.headings(f"recommendations[{i}]", rec, skip=frozenset({"text"})))
        elif section == "identity":
            out.extend(flat.headings(section, value, skip=frozenset(HEADER_IDENTITY)))
        elif isinstance(value, list):
            for i, part in enumerate(value):
                out.extend(flat.headings(f"{section}[{i}]", part))
        else:
            out.extend(flat.headings(section, value))
    return out


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
    body = [*_narrative(report), *_data_headings(report, w, measurement_sr)]
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
    """The SR value type format 4 writes for a field of this type (``sr_flat.FlatWriter.value_items``)."""
    if (isinstance(hint, type) and issubclass(hint, enum.Enum)) or hint is bool:
        return "CODE"
    if hint in (int, float):
        return "NUM"
    if hint in (_dt.datetime, _dt.date, _dt.time):
        return "TEXT (ISO 8601)"
    if hint is ImageRegion:
        return "TEXT (graphic type + JSON points) > INFERRED FROM IMAGE"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return "own heading"
    return "TEXT"


def mapping_rows() -> list[tuple[str, str, str, str, str]]:
    """(field path, concept, value type, where, UCUM unit) for every model field — the table in docs/report.md,
    generated from the vocabulary and the model so it cannot drift (``test_docs_mapping_table_is_current``).
    Format 4: every item is CONTAINS in the heading of its part (concept = the part type's), whose first item is
    TEXT "Report part" = the part's path; a part field names the heading that follows."""
    v = vocabulary()
    rows: list[tuple[str, str, str, str, str]] = []

    def name(c: Any) -> str:
        return f'({c.code}, {c.scheme}, "{c.meaning}")'

    def heading_of(owner: type) -> str:
        return f"CONTAINS in heading {name(v.concept(f'type:{owner.__name__}'))}"

    def walk(owner: type, prefix: str, part_prefix: str, seen: tuple[type, ...]) -> None:
        hints = typing.get_type_hints(owner)
        where = heading_of(owner)
        for f in dataclasses.fields(owner):
            path = f"{prefix}{f.name}"
            hint = _unwrap_optional(hints[f.name])
            is_list = typing.get_origin(hint) is list
            elem = _unwrap_optional(typing.get_args(hint)[0] if is_list else hint)
            c = v.concept(f"field:{owner.__name__}.{f.name}")
            vt = _value_type(f.name, elem) + (" (one per element)" if is_list else "")
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
            if isinstance(elem, type) and dataclasses.is_dataclass(elem) and elem is not ImageRegion:
                part = f"{part_prefix}{f.name}" + ("[i]" if is_list else "")
                rows.append((path, "—", vt, f"{heading_of(elem)}, Report part = {part}", ""))
                if elem not in seen:
                    walk(elem, f"{path}.", f"{part}.", (*seen, elem))
                continue
            if owner.__name__ == "Measurement" and f.name == "region":
                vt = (
                    'length: NUM (410668003, SCT, "Length") > INFERRED FROM SCOORD (121055, DCM, "Path") > '
                    f"SELECTED FROM IMAGE (TID 1400); other kinds: {vt}"
                )
            rows.append((path, name(c), vt, where, c.unit))

    hints = typing.get_type_hints(HsgReport)
    admin = f"CONTAINS in heading {name(v.concept('doc:administration'))}, Report part = {ROOT_PART}"
    for f in dataclasses.fields(HsgReport):
        if f.name in SECTION_ORDER:
            continue
        c = v.concept(f"field:HsgReport.{f.name}")
        rows.append((f.name, name(c), _value_type(f.name, _unwrap_optional(hints[f.name])), admin, c.unit))
    for section in SECTION_ORDER:
        hint = _unwrap_optional(hints[section])
        is_list = typing.get_origin(hint) is list
        elem = typing.get_args(hint)[0] if is_list else hint
        part = f"{section}[i]" if is_list else section
        if (
            section == "impression"
        ):  # only its written sentences have headings (provenance; the text is above)
            rows.append((section, "—", "—", "no heading of its own: one per written sentence", ""))
            walk(elem, f"{section}.", f"{part}.", (elem,))
            continue
        rows.append(
            (
                section,
                "—",
                "own heading" + (" (one per element)" if is_list else ""),
                f"{heading_of(elem)}, Report part = {part}",
                "",
            )
        )
        walk(elem, f"{section}.", f"{part}.", (elem,))
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
