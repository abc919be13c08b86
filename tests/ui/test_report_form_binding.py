"""Qt-free helpers of the report form: dotted paths, editor kinds from type hints, field conditions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from hsg_workstation.reporting import model as m
from hsg_workstation.ui import report_binding as rb
from hsg_workstation.ui.report_sections import SECTIONS, all_field_paths, applies, defect_fields


@dataclass(frozen=True)
class _Leaf:
    x: int = 1


@dataclass
class _Root:
    leaf: _Leaf = field(default_factory=_Leaf)
    items: list[_Leaf] = field(default_factory=lambda: [_Leaf(), _Leaf(5)])


def test_paths_in_both_syntaxes_and_frozen_parts() -> None:
    assert rb.split_path("findings.filling_defects[0].size_mm") == [
        "findings",
        "filling_defects",
        "0",
        "size_mm",
    ]
    root = _Root()
    assert rb.get_path(root, "items[1].x") == rb.get_path(root, "items.1.x") == 5
    new_root = rb.set_path(root, "leaf.x", 7)  # frozen leaf: rebuilt with dataclasses.replace
    assert new_root is root and root.leaf == _Leaf(7)
    rb.set_path(root, "items[0].x", 3)
    assert root.items[0] == _Leaf(3)
    with pytest.raises(rb.PathError):
        rb.get_path(root, "leaf.nope")


def test_editor_kinds_follow_the_model_hints() -> None:
    r = m.HsgReport()
    kind = lambda p: rb.classify(rb.field_type(r, p))[0]  # noqa: E731
    assert kind("findings.tubes.left.patency") is rb.Kind.ENUM
    assert kind("clinical.indications") is rb.Kind.MULTI_ENUM
    assert kind("safety.consent") is rb.Kind.OPTIONAL_BOOL
    assert kind("safety.lmp_unknown") is rb.Kind.BOOL
    assert kind("dose.fluoroscopy_time_s") is rb.Kind.FLOAT
    assert kind("clinical.gravidity") is rb.Kind.INT
    assert kind("safety.lmp_date") is rb.Kind.DATE
    assert kind("safety.pregnancy_test_datetime") is rb.Kind.DATETIME
    assert kind("clinical.notes") is rb.Kind.TEXT
    r.add_filling_defect()
    assert kind("findings.filling_defects[0].suspected_nature") is rb.Kind.ENUM
    assert rb.classify(rb.field_type(r, "findings.cervix.eshre_vagina"))[2] is False  # required, has default


def test_every_form_field_exists_and_conditions_run_on_an_empty_report() -> None:
    r = m.HsgReport()
    r.add_filling_defect()
    for path in all_field_paths() + [f.path for f in defect_fields(0)]:
        r.get_value(path)
    for section in SECTIONS:
        for block in section.blocks:
            for spec in (block, *block.fields):
                if spec.when is not None:  # called directly: ``applies`` shows a field whose condition raises
                    assert isinstance(spec.when(r), bool), spec.path


def test_conditions_match_the_spec() -> None:
    r = m.HsgReport()
    spec = {f.path: f for s in SECTIONS for b in s.blocks for f in b.fields}
    assert not applies(spec["findings.tubes.right.occlusion_level"], r)
    r.findings.tubes.right.patency = m.Patency.OCCLUDED
    assert applies(spec["findings.tubes.right.occlusion_level"], r)
    assert not applies(spec["findings.tubes.right.hydrosalpinx_diameter_mm"], r)
    r.findings.tubes.right.calibre = m.TubeCalibre.DILATED
    r.findings.tubes.right.hydrosalpinx = True
    assert applies(spec["findings.tubes.right.hydrosalpinx_diameter_mm"], r)
    assert not applies(spec["technique.limitation_reasons"], r)
    r.technique.study_quality = m.StudyQuality.NON_DIAGNOSTIC
    assert applies(spec["technique.limitation_reasons"], r)
    r.safety.pregnancy_test = m.PregnancyTest.SERUM_NEGATIVE
    r.safety.pregnancy_test_datetime = dt.datetime(2026, 1, 1, 9, 0)
    assert applies(spec["safety.pregnancy_test_datetime"], r)
