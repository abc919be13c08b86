"""The report vocabulary stays append-only and covers the whole model; its codes follow the coding policy."""

from __future__ import annotations

import dataclasses
import enum
import re
import typing
from pathlib import Path

from hsg_workstation.reporting import codes
from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.vocabulary import LOCAL_SCHEME, parse_concepts, vocabulary

RELEASED = Path(__file__).parent / "fixtures" / "vocabulary_released.tsv"


def _released() -> dict:
    rows = [
        line.split("\t")
        for line in RELEASED.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    return parse_concepts(rows)


def test_released_concepts_are_never_renamed_recoded_or_removed() -> None:
    current = vocabulary().concepts
    for key, old in _released().items():
        assert key in current, f"released concept {key} ({old.meaning}) was removed — retire it instead"
        new = current[key]
        assert (new.code, new.scheme, new.meaning, new.unit) == (
            old.code,
            old.scheme,
            old.meaning,
            old.unit,
        ), f"released concept {key} changed: {old} → {new}; add a new concept and retire this one"
        if old.status == "retired":
            assert new.status == "retired" and new.replaced_by == old.replaced_by, key


def test_retired_concepts_name_an_existing_replacement() -> None:
    v = vocabulary()
    for c in v.concepts.values():
        if c.status == "retired":
            assert c.replaced_by in v.concepts, c
            assert v.resolve(c.scheme, c.code) is not None
        else:
            assert c.status == "active" and not c.replaced_by, c


def test_private_codes_are_short_numbered_and_unique_in_meaning_per_code() -> None:
    for c in vocabulary().concepts.values():
        assert len(c.code) <= 16 and " " not in c.code, c
        assert 0 < len(c.meaning) <= 64, c
        if c.scheme == LOCAL_SCHEME:
            assert re.fullmatch(r"HSG\d{4}", c.code), c


def test_standard_codes_are_from_the_verified_list() -> None:
    allowed = {(e.value, e.scheme) for e in codes.ALL_STANDARD if e.verified}
    for c in vocabulary().concepts.values():
        if c.scheme in ("SCT", "LN"):
            assert (c.code, c.scheme) in allowed, f"{c} is not in codes.py's verified list"


def _model_types() -> tuple[list[type], list[type]]:
    types_: list[type] = []
    enums: list[type] = []

    def walk(cls: type) -> None:
        if cls in types_:
            return
        types_.append(cls)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            h = hints[f.name]
            args = [a for a in typing.get_args(h) if a is not type(None)] or [h]
            for a in args:
                e = typing.get_args(a)[0] if typing.get_origin(a) is list else a
                if isinstance(e, type) and dataclasses.is_dataclass(e):
                    walk(e)
                elif isinstance(e, type) and issubclass(e, enum.Enum) and e not in enums:
                    enums.append(e)

    walk(HsgReport)
    return types_, enums


def test_every_model_field_and_enum_value_has_a_concept() -> None:
    v = vocabulary()
    types_, enums = _model_types()
    missing = [
        f"field:{t.__name__}.{f.name}"
        for t in types_
        for f in dataclasses.fields(t)
        if f"field:{t.__name__}.{f.name}" not in v.names
    ]
    missing += [
        f"type:{t.__name__}" for t in types_ if t is not HsgReport and f"type:{t.__name__}" not in v.names
    ]
    missing += [
        f"value:{e.__name__}.{m.value}"
        for e in enums
        for m in e
        if f"value:{e.__name__}.{m.value}" not in v.names
    ]
    assert missing == [], f"add these to vocabulary_map.tsv (reuse the concept of a renamed name): {missing}"


def test_concepts_are_unique_within_one_owner() -> None:
    """The reader finds a field by (owner type, concept): two fields of one type must not share a concept."""
    v = vocabulary()
    seen: dict[tuple[str, str], str] = {}
    for name, key in v.names.items():
        if not name.startswith(("field:", "value:")):
            continue
        kind, rest = name.split(":", 1)
        owner = rest.split(".", 1)[0]
        assert (kind, owner, key) not in seen, f"{name} and {seen[(kind, owner, key)]} share {key}"
        seen[(kind, owner, key)] = name  # type: ignore[index]


def test_a_retired_code_reads_as_its_replacement() -> None:
    import dataclasses as dc

    from hsg_workstation.reporting.vocabulary import Concept, Vocabulary

    v = vocabulary()
    patency = v.concept("field:Tube.patency")
    old = Concept("HSG9999", LOCAL_SCHEME, "Old patency", "Old", status="retired", replaced_by=patency.key)
    v2 = Vocabulary(v.version, {**v.concepts, old.key: old}, dict(v.names))
    assert v2.resolve(LOCAL_SCHEME, "HSG9999") == patency
    assert v2.names_for(LOCAL_SCHEME, "HSG9999", "field:Tube.") == ["field:Tube.patency"]
    assert dc.replace(old, status="active").status == "active"
