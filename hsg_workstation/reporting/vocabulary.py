"""The report's one vocabulary: every coded concept (code, scheme, meaning, label, UCUM unit, phrase) and the map from
model names to concepts, read from two data files beside this module.

Every word the report uses for a concept comes from here: the form's pick-lists and row names read ``label``; the PDF,
the impression sentences and the SR's narrative read ``phrase`` (the concept in running text, "free bilateral
spill"); the SR writes ``code`` / ``scheme`` / ``meaning`` and ``unit``. No other table of value words exists
(``tests/reporting/test_vocabulary_words.py`` checks the PDF and the impression against this table).

Why data files and not names: an SR archived in a PACS must stay readable after the Python model changes. Codes are
therefore frozen data (``vocabulary.tsv``, append-only, checked against a released snapshot by a test) and Python
names appear in exactly one place (``vocabulary_map.tsv``), so renaming a field means editing one key there — the
concept and every archived SR stay as they were. Retired concepts name their replacement; :func:`resolve` maps
them forward, so an old SR that used a retired code still reads.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from importlib import resources

from highdicom.sr import CodedConcept

LOCAL_SCHEME = "99HSG"
MAX_CODE_VALUE = 16  # Code Value (SH); longer values would go to Long Code Value, which many readers ignore


class VocabularyError(ValueError):
    """The vocabulary data files are inconsistent, or a model name has no concept (a programming error)."""


@dataclass(frozen=True, slots=True)
class Concept:
    code: str
    scheme: str
    meaning: str
    label: str
    unit: str = ""  # UCUM; "" = no unit
    status: str = "active"  # active | retired
    replaced_by: str = ""  # scheme:code of the replacement when retired
    phrase: str = ""  # the concept in running text (PDF, impression, SR narrative); "" = the label

    @property
    def words(self) -> str:
        """The concept in running text: its phrase, else its label."""
        return self.phrase or self.label

    @property
    def key(self) -> str:
        return f"{self.scheme}:{self.code}"

    @property
    def coded(self) -> CodedConcept:
        return CodedConcept(self.code, self.scheme, self.meaning)


@dataclass(frozen=True)
class Vocabulary:
    version: str
    concepts: dict[str, Concept]  # scheme:code → concept
    names: dict[str, str]  # map key (field:Tube.patency, ...) → scheme:code

    def concept(self, name: str) -> Concept:
        """The concept of a map key such as ``field:Tube.patency``; raises VocabularyError if unmapped."""
        key = self.names.get(name)
        if key is None:
            raise VocabularyError(f"vocabulary: no concept for {name!r} (add it to vocabulary_map.tsv)")
        return self.concepts[key]

    def get(self, name: str) -> Concept | None:
        key = self.names.get(name)
        return self.concepts[key] if key is not None else None

    def resolve(self, scheme: str, code: str) -> Concept | None:
        """The current concept for a code read from an SR, following retired → replacement; None if unknown."""
        c = self.concepts.get(f"{scheme}:{code}")
        seen = 0
        while c is not None and c.status == "retired" and c.replaced_by and seen < 20:
            c = self.concepts.get(c.replaced_by)
            seen += 1
        return c

    @functools.cached_property
    def _names_by_concept(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, key in self.names.items():
            out.setdefault(key, []).append(name)
        return out

    def names_for(self, scheme: str, code: str, prefix: str) -> list[str]:
        """Map keys with ``prefix`` (e.g. ``field:Tube.``) whose concept is (scheme, code) or what it maps to."""
        c = self.resolve(scheme, code)
        if c is None:
            return []
        return [n for n in self._names_by_concept.get(c.key, []) if n.startswith(prefix)]

    def field_label(self, owner: str, field: str) -> str:
        c = self.get(f"field:{owner}.{field}")
        return c.label if c is not None else field.replace("_", " ")

    def value_label(self, enum_name: str, value: str) -> str:
        c = self.get(f"value:{enum_name}.{value}")
        return c.label if c is not None else str(value).replace("_", " ")

    def phrase(self, member: enum.Enum) -> str:
        """An enum member of the model in running text (``Spill.FREE`` → "free"); raises VocabularyError when the
        member has no concept (``test_every_model_field_and_enum_value_has_a_concept`` keeps that from happening)."""
        return self.concept(f"value:{type(member).__name__}.{member.value}").words


def _rows(name: str) -> list[list[str]]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def _version(name: str) -> str:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("# version:"):
            return line.split(":", 1)[1].strip()
    raise VocabularyError(f"{name}: no '# version:' line")


def parse_concepts(rows: list[list[str]]) -> dict[str, Concept]:
    out: dict[str, Concept] = {}
    for row in rows:
        if len(row) not in (7, 8):  # 7 = up to release 2 (the released snapshot), 8 = with the phrase column
            raise VocabularyError(f"vocabulary.tsv: row {row!r} has {len(row)} columns, expected 7 or 8")
        c = Concept(*row)
        if c.key in out:
            raise VocabularyError(f"vocabulary.tsv: {c.key} listed twice")
        out[c.key] = c
    return out


@functools.cache
def vocabulary() -> Vocabulary:
    """The vocabulary of this program (loaded once)."""
    concepts = parse_concepts(_rows("vocabulary.tsv"))
    names: dict[str, str] = {}
    for row in _rows("vocabulary_map.tsv"):
        if len(row) != 2 or row[1] not in concepts:
            raise VocabularyError(f"vocabulary_map.tsv: row {row!r} does not name a known concept")
        if row[0] in names:
            raise VocabularyError(f"vocabulary_map.tsv: {row[0]} mapped twice")
        names[row[0]] = row[1]
    return Vocabulary(_version("vocabulary.tsv"), concepts, names)


def concept(name: str) -> CodedConcept:
    """Shortcut: the CodedConcept of a map key."""
    return vocabulary().concept(name).coded
