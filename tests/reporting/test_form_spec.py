"""The Qt-free form specification and ``HsgReport.clear_inapplicable`` — the rule that what the form hides never
reaches the SR / PDF, on every path (GUI form, ``report export``, a report read from JSON)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from hsg_workstation.__main__ import main
from hsg_workstation.reporting import form_spec
from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.sr_import import report_from_sr
from hsg_workstation.reporting.workflows import load_report_json

from .conftest import full_report


def _every_spec(report: m.HsgReport) -> list[form_spec.FieldSpec | form_spec.BlockSpec]:
    specs: list[form_spec.FieldSpec | form_spec.BlockSpec] = []
    for section in (*form_spec.SECTIONS, form_spec.CRITICAL_RESULT_SECTION):
        for block in section.blocks:
            specs.append(block)
            specs.extend(block.fields)
    for index in range(len(report.findings.filling_defects)):
        specs.extend(form_spec.defect_fields(index))
    return specs


def test_every_condition_runs_without_error_on_an_empty_and_a_full_report(source_datasets) -> None:
    """Each condition is called directly (``applies`` would hide a raising one by showing the field)."""
    empty = m.HsgReport()
    empty.add_filling_defect()
    full = full_report(*source_datasets)
    for report in (empty, full):
        for spec in _every_spec(report):
            report.get_value(spec.path)  # the path exists
            if spec.when is not None:
                assert isinstance(spec.when(report), bool), spec.path


def test_a_raising_condition_shows_the_field_and_is_logged(caplog) -> None:
    def broken(_r: m.HsgReport) -> bool:
        raise AttributeError("typo in a condition")

    spec = form_spec.FieldSpec("findings.tubes.left.note", "Note", when=broken)
    with caplog.at_level(logging.ERROR, logger="hsg_workstation.reporting.form_spec"):
        assert form_spec.applies(spec, m.HsgReport()) is True
    assert "findings.tubes.left.note" in caplog.text and "typo in a condition" in caplog.text


def test_clear_inapplicable_empties_hidden_answers_and_their_dependants() -> None:
    r = m.HsgReport()
    left = r.findings.tubes.left
    left.patency = m.Patency.OCCLUDED
    left.occlusion_level = m.OcclusionLevel.PROXIMAL
    left.proximal_spasm = m.ProximalSpasm.CANNOT_BE_EXCLUDED  # applies only while the level is proximal
    left.calibre = m.TubeCalibre.DILATED
    left.hydrosalpinx = True
    left.hydrosalpinx_diameter_mm = 12.0
    r.technique.study_quality = m.StudyQuality.DIAGNOSTIC
    r.technique.limitation_reasons = [m.LimitationReason.CONTRAST_REFLUX]
    left.status = m.TubeStatus.SURGICALLY_ABSENT  # now nothing about the left tube applies

    cleared = r.clear_inapplicable()

    assert cleared == {
        "technique.limitation_reasons": [m.LimitationReason.CONTRAST_REFLUX],
        "findings.tubes.left.patency": m.Patency.OCCLUDED,
        "findings.tubes.left.occlusion_level": m.OcclusionLevel.PROXIMAL,
        "findings.tubes.left.proximal_spasm": m.ProximalSpasm.CANNOT_BE_EXCLUDED,
        "findings.tubes.left.calibre": m.TubeCalibre.DILATED,
        "findings.tubes.left.hydrosalpinx": True,
        "findings.tubes.left.hydrosalpinx_diameter_mm": 12.0,
    }
    assert left.patency is None and left.hydrosalpinx_diameter_mm is None
    assert r.technique.limitation_reasons == []
    assert form_spec.inapplicable_answers(r) == {}
    assert r.clear_inapplicable() == {}  # idempotent


def test_clear_inapplicable_keeps_what_is_asked_and_refuses_a_signed_report() -> None:
    r = m.HsgReport()
    r.findings.cavity.shape = m.CavityShape.NORMAL_TRIANGULAR
    r.findings.cavity.intercornual_distance_mm = 31.0
    assert r.clear_inapplicable(keep={"findings.cavity.intercornual_distance_mm"}) == {}
    assert r.findings.cavity.intercornual_distance_mm == 31.0
    assert r.clear_inapplicable() == {"findings.cavity.intercornual_distance_mm": 31.0}
    r.status = m.ReportStatus.SIGNED
    with pytest.raises(m.ReportLockedError):
        r.clear_inapplicable()


def _draft_with_a_hidden_answer(source_datasets) -> m.HsgReport:
    report = full_report(*source_datasets)
    left = report.findings.tubes.left
    assert left.patency is m.Patency.PATENT
    left.occlusion_level = m.OcclusionLevel.DISTAL  # the form hides this for a patent tube
    return report


def test_a_report_read_from_json_has_its_inapplicable_answers_cleared(
    tmp_path: Path, source_datasets
) -> None:
    report = _draft_with_a_hidden_answer(source_datasets)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report.to_json()), encoding="utf-8")
    loaded = load_report_json(path)
    assert loaded.cleared == {"findings.tubes.left.occlusion_level": m.OcclusionLevel.DISTAL}
    assert loaded.report.findings.tubes.left.occlusion_level is None
    # the codec itself stays exact (round trip to an equal object); clearing is the loader's step
    assert m.HsgReport.from_json(report.to_json()) == report


@pytest.mark.timeout(180)
def test_report_export_clears_an_inapplicable_answer_and_says_so(
    tmp_path: Path, study_dir: Path, source_datasets, data_dir, capsys
) -> None:
    report = _draft_with_a_hidden_answer(source_datasets)
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report.to_json()), encoding="utf-8")
    before = path.read_bytes()
    sr = tmp_path / "sr.dcm"
    capsys.readouterr()
    rc = main(
        [
            "--data-dir",
            str(data_dir),
            "report",
            "export",
            str(path),
            "--study",
            str(study_dir),
            "--sr",
            str(sr),
            "--force",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    assert 'findings.tubes.left.occlusion_level = "distal_fimbrial" cleared' in err
    assert report_from_sr(sr).findings.tubes.left.occlusion_level is None
    assert path.read_bytes() == before  # the source file is never modified
