"""Codebook of SR content format 1 — what this program wrote up to commit 17ceedc — frozen, for reading only.

Format 1 named concepts after the Python model: fields (``HSG-F-<field>``, 99HSG), enum values (``HSG-V-<value>``),
part types (``HSG-T-<Type>``), sections (``HSG-S-<section>``), exact points (``HSG-XY-<field>``), plus the standard
concepts below. Those SRs sit in archives; this table keeps them readable. When a model field or enum value is
renamed, add the old name to ``RENAMED_FIELDS`` / ``RENAMED_VALUES`` (the format 1 fixtures in
``tests/reporting/fixtures/sr_v1`` fail until you do).
"""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset

LOCAL = "99HSG"
Key = tuple[str, str]

#: (owner type, format-1 field name) → current field name, for fields renamed since format 1.
RENAMED_FIELDS: dict[tuple[str, str], str] = {}
#: (enum type, format-1 value) → current value, for enum values renamed since format 1.
RENAMED_VALUES: dict[tuple[str, str], str] = {}

SECTIONS: dict[Key, str] = {
    ("HSG-S-identity", LOCAL): "identity",
    ("55752-0", "LN"): "clinical",
    ("11329-0", "LN"): "safety",
    ("55111-9", "LN"): "technique",
    ("73569-6", "LN"): "dose",
    ("59776-5", "LN"): "findings",
    ("55109-3", "LN"): "complications",
    ("19005-8", "LN"): "impression",
    ("18783-1", "LN"): "recommendations",
    ("55113-5", "LN"): "key_images",
    ("HSG-S-measurements", LOCAL): "measurements",
    ("HSG-S-acknowledgements", LOCAL): "acknowledgements",
    ("73568-8", "LN"): "critical_result",
    ("HSG-S-signature", LOCAL): "signature",
    ("HSG-S-predecessor", LOCAL): "predecessor",
}
#: (owner type, standard concept) → field (TEXT / NUM items only).
STANDARD_FIELDS: dict[tuple[str, Key], str] = {
    ("RadiationDose", ("113722", "DCM")): "dap_total_gy_cm2",
    ("RadiationDose", ("113730", "DCM")): "fluoroscopy_time_s",
    ("RadiationDose", ("113731", "DCM")): "radiographic_images",
    ("ImpressionSentence", ("121073", "DCM")): "text",
    ("Recommendation", ("121075", "DCM")): "text",
    ("CervixFindings", ("121071", "DCM")): "note",
    ("UterineCavity", ("121071", "DCM")): "note",
    ("FillingDefect", ("121071", "DCM")): "note",
    ("IntrauterineAdhesions", ("121071", "DCM")): "note",
    ("Tube", ("121071", "DCM")): "note",
    ("Peritoneum", ("121071", "DCM")): "note",
    ("Findings", ("121071", "DCM")): "other",
    ("Complications", ("116224001", "SCT")): "note",
}
STANDARD_VALUES: dict[tuple[str, Key], str] = {
    ("Side", ("7771000", "SCT")): "left",
    ("Side", ("24028007", "SCT")): "right",
    ("DefectNature", ("11314008", "SCT")): "polyp",
    ("DefectNature", ("95279007", "SCT")): "submucous_fibroid",
    ("Asrm2021Category", ("31401003", "SCT")): "bicornuate",
    ("PregnancyStatus", ("60001007", "SCT")): "not_pregnant",
    ("PregnancyStatus", ("146799005", "SCT")): "possible",
    ("PregnancyStatus", ("77386006", "SCT")): "pregnant",
    ("PregnancyStatus", ("261665006", "SCT")): "unknown",
}
#: Items format 1 wrote only for other readers.
SKIPPED: set[Key] = {
    ("363698007", "SCT"),  # Finding Site
    ("272741003", "SCT"),  # Laterality
    ("410668003", "SCT"),  # Length (derived from the measurement)
    ("121071", "DCM"),  # Finding = Hydrosalpinx (CODE; as TEXT it is a note, handled above)
    ("HSG-IMAGE", LOCAL),
}


class Format1Codebook:
    version = 1
    admin: Key = ("HSG-S-report", LOCAL)
    empty: Key = ("HSG-EMPTY", LOCAL)
    time_zone: Key = ("HSG-TZ", LOCAL)
    utc: Key = ("HSG-UTC", LOCAL)

    def is_own(self, item: Dataset, reader: Any) -> bool:
        """A top-level container only format 1 wrote (its private headings / administration)."""
        seq = item.get("ConceptNameCodeSequence")
        if not seq:
            return False
        c = seq[0]
        key = (
            str(c.get("CodeValue") or c.get("LongCodeValue") or ""),
            str(c.get("CodingSchemeDesignator", "")),
        )
        return key == self.admin or (key[1] == LOCAL and key[0].startswith("HSG-S-"))

    def section_of(self, key: Key) -> str | None:
        return SECTIONS.get(key)

    def field_of(self, owner: type, key: Key, vt: str) -> str | None:
        if key[1] == LOCAL and key[0].startswith("HSG-F-"):
            name = key[0][len("HSG-F-") :]
            return RENAMED_FIELDS.get((owner.__name__, name), name)
        name = STANDARD_FIELDS.get((owner.__name__, key))
        # A CODE with a standard field concept name (e.g. (121071, DCM) Finding = Hydrosalpinx) is derived.
        if name is not None and vt not in ("TEXT", "NUM"):
            return None
        return name

    def list_element(self, section: str) -> Key:
        return (f"HSG-F-{section}", LOCAL)

    def enum_value(self, enum_type: type, key: Key) -> str | None:
        if key[1] == LOCAL and key[0].startswith("HSG-V-"):
            value = key[0][len("HSG-V-") :]
            return RENAMED_VALUES.get((enum_type.__name__, value), value)
        return STANDARD_VALUES.get((enum_type.__name__, key))

    def exact_points_field(self, key: Key) -> str | None:
        if key[1] == LOCAL and key[0].startswith("HSG-XY-"):
            return key[0][len("HSG-XY-") :]
        return None

    def is_skipped(self, key: Key) -> bool:
        return key in SKIPPED
