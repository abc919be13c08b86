"""Every coded concept the report outputs write, in one place, each with its source and a verified flag.

The report SR takes its concepts from the vocabulary (``vocabulary.tsv``); this module is the list of the
*standard* codes it may contain and where each was verified. Why one module: the coding policy (``hsg-report-spec.md`` §2.3, ``codes-verified.md``) allows a SNOMED CT or
LOINC code only where a stored authoritative source confirmed it. Everything else goes into the private scheme
``99HSG`` (declared in the SR's Coding Scheme Identification Sequence). Keeping the table here lets a later
release swap a local code for a standard one by editing one line, and lets a test check that no unverified
standard code is ever written.
"""

from __future__ import annotations

from dataclasses import dataclass

from highdicom.sr import CodedConcept
from pydicom.dataset import Dataset

LOCAL_SCHEME = "99HSG"
LOCAL_SCHEME_NAME = "HSG workstation local codes"
LOCAL_SCHEME_RESPONSIBLE = "HSG workstation project"
LOCAL_SCHEME_VERSION = "1"


@dataclass(frozen=True, slots=True)
class ConceptEntry:
    """A concept with where its code comes from; ``verified`` False means it must stay in 99HSG."""

    value: str
    scheme: str
    meaning: str
    source: str
    verified: bool

    @property
    def code(self) -> CodedConcept:
        if self.scheme not in (LOCAL_SCHEME, "DCM", "UCUM") and not self.verified:
            raise ValueError(f"unverified {self.scheme} code {self.value} must not be written")
        return CodedConcept(self.value, self.scheme, self.meaning)


def _std(value: str, scheme: str, meaning: str, source: str) -> ConceptEntry:
    return ConceptEntry(value, scheme, meaning, source, True)


DICOM = "PS3.16 via pydicom 3.0.2 _concepts_dict/_cid_dict"
CV = "codes-verified.md"

# --- document / procedure -------------------------------------------------------------------------------
HSG_REPORT_TITLE = _std(
    "25022-5", "LN", "Uterus and Fallopian tubes Fluoroscopy W contrast intrauterine", CV + " #2"
)
DIAGNOSTIC_IMAGING_REPORT = _std("18748-4", "LN", "Diagnostic Imaging Report", DICOM + " CID 7000")
PROCEDURE_REPORTED = _std("121058", "DCM", "Procedure reported", DICOM)
HSG_PROCEDURE = _std("168884001", "SCT", "Hysterosalpingography", CV + " #1")
LANGUAGE_OF_CONTENT = _std("121049", "DCM", "Language of Content Item and Descendants", DICOM + " TID 1204")
ENGLISH = _std("en", "RFC5646", "English", "RFC 5646 / DICOM CID 5000")
KEY_OBJECT_SELECTION_TITLE = _std("113000", "DCM", "Of Interest", DICOM + " CID 7010")

# --- headings (CID 7001) --------------------------------------------------------------------------------
CLINICAL_INFORMATION = _std("55752-0", "LN", "Clinical Information", DICOM + " CID 7001")
HISTORY = _std("11329-0", "LN", "History", DICOM + " CID 7001")
CURRENT_PROCEDURE = _std("55111-9", "LN", "Current Procedure Descriptions", DICOM + " CID 7001")
RADIATION_EXPOSURE = _std(
    "73569-6", "LN", "Radiation Exposure and Protection Information", DICOM + " CID 7001"
)
FINDINGS = _std("59776-5", "LN", "Findings", DICOM + " CID 7001")
COMPLICATIONS = _std("55109-3", "LN", "Complications", DICOM + " CID 7001")
IMPRESSIONS = _std("19005-8", "LN", "Impressions", DICOM + " CID 7001")
RECOMMENDATIONS = _std("18783-1", "LN", "Recommendations", DICOM + " CID 7001")
KEY_IMAGES = _std("55113-5", "LN", "Key Images", DICOM + " CID 7001")
CRITICAL_RESULTS = _std("73568-8", "LN", "Communication of Critical Results", DICOM + " CID 7001")
ADDENDUM = _std("55107-7", "LN", "Addendum", DICOM + " CID 7001")

# --- report elements (CID 7002) -------------------------------------------------------------------------
FINDING = _std("121071", "DCM", "Finding", DICOM + " CID 7002")
IMPRESSION = _std("121073", "DCM", "Impression", DICOM + " CID 7002")
PROCEDURE_DESCRIPTION = _std("121065", "DCM", "Procedure Description", DICOM + " CID 7002")
RECOMMENDATION = _std("121075", "DCM", "Recommendation", DICOM + " CID 7002")
COMPLICATION_OF_PROCEDURE = _std("116224001", "SCT", "Complication of Procedure", DICOM + " CID 7002")
IMAGE_REFERENCE = _std("121112", "DCM", "Source of Measurement", DICOM)

# --- modifiers ------------------------------------------------------------------------------------------
FINDING_SITE = _std("363698007", "SCT", "Finding Site", DICOM)
LATERALITY = _std("272741003", "SCT", "Laterality", DICOM + " CID 210")
LEFT = _std("7771000", "SCT", "Left", DICOM + " CID 244")
RIGHT = _std("24028007", "SCT", "Right", DICOM + " CID 244")
YES = _std("373066001", "SCT", "Yes", DICOM + " CID 230")
NORMAL = _std("17621005", "SCT", "Normal", DICOM + " CID 242")
PRESENT = _std("52101004", "SCT", "Present", DICOM + " CID 240")
ABSENT = _std("272519000", "SCT", "Absent", DICOM + " CID 240")
MILD = _std("255604002", "SCT", "Mild", DICOM)
MODERATE = _std("6736007", "SCT", "Moderate", DICOM)
SEVERE = _std("24484000", "SCT", "Severe", DICOM)
NO = _std("373067005", "SCT", "No", DICOM + " CID 230")

# --- pregnancy status (CID 6096) ---
NOT_PREGNANT = _std("60001007", "SCT", "Not pregnant", DICOM + " CID 6096")
POSSIBLE_PREGNANCY = _std("146799005", "SCT", "Possible pregnancy", DICOM + " CID 6096")
PATIENT_PREGNANT = _std("77386006", "SCT", "Patient currently pregnant", DICOM + " CID 6096")
UNKNOWN = _std("261665006", "SCT", "Unknown", DICOM + " CID 6096")

# --- anatomy --------------------------------------------------------------------------------------------
UTERUS = _std("35039007", "SCT", "Uterus", DICOM + "; " + CV + " #8")
CERVIX = _std("71252005", "SCT", "Cervix", DICOM + "; " + CV + " #9")
FALLOPIAN_TUBE = _std("31435000", "SCT", "Fallopian tube", DICOM + "; " + CV + " #7")
LEFT_FALLOPIAN_TUBE = _std("113293009", "SCT", "Left fallopian tube", CV + " #5 (display style of 2033006)")
RIGHT_FALLOPIAN_TUBE = _std("2033006", "SCT", "Right fallopian tube", CV + " #6")
UTERUS_AND_TUBES = _std("110639002", "SCT", "Uterus and fallopian tubes", DICOM + "; " + CV + " #9a")
PERITONEAL_CAVITY = _std("83670000", "SCT", "Peritoneal cavity", DICOM)

# --- dose (CID 10050) -----------------------------------------------------------------------------------
DOSE_AREA_PRODUCT_TOTAL = _std("113722", "DCM", "Dose Area Product Total", DICOM + " CID 10050")
TOTAL_FLUORO_TIME = _std("113730", "DCM", "Total Fluoro Time", DICOM + " CID 10050")
TOTAL_RADIOGRAPHIC_FRAMES = _std("113731", "DCM", "Total Number of Radiographic Frames", DICOM + " CID 10050")

# --- measurement concepts -------------------------------------------------------------------------------
DIAMETER = _std("81827009", "SCT", "Diameter", DICOM)
# ellipse axes and areas for TID 1410 groups: PS3.16 CID 7470 (Linear) / CID 7471 (Area), as in pydicom's
# code dictionary (pydicom.sr.codedict, generated from PS3.16)
LONG_AXIS = _std("103339001", "SCT", "Long axis", DICOM + " CID 7470")
SHORT_AXIS = _std("103340004", "SCT", "Short axis", DICOM + " CID 7470")
AREA = _std("42798000", "SCT", "Area", DICOM + " CID 7471")
LENGTH = _std("410668003", "SCT", "Length", DICOM)
ANGLE = _std("1483009", "SCT", "Angle", DICOM)
VOLUME = _std("118565006", "SCT", "Volume", DICOM)

# --- disorders (verified only; unverified ones are listed in LOCAL_EQUIVALENTS) -------------------------
HYDROSALPINX = _std("21711003", "SCT", "Hydrosalpinx", CV + " #14")
POLYP_OF_CORPUS_UTERI = _std("11314008", "SCT", "Polyp of corpus uteri", CV + " #10")
SUBMUCOUS_LEIOMYOMA = _std("95279007", "SCT", "Submucous leiomyoma of uterus", CV + " #11")
BICORNUATE_UTERUS = _std("31401003", "SCT", "Bicornuate uterus", CV + " #23")

#: Concepts written as 99HSG with the standard code a later release may add once verified (spec §2.3). When one
#: is verified, add the standard concept to vocabulary.tsv and retire the private one (replaced_by).
LOCAL_EQUIVALENTS: dict[str, str] = {
    "Asherman syndrome / intrauterine adhesions": "SCT 48236007 (probable)",
    "Tubal occlusion": "SCT 237143006 (probable)",
    "Salpingitis isthmica nodosa": "SCT 36742000 (probable)",
    "Septate uterus": "SCT 22504001 (probable)",
    "Uterus didelphys": "SCT 15545001 (probable)",
}


def coding_scheme_identification() -> Dataset:
    """One item of Coding Scheme Identification Sequence (0008,0110) declaring the private 99HSG scheme."""
    item = Dataset()
    item.CodingSchemeDesignator = LOCAL_SCHEME
    item.CodingSchemeName = LOCAL_SCHEME_NAME
    item.CodingSchemeVersion = LOCAL_SCHEME_VERSION
    item.CodingSchemeResponsibleOrganization = LOCAL_SCHEME_RESPONSIBLE
    return item


ALL_STANDARD: tuple[ConceptEntry, ...] = tuple(
    v for v in dict(globals()).values() if isinstance(v, ConceptEntry)
)
