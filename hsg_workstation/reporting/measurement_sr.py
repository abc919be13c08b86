"""The report's image regions and measurements as a TID 1500 Imaging Measurement Report (a second SR).

Why a second SR and not groups inside the report: OHIF, 3D Slicer and highdicom find measurement groups only in a
document whose root is TID 1500 (``MeasurementReport``); groups nested inside the TID 2000 report would be
invisible to them, and TID 2000 does not allow them anyway. So every finding region (a filling defect outline, a
tube point, …) and every measurement becomes one TID 1410 planar ROI group here — finding type, finding site and
laterality, the SCOORD on its frame, and TID 300 measurements with UCUM units — and the HSG report references this
document (COMPOSITE item + evidence). The report SR keeps its own copy of the regions for the round trip.

Coordinates are the model's: (column, row) with (0, 0) the top-left corner of the top-left pixel (stack-notes).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import highdicom as hd
import numpy as np
from highdicom.sr import CodedConcept
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes as dcm_codes
from pydicom.uid import generate_uid

from hsg_workstation.measurements import (
    ImageRegion,
    Measurement,
    MeasurementKind,
    RegionType,
    angle_degrees,
    ellipse_area,
    ellipse_axes,
    polygon_area,
)
from hsg_workstation.reporting import codes
from hsg_workstation.reporting.model import HsgReport, ImageLink, Tube
from hsg_workstation.reporting.sr import FINDING_SITES, MANUFACTURER, document_series_uid
from hsg_workstation.reporting.vocabulary import concept

DEFAULT_MEASUREMENT_SR_SERIES_NUMBER = 904


def _links(report: HsgReport) -> Iterator[tuple[str, Any, ImageLink]]:
    """(path, owning part, link) for every image link of a finding, in report order."""
    f = report.findings
    parts: list[tuple[str, Any]] = [("findings.cervix", f.cervix), ("findings.cavity", f.cavity)]
    parts += [(f"findings.filling_defects[{i}]", d) for i, d in enumerate(f.filling_defects)]
    parts += [
        ("findings.adhesions", f.adhesions),
        ("findings.tubes.right", f.tubes.right),
        ("findings.tubes.left", f.tubes.left),
        ("findings.peritoneum", f.peritoneum),
    ]
    for path, part in parts:
        for n, link in enumerate(part.image_links):
            yield f"{path}.image_links[{n}]", part, link


def has_measurement_content(report: HsgReport) -> bool:
    """True when the report has a finding region or a measurement, i.e. a measurement SR would not be empty."""
    return bool(report.measurements) or any(
        report.link_region(link) is not None for _, _, link in _links(report)
    )


def _source(region: ImageRegion, sop_class: str, multi_frame: bool) -> hd.sr.SourceImageForRegion:
    return hd.sr.SourceImageForRegion(
        referenced_sop_class_uid=sop_class,
        referenced_sop_instance_uid=region.sop_instance_uid,
        referenced_frame_numbers=[int(region.frame_number)] if multi_frame else None,
    )


def _region(region: ImageRegion, sop_class: str, multi_frame: bool) -> hd.sr.ImageRegion:
    points = [tuple(map(float, p)) for p in region.points]
    graphic_type = region.region_type.value
    if region.region_type is RegionType.POLYGON:
        points.append(points[0])  # a closed POLYLINE is SR's polygon
        graphic_type = "POLYLINE"
    return hd.sr.ImageRegion(
        graphic_type=graphic_type,
        graphic_data=np.asarray(points, dtype=np.float32),
        source_image=_source(region, sop_class, multi_frame),
        pixel_origin_interpretation="FRAME" if multi_frame else None,
    )


def _measurements(m: Measurement) -> list[hd.sr.Measurement]:
    """TID 300 measurements of one region, computed by the same functions as the viewer's and the PDF's values
    (``hsg_workstation.measurements``): lengths and areas in mm / mm² when calibrated, angles in physical space."""
    pts = tuple((float(x), float(y)) for x, y in m.region.points)
    cal = m.calibration
    length_unit = CodedConcept(cal.unit, "UCUM", "millimeter" if cal.unit == "mm" else "pixel")
    area_unit = (
        CodedConcept("mm2", "UCUM", "square millimeter")
        if cal.unit == "mm"
        else CodedConcept("{pixel}", "UCUM", "pixel")
    )

    def num(concept: CodedConcept, value: float, unit: CodedConcept) -> hd.sr.Measurement:
        return hd.sr.Measurement(name=concept, value=round(value, 3), unit=unit)

    if m.kind is MeasurementKind.LENGTH and len(pts) == 2:
        return [num(codes.LENGTH.code, cal.length(pts[0], pts[1]), length_unit)]
    if m.kind is MeasurementKind.ELLIPSE and len(pts) == 4:
        long_axis, short_axis = ellipse_axes(pts, cal)
        return [
            num(codes.LONG_AXIS.code, long_axis, length_unit),
            num(codes.SHORT_AXIS.code, short_axis, length_unit),
            num(codes.AREA.code, ellipse_area(pts, cal), area_unit),
        ]
    if m.kind is MeasurementKind.POLYGON and len(pts) >= 3:
        return [num(codes.AREA.code, polygon_area(pts, cal), area_unit)]
    if m.kind is MeasurementKind.ANGLE and len(pts) == 3:
        return [num(codes.ANGLE.code, angle_degrees(pts, cal), CodedConcept("deg", "UCUM", "degree"))]
    return []


def _finding_sites(part: Any) -> list[hd.sr.FindingSite]:
    if isinstance(part, Tube):
        left = part.side.value == "left"
        site = (codes.LEFT_FALLOPIAN_TUBE if left else codes.RIGHT_FALLOPIAN_TUBE).code
        return [
            hd.sr.FindingSite(anatomic_location=site, laterality=(codes.LEFT if left else codes.RIGHT).code)
        ]
    site = FINDING_SITES.get(type(part).__name__)
    return [hd.sr.FindingSite(anatomic_location=site)] if site is not None else []


def measurement_groups(report: HsgReport, sources: Sequence[Dataset]) -> list[Any]:
    """One TID 1410 group per finding region / measurement of the report (empty when there is none)."""
    sop_class = {str(ds.SOPInstanceUID): str(ds.SOPClassUID) for ds in sources}
    multi = {str(ds.SOPInstanceUID): int(getattr(ds, "NumberOfFrames", 1) or 1) > 1 for ds in sources}
    groups: list[Any] = []
    used: set[str] = set()

    def group(
        identifier: str, region: ImageRegion, finding: CodedConcept, sites: list, m: Measurement | None
    ) -> None:
        uid = region.sop_instance_uid
        if uid not in sop_class:
            return  # export checks image references; nothing to draw on here
        groups.append(
            hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(
                    uid=generate_uid(entropy_srcs=[report.report_id, identifier]), identifier=identifier[:64]
                ),
                referenced_region=_region(region, sop_class[uid], multi[uid]),
                finding_type=finding,
                finding_sites=sites or None,
                measurements=_measurements(m) if m is not None else None,
            )
        )

    for path, part, link in _links(report):
        # a link names its measurement by id: the group carries the measurement as it is at export time
        measured = report.link_measurement(link)
        region = report.link_region(link)
        if region is None:
            continue
        label = f"{path}: {link.label}" if link.label else path
        group(label, region, concept(f"type:{type(part).__name__}"), _finding_sites(part), measured)
        if measured is not None:
            used.add(measured.id)
    for n, m in enumerate(report.measurements):
        if m.id in used:
            continue
        label = f"measurements[{n}]: {m.label}" if m.label else f"measurements[{n}]"
        group(label, m.region, concept("type:Measurement"), [], m)
    return groups


def build_measurement_sr(
    report: HsgReport,
    source_datasets: Sequence[Dataset],
    *,
    series_number: int = DEFAULT_MEASUREMENT_SR_SERIES_NUMBER,
    instance_number: int = 1,
    sop_instance_uid: str | None = None,
) -> Dataset | None:
    """The TID 1500 SR of the report's regions and measurements, or None when the report has none."""
    groups = measurement_groups(report, source_datasets)
    if not groups:
        return None
    observer = report.signature.verifying_observer_name or report.author_name or "Unknown"
    content = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_person_context=hd.sr.ObserverContext(
                observer_type=dcm_codes.DCM.Person,
                observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=observer),
            )
        ),
        procedure_reported=codes.HSG_PROCEDURE.code,
        imaging_measurements=groups,
    )
    study = str(source_datasets[0].StudyInstanceUID)
    signed = report.is_signed
    sr = hd.sr.ComprehensiveSR(
        evidence=list(source_datasets),
        content=content[0],
        series_instance_uid=document_series_uid(study, "measurement-sr"),
        series_number=series_number,
        sop_instance_uid=sop_instance_uid or generate_uid(),
        instance_number=instance_number,
        manufacturer=MANUFACTURER,
        is_complete=signed,
        is_final=signed,
        is_verified=signed and bool(report.signature.verifying_observer_name),
        verifying_observer_name=report.signature.verifying_observer_name if signed else None,
        verifying_organization=(report.signature.verifying_organization or "Unknown") if signed else None,
        institution_name=report.identity.institution_name or None,
    )
    sr.SeriesDescription = "HSG measurements (TID 1500)"
    sr.SpecificCharacterSet = "ISO_IR 192"
    sr.CodingSchemeIdentificationSequence = [codes.coding_scheme_identification()]
    return sr
