"""HsgReport → DICOM Comprehensive SR (highdicom) in the source study.

Why a type-driven walk of the report's dataclass tree instead of a hand-written item per field: the report must
come back from the SR *equal* (``sr_import.report_from_sr``), and a walk that derives every item from the field's
declared type cannot forget a field when the model grows. The walk is still DICOM-shaped (docs/report.md has the
full field → concept → value type → relationship table):

* root CONTAINER (25022-5, LN) — a TID 2000-like tree without the TID 2000 identifier (TID 2000 is not
  extensible and the tree carries more than it allows), with Language (TID 1204), observer context (TID 1001)
  and Procedure reported (121058, DCM) = Hysterosalpingography (168884001, SCT);
* one heading CONTAINER per report section, headings from CID 7001 where one fits, else a 99HSG container;
* a field becomes an item named (HSG-F-<field>, 99HSG) or, where one fits, a standard concept (dose totals,
  Impression, Recommendation, Finding); enums → CODE (99HSG value codes, or a verified SCT code), bool → CODE
  Yes/No, int/float → NUM with a UCUM unit, date/time → DATE/DATETIME/TIME, ``*_uid`` → UIDREF, str → TEXT;
* a nested part (a tube, a filling defect, an image link) → CODE (HSG-F-<field>) = (HSG-T-<Type>, 99HSG) whose
  fields hang below it by HAS PROPERTIES; tubes and other findings carry Finding Site and Laterality (HAS CONCEPT
  MOD);
* an image region → SCOORD (INFERRED FROM its finding) with one IMAGE child (SELECTED FROM, 1-based frame),
  plus a TEXT (HSG-XY-<field>) with the exact points when 32-bit Graphic Data would round them.

None, empty text and empty lists are not written: they are the model's defaults, so leaving them out
round-trips. Nothing is written with an unverified SNOMED/LOINC code (see ``codes``).
"""

from __future__ import annotations

import copy
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
from pydicom.uid import generate_uid

from hsg_workstation import __version__
from hsg_workstation.measurements import ImageRegion, Measurement, MeasurementKind, RegionType
from hsg_workstation.reporting import codes
from hsg_workstation.reporting.model import HsgReport, ImageLink, KeyImage, PregnancyStatus, Side, Tube

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
DEFAULT_SR_SERIES_NUMBER = 901

#: Report section (top-level field) → heading container concept. Bijective: the importer inverts it.
SECTION_HEADINGS: dict[str, CodedConcept] = {
    "identity": codes.local("HSG-S-identity", "Patient and study identification"),
    "clinical": codes.CLINICAL_INFORMATION.code,
    "safety": codes.HISTORY.code,
    "technique": codes.CURRENT_PROCEDURE.code,
    "dose": codes.RADIATION_EXPOSURE.code,
    "findings": codes.FINDINGS.code,
    "complications": codes.COMPLICATIONS.code,
    "impression": codes.IMPRESSIONS.code,
    "recommendations": codes.RECOMMENDATIONS.code,
    "key_images": codes.KEY_IMAGES.code,
    "measurements": codes.local("HSG-S-measurements", "Measurements"),
    "acknowledgements": codes.local("HSG-S-acknowledgements", "Acknowledged warnings"),
    "critical_result": CodedConcept("73568-8", "LN", "Communication of Critical Results"),
    "signature": codes.local("HSG-S-signature", "Signature"),
    "predecessor": codes.local("HSG-S-predecessor", "Amended report"),
}
#: Top-level scalar fields (report_id, status, ...) live in this container.
ADMIN_HEADING = codes.local("HSG-S-report", "Report administration")

#: (part type name, field) → standard concept name used instead of (HSG-F-field, 99HSG). Unique per type.
FIELD_CONCEPTS: dict[tuple[str, str], CodedConcept] = {
    ("RadiationDose", "dap_total_gy_cm2"): codes.DOSE_AREA_PRODUCT_TOTAL.code,
    ("RadiationDose", "fluoroscopy_time_s"): codes.TOTAL_FLUORO_TIME.code,
    ("RadiationDose", "radiographic_images"): codes.TOTAL_RADIOGRAPHIC_FRAMES.code,
    ("ImpressionSentence", "text"): codes.IMPRESSION.code,
    ("Recommendation", "text"): codes.RECOMMENDATION.code,
    ("CervixFindings", "note"): codes.FINDING.code,
    ("UterineCavity", "note"): codes.FINDING.code,
    ("FillingDefect", "note"): codes.FINDING.code,
    ("IntrauterineAdhesions", "note"): codes.FINDING.code,
    ("Tube", "note"): codes.FINDING.code,
    ("Peritoneum", "note"): codes.FINDING.code,
    ("Findings", "other"): codes.FINDING.code,
    ("Complications", "note"): CodedConcept("116224001", "SCT", "Complication of Procedure"),
}

#: Finding Site of a part (HAS CONCEPT MOD on its CODE item); tubes get theirs from ``side``.
FINDING_SITES: dict[str, CodedConcept] = {
    "CervixFindings": codes.CERVIX.code,
    "UterineCavity": codes.UTERUS.code,
    "FillingDefect": codes.UTERUS.code,
    "IntrauterineAdhesions": codes.UTERUS.code,
    "Peritoneum": codes.PERITONEAL_CAVITY.code,
}

#: Enum values written as standard codes (enum type name, value) → code. Everything else: (HSG-V-value, 99HSG).
ENUM_CODES: dict[tuple[str, str], CodedConcept] = {
    ("Side", Side.LEFT.value): codes.LEFT.code,
    ("Side", Side.RIGHT.value): codes.RIGHT.code,
    ("DefectNature", "polyp"): codes.POLYP_OF_CORPUS_UTERI.code,
    ("DefectNature", "submucous_fibroid"): codes.SUBMUCOUS_LEIOMYOMA.code,
    ("Asrm2021Category", "bicornuate"): codes.BICORNUATE_UTERUS.code,
    # CID 6096 Pregnancy Status (verified in PS3.16)
    ("PregnancyStatus", PregnancyStatus.NOT_PREGNANT.value): CodedConcept("60001007", "SCT", "Not pregnant"),
    ("PregnancyStatus", PregnancyStatus.POSSIBLE.value): CodedConcept(
        "146799005", "SCT", "Possible pregnancy"
    ),
    ("PregnancyStatus", PregnancyStatus.PREGNANT.value): CodedConcept(
        "77386006", "SCT", "Patient currently pregnant"
    ),
    ("PregnancyStatus", PregnancyStatus.UNKNOWN.value): CodedConcept("261665006", "SCT", "Unknown"),
}

IMAGE_REF = codes.local("HSG-IMAGE", "Referenced image")  # IMAGE item of an image link / key image
TIME_ZONE = codes.local("HSG-TZ", "Time zone")
UTC = codes.local("HSG-UTC", "Coordinated Universal Time (UTC)")
EMPTY_TEXT = codes.local("HSG-EMPTY", "empty text")  # a required text field that is empty (TEXT can't be)


class SrBuildError(ValueError):
    """The report cannot be written as SR (e.g. an image link names an instance not among the sources)."""


def exact_points_concept(field: str) -> CodedConcept:
    """TEXT beside a SCOORD holding its points as JSON doubles (only when float32 would change them)."""
    return codes.local(f"HSG-XY-{field}", f"{field} points (exact)")


def _float32_exact(points: Any) -> bool:
    return all(float(str(np.float32(v))) == float(v) for p in points for v in p)


def part_type_code(cls: type) -> CodedConcept:
    return codes.local(f"HSG-T-{cls.__name__}", cls.__name__)


def field_name_concept(owner: type, name: str) -> CodedConcept:
    return FIELD_CONCEPTS.get((owner.__name__, name)) or codes.field_concept(name)


def enum_code(value: enum.Enum) -> CodedConcept:
    std = ENUM_CODES.get((type(value).__name__, str(value.value)))
    return std if std is not None else codes.value_concept(str(value.value))


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        non_none = [a for a in typing.get_args(hint) if a is not type(None)]
        return non_none[0]
    return hint


def _unit_for(owner: Any, name: str) -> CodedConcept:
    if name == "dap_source_value" and getattr(owner, "dap_source_unit", None) is not None:
        unit = str(owner.dap_source_unit.value)
        return CodedConcept(unit, "UCUM", unit)
    return codes.ucum_unit(name)


class _Writer:
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
        concept = field_name_concept(type(owner), name)
        origin = typing.get_origin(hint)
        if origin is list:
            (elem_hint,) = typing.get_args(hint)
            out: list[Any] = []
            for v in value:
                out.extend(self.value_items(owner, name, elem_hint, v, rel))
            return out
        if isinstance(value, ImageRegion):
            items = [self.scoord_item(concept, value, getattr(owner, "sop_class_uid", "") or "")]
            if not _float32_exact(value.points):
                # Graphic Data is 32-bit; keep the model's exact points beside it so the report round-trips.
                exact = json.dumps([[float(x), float(y)] for x, y in value.points])
                items.append(hd.sr.TextContentItem(exact_points_concept(name), exact, relationship_type=rel))
            return items
        if dataclasses.is_dataclass(value):
            return [self.part_item(concept, value, rel)]
        if isinstance(value, enum.Enum):
            return [hd.sr.CodeContentItem(concept, enum_code(value), relationship_type=rel)]
        if isinstance(value, bool):
            yes_no = codes.YES.code if value else codes.NO.code
            return [hd.sr.CodeContentItem(concept, yes_no, relationship_type=rel)]
        if isinstance(value, int | float):
            item = hd.sr.NumContentItem(concept, value, _unit_for(owner, name), relationship_type=rel)
            if isinstance(value, int):
                item.MeasuredValueSequence[0].NumericValue = str(value)  # "4", not "4.0", for counts
            return [item]
        if isinstance(value, _dt.datetime):
            return [datetime_item(concept, value, rel)]
        if isinstance(value, _dt.date):
            return [hd.sr.DateContentItem(concept, value, relationship_type=rel)]
        if isinstance(value, _dt.time):
            return [hd.sr.TimeContentItem(concept, value, relationship_type=rel)]
        if isinstance(value, str):
            if value == "":
                return [hd.sr.CodeContentItem(concept, EMPTY_TEXT, relationship_type=rel)]
            if name.endswith("_uid"):
                return [hd.sr.UIDRefContentItem(concept, value, relationship_type=rel)]
            return [hd.sr.TextContentItem(concept, value, relationship_type=rel)]
        if isinstance(value, tuple):
            raise SrBuildError(f"SR writer: field {type(owner).__name__}.{name} (tuple) has no SR mapping")
        raise SrBuildError(f"SR writer: field {type(owner).__name__}.{name} of type {type(value).__name__}")

    def field_items(self, part: Any, rel: Rel) -> list[Any]:
        """Items for every non-default field of a dataclass part, in declaration order."""
        hints = typing.get_type_hints(type(part))
        items: list[Any] = []
        for f in dataclasses.fields(part):
            value = getattr(part, f.name)
            if value is None or (isinstance(value, list) and not value):
                continue
            if isinstance(value, str) and value == "" and _has_empty_default(f):
                continue
            items.extend(self.value_items(part, f.name, hints[f.name], value, rel))
        return items

    def part_item(self, concept: CodedConcept, part: Any, rel: Rel) -> hd.sr.CodeContentItem:
        """A nested part: CODE (field) = (HSG-T-Type) with its fields as HAS PROPERTIES children."""
        item = hd.sr.CodeContentItem(concept, part_type_code(type(part)), relationship_type=rel)
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
                    IMAGE_REF,
                )
            )
        # Regions hang by INFERRED FROM; put them last so the properties read first in a dump.
        children.sort(key=lambda c: c.RelationshipType == "INFERRED FROM")
        if children:
            item.ContentSequence = children
        return item

    def coded_findings(self, part: Any) -> list[Any]:
        """Standard-coded findings derived from a part, for readers that look for (121071, DCM) Finding codes.

        Only observations HSG shows directly and whose SNOMED code is verified: hydrosalpinx (21711003) with
        its diameter. The importer ignores them (the part's own fields carry the data).
        """
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
                    codes.ucum_unit("_mm"),
                    relationship_type=Rel.HAS_PROPERTIES,
                )
            ]
        return [item]

    def modifiers(self, part: Any) -> list[Any]:
        site: CodedConcept | None = FINDING_SITES.get(type(part).__name__)
        laterality: CodedConcept | None = None
        if isinstance(part, Tube):
            left = part.side is Side.LEFT
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
        """The measured length as a standard NUM (derived, for other readers; the importer ignores it)."""
        if m.kind is not MeasurementKind.LENGTH or len(m.region.points) != 2:
            return []
        p0, p1 = m.region.points
        length = float(m.calibration.length(tuple(p0), tuple(p1)))
        unit = CodedConcept(
            m.calibration.unit, "UCUM", "millimeter" if m.calibration.unit == "mm" else "pixel"
        )
        return [
            hd.sr.NumContentItem(
                codes.LENGTH.code, round(length, 3), unit, relationship_type=Rel.HAS_PROPERTIES
            )
        ]


def datetime_item(concept: CodedConcept, value: _dt.datetime, rel: Rel) -> hd.sr.DateTimeContentItem:
    """DATETIME; a UTC time is written without offset plus a Time zone = UTC modifier.

    Why: DCMTK 3.6.7's VR check rejects the offset ``+0000`` (it accepts ``+0100``), so dsrdump fails an SR
    with UTC offsets although PS3.5 allows them. The modifier keeps "this is UTC" explicit and lets the
    importer restore an aware datetime; naive (local) times have neither offset nor modifier.
    """
    offset = value.utcoffset()
    item = hd.sr.DateTimeContentItem(concept, value.replace(tzinfo=None), relationship_type=rel)
    if offset is None:
        return item
    if offset:
        item.DateTime = _dicom_dt(value)
        return item
    item.ContentSequence = [
        hd.sr.CodeContentItem(TIME_ZONE, UTC, relationship_type=Rel.HAS_CONCEPT_MOD),
    ]
    return item


def _has_empty_default(f: dataclasses.Field) -> bool:
    return f.default == ""


def build_content(report: HsgReport, source_datasets: Sequence[Dataset]) -> hd.sr.ContainerContentItem:
    """The root CONTAINER of the report's SR tree (see module docstring)."""
    w = _Writer(source_datasets)
    root = hd.sr.ContainerContentItem(name=codes.HSG_REPORT_TITLE.code)
    children: list[Any] = []
    lang = report.language or "en"
    children.extend(
        hd.sr.LanguageOfContentItemAndDescendants(
            language=CodedConcept(lang, "RFC5646", _language_name(lang))
        )
    )
    observer_name = report.author_name or report.signature.verifying_observer_name
    if observer_name:
        children.extend(
            hd.sr.ObservationContext(
                observer_person_context=hd.sr.ObserverContext(
                    observer_type=CodedConcept("121006", "DCM", "Person"),
                    observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                        name=observer_name
                    ),
                )
            )
        )
    children.append(
        hd.sr.CodeContentItem(
            codes.PROCEDURE_REPORTED.code, codes.HSG_PROCEDURE.code, relationship_type=Rel.HAS_CONCEPT_MOD
        )
    )

    hints = typing.get_type_hints(HsgReport)
    admin: list[Any] = []
    for f in dataclasses.fields(HsgReport):
        value = getattr(report, f.name)
        if f.name in SECTION_HEADINGS:
            if value is None or (isinstance(value, list) and not value):
                continue
            heading = hd.sr.ContainerContentItem(
                name=SECTION_HEADINGS[f.name], relationship_type=Rel.CONTAINS
            )
            if isinstance(value, list):
                items = w.value_items(report, f.name, hints[f.name], value, Rel.CONTAINS)
            else:
                items = w.field_items(value, Rel.CONTAINS)
            if not items:
                continue
            heading.ContentSequence = items
            children.append(heading)
        else:
            if isinstance(value, str) and value == "" and _has_empty_default(f):
                continue
            admin.extend(w.value_items(report, f.name, hints[f.name], value, Rel.CONTAINS))
    if admin:
        container = hd.sr.ContainerContentItem(name=ADMIN_HEADING, relationship_type=Rel.CONTAINS)
        container.ContentSequence = admin
        children.append(container)
    root.ContentSequence = children
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
    return generate_uid(entropy_srcs=["hsg-workstation-report-sr-series", study_instance_uid])


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


def build_sr(
    report: HsgReport,
    source_datasets: Sequence[Dataset],
    *,
    series_number: int = DEFAULT_SR_SERIES_NUMBER,
    instance_number: int = 1,
    predecessor: Dataset | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> Dataset:
    """The report as a Comprehensive SR in the study of ``source_datasets`` (patient/study copied from them).

    Signed reports are COMPLETE + VERIFIED with the verifying observer and the signing time; drafts are
    PARTIAL + UNVERIFIED. ``predecessor`` (the earlier SR dataset) or ``report.predecessor`` fills Predecessor
    Documents Sequence for amendments. Raises :class:`SrBuildError` with the reason when an image link points
    outside the sources.
    """
    if not source_datasets:
        raise SrBuildError("SR: at least one source image dataset is needed (patient and study come from it)")
    content = build_content(report, source_datasets)
    signed = report.is_signed
    sig = report.signature
    institution = report.identity.institution_name or getattr(source_datasets[0], "InstitutionName", None)
    sr = hd.sr.ComprehensiveSR(
        evidence=list(source_datasets),
        content=content,
        series_instance_uid=series_instance_uid
        or report_series_uid(str(source_datasets[0].StudyInstanceUID)),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or generate_uid(),
        instance_number=instance_number,
        manufacturer="HSG workstation",
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
    if signed and sig.verification_datetime is not None and "VerifyingObserverSequence" in sr:
        sr.VerifyingObserverSequence[0].VerificationDateTime = _dicom_dt(sig.verification_datetime)
    sr.SeriesDescription = "HSG structured report"
    sr.SoftwareVersions = __version__
    sr.SpecificCharacterSet = "ISO_IR 192"
    sr.CodingSchemeIdentificationSequence = [codes.coding_scheme_identification()]
    return sr


def _dicom_dt(value: _dt.datetime) -> str:
    s = value.strftime("%Y%m%d%H%M%S")
    if value.microsecond:
        s += f".{value.microsecond:06d}"
    if value.utcoffset() is not None:
        off = value.utcoffset() or _dt.timedelta(0)
        sign = "+" if off >= _dt.timedelta(0) else "-"
        minutes = abs(int(off.total_seconds())) // 60
        s += f"{sign}{minutes // 60:02d}{minutes % 60:02d}"
    return s


def _value_type_of(hint: Any) -> str:
    hint = _unwrap_optional(hint)
    if typing.get_origin(hint) is list:
        return _value_type_of(typing.get_args(hint)[0]) + " (one per element)"
    if hint is ImageRegion:
        return "SCOORD + IMAGE child"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return f"CODE = (HSG-T-{hint.__name__})"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "CODE"
    return {
        bool: "CODE Yes/No",
        int: "NUM",
        float: "NUM",
        _dt.datetime: "DATETIME",
        _dt.date: "DATE",
        _dt.time: "TIME",
        str: "TEXT",
    }.get(hint, str(hint))


def mapping_rows() -> list[tuple[str, str, str, str, str]]:
    """(field path, concept, value type, relationship, unit) for every model field — docs/report.md's table."""
    rows: list[tuple[str, str, str, str, str]] = []
    seen: set[type] = set()

    def fmt(c: CodedConcept) -> str:
        return f'({c.value}, {c.scheme_designator}, "{c.meaning}")'

    def walk(cls: type, prefix: str, rel: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            hint = _unwrap_optional(hints[f.name])
            elem = typing.get_args(hint)[0] if typing.get_origin(hint) is list else hint
            vt = _value_type_of(hints[f.name])
            if name_is_uid(f.name) and elem is str:
                vt = "UIDREF"
            unit = ""
            if elem in (int, float):
                u = codes.ucum_unit(f.name)
                unit = "dynamic (dap_source_unit)" if f.name == "dap_source_value" else u.value
            field_rel = "INFERRED FROM" if elem is ImageRegion else rel
            rows.append((f"{prefix}{f.name}", fmt(field_name_concept(cls, f.name)), vt, field_rel, unit))
            if isinstance(elem, type) and dataclasses.is_dataclass(elem) and elem is not ImageRegion:
                if elem in seen:
                    rows.append((f"{prefix}{f.name}.*", f"(see {elem.__name__} above)", "", "", ""))
                    continue
                seen.add(elem)
                walk(elem, f"{prefix}{f.name}{'[]' if elem is not hint else ''}.", "HAS PROPERTIES")

    hints = typing.get_type_hints(HsgReport)
    for f in dataclasses.fields(HsgReport):
        hint = _unwrap_optional(hints[f.name])
        if f.name in SECTION_HEADINGS:
            heading = SECTION_HEADINGS[f.name]
            rows.append((f.name, f"CONTAINER {fmt(heading)}", "CONTAINER", "CONTAINS (root)", ""))
            if typing.get_origin(hint) is list:
                elem = typing.get_args(hint)[0]
                rows.append(
                    (f"{f.name}[]", fmt(codes.field_concept(f.name)), _value_type_of(elem), "CONTAINS", "")
                )
                if elem not in seen:
                    seen.add(elem)
                    walk(elem, f"{f.name}[].", "HAS PROPERTIES")
            else:
                seen.add(hint)
                walk(hint, f"{f.name}.", "CONTAINS")
        else:
            rows.append(
                (
                    f.name,
                    fmt(codes.field_concept(f.name)),
                    _value_type_of(hints[f.name]),
                    f"CONTAINS in {fmt(ADMIN_HEADING)}",
                    "",
                )
            )
    return rows


def name_is_uid(name: str) -> bool:
    return name.endswith("_uid")
