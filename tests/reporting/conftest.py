"""Fixtures for the report-output tests: tiny synthetic RF / DX source images and the real validators.

The images are built with pydicom (64×64, a few frames) so the tests are fast and need no sample generator;
only synthetic data.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

RF_STORAGE = "1.2.840.10008.5.1.4.1.1.12.2"
DX_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"


def _base(study_uid: str, sop_class: str, modality: str, series_number: int, frames: int) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "Test^Synthetic"
    ds.PatientID = "SYN-0001"
    ds.PatientBirthDate = "19900101"
    ds.PatientSex = "F"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20260105"
    ds.StudyTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = "ACC1"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "HSG"
    ds.InstitutionName = "Synthetic Hospital"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = series_number
    ds.Modality = modality
    ds.InstanceNumber = 1
    ds.Manufacturer = "Synthetic"
    ds.Rows = 64
    ds.Columns = 64
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    yy, xx = np.mgrid[0:64, 0:64]
    stack = []
    for f in range(frames):
        img = (200 + 10 * xx + f * 50 + 800 * (((xx - 32) ** 2 + (yy - 30) ** 2) < (8 + 2 * f) ** 2)).astype(
            np.uint16
        )
        stack.append(np.clip(img, 0, 4095).astype(np.uint16))
    arr = np.stack(stack) if frames > 1 else stack[0]
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = arr.tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def make_rf(study_uid: str, frames: int = 4) -> Dataset:
    """A small multi-frame RF image (fill-sequence loop)."""
    ds = _base(study_uid, RF_STORAGE, "RF", 1, frames)
    ds.ImagerPixelSpacing = [0.5, 0.5]
    ds.FrameIncrementPointer = (0x0018, 0x1063)
    ds.FrameTime = 500.0
    ds.ImageAndFluoroscopyAreaDoseProduct = 12.3
    return ds


def make_dx(study_uid: str) -> Dataset:
    """A small single-frame DX spot image."""
    ds = _base(study_uid, DX_STORAGE, "DX", 2, 1)
    ds.ImagerPixelSpacing = [0.5, 0.5]
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.RescaleIntercept = 0
    ds.RescaleSlope = 1
    ds.RescaleType = "US"
    ds.WindowCenter = 1000
    ds.WindowWidth = 2000
    ds.DetectorType = "DIRECT"
    ds.PatientOrientation = ["L", "F"]
    ds.BodyPartExamined = "PELVIS"
    return ds


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    """A folder with one RF loop (4 frames) and one DX spot image of one synthetic study."""
    d = tmp_path / "study"
    d.mkdir()
    study_uid = generate_uid()
    make_rf(study_uid).save_as(d / "rf.dcm", enforce_file_format=True)
    make_dx(study_uid).save_as(d / "dx.dcm", enforce_file_format=True)
    return d


@pytest.fixture
def source_datasets(study_dir: Path) -> list[Dataset]:
    from pydicom import dcmread

    return [dcmread(study_dir / "rf.dcm"), dcmread(study_dir / "dx.dcm")]


def dciodvfy_errors(path: Path) -> list[str]:
    """``Error -`` lines of dicom3tools' dciodvfy for ``path`` (empty when the object is valid)."""
    proc = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]


# Tool limits, not document problems: the VR checker cannot check UTF-8 text, and DCMTK checks few templates.
_BENIGN_DSRDUMP = (
    "does not support this Specific Character Set",
    "template constraints not yet supported",  # DCMTK knows few templates; relationship rules are still checked
)


def dsrdump_check(path: Path) -> tuple[int, list[str]]:
    """dsrdump's return code and its error / warning lines (DCMTK checks the SR relationship rules)."""
    proc = subprocess.run(["dsrdump", str(path)], capture_output=True, text=True, timeout=60)
    bad = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        if line.startswith(("E:", "W:", "F:")) and not any(b in line for b in _BENIGN_DSRDUMP)
    ]
    return proc.returncode, bad


def full_report(rf: Dataset, dx: Dataset, *, signed: bool = False):
    """A report with every section filled: defects, image links with regions and measurements, both tubes,
    impression edits, recommendations, key images, acknowledgements (and a signature when ``signed``)."""
    import datetime as dt

    from hsg_workstation.measurements import (
        Calibration,
        CalibrationBasis,
        ImageRegion,
        Measurement,
        MeasurementKind,
        RegionType,
    )
    from hsg_workstation.reporting import model as m

    r = m.HsgReport(
        author_name="Reader^Anna", created_at=dt.datetime(2026, 1, 5, 10, 30, 0, 123456, tzinfo=dt.UTC)
    )
    m.prefill_from_datasets(r, [rf, dx])
    r.identity.institution_address = "1 Synthetic Road"
    c = r.clinical
    c.indications = [m.Indication.PRIMARY_INFERTILITY, m.Indication.OTHER]
    c.indication_other = "Partner semen analysis normal — ‘quoted’ text ü"
    c.infertility_duration_months = 18
    c.gravidity, c.parity, c.miscarriages, c.ectopics = 1, 0, 1, 0
    c.risk_history = [m.RiskHistory.PID, m.RiskHistory.D_AND_C]
    c.prior_imaging = "TVUS 2025-12: normal ovaries"
    c.prior_imaging_date = dt.date(2025, 12, 1)
    c.comparison = "None available"
    s = r.safety
    s.lmp_date = dt.date(2025, 12, 28)
    s.cycle_pattern = m.CyclePattern.REGULAR
    s.menstrual_bleeding_today = False
    s.pregnancy_test = m.PregnancyTest.URINE_NEGATIVE
    s.pregnancy_test_datetime = dt.datetime(2026, 1, 5, 8, 0)
    s.pregnancy_status = m.PregnancyStatus.NOT_PREGNANT
    s.contraindications = [m.Contraindication.NONE]
    s.antibiotic_prophylaxis = m.AntibioticProphylaxis.GIVEN
    s.antibiotic_details = "Doxycycline 100 mg"
    s.premedication = [m.Premedication.NSAID, m.Premedication.SPASMOLYTIC]
    s.consent = True
    t = r.technique
    t.catheter_type = m.CatheterType.BALLOON_CATHETER
    t.balloon_position = m.BalloonPosition.CERVICAL_CANAL
    t.balloon_volume_ml = 1.5
    t.contrast_type = m.ContrastType.WATER_SOLUBLE_IODINATED
    t.contrast_product = "Iohexol"
    t.contrast_concentration_mgi_ml = 300.0
    t.contrast_volume_ml = 8.0
    t.views = [m.View.EARLY_FILLING, m.View.FULL_DISTENSION, m.View.DELAYED_POST_DRAINAGE]
    t.selective_salpingography = m.SelectiveSalpingography.NONE
    t.study_quality = m.StudyQuality.DIAGNOSTIC
    r.dose.fluoroscopy_time_s = 42.5
    r.dose.radiographic_images = 4
    r.dose.entrance_dose_mgy = 3.25
    cal = Calibration(0.5, 0.5, CalibrationBasis.DETECTOR)
    region = ImageRegion(
        rf.SOPInstanceUID, 3, RegionType.ELLIPSE, ((20.5, 30.0), (30.5, 30.0), (25.5, 26.0), (25.5, 34.0))
    )
    length = Measurement(
        MeasurementKind.LENGTH,
        ImageRegion(dx.SOPInstanceUID, 1, RegionType.POLYLINE, ((10.0, 10.0), (40.25, 50.125))),
        cal,
        label="intercornual",
        id="meas0001",
    )
    f = r.findings
    f.cervix.cervical_canal = m.CervicalCanal.NORMAL
    f.cervix.eshre_cervix = m.EshreCervix.C0
    cav = f.cavity
    cav.opacified = m.CavityOpacified.YES
    cav.size = m.CavitySize.NORMAL
    cav.shape = m.CavityShape.FUNDAL_INDENTATION
    cav.internal_indentation_depth_mm = 6.5
    cav.indentation_angle_deg = 120.0
    cav.intercornual_distance_mm = 31.0
    # an indented cavity on HSG alone: the ESHRE/ESGE class is "not assessable" (rule V14, issue 11)
    cav.eshre_uterus = m.EshreUterus.INDETERMINATE_ON_HSG
    cav.asrm2021_category = m.Asrm2021Category.ARCUATE_NORMAL_VARIANT
    cav.adenomyosis_signs = m.PresentAbsent.ABSENT
    cav.note = "Smooth cavity outline"
    cav.image_links = [m.ImageLink(dx.SOPInstanceUID, 1, dx.SOPClassUID, measurement=length, label="cornua")]
    f.filling_defects = [
        m.FillingDefect(
            location=m.DefectLocation.FUNDUS,
            size_mm=7.0,
            contour=m.DefectContour.ROUND_SMOOTH,
            behaviour=m.DefectBehaviour.FIXED,
            suspected_nature=m.DefectNature.POLYP,
            note="Best seen on early filling",
            image_links=[m.ImageLink(rf.SOPInstanceUID, 3, rf.SOPClassUID, region=region, label="polyp")],
            id="defect000001",
        ),
        m.FillingDefect(
            location=m.DefectLocation.LUS,
            size_mm=3.0,
            count=2,
            contour=m.DefectContour.ROUND_SMOOTH,
            behaviour=m.DefectBehaviour.MOBILE,
            suspected_nature=m.DefectNature.AIR_BUBBLE,
            image_links=[
                m.ImageLink(
                    rf.SOPInstanceUID,
                    2,
                    "",
                    region=ImageRegion(
                        rf.SOPInstanceUID, 2, RegionType.POLYGON, ((5.0, 5.0), (15.0, 5.0), (10.0, 12.5))
                    ),
                ),
                m.ImageLink(rf.SOPInstanceUID, 4, rf.SOPClassUID),
            ],
            id="defect000002",
        ),
    ]
    f.adhesions.present = False
    left, right = f.tubes.left, f.tubes.right
    left.status = right.status = m.TubeStatus.PRESENT
    left.opacified_to, left.patency, left.spill = m.OpacifiedTo.FIMBRIAL, m.Patency.PATENT, m.Spill.FREE
    left.calibre, left.hydrosalpinx = m.TubeCalibre.NORMAL, False
    left.wall_pattern = [m.WallPattern.NORMAL]
    right.opacified_to, right.patency = m.OpacifiedTo.AMPULLARY, m.Patency.OCCLUDED
    right.occlusion_level, right.spill = m.OcclusionLevel.DISTAL, m.Spill.NONE
    right.calibre, right.hydrosalpinx, right.hydrosalpinx_diameter_mm = m.TubeCalibre.DILATED, True, 18.0
    right.mucosal_folds, right.hydrosalpinx_grade = m.MucosalFolds.EFFACED, m.Severity3.MODERATE
    right.wall_pattern = [m.WallPattern.SIN_ISTHMIC_DIVERTICULA, m.WallPattern.BEADED]
    right.peritubal_adhesion_signs = [m.PeritubalAdhesionSign.AMPULLARY_DILATATION]
    right.image_links = [
        m.ImageLink(
            rf.SOPInstanceUID,
            4,
            rf.SOPClassUID,
            region=ImageRegion(rf.SOPInstanceUID, 4, RegionType.POINT, ((50.123456789, 20.0 / 3),)),
        )
    ]
    f.peritoneum.peritoneal_spill_overall = m.PeritonealSpill.UNILATERAL_FREE_L
    f.peritoneum.spill_assessed_on = m.SpillAssessment.SEQUENCE_OR_DELAYED
    f.peritoneum.intravasation = m.Intravasation.ABSENT
    f.other = "No other findings"
    r.complications.pain_score = 4
    r.complications.complications = [m.Complication.NONE]
    r.complications.note = "Tolerated well"
    at = dt.datetime(2026, 1, 5, 10, 45, tzinfo=dt.UTC)
    r.impression.sentences = [
        m.ImpressionSentence(
            "Right distal tubal occlusion with hydrosalpinx (18 mm).", "tube.right", True, "", False
        ),
        m.ImpressionSentence(
            "7 mm fundal polyp, edited by reader.",
            "defect.defect000001",
            False,
            "7 mm fundal filling defect, likely polyp.",
            False,
        ),
        m.ImpressionSentence("Left tube patent with free spill.", "", False),
    ]
    r.impression.edits = [
        m.ImpressionEdit(m.ImpressionEditAction.REGENERATED, "", "", "x", "", "Reader^Anna", at),
        m.ImpressionEdit(
            m.ImpressionEditAction.EDITED, "defect.defect000001", "old", "new", "clarity", "Reader^Anna", at
        ),
    ]
    r.recommendations = [
        m.Recommendation(
            "Hydrosalpinx is relevant before IVF; gynaecology review.", "hydrosalpinx_ivf", True
        ),
        m.Recommendation("Hysteroscopy to confirm the polyp."),
    ]
    r.key_images = [
        m.KeyImage(rf.SOPInstanceUID, rf.SOPClassUID, 2, "early filling"),
        m.KeyImage(rf.SOPInstanceUID, rf.SOPClassUID, 3),
        m.KeyImage(rf.SOPInstanceUID, rf.SOPClassUID, 4, "delayed"),
        m.KeyImage(dx.SOPInstanceUID, dx.SOPClassUID, 1, "spot"),
    ]
    r.measurements = [length]
    r.acknowledgements = [
        m.Acknowledgement("V09", "findings.tubes.right.spill", "checked on delayed image", "Reader^Anna", at)
    ]
    r.critical_result.flagged = False
    if signed:
        data = r.to_json()
        data["status"] = "signed"
        data["signature"] = {
            "verifying_observer_name": "Reader^Anna",
            "verifying_organization": "Synthetic Hospital",
            "verification_datetime": "2026-01-05T11:00:00+00:00",
        }
        r = m.HsgReport.from_json(data)
    return r
