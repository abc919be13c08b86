"""The structured HSG report: one Qt-free data model shared by the form, the rules, the SR / PDF writers.

Field names and enum values follow ``shared/docs/hsg-report-spec.md`` §1 (the spec's internal values), so the
spec's tables double as the documentation of this file. Layout:

``HsgReport`` (root)
  identity, clinical, safety, technique, dose,
  findings (cervix, cavity, filling_defects[], adhesions, tubes.left / tubes.right, peritoneum),
  complications, impression (sentences + edit log), recommendations[], key_images[], measurements[],
  acknowledgements[], critical_result, signature, predecessor.

Why dataclasses that are mutable while a draft: the form edits fields in place and the draft store serialises
the whole tree after each change. Why they become read-only once signed: a signed report is a legal document —
``sign()`` locks every part (attribute assignment and list mutation raise ``ReportLockedError``); a correction is
a new report made by ``amend()`` that references the earlier SR (``predecessor``), as DICOM amendments do.

Left / right always mean the PATIENT's side, never the screen's.

JSON: ``to_json()`` / ``from_json()`` are generic over the dataclass tree and round-trip to an equal object
(``==``); ``SCHEMA_VERSION`` is written as ``"schema_version"`` and checked on load.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import functools
import math
import types
import typing
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from hsg_workstation.errors import HsgError, ReportValidationError
from hsg_workstation.measurements import Calibration, CalibrationBasis, ImageRegion, Measurement
from hsg_workstation.reporting import integrity

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pydicom

    from hsg_workstation.reporting.rules import Issue, RuleConfig

SCHEMA_VERSION = 1

__all__ = [
    "SCHEMA_VERSION",
    "Calibration",
    "CalibrationBasis",
    "ImageRegion",
    "Measurement",
    "ReportLockedError",
    "ReportValidationError",
    "ReportJsonError",
    "ReportPrefillError",
]


class ReportLockedError(HsgError):
    """A signed report was about to be changed; make an amendment (``amend()``) instead."""


class ReportPrefillError(HsgError):
    """The images given to ``prefill_from_datasets`` do not fit the report (e.g. another study)."""


class ReportJsonError(HsgError):
    """A report JSON document is malformed; the message names the field path and what is wrong."""


class ReportIntegrityError(ReportJsonError):
    """A signed report's JSON does not match its integrity check (changed after signing) or lacks it."""


# ----------------------------------------------------------------------------------------------------------
# Enumerations (values = the spec's internal values; the SR writer maps them to codes)
# ----------------------------------------------------------------------------------------------------------


class ReportStatus(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"


class Side(StrEnum):
    """The patient's side."""

    LEFT = "left"
    RIGHT = "right"


class PatientSex(StrEnum):
    FEMALE = "F"
    MALE = "M"
    OTHER = "O"
    UNKNOWN = ""


class Indication(StrEnum):
    PRIMARY_INFERTILITY = "primary_infertility"
    SECONDARY_INFERTILITY = "secondary_infertility"
    RECURRENT_PREGNANCY_LOSS = "recurrent_pregnancy_loss"
    PRE_ART_WORKUP = "pre_ART_workup"
    POST_TUBAL_SURGERY = "post_tubal_surgery"
    STERILIZATION_CONFIRMATION = "sterilization_confirmation"
    SUSPECTED_MULLERIAN_ANOMALY = "suspected_mullerian_anomaly"
    SUSPECTED_IUA = "suspected_IUA"
    OTHER = "other"


class RiskHistory(StrEnum):
    PID = "PID"
    ECTOPIC = "ectopic"
    D_AND_C = "D&C_or_retained_products"
    PPH_OR_MANUAL_PLACENTA = "postpartum_haemorrhage_or_manual_placenta"
    CAESAREAN = "caesarean"
    MYOMECTOMY = "myomectomy"
    TUBAL_SURGERY = "tubal_surgery"
    ENDOMETRIOSIS = "endometriosis"
    GENITAL_TB = "genital_TB"
    NONE = "none"


class CyclePattern(StrEnum):
    REGULAR = "regular"
    IRREGULAR = "irregular"
    AMENORRHOEA = "amenorrhoea"
    HORMONAL_SUPPRESSION = "hormonal_suppression"


class PregnancyTest(StrEnum):
    URINE_NEGATIVE = "urine_negative"
    SERUM_NEGATIVE = "serum_negative"
    POSITIVE = "positive"
    NOT_DONE = "not_done"


class PregnancyStatus(StrEnum):
    """CID 6096; DICOM (0010,21C0) Pregnancy Status 1/2/3/4 maps to these."""

    NOT_PREGNANT = "not_pregnant"
    POSSIBLE = "possible"
    PREGNANT = "pregnant"
    UNKNOWN = "unknown"


class Contraindication(StrEnum):
    ACTIVE_PELVIC_INFECTION = "active_pelvic_infection"
    PREGNANCY = "pregnancy"
    ACTIVE_BLEEDING = "active_bleeding"
    RECENT_UTERINE_OR_TUBAL_SURGERY = "recent_uterine_or_tubal_surgery"
    SUSPECTED_GENITAL_MALIGNANCY = "suspected_genital_malignancy"  # uterine or cervical cancer
    CERVICAL_STENOSIS = "cervical_stenosis"
    IODINATED_CONTRAST_ALLERGY = "iodinated_contrast_allergy"
    NONE = "none"


class AntibioticProphylaxis(StrEnum):
    NONE = "none"
    GIVEN = "given"
    GIVEN_POST_PROCEDURE = "given_post_procedure"


class Premedication(StrEnum):
    NSAID = "NSAID"
    SPASMOLYTIC = "spasmolytic"
    ANXIOLYTIC = "anxiolytic"
    LOCAL_ANAESTHETIC = "local_anaesthetic"
    NONE = "none"


class CatheterType(StrEnum):
    BALLOON_CATHETER = "balloon_catheter"
    CERVICAL_VACUUM_CUP = "cervical_vacuum_cup"
    RIGID_CANNULA = "rigid_cannula"
    OTHER = "other"


class BalloonPosition(StrEnum):
    CERVICAL_CANAL = "cervical_canal"
    LOWER_UTERINE_SEGMENT = "lower_uterine_segment"
    NOT_APPLICABLE = "n/a"


class ContrastType(StrEnum):
    WATER_SOLUBLE_IODINATED = "water_soluble_iodinated"
    OIL_BASED = "oil_based"


class View(StrEnum):
    EARLY_FILLING = "early_filling"
    FULL_DISTENSION = "full_distension"
    OBLIQUE_L = "oblique_L"
    OBLIQUE_R = "oblique_R"
    DELAYED_POST_DRAINAGE = "delayed_post_drainage"


class SelectiveSalpingography(StrEnum):
    NONE = "none"
    LEFT = "L"
    RIGHT = "R"
    BOTH = "both"


class StudyQuality(StrEnum):
    DIAGNOSTIC = "diagnostic"
    LIMITED = "limited"
    NON_DIAGNOSTIC = "non_diagnostic"


class LimitationReason(StrEnum):
    CERVICAL_STENOSIS = "cervical_stenosis"
    CONTRAST_REFLUX = "contrast_reflux"
    INADEQUATE_DISTENSION = "inadequate_distension"
    PATIENT_INTOLERANCE = "patient_intolerance"
    VASOVAGAL = "vasovagal"
    BALLOON_OBSCURES_LUS = "balloon_obscures_LUS"
    FAILED_CANNULATION = "failed_cannulation"
    OTHER = "other"


class DapUnit(StrEnum):
    """Units a DAP value may arrive in; ``factor_to_gy_cm2`` converts. (0018,115E) is dGy·cm²."""

    DGY_CM2 = "dGy.cm2"
    GY_CM2 = "Gy.cm2"
    CGY_CM2 = "cGy.cm2"
    MGY_CM2 = "mGy.cm2"
    UGY_M2 = "uGy.m2"
    GY_M2 = "Gy.m2"

    @property
    def factor_to_gy_cm2(self) -> float:
        return {
            "dGy.cm2": 0.1,
            "Gy.cm2": 1.0,
            "cGy.cm2": 0.01,
            "mGy.cm2": 0.001,
            "uGy.m2": 1e-6 * 1e4,
            "Gy.m2": 1e4,
        }[self.value]


class DoseSource(StrEnum):
    IMAGE_HEADERS_SUM = "image_headers_sum"  # sum of (0018,115E) over the study's images / max (0040,0300)
    RF_LOOP = "rf_loop"  # the fluoroscopy loop's own (0018,115E)
    MPPS = "mpps"
    RDSR = "rdsr"
    MANUAL = "manual"


class CervicalCanal(StrEnum):
    NORMAL = "normal"
    STENOSIS = "stenosis"
    FILLING_DEFECT = "filling_defect"
    DOUBLE_CANAL = "double_canal"
    NOT_OPACIFIED = "not_opacified"


class EshreCervix(StrEnum):
    C0 = "C0"
    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    C4 = "C4"
    NOT_ASSESSED = "not_assessed"


class EshreVagina(StrEnum):
    V0 = "V0"
    V1 = "V1"
    V2 = "V2"
    V3 = "V3"
    V4 = "V4"
    NOT_ASSESSED = "not_assessed"


class CavityOpacified(StrEnum):
    YES = "yes"
    PARTIAL = "partial"
    NO = "no"


class CavitySize(StrEnum):
    NORMAL = "normal"
    SMALL = "small"
    ENLARGED = "enlarged"


class CavityShape(StrEnum):
    NORMAL_TRIANGULAR = "normal_triangular"
    FUNDAL_INDENTATION = "fundal_indentation"
    TWO_HEMICAVITIES = "two_hemicavities"
    SINGLE_HEMICAVITY_FUSIFORM = "single_hemicavity_fusiform"
    T_SHAPED_NARROW = "T_shaped_narrow"
    IRREGULAR_CONTOUR = "irregular_contour"
    OBLITERATED = "obliterated"


class ExternalContourSource(StrEnum):
    NOT_ASSESSED = "not_assessed"  # HSG alone: the serosal contour is invisible
    ULTRASOUND_2D = "ultrasound_2D"
    ULTRASOUND_3D = "ultrasound_3D"
    MRI = "MRI"
    LAPAROSCOPY = "laparoscopy"


class EshreUterus(StrEnum):
    U0 = "U0"
    U1A = "U1a"
    U1B = "U1b"
    U1C = "U1c"
    U2A = "U2a"
    U2B = "U2b"
    U3A = "U3a"
    U3B = "U3b"
    U3C = "U3c"
    U4A = "U4a"
    U4B = "U4b"
    U5A = "U5a"
    U5B = "U5b"
    U6 = "U6"
    INDETERMINATE_ON_HSG = "indeterminate_on_HSG"


class Asrm2021Category(StrEnum):
    NONE = "none"
    MULLERIAN_AGENESIS = "mullerian_agenesis"
    CERVICAL_AGENESIS = "cervical_agenesis"
    UNICORNUATE = "unicornuate"
    DIDELPHYS = "didelphys"
    BICORNUATE = "bicornuate"
    SEPTATE = "septate"
    LONGITUDINAL_VAGINAL_SEPTUM = "longitudinal_vaginal_septum"
    TRANSVERSE_VAGINAL_SEPTUM = "transverse_vaginal_septum"
    COMPLEX = "complex"
    ARCUATE_NORMAL_VARIANT = "arcuate_normal_variant"
    INDETERMINATE = "indeterminate"


class ClassificationConfidence(StrEnum):
    PROVISIONAL_HSG_ONLY = "provisional_HSG_only"
    CONFIRMED_WITH_3D_US_MRI = "confirmed_with_3D_US_MRI"


class PresentAbsent(StrEnum):
    ABSENT = "absent"
    PRESENT = "present"


class DefectLocation(StrEnum):
    FUNDUS = "fundus"
    BODY_ANTERIOR = "body_anterior"
    BODY_POSTERIOR = "body_posterior"
    BODY_NS = "body_NS"
    LUS = "LUS"
    CORNU_L = "cornu_L"
    CORNU_R = "cornu_R"
    CERVICAL_CANAL = "cervical_canal"


class DefectContour(StrEnum):
    ROUND_SMOOTH = "round_smooth"
    LOBULATED_SMOOTH = "lobulated_smooth"
    IRREGULAR_ANGULAR = "irregular_angular"
    LINEAR_BAND = "linear_band"


class DefectBehaviour(StrEnum):
    FIXED = "fixed"
    MOBILE = "mobile"
    DISAPPEARS_ON_DISTENSION = "disappears_on_distension"


class DefectNature(StrEnum):
    POLYP = "polyp"
    SUBMUCOUS_FIBROID = "submucous_fibroid"
    ADHESION = "adhesion"
    AIR_BUBBLE = "air_bubble"
    CLOT_OR_DEBRIS = "clot_or_debris"
    INDETERMINATE = "indeterminate"


class AfsExtent(StrEnum):
    """AFS 1988 extent of cavity involved: <1/3 = 1, 1/3-2/3 = 2, >2/3 = 4 points."""

    LT_ONE_THIRD = "<1/3"
    ONE_TO_TWO_THIRDS = "1/3-2/3"
    GT_TWO_THIRDS = ">2/3"


class AfsAdhesionType(StrEnum):
    """AFS 1988 type: filmy = 1, filmy and dense = 2, dense = 4; HSG often cannot tell."""

    FILMY = "filmy"
    FILMY_AND_DENSE = "filmy+dense"
    DENSE = "dense"
    NOT_ASSESSABLE_ON_HSG = "not_assessable_on_HSG"


class AfsMenstrualPattern(StrEnum):
    """AFS 1988 menstrual pattern: normal = 0, hypomenorrhoea = 2, amenorrhoea = 4."""

    NORMAL = "normal"
    HYPOMENORRHOEA = "hypomenorrhoea"
    AMENORRHOEA = "amenorrhoea"


class AfsStage(StrEnum):
    I_MILD = "I"  # score 1-4
    II_MODERATE = "II"  # 5-8
    III_SEVERE = "III"  # 9-12


class IuaMarch(StrEnum):
    MINIMAL = "minimal"
    MODERATE = "moderate"
    SEVERE = "severe"


class IuaEshEsge(StrEnum):
    I = "I"  # noqa: E741 - the grade's own name
    II = "II"
    IIA = "IIa"
    III = "III"
    IIIA = "IIIa"
    IIIB = "IIIb"
    IV = "IV"


class TubeStatus(StrEnum):
    PRESENT = "present"
    SURGICALLY_ABSENT = "surgically_absent"
    STERILIZED = "sterilized"
    UNKNOWN = "unknown"


class OpacifiedTo(StrEnum):
    NONE = "none"
    INTERSTITIAL = "interstitial"
    ISTHMIC = "isthmic"
    AMPULLARY = "ampullary"
    FIMBRIAL = "fimbrial"


class Patency(StrEnum):
    PATENT = "patent"
    OCCLUDED = "occluded"
    INDETERMINATE = "indeterminate"


class OcclusionLevel(StrEnum):
    PROXIMAL = "proximal_interstitial_cornual"
    ISTHMIC = "isthmic"
    AMPULLARY = "ampullary"
    DISTAL = "distal_fimbrial"

    @property
    def is_proximal(self) -> bool:
        return self is OcclusionLevel.PROXIMAL


class ProximalSpasm(StrEnum):
    """Answer to 'could this proximal non-filling be spasm / a mucus plug?' (None = not answered, V13)."""

    CANNOT_BE_EXCLUDED = "cannot_be_excluded"
    RULED_OUT = "ruled_out"  # persists after spasmolytic or delayed / repeat injection


class Spill(StrEnum):
    FREE = "free"
    LOCULATED = "loculated"
    DELAYED = "delayed"
    NONE = "none"
    INDETERMINATE = "indeterminate"


class TubeCalibre(StrEnum):
    NORMAL = "normal"
    DILATED = "dilated"


class MucosalFolds(StrEnum):
    PRESERVED = "preserved"
    EFFACED = "effaced"


class Severity3(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class WallPattern(StrEnum):
    NORMAL = "normal"
    SIN_ISTHMIC_DIVERTICULA = "SIN_isthmic_diverticula"
    RIGID_PIPE_STEM = "rigid_pipe_stem"
    BEADED = "beaded"
    INTRALUMINAL_FILLING_DEFECT = "intraluminal_filling_defect"
    IRREGULAR = "irregular"


class PeritubalAdhesionSign(StrEnum):
    CONVOLUTED_TUBE = "convoluted_tube"
    LOCULATED_SPILL = "loculated_spill"
    AMPULLARY_DILATATION = "ampullary_dilatation"
    PERITUBAL_HALO = "peritubal_halo"
    VERTICAL_FIXED_TUBE = "vertical_fixed_tube"
    NONE = "none"


class PeritonealSpill(StrEnum):
    BILATERAL_FREE = "bilateral_free"
    UNILATERAL_FREE_L = "unilateral_free_L"
    UNILATERAL_FREE_R = "unilateral_free_R"
    LOCULATED_ONLY = "loculated_only"
    NONE = "none"
    INDETERMINATE = "indeterminate"


class Intravasation(StrEnum):
    ABSENT = "absent"
    VENOUS = "venous"
    LYMPHATIC = "lymphatic"
    MIXED = "mixed"


class IntravasationAction(StrEnum):
    INJECTION_SLOWED_OR_STOPPED = "injection_slowed_or_stopped"
    NONE = "none"


class SpillAssessment(StrEnum):
    """Which images spill was judged on (V25: intravasation can mimic spill on one early image)."""

    SINGLE_EARLY_IMAGE = "single_early_image"
    SEQUENCE_OR_DELAYED = "sequence_or_delayed"


class Complication(StrEnum):
    NONE = "none"
    VASOVAGAL = "vasovagal"
    CONTRAST_REACTION = "contrast_reaction"
    BLEEDING = "bleeding"
    UTERINE_PERFORATION = "uterine_perforation"
    INTRAVASATION = "intravasation"
    FAILED_PROCEDURE = "failed_procedure"
    OTHER = "other"


class InfectionFollowup(StrEnum):
    NONE_REPORTED = "none_reported"
    POST_HSG_PID = "post_HSG_PID"


class ImpressionEditAction(StrEnum):
    EDITED = "edited"
    REMOVED = "removed"
    ADDED = "added"
    REGENERATED = "regenerated"


# ----------------------------------------------------------------------------------------------------------
# Lockable base: parts refuse changes once the report is signed
# ----------------------------------------------------------------------------------------------------------


class LockedList(list):
    """A list that refuses mutation; used for every list of a signed report (compares equal to a list)."""

    def _refuse(self, *_a: Any, **_k: Any) -> typing.NoReturn:
        raise ReportLockedError("this report is signed and cannot be changed; create an amendment")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


class _Part:
    """Mixin for every report part: ``__setattr__`` raises after ``_lock()``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_locked", False):
            raise ReportLockedError(
                f"cannot set {type(self).__name__}.{name}: the report is signed; create an amendment"
            )
        object.__setattr__(self, name, value)

    def _lock(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, list) and not isinstance(value, LockedList):
                object.__setattr__(self, f.name, LockedList(value))
                value = getattr(self, f.name)
            for child in value if isinstance(value, list) else (value,):
                if isinstance(child, _Part):
                    child._lock()
        object.__setattr__(self, "_locked", True)

    @property
    def is_locked(self) -> bool:
        return self.__dict__.get("_locked", False)


# ----------------------------------------------------------------------------------------------------------
# Image links, key images
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageLink:
    """A finding's reference to an image: SOP Instance UID + 1-based frame + optional region / measurement.

    ``sop_class_uid`` is kept because an SR IMAGE content item must name the referenced SOP class.
    ``measurement`` carries its calibration basis (see ``hsg_workstation.measurements``).
    """

    sop_instance_uid: str
    frame_number: int = 1
    sop_class_uid: str = ""
    region: ImageRegion | None = None
    measurement: Measurement | None = None
    label: str = ""


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
        from hsg_workstation.reporting.afs import afs_score_and_stage

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


# ----------------------------------------------------------------------------------------------------------
# Root
# ----------------------------------------------------------------------------------------------------------


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


@dataclass(eq=True)
class HsgReport(_Part):
    report_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: ReportStatus = ReportStatus.DRAFT
    created_at: _dt.datetime = field(default_factory=_now)
    author_name: str = ""  # person observer (TID 1001) who drafted it
    language: str = "en"
    identity: StudyIdentity = field(default_factory=StudyIdentity)
    clinical: ClinicalInformation = field(default_factory=ClinicalInformation)
    safety: SafetyChecks = field(default_factory=SafetyChecks)
    technique: Technique = field(default_factory=Technique)
    dose: RadiationDose = field(default_factory=RadiationDose)
    findings: Findings = field(default_factory=Findings)
    complications: Complications = field(default_factory=Complications)
    impression: Impression = field(default_factory=Impression)
    recommendations: list[Recommendation] = field(default_factory=list)
    key_images: list[KeyImage] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    critical_result: CriticalResult = field(default_factory=CriticalResult)
    signature: Signature = field(default_factory=Signature)
    predecessor: Predecessor | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_listeners", [])

    # ----- convenience views ----------------------------------------------------------------------------
    @property
    def is_signed(self) -> bool:
        return self.status is ReportStatus.SIGNED

    @property
    def is_amendment(self) -> bool:
        return self.predecessor is not None

    @property
    def tubes(self) -> Tubes:
        return self.findings.tubes

    def effective_cycle_day(self) -> int | None:
        """Explicit ``safety.cycle_day`` if set, else study date − LMP + 1 (day 1 = first day of flow)."""
        if self.safety.cycle_day is not None:
            return self.safety.cycle_day
        return compute_cycle_day(self.safety.lmp_date, self.identity.study_date)

    def derived_peritoneal_spill(self) -> PeritonealSpill | None:
        return derive_peritoneal_spill(self.findings.tubes.left, self.findings.tubes.right)

    # ----- change notification (autosave) --------------------------------------------------------------
    def add_listener(self, callback: Callable[[HsgReport, str], None]) -> None:
        """``callback(report, field_path)`` after every change made through this object's mutators."""
        self.__dict__["_listeners"].append(callback)

    def remove_listener(self, callback: Callable[[HsgReport, str], None]) -> None:
        listeners = self.__dict__["_listeners"]
        if callback in listeners:
            listeners.remove(callback)

    def changed(self, field_path: str = "") -> None:
        """Tell listeners (the draft store) that something changed; call after direct attribute edits."""
        self._check_editable(field_path or "report")
        for cb in list(self.__dict__["_listeners"]):
            cb(self, field_path)

    def _check_editable(self, what: str) -> None:
        if self.is_signed:
            raise ReportLockedError(f"cannot change {what}: the report is signed; create an amendment")

    # ----- generic mutators ----------------------------------------------------------------------------
    def get_value(self, path: str) -> Any:
        obj, last = _resolve_parent(self, path)
        return obj[last] if isinstance(last, int) else getattr(obj, last)

    def set_value(self, path: str, value: Any) -> None:
        """Set a field by dotted path (``findings.tubes.left.patency``, ``findings.filling_defects[0].size_mm``);
        enum fields accept their string value. Notifies listeners."""
        self._check_editable(path)
        obj, last = _resolve_parent(self, path)
        if isinstance(last, int):
            obj[last] = value
        else:
            if not dataclasses.is_dataclass(obj) or last not in {f.name for f in dataclasses.fields(obj)}:
                raise KeyError(f"report field {path!r} does not exist")
            hint = _hints_of(type(obj))[0][last]
            try:
                value = _coerce(value, hint, path)
            except ReportJsonError as exc:
                raise ValueError(str(exc)) from None
            setattr(obj, last, value)
        if path.startswith("findings.adhesions.afs_"):
            self.findings.adhesions.update_afs()
        self.changed(path)

    def add_filling_defect(self, defect: FillingDefect | None = None) -> FillingDefect:
        self._check_editable("findings.filling_defects")
        defect = defect or FillingDefect()
        self.findings.filling_defects.append(defect)
        self.changed(f"findings.filling_defects[{len(self.findings.filling_defects) - 1}]")
        return defect

    def remove_filling_defect(self, index: int) -> None:
        self._check_editable("findings.filling_defects")
        del self.findings.filling_defects[index]
        self.changed("findings.filling_defects")

    def add_image_link(self, path: str, link: ImageLink) -> None:
        """Link an image region to the finding at ``path`` (a part with ``image_links``)."""
        self._check_editable(path)
        target = self.get_value(path) if path else self
        if not hasattr(target, "image_links"):
            raise KeyError(f"report field {path!r} cannot carry image links")
        target.image_links.append(link)
        if link.measurement is not None and link.measurement not in self.measurements:
            self.measurements.append(link.measurement)
        self.changed(f"{path}.image_links")

    def add_key_image(self, key_image: KeyImage) -> None:
        self._check_editable("key_images")
        if key_image not in self.key_images:
            self.key_images.append(key_image)
        self.changed("key_images")

    def acknowledge(self, rule_id: str, field_path: str, reason: str, who: str) -> Acknowledgement:
        """Record that a warning was read and accepted; an empty reason is refused."""
        self._check_editable("acknowledgements")
        if not reason.strip() or not who.strip():
            raise ValueError(f"acknowledging {rule_id} at {field_path!r} needs a reason and a name")
        self.acknowledgements[:] = [
            a for a in self.acknowledgements if (a.rule_id, a.field_path) != (rule_id, field_path)
        ]
        ack = Acknowledgement(rule_id, field_path, reason.strip(), who.strip(), _now())
        self.acknowledgements.append(ack)
        self.changed("acknowledgements")
        return ack

    def is_acknowledged(self, rule_id: str, field_path: str) -> bool:
        return any((a.rule_id, a.field_path) == (rule_id, field_path) for a in self.acknowledgements)

    # ----- impression ------------------------------------------------------------------------------------
    def regenerate_impression(self, who: str = "", *, keep_edited: bool = True) -> None:
        """Replace generated sentences with the generator's current output. Sentences the radiologist edited
        or added are kept (``keep_edited``) so regenerating never loses typed text."""
        from hsg_workstation.reporting.impression import generate_impression

        self._check_editable("impression")
        fresh = generate_impression(self)
        kept = [s for s in self.impression.sentences if not s.generated] if keep_edited else []
        kept_keys = {s.source_key for s in kept if s.source_key}
        # A generated sentence the radiologist removed stays removed while its text is unchanged.
        removed = {
            (e.source_key, e.old_text)
            for e in self.impression.edits
            if e.action is ImpressionEditAction.REMOVED and e.source_key
        }
        new = [s for s in fresh if s.source_key not in kept_keys and (s.source_key, s.text) not in removed]
        old_text = self.impression.text
        self.impression.sentences = _merge_in_order(new, kept, [s.source_key for s in fresh])
        self.impression.edits.append(
            ImpressionEdit(
                ImpressionEditAction.REGENERATED, "", old_text, self.impression.text, "", who, _now()
            )
        )
        self.changed("impression.sentences")

    def edit_impression_sentence(self, index: int, text: str, who: str, reason: str = "") -> None:
        self._check_editable("impression")
        s = self.impression.sentences[index]
        old = s.text
        if old == text:
            return
        s.text = text
        if not s.generated_text and s.generated:
            s.generated_text = old
        s.generated = (
            bool(s.generated_text) and text == s.generated_text
        )  # typing the original back restores it
        self.impression.edits.append(
            ImpressionEdit(ImpressionEditAction.EDITED, s.source_key, old, text, reason, who, _now())
        )
        self.changed(f"impression.sentences[{index}].text")

    def remove_impression_sentence(self, index: int, who: str, reason: str = "") -> None:
        self._check_editable("impression")
        s = self.impression.sentences.pop(index)
        self.impression.edits.append(
            ImpressionEdit(ImpressionEditAction.REMOVED, s.source_key, s.text, "", reason, who, _now())
        )
        self.changed("impression.sentences")

    def add_impression_sentence(self, text: str, who: str, index: int | None = None) -> None:
        self._check_editable("impression")
        s = ImpressionSentence(text=text, source_key="", generated=False)
        self.impression.sentences.insert(len(self.impression.sentences) if index is None else index, s)
        self.impression.edits.append(
            ImpressionEdit(ImpressionEditAction.ADDED, "", "", text, "", who, _now())
        )
        self.changed("impression.sentences")

    # ----- lifecycle -----------------------------------------------------------------------------------
    def validate(self, config: RuleConfig | None = None) -> list[Issue]:
        from hsg_workstation.reporting.rules import RuleConfig, validate

        return validate(self, config or RuleConfig())

    def sign(
        self,
        verifying_observer_name: str,
        when: _dt.datetime | None = None,
        *,
        organization: str = "",
        config: RuleConfig | None = None,
    ) -> None:
        """DRAFT → SIGNED. Raises ``ReportValidationError`` listing every error and every unacknowledged
        warning; on success the report is locked."""
        from hsg_workstation.reporting.rules import RuleConfig, Severity, validate

        self._check_editable("status")
        if not verifying_observer_name.strip():
            raise ReportValidationError("signing needs the verifying observer's name", [])
        issues = validate(self, config or RuleConfig())
        blocking = [
            i
            for i in issues
            if i.severity is Severity.ERROR
            or (i.severity is Severity.WARNING and not self.is_acknowledged(i.rule_id, i.field_path))
        ]
        if blocking:
            lines = "; ".join(f"{i.rule_id} {i.severity.value} {i.field_path}: {i.message}" for i in blocking)
            raise ReportValidationError(
                f"report cannot be signed ({len(blocking)} problems): {lines}", blocking
            )
        self.signature.verifying_observer_name = verifying_observer_name.strip()
        self.signature.verifying_organization = organization
        self.signature.verification_datetime = when or _now()
        self.status = ReportStatus.SIGNED
        for cb in list(self.__dict__["_listeners"]):
            cb(self, "status")
        self._lock()

    def amend(self, predecessor_sr_sop_instance_uid: str = "", reason: str = "", **kw: str) -> HsgReport:
        """A new DRAFT copy of this signed report that references it (and its SR) as predecessor."""
        if not self.is_signed:
            raise HsgError("only a signed report can be amended; edit the draft instead")
        data = self.to_json()
        data.pop(integrity.INTEGRITY_KEY, None)  # the copy is a new draft: the seal belongs to this report
        data.update(
            report_id=uuid.uuid4().hex, status=ReportStatus.DRAFT.value, created_at=_now().isoformat()
        )
        data["signature"] = {}
        data["acknowledgements"] = []
        new = HsgReport.from_json(data)
        new.predecessor = Predecessor(
            report_id=self.report_id,
            sr_sop_instance_uid=predecessor_sr_sop_instance_uid,
            sr_series_instance_uid=kw.get("sr_series_instance_uid", ""),
            study_instance_uid=self.identity.study_instance_uid,
            reason=reason,
        )
        return new

    # ----- JSON ------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The report as JSON; a signed report also carries its integrity check (``reporting/integrity.py``)."""
        data = {"schema_version": SCHEMA_VERSION, **_encode(self)}
        return integrity.seal(data) if self.is_signed else data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, require_integrity: bool = False) -> HsgReport:
        """Rebuild a report. The integrity check of a signed report is verified when present; with
        ``require_integrity`` (JSON read from disk) a signed report without one is refused too. Both raise
        :class:`ReportIntegrityError`."""
        if not isinstance(data, dict):
            raise ReportJsonError(f"report JSON must be an object, got {type(data).__name__}")
        data = dict(data)
        block = data.pop(integrity.INTEGRITY_KEY, None)
        version = data.pop("schema_version", None)
        if version is None:
            raise ReportJsonError("report JSON: 'schema_version' is missing")
        if not isinstance(version, int) or version < 1 or version > SCHEMA_VERSION:
            raise ReportJsonError(
                f"report JSON: schema_version {version!r} is not supported (this program reads 1..{SCHEMA_VERSION})"
            )
        report = _decode(data, HsgReport, "")
        if block is not None or report.is_signed:
            try:
                integrity.verify(
                    {"schema_version": version, **_encode(report)},
                    block,
                    signed=report.is_signed,
                    required=require_integrity,
                )
            except integrity.ReportIntegrityProblem as exc:
                raise ReportIntegrityError(f"report {report.report_id}: {exc}") from None
        if report.is_signed:
            report._lock()
        return report


# ----------------------------------------------------------------------------------------------------------
# Derived values
# ----------------------------------------------------------------------------------------------------------


def compute_cycle_day(lmp: _dt.date | None, exam: _dt.date | None) -> int | None:
    """Cycle day on the exam date; day 1 = first day of the last menstrual period."""
    if lmp is None or exam is None:
        return None
    return (exam - lmp).days + 1


def derive_peritoneal_spill(left: Tube, right: Tube) -> PeritonealSpill | None:
    """Overall peritoneal spill from the two sides (spec §1.9): None when a side is not filled in yet.

    'free' counts delayed spill too (contrast reached the peritoneum). A surgically absent tube counts as no spill.
    """

    def spill_of(t: Tube) -> Spill | None:
        if t.status is TubeStatus.SURGICALLY_ABSENT and t.spill is None:
            return Spill.NONE
        return t.spill

    sl, sr = spill_of(left), spill_of(right)
    if sl is None or sr is None:
        return None
    free = {Spill.FREE, Spill.DELAYED}
    fl, fr = sl in free, sr in free
    if fl and fr:
        return PeritonealSpill.BILATERAL_FREE
    if fl:
        return PeritonealSpill.UNILATERAL_FREE_L
    if fr:
        return PeritonealSpill.UNILATERAL_FREE_R
    if Spill.LOCULATED in (sl, sr):
        return PeritonealSpill.LOCULATED_ONLY
    if Spill.INDETERMINATE in (sl, sr):
        return PeritonealSpill.INDETERMINATE
    return PeritonealSpill.NONE


def _merge_in_order(
    generated: list[ImpressionSentence], kept: list[ImpressionSentence], order: list[str]
) -> list[ImpressionSentence]:
    """Generated sentences in generator order; kept (edited/added) ones at their generator position if keyed,
    otherwise at the end."""
    rank = {k: i for i, k in enumerate(order)}
    keyed = [(rank.get(s.source_key, len(order) + n), n, s) for n, s in enumerate(generated + kept)]
    return [s for _, _, s in sorted(keyed, key=lambda t: (t[0], t[1]))]


# ----------------------------------------------------------------------------------------------------------
# Prefill from DICOM headers (no file I/O: takes datasets)
# ----------------------------------------------------------------------------------------------------------


def _dicom_date(value: Any) -> _dt.date | None:
    s = str(value or "").strip()
    if len(s) < 8:
        return None
    try:
        return _dt.date(int(s[0:4]), int(s[4:6]), int(s[6:8]))
    except ValueError:
        return None


def _dicom_time(value: Any) -> _dt.time | None:
    s = str(value or "").strip().split(".")[0]
    if len(s) < 4:
        return None
    try:
        return _dt.time(int(s[0:2]), int(s[2:4]), int(s[4:6]) if len(s) >= 6 else 0)
    except ValueError:
        return None


def prefill_from_datasets(report: HsgReport, datasets: Iterable[pydicom.Dataset]) -> HsgReport:
    """Fill identity, exam date, dose and LMP / pregnancy status from the study's image headers.

    Dose policy (documented in docs/report-model.md): (0018,115E) Image and Fluoroscopy Area Dose Product is
    per image (for a fluoroscopy loop: the recorded run), so the prefilled DAP is the SUM over all images, in
    the source unit dGy·cm² kept beside the Gy·cm² value (source ``image_headers_sum``). It can underestimate
    the exam total when fluoroscopy was not recorded; the radiologist may overwrite it with the unit's / MPPS /
    RDSR total. Fluoroscopy time: the largest (0040,0300) Total Time of Fluoroscopy (it is cumulative over the
    procedure); when absent it stays empty rather than being guessed from exposure times.
    Existing non-empty fields are left untouched except the dose, which is always recomputed.
    """
    report._check_editable("identity")
    dsets = list(datasets)
    if not dsets:
        return report
    first = dsets[0]
    ident = report.identity
    study_uid = ident.study_instance_uid or str(first.get("StudyInstanceUID", "") or "")
    foreign = [ds for ds in dsets if str(ds.get("StudyInstanceUID", "") or "") not in ("", study_uid)]
    if foreign:
        ds = foreign[0]
        raise ReportPrefillError(
            f"image {ds.get('SOPInstanceUID', '?')} belongs to study {ds.get('StudyInstanceUID')}, not to the "
            f"report's study {study_uid}: a report covers one study"
        )

    def take(attr: str, keyword: str) -> None:
        if not getattr(ident, attr):
            value = first.get(keyword, None)
            if value not in (None, ""):
                setattr(ident, attr, str(value))

    take("patient_name", "PatientName")
    take("patient_id", "PatientID")
    take("study_instance_uid", "StudyInstanceUID")
    take("accession_number", "AccessionNumber")
    take("study_id", "StudyID")
    take("study_description", "StudyDescription")
    take("referring_physician_name", "ReferringPhysicianName")
    take("institution_name", "InstitutionName")
    take("institution_address", "InstitutionAddress")
    take("manufacturer", "Manufacturer")
    if ident.patient_birth_date is None:
        ident.patient_birth_date = _dicom_date(first.get("PatientBirthDate"))
    if ident.patient_sex is PatientSex.UNKNOWN:
        try:
            ident.patient_sex = PatientSex(str(first.get("PatientSex", "") or ""))
        except ValueError:
            pass
    if ident.study_date is None:
        ident.study_date = _dicom_date(first.get("StudyDate"))
    if ident.study_time is None:
        ident.study_time = _dicom_time(first.get("StudyTime"))
    known = {s.sop_instance_uid for s in ident.source_instances}
    for ds in dsets:
        uid = str(ds.get("SOPInstanceUID", "") or "")
        if uid and uid not in known:
            ident.source_instances.append(
                SourceInstance(uid, str(ds.get("SOPClassUID", "")), str(ds.get("SeriesInstanceUID", "")))
            )
            known.add(uid)

    # Dose. Malformed header values are skipped (the field stays empty and the rules ask for it) rather than
    # aborting the prefill of everything else.
    daps = [v for ds in dsets if (v := _number(ds, "ImageAndFluoroscopyAreaDoseProduct")) is not None]
    if daps:
        report.dose.set_dap(round(sum(daps), 6), DapUnit.DGY_CM2, DoseSource.IMAGE_HEADERS_SUM)
    fluoro = [v for ds in dsets if (v := _number(ds, "TotalTimeOfFluoroscopy")) is not None]
    if fluoro and max(fluoro) > 0:
        report.dose.fluoroscopy_time_s = max(fluoro)
        report.dose.fluoroscopy_time_source = DoseSource.IMAGE_HEADERS_SUM
    exposures = [v for ds in dsets if (v := _number(ds, "TotalNumberOfExposures")) is not None]
    if exposures and report.dose.radiographic_images is None:
        report.dose.radiographic_images = int(max(exposures))

    # LMP and pregnancy status
    for ds in dsets:
        lmp = _dicom_date(ds.get("LastMenstrualDate"))
        if lmp and report.safety.lmp_date is None:
            report.safety.lmp_date = lmp
        ps = _number(ds, "PregnancyStatus")
        if ps is not None and report.safety.pregnancy_status is None:
            report.safety.pregnancy_status = {
                1: PregnancyStatus.NOT_PREGNANT,
                2: PregnancyStatus.POSSIBLE,
                3: PregnancyStatus.PREGNANT,
                4: PregnancyStatus.UNKNOWN,
            }.get(int(ps))
    report.changed("identity")
    return report


def _number(ds: Any, keyword: str) -> float | None:
    """A numeric header value, or None when absent, empty or malformed (e.g. a DS that is not a number)."""
    try:
        value = ds.get(keyword, None)
        if value in (None, ""):
            return None
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


# ----------------------------------------------------------------------------------------------------------
# Generic JSON codec over the dataclass tree
# ----------------------------------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ReportJsonError(f"report JSON: {path or 'report'} must not be null")
        non_none = [a for a in args if a is not type(None)]
        return _decode(value, non_none[0], path)
    if value is None:
        raise ReportJsonError(f"report JSON: {path or 'report'} must not be null")
    if origin is list:
        if not isinstance(value, list):
            raise ReportJsonError(f"report JSON: {path} must be a list, got {type(value).__name__}")
        return [_decode(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ReportJsonError(f"report JSON: {path} must be a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        return tuple(_decode(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            try:
                return hint(value)
            except ValueError:
                allowed = ", ".join(repr(m.value) for m in hint)
                raise ReportJsonError(f"report JSON: {path} = {value!r} is not one of {allowed}") from None
        if hint is _dt.datetime:
            return _parse(_dt.datetime.fromisoformat, value, path)
        if hint is _dt.date:
            return _parse(_dt.date.fromisoformat, value, path)
        if hint is _dt.time:
            return _parse(_dt.time.fromisoformat, value, path)
        if hint is bool:
            if not isinstance(value, bool):
                raise ReportJsonError(f"report JSON: {path} must be true/false, got {value!r}")
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ReportJsonError(f"report JSON: {path} must be an integer, got {value!r}")
            return value
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ReportJsonError(f"report JSON: {path} must be a finite number, got {value!r}")
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise ReportJsonError(f"report JSON: {path} must be text, got {value!r}")
            return value
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ReportJsonError(f"report JSON: {path or 'report'} must be an object")
            hints, names = _hints_of(hint)
            unknown = set(value) - names
            if unknown:
                raise ReportJsonError(
                    f"report JSON: unknown field(s) {', '.join(sorted(unknown))} in {path or 'report'}"
                )
            kwargs = {k: _decode(v, hints[k], f"{path}.{k}" if path else k) for k, v in value.items()}
            try:
                return hint(**kwargs)
            except TypeError as exc:
                raise ReportJsonError(f"report JSON: {path or 'report'}: {exc}") from None
    if hint is Any:
        return value
    raise ReportJsonError(f"report JSON: {path}: cannot decode type {hint!r}")


@functools.cache
def _hints_of(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    """Resolved type hints and field names of a dataclass (cached: resolving string annotations is slow)."""
    return typing.get_type_hints(cls), frozenset(f.name for f in dataclasses.fields(cls))


def _coerce(value: Any, hint: Any, path: str) -> Any:
    """Form values to model values: enum strings to enums, ints to floats, ISO strings to dates, element-wise
    for lists; objects (dataclasses, dates) pass unchanged. None is refused for a non-optional field."""
    if value is None:
        return _decode(None, hint, path)
    if isinstance(value, enum.Enum) or not isinstance(value, str | int | float | list | tuple):
        return value
    if isinstance(value, list | tuple) and typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if isinstance(value, list | tuple) and typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return [_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, list | tuple):
        return value
    return _decode(value, hint, path)


def _parse(fn: Callable[[str], Any], value: Any, path: str) -> Any:
    try:
        return fn(value)
    except (TypeError, ValueError):
        raise ReportJsonError(f"report JSON: {path} = {value!r} is not an ISO date/time") from None


def _resolve_parent(root: Any, path: str) -> tuple[Any, str | int]:
    """Walk ``a.b[2].c`` to the parent of the last step; returns (parent, last name or index)."""
    import re

    steps: list[str | int] = []
    for part in path.split("."):
        m = re.fullmatch(r"([A-Za-z_]\w*)((?:\[\d+\])*)", part)
        if not m:
            raise KeyError(f"report field path {path!r} is malformed at {part!r}")
        steps.append(m.group(1))
        steps.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    obj = root
    for step in steps[:-1]:
        try:
            obj = obj[step] if isinstance(step, int) else getattr(obj, step)
        except (AttributeError, IndexError):
            raise KeyError(f"report field {path!r} does not exist") from None
    return obj, steps[-1]
