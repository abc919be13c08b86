"""Prefill a report from the study's image headers (identity, study date, dose, LMP, pregnancy status).

No file I/O: takes datasets, so the GUI, the CLI and the tests share it (``workflows`` reads the files).
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hsg_workstation.errors import HsgError
from hsg_workstation.reporting.enums import DapUnit, DoseSource, PatientSex, PregnancyStatus
from hsg_workstation.reporting.sections import SourceInstance

if TYPE_CHECKING:  # pragma: no cover - typing only
    import pydicom

    from hsg_workstation.reporting.report import HsgReport


class ReportPrefillError(HsgError):
    """The images given to ``prefill_from_datasets`` do not fit the report (e.g. another study)."""


def _dicom_date(value: Any) -> _dt.date | None:
    s = str(value or "").strip()
    if len(s) < 8:
        return None
    try:
        return _dt.date(int(s[0:4]), int(s[4:6]), int(s[6:8]))
    except ValueError:
        return None


def _dicom_time(value: Any) -> _dt.time | None:
    s = str(value or "").strip().split(".")[0]
    if len(s) < 4:
        return None
    try:
        return _dt.time(int(s[0:2]), int(s[2:4]), int(s[4:6]) if len(s) >= 6 else 0)
    except ValueError:
        return None


def prefill_from_datasets(report: HsgReport, datasets: Iterable[pydicom.Dataset]) -> HsgReport:
    """Fill identity, exam date, dose and LMP / pregnancy status from the study's image headers.

    Dose policy (documented in docs/report-model.md): (0018,115E) Image and Fluoroscopy Area Dose Product is
    per image (for a fluoroscopy loop: the recorded run), so the prefilled DAP is the SUM over all images, in
    the source unit dGy·cm² kept beside the Gy·cm² value (source ``image_headers_sum``). It can underestimate
    the exam total when fluoroscopy was not recorded; the radiologist may overwrite it with the unit's / MPPS /
    RDSR total. Fluoroscopy time: the largest (0040,0300) Total Time of Fluoroscopy (it is cumulative over the
    procedure); when absent it stays empty rather than being guessed from exposure times.
    Existing non-empty fields are left untouched except the dose, which is always recomputed.
    """
    with report.edit("identity"):  # one announced change (one autosave, one undo step) for the whole prefill
        _prefill(report, datasets)
    return report


def _prefill(report: HsgReport, datasets: Iterable[pydicom.Dataset]) -> None:
    report._check_editable("identity")
    dsets = list(datasets)
    if not dsets:
        return report
    first = dsets[0]
    ident = report.identity
    study_uid = ident.study_instance_uid or str(first.get("StudyInstanceUID", "") or "")
    foreign = [ds for ds in dsets if str(ds.get("StudyInstanceUID", "") or "") not in ("", study_uid)]
    if foreign:
        ds = foreign[0]
        raise ReportPrefillError(
            f"image {ds.get('SOPInstanceUID', '?')} belongs to study {ds.get('StudyInstanceUID')}, not to the "
            f"report's study {study_uid}: a report covers one study"
        )

    def take(attr: str, keyword: str) -> None:
        if not getattr(ident, attr):
            value = first.get(keyword, None)
            if value not in (None, ""):
                setattr(ident, attr, str(value))

    take("patient_name", "PatientName")
    take("patient_id", "PatientID")
    take("study_instance_uid", "StudyInstanceUID")
    take("accession_number", "AccessionNumber")
    take("study_id", "StudyID")
    take("study_description", "StudyDescription")
    take("referring_physician_name", "ReferringPhysicianName")
    take("institution_name", "InstitutionName")
    take("institution_address", "InstitutionAddress")
    take("manufacturer", "Manufacturer")
    if ident.patient_birth_date is None:
        ident.patient_birth_date = _dicom_date(first.get("PatientBirthDate"))
    if ident.patient_sex is PatientSex.UNKNOWN:
        try:
            ident.patient_sex = PatientSex(str(first.get("PatientSex", "") or ""))
        except ValueError:
            pass
    if ident.study_date is None:
        ident.study_date = _dicom_date(first.get("StudyDate"))
    if ident.study_time is None:
        ident.study_time = _dicom_time(first.get("StudyTime"))
    known = {s.sop_instance_uid for s in ident.source_instances}
    for ds in dsets:
        uid = str(ds.get("SOPInstanceUID", "") or "")
        if uid and uid not in known:
            ident.source_instances.append(
                SourceInstance(uid, str(ds.get("SOPClassUID", "")), str(ds.get("SeriesInstanceUID", "")))
            )
            known.add(uid)

    # Dose. Malformed header values are skipped (the field stays empty and the rules ask for it) rather than
    # aborting the prefill of everything else.
    # An X-Ray Radiation Dose SR in the study is the exam's own total (fluoroscopy without stored images
    # included); the image headers' sum is only what was stored and says so (DoseSource.IMAGE_HEADERS_SUM).
    rdsr = next((t for ds in dsets if (t := rdsr_totals(ds)) is not None), None)
    daps = [v for ds in dsets if (v := _number(ds, "ImageAndFluoroscopyAreaDoseProduct")) is not None]
    if rdsr is not None and rdsr[0] is not None:
        report.dose.set_dap(rdsr[0], DapUnit.GY_M2, DoseSource.RDSR)
    elif daps:
        report.dose.set_dap(round(sum(daps), 6), DapUnit.DGY_CM2, DoseSource.IMAGE_HEADERS_SUM)
    fluoro = [v for ds in dsets if (v := _number(ds, "TotalTimeOfFluoroscopy")) is not None]
    if rdsr is not None and rdsr[1] is not None:
        report.dose.fluoroscopy_time_s = rdsr[1]
        report.dose.fluoroscopy_time_source = DoseSource.RDSR
    elif fluoro and max(fluoro) > 0:
        report.dose.fluoroscopy_time_s = max(fluoro)
        report.dose.fluoroscopy_time_source = DoseSource.IMAGE_HEADERS_SUM
    exposures = [v for ds in dsets if (v := _number(ds, "TotalNumberOfExposures")) is not None]
    if exposures and report.dose.radiographic_images is None:
        report.dose.radiographic_images = int(max(exposures))

    # LMP and pregnancy status
    for ds in dsets:
        lmp = _dicom_date(ds.get("LastMenstrualDate"))
        if lmp and report.safety.lmp_date is None:
            report.safety.lmp_date = lmp
        ps = _number(ds, "PregnancyStatus")
        if ps is not None and report.safety.pregnancy_status is None:
            report.safety.pregnancy_status = {
                1: PregnancyStatus.NOT_PREGNANT,
                2: PregnancyStatus.POSSIBLE,
                3: PregnancyStatus.PREGNANT,
                4: PregnancyStatus.UNKNOWN,
            }.get(int(ps))


RDSR_CLASS = "1.2.840.10008.5.1.4.1.1.88.67"  # X-Ray Radiation Dose SR Storage
_DAP_TOTAL = ("113722", "DCM")  # Dose Area Product Total (TID 10002 Accumulated X-Ray Dose), Gy·m²
_FLUORO_TIME = ("113730", "DCM")  # Total Fluoro Time, s


def rdsr_totals(ds: Any) -> tuple[float | None, float | None] | None:
    """(DAP total in Gy·m², total fluoroscopy time in s) of an X-Ray Radiation Dose SR, or None for any other
    object. The first accumulated values found in the content tree are taken (one irradiation event set per
    study); a NUM in another unit than Gy.m2 / s is not taken as it."""
    if str(ds.get("SOPClassUID", "")) != RDSR_CLASS:
        return None
    found: dict[tuple[str, str], float] = {}

    def walk(items: Any) -> None:
        for item in items or []:
            if item.get("ValueType") == "NUM" and "ConceptNameCodeSequence" in item:
                code = item.ConceptNameCodeSequence[0]
                key = (str(code.get("CodeValue", "")), str(code.get("CodingSchemeDesignator", "")))
                if key in (_DAP_TOTAL, _FLUORO_TIME) and key not in found:
                    try:
                        mv = item.MeasuredValueSequence[0]
                        unit = str(mv.MeasurementUnitsCodeSequence[0].get("CodeValue", ""))
                        value = float(mv.NumericValue)
                    except (AttributeError, IndexError, KeyError, ValueError, TypeError):
                        continue
                    if (key == _DAP_TOTAL and unit == "Gy.m2") or (key == _FLUORO_TIME and unit == "s"):
                        found[key] = value
            walk(item.get("ContentSequence"))

    walk(ds.get("ContentSequence"))
    return found.get(_DAP_TOTAL), found.get(_FLUORO_TIME)


def _number(ds: Any, keyword: str) -> float | None:
    """A numeric header value, or None when absent, empty or malformed (e.g. a DS that is not a number)."""
    try:
        value = ds.get(keyword, None)
        if value in (None, ""):
            return None
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
