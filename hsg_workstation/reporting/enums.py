"""The report's value sets: one ``StrEnum`` per pick list, values = the spec's internal values.

Why a module of its own: every other part of ``reporting`` (sections, rules, impression, the SR writer's code
maps, the form specification) needs these and nothing else of the model, so they sit at the bottom of the
package and import nothing from it. Values follow ``shared/docs/hsg-report-spec.md`` §1; the SR writer maps them
to codes (``codes.py``). Left / right always mean the PATIENT's side.
"""

from __future__ import annotations

from enum import StrEnum


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
