"""Every word the PDF, the impression and the SR narrative use for a recorded value (and every PDF row name that is
one field) comes from the vocabulary — issue 12's "one vocabulary for every label".

How: the vocabulary is swapped for a copy whose every phrase is «code» and every label is ‹code›. A value printed
from any other table would show its own words instead of the marker; a value left out would leave its marker out.
"""

from __future__ import annotations

import dataclasses
import enum
import html as html_mod
import re
from pathlib import Path
from typing import Any

import pytest

from hsg_workstation.reporting import enums as enums_mod
from hsg_workstation.reporting import impression, narrative, pdf_html, wording
from hsg_workstation.reporting import vocabulary as vocab_mod
from hsg_workstation.reporting.enums import (
    Complication,
    DapUnit,
    DefectContour,
    DefectLocation,
    DefectNature,
    Intravasation,
    LimitationReason,
    OcclusionLevel,
    Patency,
    Severity3,
    Side,
    StudyQuality,
)
from hsg_workstation.reporting.impression import generate_impression
from hsg_workstation.reporting.model import FillingDefect, HsgReport
from hsg_workstation.reporting.reference import example_report
from hsg_workstation.reporting.vocabulary import Vocabulary, vocabulary
from hsg_workstation.synthetic.study import CASES

from .conftest import full_report, make_dx, make_rf

MODULES = (wording, impression, narrative, pdf_html)
#: Enum values that differ from any word a reader would use (``pre_ART_workup``): never printed as such.
RAW_VALUES = sorted(
    {
        str(m.value)
        for e in vars(enums_mod).values()
        if isinstance(e, type) and issubclass(e, enum.Enum)
        for m in e
        if "_" in str(m.value)
    }
)


def _marked() -> Vocabulary:
    v = vocabulary()
    concepts = {
        k: dataclasses.replace(c, phrase=f"«{c.code}»", label=f"‹{c.code}›") for k, c in v.concepts.items()
    }
    return Vocabulary(v.version, concepts, dict(v.names))


@pytest.fixture
def marked(monkeypatch: pytest.MonkeyPatch) -> Vocabulary:
    m = _marked()
    for mod in MODULES:
        monkeypatch.setattr(mod, "vocabulary", lambda m=m: m)
    return m


def _phrase(v: Vocabulary, member: enum.Enum) -> str:
    return v.concept(f"value:{type(member).__name__}.{member.value}").words


def _enums(part: Any, skip: frozenset[str] = frozenset()) -> list[enum.Enum]:
    """Every enum value recorded in a part, nested parts and lists included."""
    out: list[enum.Enum] = []
    for f in dataclasses.fields(part):
        if f.name in skip:
            continue
        value = getattr(part, f.name)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, enum.Enum):
                out.append(v)
            elif dataclasses.is_dataclass(v):
                out.extend(_enums(v, skip))
    return out


def _reports() -> list[HsgReport]:
    reports = [example_report(case) for case in CASES]
    rf, dx = make_rf("1.2.3.4"), make_dx("1.2.3.4")
    reports.append(full_report(rf, dx))
    return reports


#: Fields the PDF does not print as a word by design: image regions / links (pictures), the tube's side (it is the
#: column), the DAP's source unit (printed as a unit symbol), hidden "not assessed" vagina class.
PDF_SKIP = frozenset({"image_links", "side", "dap_source_unit", "region", "measurement", "calibration"})


def test_the_pdf_prints_every_recorded_value_in_the_vocabulary_words(marked: Vocabulary) -> None:
    checked = 0
    for report in _reports():
        html = pdf_html.report_body_html(report, [], "img://schematic")
        parts = {  # each section's values must be in that section's own HTML (the summary repeats some)
            "clinical": pdf_html._clinical(report),
            "safety": pdf_html._clinical(report),
            "technique": pdf_html._technique(report),
            "dose": pdf_html._technique(report),
            "findings": pdf_html._findings(report, "img://schematic"),
            "complications": pdf_html._rest(report, []),
        }
        for section, part_html in parts.items():
            for member in _enums(getattr(report, section), PDF_SKIP):
                if type(member).__name__ == "EshreVagina" and member.value == "not_assessed":
                    continue  # the row is left out when the vagina was not assessed
                assert _phrase(marked, member) in part_html, (report.report_id, section, member)
                checked += 1
        text = html_mod.unescape(re.sub(r"<[^>]+>", " ", html))
        raw = [v for v in RAW_VALUES if re.search(rf"(?<![\w']){re.escape(v)}(?![\w'])", text)]
        assert raw == [], f"raw enum values printed: {raw}"
    assert checked > 100


def test_pdf_row_names_of_single_fields_are_vocabulary_labels(marked: Vocabulary) -> None:
    rf, dx = make_rf("1.2.3.4"), make_dx("1.2.3.4")
    html = pdf_html.report_body_html(full_report(rf, dx), [], "img://schematic")
    tube_table = html[html.index("<h3>Fallopian tubes</h3>") : html.index("<h3>Peritoneum")]
    names = re.findall(r"<tr><td class='k'>(.*?)</td>", tube_table)
    assert names and all(re.fullmatch(r"‹HSG\d{4}›", n) for n in names), names
    headers = re.findall(r"<th[^>]*>(.*?)</th>", tube_table)
    assert headers[1:] == [
        f"‹{marked.concept('field:Tubes.right').code}›",
        f"‹{marked.concept('field:Tubes.left').code}›",
    ]
    for field in ("catheter_type", "contrast_volume_ml", "study_quality"):
        assert f"‹{marked.concept(f'field:Technique.{field}').code}›" in html, field
    # the key findings' row names too
    assert f"‹{marked.concept('type:UterineCavity').code}›" in html


def test_the_impression_names_recorded_values_in_the_vocabulary_words(marked: Vocabulary) -> None:
    r = example_report("normal")
    r.findings.filling_defects = [
        FillingDefect(location=loc, contour=con, suspected_nature=nat, size_mm=8.0)
        for loc, con, nat in zip(
            list(DefectLocation),
            list(DefectContour) * 3,
            [DefectNature.POLYP, DefectNature.SUBMUCOUS_FIBROID, DefectNature.INDETERMINATE] * 4,
            strict=False,
        )
    ]
    right = r.findings.tubes.right
    right.patency, right.occlusion_level = Patency.OCCLUDED, OcclusionLevel.AMPULLARY
    right.hydrosalpinx, right.hydrosalpinx_diameter_mm, right.hydrosalpinx_grade = (
        True,
        12.0,
        Severity3.MODERATE,
    )
    r.technique.study_quality = StudyQuality.LIMITED
    r.technique.limitation_reasons = [LimitationReason.BALLOON_OBSCURES_LUS, LimitationReason.CONTRAST_REFLUX]
    r.findings.peritoneum.intravasation = Intravasation.VENOUS
    r.complications.complications = [Complication.VASOVAGAL, Complication.BLEEDING]
    text = " ".join(s.text for s in generate_impression(r))
    expected = [
        *(d.location for d in r.findings.filling_defects),
        *(d.contour for d in r.findings.filling_defects),
        DefectNature.POLYP,
        DefectNature.SUBMUCOUS_FIBROID,
        DefectNature.INDETERMINATE,
        OcclusionLevel.AMPULLARY,
        Side.RIGHT,
        StudyQuality.LIMITED,
        LimitationReason.BALLOON_OBSCURES_LUS,
        LimitationReason.CONTRAST_REFLUX,
        Intravasation.VENOUS,
        Complication.VASOVAGAL,
        Complication.BLEEDING,
        Severity3.MODERATE,
    ]
    for member in expected:
        assert _phrase(marked, member).lower() in text.lower(), member
    assert "_" not in text


def test_the_sr_narrative_uses_the_vocabulary_words(marked: Vocabulary) -> None:
    rf, dx = make_rf("1.2.3.4"), make_dx("1.2.3.4")
    report = full_report(rf, dx)
    text = " ".join(narrative.section_sentences(report, "findings"))
    for member in _enums(report.findings, frozenset({"image_links", "side"})):
        assert _phrase(marked, member) in text, member


def test_no_other_table_of_value_words_is_left() -> None:
    """The modules that print values keep no words of their own for enum values."""
    root = Path(vocab_mod.__file__).parent
    for name in ("wording.py", "impression.py", "pdf_html.py", "pdf.py", "narrative.py"):
        source = (root / name).read_text(encoding="utf-8")
        assert "_WORDS" not in source and '.value.replace("_"' not in source, name
        assert not re.search(r"_(LEVEL|LOCATION|CONTOUR|NATURE)_TEXT", source), name


def test_every_value_concept_has_a_phrase() -> None:
    v = vocabulary()
    missing = [n for n, k in v.names.items() if n.startswith("value:") and not v.concepts[k].phrase]
    assert missing == []
    assert v.concept("value:DapUnit.Gy.cm2").phrase  # units too, although the PDF prints them as symbols
    assert DapUnit  # imported for the comment above


def _owner_and_field(path: str) -> tuple[str, str]:
    """``findings.tubes.left.patency`` → ("Tube", "patency") through the model's type hints."""
    import typing

    from hsg_workstation.reporting.sr_items import _unwrap_optional

    owner: Any = HsgReport
    *parents, name = path.split(".")
    for p in parents:
        hint = _unwrap_optional(typing.get_type_hints(owner)[p.split("[")[0]])
        owner = typing.get_args(hint)[0] if typing.get_origin(hint) is list else hint
    return owner.__name__, name


def test_the_form_shows_the_vocabulary_labels() -> None:
    """The form's row names (``form_spec``, without the & mnemonic) are the vocabulary's labels — the PDF prints
    the same. One exception: a concept shared by several fields ("Reason") may be named for its place."""
    from hsg_workstation.reporting import form_spec

    specs = [f for sec in form_spec.SECTIONS for b in sec.blocks for f in b.fields]
    specs += list(form_spec.defect_fields(0))
    specs += [f for b in form_spec.CRITICAL_RESULT_SECTION.blocks for f in b.fields]
    v = vocabulary()
    shared = {k for k in v.names.values() if list(v.names.values()).count(k) > 1}
    differ = []
    for spec in specs:
        owner, name = _owner_and_field(spec.path)
        key = v.names[f"field:{owner}.{name}"]
        if spec.label.replace("&", "") != v.concepts[key].label and key not in shared:
            differ.append((spec.path, spec.label, v.concepts[key].label))
    assert len(specs) > 100 and differ == []
