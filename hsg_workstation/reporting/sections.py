"""The report's parts: image links, key images and every section dataclass below the ``HsgReport`` root.

Why mutable dataclasses while a draft: the form edits fields in place and the draft store serialises the whole
tree after each change; each part inherits ``_Part`` so a signed report refuses changes (``parts.py``).
Field names follow ``shared/docs/hsg-report-spec.md`` §1. Left / right always mean the PATIENT's side.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from hsg_workstation.measurements import ImageRegion, Measurement
from hsg_workstation.reporting.afs import afs_score_and_stage
from hsg_workstation.reporting.enums import (
    AfsAdhesionType,
    AfsExtent,
    AfsMenstrualPattern,
    AfsStage,
    AntibioticProphylaxis,
    Asrm2021Category,
    BalloonPosition,
    CatheterType,
    CavityOpacified,
    CavityShape,
    CavitySize,
    CervicalCanal,
    ClassificationConfidence,
    Complication,
    Contraindication,
    ContrastType,
    CyclePattern,
    DapUnit,
    DefectBehaviour,
    DefectContour,
    DefectLocation,
    DefectNature,
    DoseSource,
    EshreCervix,
    EshreUterus,
    EshreVagina,
    ExternalContourSource,
    FigoSubmucous,
    ImpressionEditAction,
    Indication,
    InfectionFollowup,
    Intravasation,
    IntravasationAction,
    IuaEshEsge,
    IuaMarch,
    LimitationReason,
    MucosalFolds,
    OcclusionLevel,
    OpacifiedTo,
    Patency,
    PatientSex,
    PeritonealSpill,
    PeritubalAdhesionSign,
    PregnancyStatus,
    PregnancyTest,
    Premedication,
    PresentAbsent,
    ProximalSpasm,
    RiskHistory,
    SelectiveSalpingography,
    Severity3,
    Side,
    Spill,
    SpillAssessment,
    StudyQuality,
    TubeCalibre,
    TubeStatus,
    View,
    WallPattern,
)
from hsg_workstation.reporting.parts import _Part


@dataclass(frozen=True)
class ImageLink:
    """A finding's reference to an image: SOP Instance UID + 1-based frame + optional region / measurement.

    ``sop_class_uid`` is kept because an SR IMAGE content item must name the referenced SOP class.

    A region drawn in the viewer is a measurement of the report (``HsgReport.measurements``, the one object the
    viewer, the SR and the PDF read): the link names it by ``measurement_id`` and holds no copy, so moving the ROI
    moves what the finding links to. Read a link through ``HsgReport.link_region`` / ``link_measurement``.
    ``region`` is a region that is not a measurement (an analysis suggestion's, an imported SR's);
    ``measurement`` is the copy reports written before ``measurement_id`` carried (still read, never made now:
    ``HsgReport.add_image_link`` turns it into a reference).
    """

    sop_instance_uid: str
    frame_number: int = 1
    sop_class_uid: str = ""
    region: ImageRegion | None = None
    measurement: Measurement | None = None
    label: str = ""
    measurement_id: str = ""


@dataclass(frozen=True)
class KeyImage:
    sop_instance_uid: str
    sop_class_uid: str
    frame_number: int = 1
    note: str = ""


# ----------------------------------------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------------------------------------


@dataclass(eq=True)
class SourceInstance(_Part):
    """One image the report was read from (evidence for the SR, source for the Encapsulated PDF)."""

    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    series_instance_uid: str = ""


@dataclass(eq=True)
class StudyIdentity(_Part):
    """Copied from the source images by ``prefill_from_datasets``; the SR lands in this study."""

    patient_name: str = ""
    patient_id: str = ""
    patient_birth_date: _dt.date | None = None
    patient_sex: PatientSex = PatientSex.UNKNOWN
    other_patient_ids: str = ""
    study_instance_uid: str = ""
    accession_number: str = ""
    study_id: str = ""
    study_date: _dt.date | None = None
    study_time: _dt.time | None = None
    study_description: str = ""
    referring_physician_name: str = ""
    institution_name: str = ""
    institution_address: str = ""
    manufacturer: str = ""
    source_instances: list[SourceInstance] = field(default_factory=list)


@dataclass(eq=True)
class ClinicalInformation(_Part):
    indications: list[Indication] = field(default_factory=list)
    indication_other: str = ""
    infertility_duration_months: int | None = None
    gravidity: int | None = None
    parity: int | None = None
    miscarriages: int | None = None
    ectopics: int | None = None
    risk_history: list[RiskHistory] = field(default_factory=list)
    prior_imaging: str = ""
    prior_imaging_date: _dt.date | None = None
    comparison: str = ""  # section I, previous findings
    notes: str = ""


@dataclass(eq=True)
class SafetyChecks(_Part):
    """Pre-procedure safety. ``cycle_day`` None means 'compute from LMP and the study date'."""

    lmp_date: _dt.date | None = None
    lmp_unknown: bool = False
    cycle_day: int | None = None  # explicit override; see HsgReport.effective_cycle_day()
    cycle_pattern: CyclePattern | None = None
    menstrual_bleeding_today: bool | None = None
    pregnancy_test: PregnancyTest | None = None
    pregnancy_test_datetime: _dt.datetime | None = None
    pregnancy_status: PregnancyStatus | None = None
    contraindications: list[Contraindication] = field(default_factory=list)
    contraindication_override_note: str = ""  # V05: why the study went ahead anyway
    antibiotic_prophylaxis: AntibioticProphylaxis | None = None
    antibiotic_details: str = ""
    premedication: list[Premedication] = field(default_factory=list)
    consent: bool | None = None


@dataclass(eq=True)
class Technique(_Part):
    catheter_type: CatheterType | None = None
    catheter_other: str = ""
    balloon_position: BalloonPosition | None = None
    balloon_volume_ml: float | None = None
    contrast_type: ContrastType | None = None
    contrast_product: str = ""
    contrast_concentration_mgi_ml: float | None = None
    contrast_volume_ml: float | None = None
    views: list[View] = field(default_factory=list)
    selective_salpingography: SelectiveSalpingography | None = None
    selective_salpingography_result: str = ""
    study_quality: StudyQuality | None = None
    limitation_reasons: list[LimitationReason] = field(default_factory=list)
    limitation_other: str = ""


@dataclass(eq=True)
class RadiationDose(_Part):
    """Dose, prefilled from image headers and editable. Stored in Gy·cm² / s; the source value and unit are
    kept so V23 can check the conversion (a dGy·cm² value pasted as Gy·cm² is a 10x error)."""

    dap_total_gy_cm2: float | None = None
    dap_source_value: float | None = None
    dap_source_unit: DapUnit | None = None
    dap_source: DoseSource | None = None
    fluoroscopy_time_s: float | None = None
    fluoroscopy_time_source: DoseSource | None = None
    radiographic_images: int | None = None
    entrance_dose_mgy: float | None = None
    dose_review_reason: str = ""  # V22: why a local DRL was exceeded

    def set_dap(self, value: float, unit: DapUnit, source: DoseSource) -> None:
        """Record a DAP in its source unit and the converted Gy·cm² value together."""
        self.dap_source_value = value
        self.dap_source_unit = unit
        self.dap_source = source
        self.dap_total_gy_cm2 = round(value * unit.factor_to_gy_cm2, 6)


@dataclass(eq=True)
class CervixFindings(_Part):
    cervical_canal: CervicalCanal | None = None
    eshre_cervix: EshreCervix | None = None
    eshre_vagina: EshreVagina = EshreVagina.NOT_ASSESSED
    note: str = ""
    image_links: list[ImageLink] = field(default_factory=list)


@dataclass(eq=True)
class UterineCavity(_Part):
    opacified: CavityOpacified | None = None
    size: CavitySize | None = None
    shape: CavityShape | None = None
    internal_indentation_depth_mm: float | None = None
    indentation_angle_deg: float | None = None
    hemicavity_divergence_angle_deg: float | None = None
    intercornual_distance_mm: float | None = None
    external_contour_source: ExternalContourSource = ExternalContourSource.NOT_ASSESSED
    external_fundal_indentation_mm: float | None = None
    eshre_uterus: EshreUterus | None = None
    asrm2021_category: Asrm2021Category | None = None
    classification_confidence: ClassificationConfidence | None = None
    adenomyosis_signs: PresentAbsent | None = None
    caesarean_niche: PresentAbsent | None = None
    caesarean_niche_depth_mm: float | None = None
    note: str = ""
    image_links: list[ImageLink] = field(default_factory=list)


@dataclass(eq=True)
class FillingDefect(_Part):
    """One filling defect (repeatable). ``id`` is stable so image links and impression keys survive edits."""

    location: DefectLocation | None = None
    size_mm: float | None = None
    count: int = 1
    contour: DefectContour | None = None
    behaviour: DefectBehaviour | None = None
    suspected_nature: DefectNature | None = None
    figo_submucous_type: FigoSubmucous | None = None  # only for a suspected submucous fibroid
    note: str = ""
    image_links: list[ImageLink] = field(default_factory=list)
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


@dataclass(eq=True)
class IntrauterineAdhesions(_Part):
    """IUA with the AFS 1988 score. ``afs_score`` / ``afs_stage`` are computed (``update_afs``), V18 checks."""

    present: bool | None = None
    afs_extent: AfsExtent | None = None
    afs_type: AfsAdhesionType | None = None
    afs_menstrual_pattern: AfsMenstrualPattern | None = None
    afs_score: int | None = None
    afs_stage: AfsStage | None = None
    march: IuaMarch | None = None  # HSG-estimated (March 1978 is hysteroscopic)
    esh_esge: IuaEshEsge | None = None
    note: str = ""
    image_links: list[ImageLink] = field(default_factory=list)

    def update_afs(self) -> None:
        """Recompute score and stage from the components (None when any component is missing)."""
        self.afs_score, self.afs_stage = afs_score_and_stage(
            self.afs_extent, self.afs_type, self.afs_menstrual_pattern
        )


@dataclass(eq=True)
class Tube(_Part):
    """One fallopian tube; ``side`` is the patient's side."""

    side: Side = Side.LEFT
    status: TubeStatus | None = None
    opacified_to: OpacifiedTo | None = None
    patency: Patency | None = None
    occlusion_level: OcclusionLevel | None = None
    proximal_spasm: ProximalSpasm | None = None
    spill: Spill | None = None
    calibre: TubeCalibre | None = None
    hydrosalpinx: bool | None = None
    hydrosalpinx_diameter_mm: float | None = None
    mucosal_folds: MucosalFolds | None = None
    hydrosalpinx_grade: Severity3 | None = None
    wall_pattern: list[WallPattern] = field(default_factory=list)
    peritubal_adhesion_signs: list[PeritubalAdhesionSign] = field(default_factory=list)
    patency_note: str = ""  # e.g. reason for indeterminate
    note: str = ""
    image_links: list[ImageLink] = field(default_factory=list)


@dataclass(eq=True)
class Tubes(_Part):
    left: Tube = field(default_factory=lambda: Tube(side=Side.LEFT))
    right: Tube = field(default_factory=lambda: Tube(side=Side.RIGHT))

    def __iter__(self) -> Iterator[Tube]:
        return iter((self.left, self.right))

    def side(self, side: Side | str) -> Tube:
        return self.left if Side(side) is Side.LEFT else self.right


@dataclass(eq=True)
class Peritoneum(_Part):
    peritoneal_spill_overall: PeritonealSpill | None = None
    spill_assessed_on: SpillAssessment | None = None
    intravasation: Intravasation | None = None
    intravasation_extent: Severity3 | None = None
    intravasation_action: IntravasationAction | None = None
    note: str = ""
    image_links: list[ImageLink] = field(default_factory=list)


@dataclass(eq=True)
class Findings(_Part):
    cervix: CervixFindings = field(default_factory=CervixFindings)
    cavity: UterineCavity = field(default_factory=UterineCavity)
    filling_defects: list[FillingDefect] = field(default_factory=list)
    adhesions: IntrauterineAdhesions = field(default_factory=IntrauterineAdhesions)
    tubes: Tubes = field(default_factory=Tubes)
    peritoneum: Peritoneum = field(default_factory=Peritoneum)
    other: str = ""


@dataclass(eq=True)
class Complications(_Part):
    pain_score: int | None = None
    complications: list[Complication] = field(default_factory=list)
    note: str = ""
    infection_followup: InfectionFollowup | None = None


@dataclass(eq=True)
class ImpressionSentence(_Part):
    """One numbered impression sentence. ``source_key`` ties it to the finding that produced it (e.g.
    ``tube.left``, ``cavity``, ``defect.<id>``); ``generated`` stays True only while the text is the generator's;
    ``generated_text`` keeps what the generator said so the edit is visible (audit, V27)."""

    text: str
    source_key: str = ""
    generated: bool = True
    generated_text: str = ""
    critical: bool = False

    @property
    def edited(self) -> bool:
        return bool(self.generated_text) and self.text != self.generated_text


@dataclass(eq=True)
class ImpressionEdit(_Part):
    """Audit entry for every change the radiologist makes to the impression."""

    action: ImpressionEditAction
    source_key: str = ""
    old_text: str = ""
    new_text: str = ""
    reason: str = ""
    who: str = ""
    at: _dt.datetime | None = None


@dataclass(eq=True)
class Impression(_Part):
    sentences: list[ImpressionSentence] = field(default_factory=list)
    edits: list[ImpressionEdit] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(f"{i}. {s.text}" for i, s in enumerate(self.sentences, 1))


@dataclass(eq=True)
class Recommendation(_Part):
    text: str
    key: str = ""  # key into the recommendation library, "" for free text
    generated: bool = False


@dataclass(eq=True)
class Acknowledgement(_Part):
    """A warning the radiologist accepted before signing (rule id + field path identify the warning)."""

    rule_id: str
    field_path: str
    reason: str
    who: str
    at: _dt.datetime


@dataclass(eq=True)
class CriticalResult(_Part):
    """Failed sterilisation and similar: flagged, and whom it was communicated to (LOINC 73568-8 section)."""

    flagged: bool = False
    reason: str = ""
    communicated_to: str = ""
    communicated_by: str = ""
    communicated_at: _dt.datetime | None = None
    method: str = ""


@dataclass(eq=True)
class Signature(_Part):
    """Verifying observer (SR Verifying Observer Sequence) and when it was signed."""

    verifying_observer_name: str = ""
    verifying_organization: str = ""
    verification_datetime: _dt.datetime | None = None


@dataclass(eq=True)
class Predecessor(_Part):
    """The earlier report an amendment replaces; the SR writer puts it in Predecessor Documents Sequence."""

    report_id: str = ""
    sr_sop_instance_uid: str = ""
    sr_series_instance_uid: str = ""
    study_instance_uid: str = ""
    reason: str = ""
