"""The report model: JSON round trip, mutators, lifecycle (sign / lock / amend), derived values, prefill."""

from __future__ import annotations

import datetime as dt
import io
import json

import pydicom
import pytest
from pydicom.dataset import Dataset

from hsg_workstation.errors import ReportValidationError
from hsg_workstation.measurements import (
    Calibration,
    CalibrationBasis,
    ImageRegion,
    Measurement,
    MeasurementKind,
    RegionType,
)
from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.reference import example_report

RF = "1.2.840.10008.5.1.4.1.1.12.2"
DX = "1.2.840.10008.5.1.4.1.1.1.1"


def _link(uid: str = "2.25.7", frame: int = 12) -> m.ImageLink:
    region = ImageRegion(
        uid, frame, RegionType.ELLIPSE, ((10.0, 20.5), (30.0, 20.5), (20.0, 15.0), (20.0, 26.0))
    )
    meas = Measurement(
        MeasurementKind.ELLIPSE,
        region,
        Calibration(0.25, 0.25, CalibrationBasis.MAGNIFICATION_CORRECTED),
        "polyp",
    )
    return m.ImageLink(uid, frame, RF, region, meas, "polyp")


def _rich_report() -> m.HsgReport:
    r = example_report("endometrial_polyp")
    r.add_image_link("findings.tubes.left", _link("2.25.8", 3))
    r.add_key_image(m.KeyImage("2.25.9", DX, 1, "early filling"))
    r.acknowledge("V03", "safety.cycle_day", "patient could not come earlier", "Dr A")
    r.edit_impression_sentence(0, "Both tubes patent with free spill.", who="Dr A", reason="house style")
    r.remove_impression_sentence(1, who="Dr A", reason="said in findings")
    r.add_impression_sentence("Compare with prior ultrasound.", who="Dr A")
    r.identity.study_time = dt.time(9, 30, 5)
    r.identity.patient_birth_date = dt.date(1990, 2, 3)
    r.safety.pregnancy_test_datetime = dt.datetime(2026, 1, 15, 8, 0, tzinfo=dt.UTC)
    r.findings.tubes.right.wall_pattern = [m.WallPattern.SIN_ISTHMIC_DIVERTICULA]
    return r


def test_json_round_trip_compares_equal_including_links_measurements_acks_and_edits() -> None:
    r = _rich_report()
    data = json.loads(json.dumps(r.to_json()))
    assert data["schema_version"] == m.SCHEMA_VERSION
    back = m.HsgReport.from_json(data)
    assert back == r
    # the link names the report's measurement by id (no copy); the calibration basis travels with it
    defect_link = back.findings.filling_defects[0].image_links[0]
    assert defect_link.measurement is None and defect_link.measurement_id
    assert back.link_measurement(defect_link).calibration.basis is CalibrationBasis.MAGNIFICATION_CORRECTED
    assert back.link_measurement(defect_link) is back.measurement(defect_link.measurement_id)
    # a link added with a measurement in it is stored as a reference to it
    left = back.findings.tubes.left.image_links[0]
    assert left.measurement is None and back.link_measurement(left) in back.measurements
    assert back.findings.tubes.left.image_links[0].region.points[0] == (10.0, 20.5)
    assert [e.action for e in back.impression.edits] == [
        m.ImpressionEditAction.EDITED,
        m.ImpressionEditAction.REMOVED,
        m.ImpressionEditAction.ADDED,
    ]
    # and a change is visible to ==
    back.findings.tubes.left.image_links.clear()
    assert back != r


def test_signed_report_round_trip_stays_equal_and_locked() -> None:
    r = example_report("normal")
    r.sign("Dr Verifier", dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC))
    back = m.HsgReport.from_json(json.loads(json.dumps(r.to_json())))
    assert back == r and back.is_signed
    with pytest.raises(m.ReportLockedError):
        back.findings.tubes.left.patency = m.Patency.OCCLUDED


def test_from_json_rejects_bad_documents_with_the_field_named() -> None:
    good = example_report("normal").to_json()
    with pytest.raises(m.ReportJsonError, match="schema_version"):
        m.HsgReport.from_json({k: v for k, v in good.items() if k != "schema_version"})
    with pytest.raises(m.ReportJsonError, match="not supported"):
        m.HsgReport.from_json({**good, "schema_version": 99})
    bad = json.loads(json.dumps(good))
    bad["findings"]["tubes"]["left"]["patency"] = "open"
    with pytest.raises(m.ReportJsonError, match=r"findings\.tubes\.left\.patency = 'open'"):
        m.HsgReport.from_json(bad)
    bad = json.loads(json.dumps(good))
    bad["findings"]["cavity"]["colour"] = "blue"
    with pytest.raises(m.ReportJsonError, match="unknown field.*colour.*findings.cavity"):
        m.HsgReport.from_json(bad)
    bad = json.loads(json.dumps(good))
    bad["technique"]["contrast_volume_ml"] = "eight"
    with pytest.raises(m.ReportJsonError, match="contrast_volume_ml must be a finite number"):
        m.HsgReport.from_json(bad)
    bad["technique"]["contrast_volume_ml"] = float("nan")
    with pytest.raises(m.ReportJsonError, match="finite"):
        m.HsgReport.from_json(bad)


def test_missing_fields_take_defaults_so_older_drafts_load() -> None:
    r = m.HsgReport.from_json({"schema_version": 1, "findings": {"tubes": {"left": {"patency": "patent"}}}})
    assert r.findings.tubes.left.patency is m.Patency.PATENT
    assert r.findings.tubes.right.side is m.Side.RIGHT


def test_edits_are_a_psygnal_signal_and_a_listeners_error_reaches_the_caller_as_itself() -> None:
    """One event mechanism for the Qt-free models (issue 14): the report's change notification is a psygnal
    signal like the session's; an autosave that fails (disk full) must surface as its own error, not psygnal's
    wrapper, so the form can say what went wrong."""
    from psygnal import SignalInstance

    r = m.HsgReport()
    assert isinstance(r.edited, SignalInstance)
    seen: list[tuple[object, str]] = []
    r.edited.connect(lambda report, path: seen.append((report, path)))
    r.set_value("technique.contrast_volume_ml", 5)
    assert seen == [(r, "technique.contrast_volume_ml")]

    def disk_full(_report, _path) -> None:
        raise OSError(28, "No space left on device")

    r.add_listener(disk_full)
    with pytest.raises(OSError, match="No space left"):
        r.set_value("technique.contrast_volume_ml", 6)
    r.remove_listener(disk_full)
    r.remove_listener(disk_full)  # twice is harmless
    r.set_value("technique.contrast_volume_ml", 7)
    assert seen[-1] == (r, "technique.contrast_volume_ml") and len(seen) == 3


def test_set_value_by_path_accepts_enum_strings_and_notifies() -> None:
    r = m.HsgReport()
    seen: list[str] = []
    r.add_listener(lambda _r, path: seen.append(path))
    r.set_value("findings.tubes.right.patency", "occluded")
    assert r.findings.tubes.right.patency is m.Patency.OCCLUDED
    r.set_value("technique.contrast_volume_ml", 7)
    assert r.technique.contrast_volume_ml == 7.0 and isinstance(r.technique.contrast_volume_ml, float)
    r.add_filling_defect()
    r.set_value("findings.filling_defects[0].size_mm", 6.5)
    assert r.get_value("findings.filling_defects[0].size_mm") == 6.5
    assert seen == [
        "findings.tubes.right.patency",
        "technique.contrast_volume_ml",
        "findings.filling_defects[0]",
        "findings.filling_defects[0].size_mm",
    ]
    with pytest.raises(ValueError, match="patency = 'wide'"):
        r.set_value("findings.tubes.left.patency", "wide")
    with pytest.raises(KeyError, match="does not exist"):
        r.set_value("findings.tubes.left.colour", "x")
    r.set_value("findings.tubes.left.wall_pattern", ["SIN_isthmic_diverticula", "beaded"])
    assert r.findings.tubes.left.wall_pattern == [m.WallPattern.SIN_ISTHMIC_DIVERTICULA, m.WallPattern.BEADED]
    r.set_value("safety.lmp_date", "2026-01-03")
    assert r.safety.lmp_date == dt.date(2026, 1, 3)
    r.set_value("safety.lmp_date", None)
    assert r.safety.lmp_date is None
    with pytest.raises(ValueError, match="must not be null"):
        r.set_value("findings.tubes.left.side", None)
    with pytest.raises(ValueError, match=r"wall_pattern\[0\] = 'lumpy'"):
        r.set_value("findings.tubes.left.wall_pattern", ["lumpy"])
    recs = [m.Recommendation("Follow-up HSG.")]
    r.set_value("recommendations", recs)
    assert r.recommendations == recs


def test_afs_score_recomputed_when_components_set() -> None:
    r = m.HsgReport()
    r.set_value("findings.adhesions.afs_extent", "1/3-2/3")
    r.set_value("findings.adhesions.afs_type", "filmy")
    assert r.findings.adhesions.afs_score is None
    r.set_value("findings.adhesions.afs_menstrual_pattern", "amenorrhoea")
    assert (r.findings.adhesions.afs_score, r.findings.adhesions.afs_stage) == (7, m.AfsStage.II_MODERATE)
    r.set_value("findings.adhesions.afs_type", "not_assessable_on_HSG")
    assert r.findings.adhesions.afs_score is None


def test_sign_lists_every_error_and_blocks_on_unacknowledged_warnings() -> None:
    r = example_report("normal")
    r.safety.pregnancy_test = m.PregnancyTest.POSITIVE
    r.technique.study_quality = m.StudyQuality.LIMITED
    with pytest.raises(ReportValidationError) as exc:
        r.sign("Dr V")
    assert {i.rule_id for i in exc.value.issues} == {"V01", "V24"}
    assert "V01" in str(exc.value) and "V24" in str(exc.value)
    assert r.status is m.ReportStatus.DRAFT

    r = example_report("normal")
    r.safety.menstrual_bleeding_today = True  # V04 warning
    with pytest.raises(ReportValidationError) as exc:
        r.sign("Dr V")
    assert [i.rule_id for i in exc.value.issues] == ["V04"]
    with pytest.raises(ValueError):
        r.acknowledge("V04", "safety.menstrual_bleeding_today", "  ", "Dr V")
    r.acknowledge("V04", "safety.menstrual_bleeding_today", "spotting only, cavity well seen", "Dr V")
    r.sign("Dr V")
    assert r.is_signed and r.signature.verifying_observer_name == "Dr V"
    assert r.signature.verification_datetime is not None
    ack = r.acknowledgements[0]
    assert (ack.who, ack.reason) == ("Dr V", "spotting only, cavity well seen") and ack.at.tzinfo is not None


def test_sign_needs_a_name() -> None:
    with pytest.raises(ReportValidationError, match="verifying observer"):
        example_report("normal").sign("  ")


def test_signed_report_refuses_every_kind_of_change() -> None:
    r = example_report("endometrial_polyp")
    r.sign("Dr V")
    with pytest.raises(m.ReportLockedError):
        r.findings.cavity.shape = m.CavityShape.OBLITERATED
    with pytest.raises(m.ReportLockedError):
        r.findings.filling_defects.append(m.FillingDefect())
    with pytest.raises(m.ReportLockedError):
        r.findings.filling_defects[0].size_mm = 1.0
    with pytest.raises(m.ReportLockedError):
        r.impression.sentences[0].text = "changed"
    with pytest.raises(m.ReportLockedError):
        r.set_value("findings.tubes.left.spill", "none")
    with pytest.raises(m.ReportLockedError):
        r.add_key_image(m.KeyImage("1.2", DX))
    with pytest.raises(m.ReportLockedError):
        r.sign("Dr V")
    with pytest.raises(m.ReportLockedError):
        r.status = m.ReportStatus.DRAFT
    with pytest.raises(m.ReportLockedError):
        del r.key_images[0]


def test_amendment_references_the_signed_report() -> None:
    r = example_report("normal")
    with pytest.raises(m.HsgError):
        r.amend("2.25.1")
    r.sign("Dr V")
    a = r.amend("2.25.555", reason="left tube re-read", sr_series_instance_uid="2.25.556")
    assert a.status is m.ReportStatus.DRAFT and a.is_amendment and a.report_id != r.report_id
    assert a.predecessor == m.Predecessor(
        r.report_id, "2.25.555", "2.25.556", r.identity.study_instance_uid, "left tube re-read"
    )
    assert a.signature == m.Signature() and a.acknowledgements == []
    a.findings.tubes.left.note = "re-read"  # editable
    assert r.findings.tubes.left.note == ""  # original untouched
    a.sign("Dr W")
    back = m.HsgReport.from_json(json.loads(json.dumps(a.to_json())))
    assert back == a and back.predecessor.sr_sop_instance_uid == "2.25.555"


def test_cycle_day_and_derived_spill() -> None:
    assert m.compute_cycle_day(dt.date(2026, 1, 1), dt.date(2026, 1, 1)) == 1
    assert m.compute_cycle_day(dt.date(2025, 12, 30), dt.date(2026, 1, 8)) == 10
    assert m.compute_cycle_day(None, dt.date(2026, 1, 8)) is None
    r = m.HsgReport()
    r.identity.study_date = dt.date(2026, 1, 10)
    r.safety.lmp_date = dt.date(2026, 1, 2)
    assert r.effective_cycle_day() == 9
    r.safety.cycle_day = 11  # explicit override wins
    assert r.effective_cycle_day() == 11
    left, right = m.Tube(side=m.Side.LEFT), m.Tube(side=m.Side.RIGHT)
    assert m.derive_peritoneal_spill(left, right) is None
    for sl, sr, expected in [
        ("free", "free", "bilateral_free"),
        ("free", "none", "unilateral_free_L"),
        ("none", "delayed", "unilateral_free_R"),
        ("loculated", "none", "loculated_only"),
        ("none", "indeterminate", "indeterminate"),
        ("none", "none", "none"),
    ]:
        left.spill, right.spill = m.Spill(sl), m.Spill(sr)
        assert m.derive_peritoneal_spill(left, right) is m.PeritonealSpill(expected)


def test_dap_units() -> None:
    assert m.DapUnit.DGY_CM2.factor_to_gy_cm2 == 0.1
    assert m.DapUnit.GY_M2.factor_to_gy_cm2 == 1e4
    assert m.DapUnit.UGY_M2.factor_to_gy_cm2 == pytest.approx(0.01)
    d = m.RadiationDose()
    d.set_dap(31.5, m.DapUnit.DGY_CM2, m.DoseSource.RF_LOOP)
    assert (d.dap_total_gy_cm2, d.dap_source_value, d.dap_source_unit) == (3.15, 31.5, m.DapUnit.DGY_CM2)


def _ds(sop_class: str, uid: str, dap: float | None, frames: int = 1, **kw: object) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID, ds.SeriesInstanceUID = sop_class, uid, "2.25.50"
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "Test^Anna", "HSG-001", "19900203", "F"
    ds.StudyInstanceUID, ds.AccessionNumber, ds.StudyDate, ds.StudyTime = (
        "2.25.40",
        "ACC1",
        "20260115",
        "093005.12",
    )
    ds.InstitutionName = "Synthetic Hospital"
    if dap is not None:
        ds.ImageAndFluoroscopyAreaDoseProduct = dap
    ds.NumberOfFrames = frames
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def test_prefill_from_datasets() -> None:
    dsets = [
        _ds(DX, "2.25.1", 0.5),
        _ds(
            RF,
            "2.25.2",
            20.0,
            frames=48,
            TotalTimeOfFluoroscopy=61,
            LastMenstrualDate="20260107",
            PregnancyStatus=1,
        ),
        _ds(DX, "2.25.3", 1.5),
    ]
    r = m.prefill_from_datasets(m.HsgReport(), dsets)
    i = r.identity
    assert (i.patient_name, i.patient_id, i.patient_sex) == ("Test^Anna", "HSG-001", m.PatientSex.FEMALE)
    assert (i.patient_birth_date, i.study_date, i.study_time) == (
        dt.date(1990, 2, 3),
        dt.date(2026, 1, 15),
        dt.time(9, 30, 5),
    )
    assert (i.study_instance_uid, i.accession_number, i.institution_name) == (
        "2.25.40",
        "ACC1",
        "Synthetic Hospital",
    )
    assert [s.sop_instance_uid for s in i.source_instances] == ["2.25.1", "2.25.2", "2.25.3"]
    # sum over images: 20 (loop) + 0.5 + 1.5 dGy·cm² = 2.2 Gy·cm², source unit kept
    assert r.dose.dap_total_gy_cm2 == pytest.approx(2.2)
    assert (r.dose.dap_source_value, r.dose.dap_source_unit, r.dose.dap_source) == (
        22.0,
        m.DapUnit.DGY_CM2,
        m.DoseSource.IMAGE_HEADERS_SUM,
    )
    assert r.dose.fluoroscopy_time_s == 61.0
    assert r.safety.lmp_date == dt.date(2026, 1, 7) and r.effective_cycle_day() == 9
    assert r.safety.pregnancy_status is m.PregnancyStatus.NOT_PREGNANT
    # existing values are not overwritten; missing headers leave fields empty
    r2 = m.HsgReport()
    r2.identity.patient_name = "Kept^Name"
    m.prefill_from_datasets(r2, [_ds(DX, "2.25.9", None)])
    assert r2.identity.patient_name == "Kept^Name" and r2.dose.dap_total_gy_cm2 is None
    assert r2.dose.fluoroscopy_time_s is None and r2.safety.pregnancy_status is None


def test_prefill_from_a_real_pydicom_file_does_not_crash() -> None:
    ds = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm"))
    r = m.prefill_from_datasets(m.HsgReport(), [ds])
    assert r.identity.study_instance_uid == ds.StudyInstanceUID and r.dose.dap_total_gy_cm2 is None


def test_tubes_accessors() -> None:
    r = m.HsgReport()
    assert r.tubes.side("left") is r.findings.tubes.left and r.tubes.side(m.Side.RIGHT).side is m.Side.RIGHT
    assert [t.side for t in r.tubes] == [m.Side.LEFT, m.Side.RIGHT]


def test_prefill_skips_malformed_header_values() -> None:
    """A DS that is not a number (as found in real files) must not abort the prefill of everything else."""
    ds = _ds(RF, "2.25.2", 12.5, frames=4, TotalTimeOfFluoroscopy=30, PregnancyStatus=9)  # 9: undefined
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=False)
    raw = buf.getvalue()
    assert raw.count(b"12.5") == 1
    bad = pydicom.dcmread(io.BytesIO(raw.replace(b"12.5", b"abc ")), force=True)
    r = m.prefill_from_datasets(m.HsgReport(), [bad])
    assert r.dose.dap_total_gy_cm2 is None and r.dose.fluoroscopy_time_s == 30.0
    assert r.safety.pregnancy_status is None and r.identity.patient_id == "HSG-001"


def test_from_json_rejects_wrong_container_types() -> None:
    with pytest.raises(m.ReportJsonError, match="must be an object"):
        m.HsgReport.from_json([])  # type: ignore[arg-type]
    with pytest.raises(m.ReportJsonError, match="findings.filling_defects must be a list"):
        m.HsgReport.from_json({"schema_version": 1, "findings": {"filling_defects": "none"}})
    with pytest.raises(m.ReportJsonError, match=r"key_images\[0\] must be an object"):
        m.HsgReport.from_json({"schema_version": 1, "key_images": ["1.2.3"]})
    with pytest.raises(m.ReportJsonError, match="safety.lmp_date = '15/01/2026' is not an ISO date"):
        m.HsgReport.from_json({"schema_version": 1, "safety": {"lmp_date": "15/01/2026"}})


def test_prefill_refuses_images_of_another_study() -> None:
    other = _ds(DX, "2.25.77", 1.0)
    other.StudyInstanceUID = "2.25.41"
    with pytest.raises(m.ReportPrefillError, match=r"2\.25\.77 belongs to study 2\.25\.41.*2\.25\.40"):
        m.prefill_from_datasets(m.HsgReport(), [_ds(DX, "2.25.1", 1.0), other])
    r = m.HsgReport()
    r.identity.study_instance_uid = "2.25.41"
    with pytest.raises(m.ReportPrefillError):
        m.prefill_from_datasets(r, [_ds(DX, "2.25.1", 1.0)])


def test_afs_1988_points_and_stage_boundaries() -> None:
    from hsg_workstation.reporting.afs import afs_score_and_stage, afs_stage_for_score

    assert [afs_stage_for_score(s) for s in (1, 4, 5, 8, 9, 12)] == [
        m.AfsStage.I_MILD,
        m.AfsStage.I_MILD,
        m.AfsStage.II_MODERATE,
        m.AfsStage.II_MODERATE,
        m.AfsStage.III_SEVERE,
        m.AfsStage.III_SEVERE,
    ]
    with pytest.raises(ValueError, match="outside 1..12"):
        afs_stage_for_score(13)
    assert afs_score_and_stage(
        m.AfsExtent.LT_ONE_THIRD, m.AfsAdhesionType.FILMY, m.AfsMenstrualPattern.NORMAL
    ) == (
        2,
        m.AfsStage.I_MILD,
    )
    assert afs_score_and_stage(
        m.AfsExtent.GT_TWO_THIRDS, m.AfsAdhesionType.DENSE, m.AfsMenstrualPattern.AMENORRHOEA
    ) == (12, m.AfsStage.III_SEVERE)
    assert afs_score_and_stage(None, m.AfsAdhesionType.DENSE, m.AfsMenstrualPattern.NORMAL) == (None, None)


def test_a_direct_assignment_is_announced_once_with_its_path() -> None:
    """Issue 14 point 5: ``report.technique.contrast_volume_ml = 8`` told nobody, so autosave missed it. Now every
    part knows its report; mutators still announce their edit exactly once; ``edit()`` batches assignments."""
    import copy

    r = m.HsgReport()
    seen: list[str] = []
    r.add_listener(lambda _r, path: seen.append(path))
    r.technique.contrast_volume_ml = 8.0
    r.findings.tubes.left.hydrosalpinx = True
    assert seen == ["technique.contrast_volume_ml", "findings.tubes.left.hydrosalpinx"]
    seen.clear()
    r.set_value("technique.contrast_volume_ml", 9)  # a mutator: once, not twice
    assert seen == ["technique.contrast_volume_ml"]
    seen.clear()
    r.add_filling_defect()
    r.findings.filling_defects[0].size_mm = 6.0  # a part appended to a list is adopted too
    assert seen == ["findings.filling_defects[0]", "findings.filling_defects[0].size_mm"]
    seen.clear()
    new_tube = m.Tube(side=m.Side.RIGHT)
    r.findings.tubes.right = new_tube  # a replaced part, and then its own fields
    new_tube.hydrosalpinx = True
    assert seen == ["findings.tubes.right", "findings.tubes.right.hydrosalpinx"]
    seen.clear()
    with r.edit("dose"):
        r.dose.dap_total_gy_cm2 = 1.0
        r.dose.fluoroscopy_time_s = 30.0
    assert seen == ["dose"]
    seen.clear()
    part = copy.deepcopy(r.technique)  # a copy of a part belongs to no report's listeners
    assert part is not r.technique
    r2 = m.HsgReport.from_json(r.to_json())
    r2.technique.contrast_volume_ml = 3.0
    assert seen == []  # another report's edit


def test_a_deep_copy_announces_nothing_to_the_original() -> None:
    import copy

    r = m.HsgReport()
    seen: list[str] = []
    r.add_listener(lambda _r, path: seen.append(path))
    part = copy.deepcopy(r.technique)
    part.contrast_volume_ml = 1.0
    twin = copy.deepcopy(r)
    twin.technique.contrast_volume_ml = 2.0
    twin.set_value("technique.views", [])
    assert seen == [] and r.technique.contrast_volume_ml is None
    got: list[str] = []
    twin.add_listener(lambda _r, path: got.append(path))
    twin.technique.contrast_volume_ml = 3.0
    assert got == ["technique.contrast_volume_ml"]
