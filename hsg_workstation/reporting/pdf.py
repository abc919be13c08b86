"""HsgReport → PDF/A-1b (QTextDocument + QPdfWriter, DejaVu fonts embedded).

Why Qt's engine: no extra dependency, Unicode text, embedded fonts and PDF/A-1b output (stack-notes). The
document is HTML built from the report in clinical language, with the schematic (``schematic.py``) and the key
images — their linked regions and measurements burned in — added as image resources, then a separate page of
after-care advice for the patient in plain words.

Pitfall honoured (stack-notes): never ``doc.setPageSize(writer size)`` after ``setResolution`` on a document laid\nout for the screen; the print copy is laid out on the writer itself (``_paginated_like_print``), as ``print_`` does.
This module is the only one outside ``ui/`` allowed to import Qt; it creates an offscreen QGuiApplication
when none exists so the CLI and the benchmark can render without a display.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QPointF, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPagedPaintDevice,
    QPageLayout,
    QPageSize,
    QPainter,
    QPalette,
    QPdfWriter,
    QPen,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)

from hsg_workstation import __version__
from hsg_workstation.dicom_io.orientation import (
    PatientOrientation,
    ap_display_flips,
    describe_display,
    displayed_edges,
    image_point_to_display,
    orientation_of,
)
from hsg_workstation.dicom_io.pixels import render_uint8
from hsg_workstation.measurements import ImageRegion, Measurement, RegionType
from hsg_workstation.reporting import schematic
from hsg_workstation.reporting.model import HsgReport, ImageLink, KeyImage, Tube
from hsg_workstation.reporting.wording import (
    dap_source_words,
    drl_comparison,
    findings_on_image,
    findings_with_links,
    is_analysis_text,
    key_findings,
    patient_age,
    person_name,
    words,
)

ImageSource = Path | str | Dataset
"""A key image's source: a DICOM file path (decoded one frame at a time) or a dataset with pixel data."""

FONT_FAMILY = "DejaVu Sans"
KEY_IMAGE_PX = 420  # longest side of a key image in the PDF (pixels of the embedded image)
KEY_IMAGES_PER_ROW = 4  # four across: a normal HSG's key images take a third of a page, not two pages
KEY_IMAGE_WIDTH = 135
RUNNING_HEADER = "hsg_running_header"  # QTextDocument property: the line printed at the top of every page

AFTERCARE_TEXT = [
    "You may have cramps like period pains. They usually settle within an hour. A simple pain killer such as "
    "paracetamol or ibuprofen can help.",
    "Light spotting or a little bleeding, and a sticky discharge from the contrast fluid, are normal for a few days.",
    "Please contact a doctor straight away if you get a fever, a foul-smelling discharge, heavy bleeding or "
    "bleeding that goes on for more than a few days, or pain that gets worse instead of better.",
    "Infection after this test is rare: it happens in about 1 in 100 women (about 1 %).",
    "You can go back to your normal activities today. Your doctor will discuss the results with you.",
]

_app: Any = None


def _orientations(flip_h: bool, flip_v: bool) -> Qt.Orientation:
    """QImage.flipped's argument (mirrored(bool, bool) is deprecated in Qt 6.9)."""
    o = Qt.Orientation(0)
    if flip_h:
        o |= Qt.Orientation.Horizontal
    if flip_v:
        o |= Qt.Orientation.Vertical
    return o


def ensure_gui_app() -> QGuiApplication:
    """The running Qt application, or a new offscreen one (fonts and QImage painting need it).

    A QApplication (a QGuiApplication subclass) is created when QtWidgets is installed: Qt allows one
    application object per process, and a bare QGuiApplication made here would break any widget created later
    in the same process (the GUI, pytest-qt's ``qapp`` in a full test run).
    """
    global _app
    app = QGuiApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        try:
            from PySide6.QtWidgets import QApplication

            _app = QApplication(["hsg-workstation-pdf"])
        except ImportError:  # pragma: no cover - QtGui-only installs
            _app = QGuiApplication(["hsg-workstation-pdf"])
        app = _app
    return app  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------------------------
# Clinical wording
# ------------------------------------------------------------------------------------------------------------


def _e(text: Any) -> str:
    return html.escape(words(text) if not isinstance(text, str) else text)


def _rows(pairs: list[tuple[str, Any]], unit: dict[str, str] | None = None) -> str:
    """Two-column table of the filled fields only (an empty form line says nothing)."""
    out = []
    for label, value in pairs:
        if value is None or value == "" or value == []:
            continue
        text = words(value)
        if unit and label in unit:
            text += f" {unit[label]}"
        out.append((html.escape(label), html.escape(text)))
    if not out:
        return "<p class='none'>Not recorded.</p>"
    if len(out) <= 4 or any(len(t) > 38 for _l, t in out):
        rows = "".join(f"<tr><td class='k'>{k}</td><td>{v}</td></tr>" for k, v in out)
        return f"<table class='kv'>{rows}</table>"
    # short values side by side in two pairs of columns: half the height (a normal HSG fits on two pages)
    half = (len(out) + 1) // 2
    rows = []
    for i in range(half):
        left = out[i]
        right = out[half + i] if half + i < len(out) else ("", "")
        rows.append(
            f"<tr><td class='k2'>{left[0]}</td><td class='v2'>{left[1]}</td>"
            f"<td class='k2'>{right[0]}</td><td class='v2'>{right[1]}</td></tr>"
        )
    return f"<table class='kv' width='100%'>{''.join(rows)}</table>"


# ------------------------------------------------------------------------------------------------------------
# Key images with annotations burned in
# ------------------------------------------------------------------------------------------------------------


def _frame_uint8(source: ImageSource, frame_number: int) -> np.ndarray:
    """One frame as uint8 (grey or RGB) with the file's default window; frame_number is 1-based.

    A file goes through the viewer's own pixel pipeline (``dicom_io.pixels.render_uint8``: modality LUT, VOI
    window or LUT, MONOCHROME1), so the PDF shows what the reader saw. An in-memory dataset (tests, callers that
    hold one) gets the first window of its header applied here."""
    index = frame_number - 1
    if isinstance(source, Path | str):
        return np.ascontiguousarray(render_uint8(source, index))
    arr = source.pixel_array
    if int(getattr(source, "NumberOfFrames", 1) or 1) > 1:
        arr = arr[index]
    arr = arr.astype(np.float32)
    if arr.ndim == 3:
        return np.ascontiguousarray(np.clip(arr, 0, 255).astype(np.uint8))
    lo, hi = float(arr.min()), float(arr.max())
    if "WindowCenter" in source and "WindowWidth" in source:
        c = float(np.atleast_1d(source.WindowCenter)[0])
        w = float(np.atleast_1d(source.WindowWidth)[0])
        lo, hi = c - w / 2, c + w / 2
    out = np.clip((arr - lo) / max(hi - lo, 1e-6) * 255.0, 0, 255).astype(np.uint8)
    if str(getattr(source, "PhotometricInterpretation", "")) == "MONOCHROME1":
        out = 255 - out
    return np.ascontiguousarray(out)


def _to_qimage(arr: np.ndarray) -> QImage:
    h, w = arr.shape[:2]
    if arr.ndim == 2:
        img = QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        rgb = np.ascontiguousarray(arr[..., :3])
        img = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return img.convertToFormat(QImage.Format.Format_RGB32)  # deep copy, and colour annotations


def annotations_for(report: HsgReport, uid: str, frame: int) -> list[tuple[ImageRegion, str]]:
    """Every region of the report on this frame, with its label: image links, their measurements, and the
    report's measurement list (each region once)."""
    found: list[tuple[ImageRegion, str]] = []
    seen: set[tuple] = set()

    def add(region: ImageRegion | None, label: str) -> None:
        if region is None or region.sop_instance_uid != uid or int(region.frame_number) != frame:
            return
        key = (region.region_type, tuple(map(tuple, region.points)))
        if key in seen:
            return
        seen.add(key)
        found.append((region, label))

    def add_measurement(m: Measurement | None) -> None:
        if m is None:
            return
        label = m.label
        if m.kind.value == "length" and len(m.region.points) == 2:
            length = m.calibration.length(tuple(m.region.points[0]), tuple(m.region.points[1]))
            label = f"{m.label} {length:.1f} {m.calibration.unit.strip('{}')}".strip()
        add(m.region, label)

    for name, _phrase, link in findings_with_links(report):
        # the finding's name, or the reader's own label — never an accepted suggestion's text
        label = link.label if link.label and not is_analysis_text(link.label) else name
        add(report.link_region(link), label)  # a measurement's region as it is now (linked by id)
        add_measurement(report.link_measurement(link))
    for m in report.measurements:
        add_measurement(m)
    return found


def _all_image_links(report: HsgReport) -> list[ImageLink]:
    f = report.findings
    links = list(f.cervix.image_links) + list(f.cavity.image_links) + list(f.adhesions.image_links)
    for d in f.filling_defects:
        links.extend(d.image_links)
    for t in f.tubes:
        links.extend(t.image_links)
    links.extend(f.peritoneum.image_links)
    return links


def _draw_region(p: QPainter, region: ImageRegion, label: str, scale: float) -> None:
    pts = [QPointF(x * scale, y * scale) for x, y in region.points]
    if region.region_type is RegionType.POINT and pts:
        c = pts[0]
        p.drawLine(QPointF(c.x() - 8, c.y()), QPointF(c.x() + 8, c.y()))
        p.drawLine(QPointF(c.x(), c.y() - 8), QPointF(c.x(), c.y() + 8))
    elif region.region_type is RegionType.ELLIPSE and len(pts) == 4:
        a0, a1, b0, b1 = pts
        centre = QPointF((a0.x() + a1.x()) / 2, (a0.y() + a1.y()) / 2)
        rx = math.hypot(a1.x() - a0.x(), a1.y() - a0.y()) / 2
        ry = math.hypot(b1.x() - b0.x(), b1.y() - b0.y()) / 2
        angle = math.degrees(math.atan2(a1.y() - a0.y(), a1.x() - a0.x()))
        p.save()
        p.translate(centre)
        p.rotate(angle)
        p.drawEllipse(QPointF(0, 0), rx, ry)
        p.restore()
    elif len(pts) >= 2:
        for a, b in zip(pts, pts[1:], strict=False):
            p.drawLine(a, b)
        if region.region_type is RegionType.POLYGON:
            p.drawLine(pts[-1], pts[0])
    if label and pts:
        anchor = max(pts, key=lambda q: q.x())
        at = QPointF(anchor.x() + 6, anchor.y() - 6)
        pen = p.pen()
        p.setPen(
            QColor(0, 0, 0, 220)
        )  # dark halo: the label stays legible on bright, contrast-free background
        for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            p.drawText(at + QPointF(dx, dy), label)
        p.setPen(pen)
        p.drawText(at, label)


def _source_header(source: ImageSource) -> Dataset:
    """The header of a key image's source (an empty dataset when unreadable: captions never fail the PDF)."""
    if isinstance(source, Dataset):
        return source
    try:
        return dcmread(source, stop_before_pixels=True)
    except Exception:  # noqa: BLE001
        return Dataset()


def key_image_flips(source: ImageSource) -> tuple[PatientOrientation | None, bool, bool]:
    """(orientation, flip_h, flip_v) the key image is printed with: the AP convention, as the viewer shows it."""
    orientation = orientation_of(_source_header(source))
    return (orientation, *ap_display_flips(orientation))


def _burn_orientation(
    p: QPainter, img: QImage, orientation: PatientOrientation | None, flipped: bool
) -> None:
    """Patient-direction letters at the edge middles (white on a dark plate), 'Orientation unknown' without
    Patient Orientation, and 'Flipped for display' when the stored image was mirrored for printing."""
    w, h = img.width(), img.height()
    p.setFont(QFont(FONT_FAMILY, 13, QFont.Weight.Bold))

    def plate(text: str, rect: QRectF, align: Qt.AlignmentFlag) -> None:
        p.fillRect(rect, QColor(0, 0, 0, 170))
        p.setPen(QColor(255, 255, 255))
        p.drawText(rect, align, text)

    c = Qt.AlignmentFlag.AlignCenter
    if orientation is None:
        p.setFont(QFont(FONT_FAMILY, 10, QFont.Weight.Bold))
        plate("Orientation unknown", QRectF(4, h - 24, 170, 20), c)
        return
    flip_h, flip_v = ap_display_flips(orientation)
    shown = displayed_edges(orientation, 0, flip_h, flip_v) or {}
    size = 24
    plate(shown["left"], QRectF(2, h / 2 - size / 2, size + 6 * (len(shown["left"]) - 1), size), c)
    rw = size + 6 * (len(shown["right"]) - 1)
    plate(shown["right"], QRectF(w - rw - 2, h / 2 - size / 2, rw, size), c)
    plate(shown["top"], QRectF(w / 2 - size / 2, 2, size, size), c)
    plate(shown["bottom"], QRectF(w / 2 - size / 2, h - size - 2, size, size), c)
    if flipped:
        p.setFont(QFont(FONT_FAMILY, 9, QFont.Weight.Bold))
        text = "Flipped for display"  # the caption names the stored orientation
        tw = p.fontMetrics().horizontalAdvance(text) + 10
        plate(text, QRectF(4, h - 22, tw, 18), c)


def key_image_qimage(report: HsgReport, key: KeyImage, source: ImageSource) -> QImage:
    """The key frame scaled to at most KEY_IMAGE_PX with the report's regions on it burned in (yellow), shown
    in the AP convention (patient's left on the image's right: an image stored otherwise is mirrored, its
    regions with it, so they stay on the anatomy) with the patient-direction letters burned in."""
    ensure_gui_app()
    img = _to_qimage(_frame_uint8(source, int(key.frame_number)))
    orientation, flip_h, flip_v = key_image_flips(source)
    size = (img.width(), img.height())
    if flip_h or flip_v:
        img = img.flipped(_orientations(flip_h, flip_v))
    scale = KEY_IMAGE_PX / max(img.width(), img.height())
    img = img.scaled(
        round(img.width() * scale),
        round(img.height() * scale),
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(QColor(255, 220, 0), 2)
    p.setPen(pen)
    p.setFont(QFont(FONT_FAMILY, 11, QFont.Weight.Bold))
    for region, label in annotations_for(report, key.sop_instance_uid, int(key.frame_number)):
        if flip_h or flip_v:
            points = tuple(image_point_to_display(tuple(pt), size, flip_h, flip_v) for pt in region.points)
            region = ImageRegion(region.sop_instance_uid, region.frame_number, region.region_type, points)
        _draw_region(p, region, label, scale)
    _burn_orientation(p, img, orientation, flip_h or flip_v)
    p.end()
    return img


# ------------------------------------------------------------------------------------------------------------
# Document
# ------------------------------------------------------------------------------------------------------------

_CSS = """
body { font-size: 9pt; }
h1 { font-size: 15pt; margin: 0; }
h2 { font-size: 11pt; margin-top: 10px; margin-bottom: 3px; color: #1a3d6d; border-bottom: 1px solid #1a3d6d; }
h3 { font-size: 9.5pt; margin-top: 6px; margin-bottom: 2px; }
table.kv td { padding: 1px 6px 1px 0; }
td.k { color: #444; width: 38%; }
td.k2 { color: #444; width: 22%; }
td.v2 { width: 28%; }
table.grid { border-collapse: collapse; }
table.grid th { background: #e6ecf5; border: 1px solid #999; padding: 2px 4px; text-align: left; }
table.grid td { border: 1px solid #999; padding: 2px 4px; }
p.none { color: #777; }
.imp { font-size: 10pt; }
.draft { color: #b00000; font-weight: bold; }
.small { font-size: 7.5pt; color: #555; }
"""


def _header(r: HsgReport) -> str:
    i = r.identity
    inst = html.escape(i.institution_name or "—")
    addr = html.escape(i.institution_address) if i.institution_address else ""
    status = (
        f"<span class='draft'>{html.escape(_status_line(r))}</span>"
        if not r.is_signed or r.predecessor is not None
        else html.escape(_status_line(r))
    )
    age = patient_age(i.patient_birth_date, i.study_date)
    return (
        "<h1>Hysterosalpingography (HSG) report</h1>"
        f"<table width='100%'><tr><td>{inst}{'<br/>' + addr if addr else ''}</td>"
        f"<td align='right'>{status}</td></tr></table>"
        "<table class='kv' width='100%'><tr>"
        f"<td class='k'>Patient</td><td>{html.escape(person_name(i.patient_name))}</td>"
        f"<td class='k'>Patient ID</td><td>{html.escape(i.patient_id or '—')}</td></tr><tr>"
        f"<td class='k'>Date of birth</td><td>{_e(i.patient_birth_date)}"
        f"{f' (age {html.escape(age)})' if age else ''}</td>"
        f"<td class='k'>Sex</td><td>{_e(i.patient_sex)}</td></tr><tr>"
        f"<td class='k'>Study date</td><td>{_e(i.study_date)} {_e(i.study_time) if i.study_time else ''}</td>"
        f"<td class='k'>Accession</td><td>{html.escape(i.accession_number or '—')}</td></tr><tr>"
        f"<td class='k'>Study</td><td>{html.escape(i.study_description or '—')}</td>"
        f"<td class='k'>Referring physician</td><td>{html.escape(person_name(i.referring_physician_name))}</td></tr>"
        "</table>"
    )


def _clinical(r: HsgReport) -> str:
    c, s = r.clinical, r.safety
    indications = words(c.indications)
    if c.indication_other:
        indications += f" ({c.indication_other})"
    obstetric = None
    if any(v is not None for v in (c.gravidity, c.parity, c.miscarriages, c.ectopics)):
        obstetric = f"G{c.gravidity or 0} P{c.parity or 0}, miscarriages {c.miscarriages or 0}, ectopic {c.ectopics or 0}"
    clinical = _rows(
        [
            ("Indication", indications if c.indications else ""),
            (
                "Duration of infertility",
                f"{c.infertility_duration_months} months" if c.infertility_duration_months else "",
            ),
            ("Obstetric history", obstetric),
            ("Risk history", c.risk_history),
            (
                "Prior imaging",
                f"{c.prior_imaging} {words(c.prior_imaging_date) if c.prior_imaging_date else ''}".strip(),
            ),
            ("Comparison", c.comparison),
            ("Notes", c.notes),
        ]
    )
    safety = _rows(
        [
            ("Last menstrual period", "unknown" if s.lmp_unknown else s.lmp_date),
            ("Cycle day", r.effective_cycle_day()),
            ("Cycle pattern", s.cycle_pattern),
            ("Bleeding on the day", s.menstrual_bleeding_today),
            (
                "Pregnancy test",
                f"{words(s.pregnancy_test)} {words(s.pregnancy_test_datetime) if s.pregnancy_test_datetime else ''}".strip()
                if s.pregnancy_test
                else "",
            ),
            ("Pregnancy status", s.pregnancy_status),
            ("Contraindication screen", s.contraindications),
            ("Override note", s.contraindication_override_note),
            (
                "Antibiotic prophylaxis",
                f"{words(s.antibiotic_prophylaxis)} {s.antibiotic_details}".strip()
                if s.antibiotic_prophylaxis
                else "",
            ),
            ("Premedication", s.premedication),
            ("Consent obtained", s.consent),
        ]
    )
    return f"<h2>Clinical information</h2>{clinical}<h2>Pre-procedure safety checks</h2>{safety}"


def _technique(r: HsgReport) -> str:
    t, d = r.technique, r.dose
    catheter = words(t.catheter_type) + (f" ({t.catheter_other})" if t.catheter_other else "")
    balloon = ""
    if t.balloon_position is not None:
        balloon = words(t.balloon_position) + (f", {t.balloon_volume_ml:g} mL" if t.balloon_volume_ml else "")
    contrast = ""
    if t.contrast_type is not None:
        contrast = words(t.contrast_type)
        if t.contrast_product:
            contrast += f", {t.contrast_product}"
        if t.contrast_concentration_mgi_ml:
            contrast += f" {t.contrast_concentration_mgi_ml:g} mgI/mL"
    quality = words(t.study_quality) if t.study_quality else ""
    if t.limitation_reasons:
        quality += f" — limited by {words(t.limitation_reasons)}" + (
            f" ({t.limitation_other})" if t.limitation_other else ""
        )
    technique = _rows(
        [
            ("Catheter", catheter if t.catheter_type else ""),
            ("Balloon", balloon),
            ("Contrast", contrast),
            ("Contrast volume", f"{t.contrast_volume_ml:g} mL" if t.contrast_volume_ml is not None else ""),
            ("Views", t.views),
            (
                "Selective salpingography",
                f"{words(t.selective_salpingography)} {t.selective_salpingography_result}".strip()
                if t.selective_salpingography
                else "",
            ),
            ("Study quality", quality),
        ]
    )
    dap = ""
    if d.dap_total_gy_cm2 is not None:
        dap = f"{d.dap_total_gy_cm2:.3g} Gy·cm²"
        if d.dap_source_value is not None and d.dap_source_unit is not None:
            unit = d.dap_source_unit.value.replace(".", "·").replace("cm2", "cm²").replace("m2", "m²")
            dap += f" (recorded {d.dap_source_value:g} {unit}; {dap_source_words(d.dap_source)})"
    dose = _rows(
        [
            ("Dose-area product", dap),
            ("Fluoroscopy time", f"{d.fluoroscopy_time_s:g} s" if d.fluoroscopy_time_s is not None else ""),
            ("Radiographs", d.radiographic_images),
            ("Entrance dose", f"{d.entrance_dose_mgy:g} mGy" if d.entrance_dose_mgy is not None else ""),
            ("Reference level", drl_comparison(d.dap_total_gy_cm2, d.fluoroscopy_time_s)),
            ("Dose review", d.dose_review_reason),
        ]
    )
    return f"<h2>Technique</h2>{technique}<h2>Radiation dose</h2>{dose}"


def _mm(v: float | None) -> str:
    return f"{v:g} mm" if v is not None else ""


def _tube_cell(t: Tube, attr: str) -> str:
    v = getattr(t, attr)
    if attr == "hydrosalpinx":
        if v is None:
            return "—"
        text = words(v)
        if v and t.hydrosalpinx_diameter_mm:
            text += f", {t.hydrosalpinx_diameter_mm:g} mm"
        if v and t.hydrosalpinx_grade:
            text += f", {words(t.hydrosalpinx_grade)}"
        return text
    return words(v)


def _findings(r: HsgReport, schematic_url: str) -> str:
    f = r.findings
    cx, cav = f.cervix, f.cavity
    parts = ["<h2>Findings</h2>", f"<p align='center'><img src='{schematic_url}' width='210'/></p>"]
    parts.append("<h3>Cervix and cervical canal</h3>")
    parts.append(
        _rows(
            [
                ("Cervical canal", cx.cervical_canal),
                ("ESHRE/ESGE cervix", cx.eshre_cervix),
                ("ESHRE/ESGE vagina", cx.eshre_vagina if cx.eshre_vagina.value != "not_assessed" else ""),
                ("Note", cx.note),
            ]
        )
    )
    parts.append("<h3>Uterine cavity</h3>")
    parts.append(
        _rows(
            [
                ("Opacification", cav.opacified),
                ("Size", cav.size),
                ("Shape", cav.shape),
                ("Internal indentation depth", _mm(cav.internal_indentation_depth_mm)),
                (
                    "Indentation angle",
                    f"{cav.indentation_angle_deg:g}°" if cav.indentation_angle_deg is not None else "",
                ),
                (
                    "Hemicavity divergence angle",
                    f"{cav.hemicavity_divergence_angle_deg:g}°"
                    if cav.hemicavity_divergence_angle_deg is not None
                    else "",
                ),
                ("Intercornual distance", _mm(cav.intercornual_distance_mm)),
                (
                    "External contour assessed by",
                    cav.external_contour_source
                    if cav.external_contour_source.value != "not_assessed"
                    else "not assessed (HSG alone)",
                ),
                ("External fundal indentation", _mm(cav.external_fundal_indentation_mm)),
                ("ESHRE/ESGE 2013 uterus", cav.eshre_uterus),
                ("ASRM 2021 category", cav.asrm2021_category),
                ("Classification confidence", cav.classification_confidence),
                ("Adenomyosis signs", cav.adenomyosis_signs),
                (
                    "Caesarean niche",
                    f"{words(cav.caesarean_niche)} {_mm(cav.caesarean_niche_depth_mm)}".strip()
                    if cav.caesarean_niche
                    else "",
                ),
                ("Note", cav.note),
            ]
        )
    )
    a = f.adhesions
    if not f.filling_defects and not a.present:
        # one line instead of two headed sections saying "none" (a normal HSG fits on two pages)
        adhesions = "none" if a.present is False else "not assessed"
        parts.append(f"<p><b>Filling defects:</b> none. <b>Intrauterine adhesions:</b> {adhesions}.</p>")
    else:
        parts.append("<h3>Filling defects</h3>")
    if f.filling_defects:
        head = "".join(
            f"<th>{h}</th>"
            for h in ("#", "Location", "Size", "Count", "Contour", "Behaviour", "Suspected nature", "Note")
        )
        rows = []
        for n, d in enumerate(f.filling_defects, 1):
            cells = [
                str(n),
                words(d.location),
                _mm(d.size_mm) or "—",
                str(d.count),
                words(d.contour),
                words(d.behaviour),
                words(d.suspected_nature),
                d.note or "",
            ]
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        parts.append(f"<table class='grid' width='100%'><tr>{head}</tr>{''.join(rows)}</table>")
    elif a.present:
        parts.append("<p>No filling defect.</p>")
    if a.present:
        parts.append("<h3>Intrauterine adhesions</h3>")
        afs = (
            f"score {a.afs_score}, stage {a.afs_stage.value}"
            if a.afs_score is not None and a.afs_stage
            else "incomplete"
        )
        parts.append(
            _rows(
                [
                    ("Present", True),
                    (
                        "AFS 1988 extent / type / menses",
                        f"{words(a.afs_extent)} / {words(a.afs_type)} / {words(a.afs_menstrual_pattern)}",
                    ),
                    ("AFS 1988", afs),
                    ("March (HSG-estimated)", a.march),
                    ("ESH/ESGE", a.esh_esge),
                    ("Note", a.note),
                ]
            )
        )
    elif f.filling_defects:
        parts.append(
            "<p><b>Intrauterine adhesions:</b> "
            + ("none." if a.present is False else "not assessed.")
            + "</p>"
        )
    parts.append("<h3>Fallopian tubes</h3>")
    right, left = f.tubes.right, f.tubes.left
    tube_rows = [
        ("Status", "status"),
        ("Filled to", "opacified_to"),
        ("Patency", "patency"),
        ("Occlusion level", "occlusion_level"),
        ("Proximal spasm", "proximal_spasm"),
        ("Spill", "spill"),
        ("Calibre", "calibre"),
        ("Hydrosalpinx", "hydrosalpinx"),
        ("Mucosal folds", "mucosal_folds"),
        ("Wall pattern", "wall_pattern"),
        ("Peritubal adhesion signs", "peritubal_adhesion_signs"),
        ("Patency note", "patency_note"),
        ("Note", "note"),
    ]
    rows = []
    for label, attr in tube_rows:
        if getattr(right, attr) in (None, "", []) and getattr(left, attr) in (None, "", []):
            continue
        rows.append(
            f"<tr><td class='k'>{label}</td><td>{html.escape(_tube_cell(right, attr))}</td>"
            f"<td>{html.escape(_tube_cell(left, attr))}</td></tr>"
        )
    parts.append(
        "<table class='grid' width='100%'><tr><th width='24%'></th><th width='38%'>Right tube</th>"
        "<th width='38%'>Left tube</th></tr>" + "".join(rows) + "</table>"
    )
    pe = f.peritoneum
    parts.append("<h3>Peritoneum and intravasation</h3>")
    parts.append(
        _rows(
            [
                ("Peritoneal spill", pe.peritoneal_spill_overall),
                ("Spill judged on", pe.spill_assessed_on),
                ("Intravasation", pe.intravasation),
                ("Intravasation extent", pe.intravasation_extent),
                ("Action taken", pe.intravasation_action),
                ("Note", pe.note),
                ("Other findings", f.other),
            ]
        )
    )
    parts.append(_measurements_table(r))
    return "".join(parts)


def measurement_value(m: Measurement) -> str:
    """A measurement's value in words: length, angle, ellipse axes (calibrated mm or pixels)."""
    pts = [tuple(map(float, p)) for p in m.region.points]
    cal = m.calibration
    unit = cal.unit.strip("{}")
    if m.kind.value == "length" and len(pts) == 2:
        return f"{cal.length(pts[0], pts[1]):.1f} {unit}"
    if m.kind.value == "angle" and len(pts) == 3:
        # in physical space, as the viewer measures it: anisotropic pixels (0.2 × 0.1 mm) change angles
        a, b, c = pts
        cs = (cal.column_spacing_mm or 1.0) if cal.is_calibrated else 1.0
        rs = (cal.row_spacing_mm or 1.0) if cal.is_calibrated else 1.0
        v1 = ((a[0] - b[0]) * cs, (a[1] - b[1]) * rs)
        v2 = ((c[0] - b[0]) * cs, (c[1] - b[1]) * rs)
        ang = math.degrees(math.atan2(v1[0] * v2[1] - v1[1] * v2[0], v1[0] * v2[0] + v1[1] * v2[1]))
        return f"{abs(ang):.0f}°"
    if m.kind.value == "ellipse" and len(pts) == 4:
        return f"{cal.length(pts[0], pts[1]):.1f} × {cal.length(pts[2], pts[3]):.1f} {unit}"
    return "—"


def _measurements_table(r: HsgReport) -> str:
    """Every measurement with its value and calibration basis (how pixels became millimetres)."""
    seen: dict[str, Measurement] = {}
    linked = [r.link_measurement(link) for link in _all_image_links(r)]
    for m in list(r.measurements) + [m for m in linked if m is not None]:
        seen.setdefault(m.id, m)
    if not seen:
        return ""
    # a measurement a finding links to is named by that finding ("Left tube: ellipse"), as on the key images
    finding_of: dict[str, str] = {}
    for name, _phrase, link in findings_with_links(r):
        linked_m = r.link_measurement(link)
        if linked_m is not None:
            finding_of.setdefault(linked_m.id, name)
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(c)}</td>"
            for c in (
                ": ".join(x for x in (finding_of.get(m.id, ""), m.label or words(m.kind)) if x),
                measurement_value(m),
                f"frame {m.region.frame_number}",
                m.calibration.basis.value,
            )
        )
        + "</tr>"
        for m in seen.values()
    )
    head = "".join(f"<th>{h}</th>" for h in ("Measurement", "Value", "Image", "Calibration"))
    return f"<h3>Measurements</h3><table class='grid' width='100%'><tr>{head}</tr>{rows}</table>"


def _status_line(r: HsgReport) -> str:
    """The banner every page repeats: DRAFT / AMENDED / signed."""
    if not r.is_signed:
        return "DRAFT — not signed, not valid for clinical use"
    signed = f"Signed {words(r.signature.verification_datetime)}"
    return f"AMENDED REPORT — {signed}" if r.predecessor is not None else signed


def _summary(r: HsgReport) -> str:
    """Page 1 after the header: impression, key findings, recommendations, signature — what the referrer reads."""
    parts = ["<h2>Impression</h2>"]
    if r.impression.sentences:
        items = "".join(f"<li>{html.escape(s.text)}</li>" for s in r.impression.sentences)
        parts.append(f"<ol class='imp'>{items}</ol>")
    else:
        parts.append("<p class='draft'>No impression recorded — this report cannot be signed.</p>")
    if r.critical_result.flagged:
        cr = r.critical_result
        parts.append(
            f"<p><b>Critical result:</b> {html.escape(cr.reason)}; communicated to "
            f"{html.escape(cr.communicated_to or '—')} by {html.escape(cr.communicated_by or '—')} "
            f"{html.escape(words(cr.communicated_at)) if cr.communicated_at else ''} {html.escape(cr.method)}</p>"
        )
    parts.append("<h2>Key findings</h2>")
    parts.append(_rows(key_findings(r)))
    if r.recommendations:
        parts.append("<h2>Recommendations</h2>")
        parts.append("<ul>" + "".join(f"<li>{html.escape(x.text)}</li>" for x in r.recommendations) + "</ul>")
    parts.append("<h2>Signature</h2>")
    if r.is_signed:
        sig = r.signature
        org = f", {html.escape(sig.verifying_organization)}" if sig.verifying_organization else ""
        parts.append(
            f"<p>Electronically signed by <b>{html.escape(person_name(sig.verifying_observer_name))}</b>{org} "
            f"on {html.escape(words(sig.verification_datetime))} (UTC).</p>"
        )
    else:
        parts.append(
            "<p class='draft'>DRAFT — this report has not been signed and is not valid for clinical use.</p>"
        )
    if r.author_name:
        parts.append(f"<p class='small'>Reported by {html.escape(person_name(r.author_name))}.</p>")
    if r.predecessor is not None:
        reason = r.predecessor.reason.strip()
        said = f": {html.escape(reason)}" if reason else " (no reason was given)"
        parts.append(f"<p><b>Amended report</b> — replaces the earlier report{said}.</p>")
    return "".join(parts)


def _rest(r: HsgReport, key_urls: list[tuple[str, KeyImage, str]]) -> str:
    c = r.complications
    parts = ["<h2>Complications and tolerance</h2>"]
    parts.append(
        _rows(
            [
                ("Complications", c.complications),
                ("Pain score (0–10)", c.pain_score),
                ("Note", c.note),
                ("Infection follow-up", c.infection_followup),
            ]
        )
    )
    if r.acknowledgements:
        acks = "; ".join(f"{a.rule_id} ({a.reason}, {person_name(a.who)})" for a in r.acknowledgements)
        parts.append(f"<p class='small'>Warnings acknowledged by the reader: {html.escape(acks)}</p>")
    parts.append(
        f"<p class='small'>Report {html.escape(r.report_id)} · HSG workstation {__version__} · "
        "Classifications: ESHRE/ESGE 2013, ASRM 2021, AFS 1988.</p>"
    )
    if key_urls:
        # One table per row: keep_headings_with_content moves a whole row (image + caption) to the next page
        # instead of printing an image on one page and its caption on the next.
        parts.append("<h2>Key images</h2>")
        per_row = KEY_IMAGES_PER_ROW
        for n, (url, _key, caption) in enumerate(key_urls):
            if n % per_row == 0:
                parts.append("<table width='100%'><tr>")
            parts.append(
                f"<td align='center' valign='top' width='{100 // per_row}%'><img src='{url}' width='{KEY_IMAGE_WIDTH}'/><br/>"
                f"<span class='small'>{html.escape(caption)}</span></td>"
            )
            if n % per_row == per_row - 1 or n == len(key_urls) - 1:
                parts.append("</tr></table>")
    return "".join(parts)


def _aftercare(r: HsgReport) -> str:
    items = "".join(f"<li style='margin-bottom:8px'>{html.escape(t)}</li>" for t in AFTERCARE_TEXT)
    inst = html.escape(r.identity.institution_name or "the department")
    return (
        "<div style='page-break-before: always'>"
        "<h1>After your HSG (X-ray test of the womb and tubes)</h1>"
        f"<p>Information for {html.escape(person_name(r.identity.patient_name))}</p>"
        f"<ul style='font-size:11pt'>{items}</ul>"
        f"<p style='font-size:11pt'>If you are worried, call your doctor or {inst}.</p></div>"
    )


def _key_image_caption(n: int, key: KeyImage, source: ImageSource, report: HsgReport | None = None) -> str:
    """'Image 2: RF series 2 (fill sequence), frame 17 — Left tube: patent, free spill (orientation)'.

    What the image shows comes from the report's recorded findings linked to that frame; the key image's note
    is added only when it is the reader's own words (an accepted suggestion's text — 'confidence 0.95',
    'candidate' — is never printed as a caption)."""
    header = _source_header(source)
    desc = str(getattr(header, "SeriesDescription", "") or "")
    if not desc and getattr(header, "SeriesNumber", None) not in (None, ""):
        desc = f"{getattr(header, 'Modality', '')} series {header.SeriesNumber}".strip()
    orientation = orientation_of(header)
    flips = ap_display_flips(orientation)
    text = f"Image {n}: {desc + ', ' if desc else ''}frame {key.frame_number}"
    shown = findings_on_image(report, key.sop_instance_uid, int(key.frame_number)) if report else []
    if key.note and not is_analysis_text(key.note):
        shown.append(key.note)
    if shown:
        text += " — " + "; ".join(shown)
    return text + f" ({describe_display(orientation, *flips)})"


def _text_font(points: int) -> QFont:
    """DejaVu without ligatures: 'fi' must stay two letters so search and pdftotext find 'fimbrial'."""
    font = QFont(FONT_FAMILY, points)
    for tag in ("liga", "clig", "dlig"):
        font.setFeature(QFont.Tag(tag), 0)
    return font


def build_document(report: HsgReport, images: Mapping[str, ImageSource] | None = None) -> QTextDocument:
    """The laid-out QTextDocument (exposed so the GUI can preview it without writing a file)."""
    ensure_gui_app()
    images = images or {}
    doc = QTextDocument()
    doc.setDefaultFont(_text_font(9))
    doc.setDefaultStyleSheet(_CSS)
    doc.addResource(
        QTextDocument.ResourceType.ImageResource, QUrl("img://schematic"), schematic.draw_schematic(report)
    )
    key_urls: list[tuple[str, KeyImage, str]] = []
    for n, key in enumerate(report.key_images, 1):
        source = images.get(key.sop_instance_uid)
        if source is None:
            raise ValueError(
                f"key image {key.sop_instance_uid} frame {key.frame_number}: image not found in the study"
            )
        url = f"img://key{n}"
        doc.addResource(
            QTextDocument.ResourceType.ImageResource, QUrl(url), key_image_qimage(report, key, source)
        )
        key_urls.append((url, key, _key_image_caption(n, key, source, report)))
    body = _header(report) + _summary(report) + _clinical(report) + _technique(report)
    body += _findings(report, "img://schematic") + _rest(report, key_urls) + _aftercare(report)
    doc.setHtml(f"<html><body>{body}</body></html>")
    i = report.identity
    doc.setProperty(
        RUNNING_HEADER,
        f"{_status_line(report)}  ·  HSG report  ·  {person_name(i.patient_name)}  ·  ID {i.patient_id or '—'}",
    )
    return doc


_PRINT_MARGIN = int(2 / 2.54 * 96)  # QTextDocument.print_'s 2 cm root-frame margin, in 96-dpi layout units


def _paginated_like_print(doc: QTextDocument, writer: QPdfWriter) -> QTextDocument:
    """A clone laid out exactly as ``QTextDocument.print_`` lays out an unpaginated document: on the writer as
    paint device, 2 cm root-frame margins in 96-dpi units (scaled by the layout), page = the writer's page."""
    clone = doc.clone()
    clone.documentLayout().setPaintDevice(writer)
    fmt = clone.rootFrame().frameFormat()
    fmt.setMargin(_PRINT_MARGIN)
    clone.rootFrame().setFrameFormat(fmt)
    clone.setPageSize(QSizeF(writer.width(), writer.height()))
    return clone


def _block_bottom(layout: Any, block: Any) -> float:
    """Bottom of a block's last line in document coordinates (lines pushed to the next page included); a block
    in a table counts as the whole table."""
    table = QTextCursor(block).currentTable()
    if table is not None:
        return layout.frameBoundingRect(table).bottom()
    rect = layout.blockBoundingRect(block)
    lines = block.layout().lineCount()
    if not lines:
        return rect.bottom()
    last = block.layout().lineAt(lines - 1)
    return rect.top() + last.y() + last.height()


def _first_line_bottom(layout: Any, block: Any) -> float:
    first = block.layout().lineAt(0) if block.layout().lineCount() else None
    # Lines that do not fit are moved to the next page inside the block: ask the line, not the block.
    return layout.blockBoundingRect(block).top() + (first.y() + first.height() if first else 0.0)


def _print_pages(doc: QTextDocument, writer: QPdfWriter, running_header: str = "") -> None:
    """Print a document already paginated by ``_paginated_like_print`` page by page, with the page number at
    the foot, as ``QTextDocument.print_`` does (which would lay the whole document out again)."""
    page = doc.pageSize()
    margin = _PRINT_MARGIN * writer.logicalDpiY() / 96
    painter = QPainter(writer)
    try:
        font = QFont(doc.defaultFont())
        for index in range(doc.pageCount()):
            if index:
                writer.newPage()
            view = QRectF(0, index * page.height(), page.width(), page.height())
            painter.save()
            painter.translate(0, -view.top())
            painter.setClipRect(view)
            ctx = QAbstractTextDocumentLayout.PaintContext()
            ctx.clip = view
            ctx.palette.setColor(QPalette.ColorRole.Text, Qt.GlobalColor.black)
            doc.documentLayout().draw(painter, ctx)
            painter.setClipping(False)
            painter.setFont(font)
            number = str(index + 1)
            x = page.width() - margin - painter.fontMetrics().horizontalAdvance(number)
            y = (
                view.top()
                + page.height()
                - margin
                + painter.fontMetrics().ascent()
                + 5 * writer.logicalDpiY() / 72
            )
            painter.drawText(QPointF(x, y), number)
            if running_header:
                # every page says whether this is a draft / an amendment and whose report it is
                small = QFont(font)
                small.setPointSizeF(font.pointSizeF() * 0.85)
                small.setBold(True)
                painter.setFont(small)
                alert = running_header.startswith(("DRAFT", "AMENDED"))
                painter.setPen(QColor(176, 0, 0) if alert else QColor(60, 60, 60))
                top = view.top() + margin - painter.fontMetrics().descent() - 6 * writer.logicalDpiY() / 72
                painter.drawText(QPointF(margin, top), running_header)
                painter.setPen(QColor(0, 0, 0))
            painter.restore()
    finally:
        painter.end()


def keep_headings_with_content(
    doc: QTextDocument, writer: QPdfWriter, laid_out: QTextDocument | None = None
) -> int:
    """Keep each section heading on the page of its content: a short section (under a quarter page: a key/value
    table, the signature block) moves whole to the next page rather than split; a long one at least keeps its
    heading with its first line. Returns the number of page breaks added.

    Why: QTextDocument has no 'keep with next'; a heading stranded at the foot of a page (e.g. 'Findings' with
    the schematic on the next page) reads as an empty section, a signature split from the report id as a
    loose page. The document is laid out as ``print_`` will, and breaks are set top to bottom (each one moves
    what follows, so later headings are measured after it). With ``laid_out`` (from ``_paginated_like_print``)
    the breaks go into that copy only, which is then printed as it is (one layout pass saved); otherwise into
    ``doc`` (and a private copy used for measuring).
    """
    clone = laid_out if laid_out is not None else _paginated_like_print(doc, writer)
    targets = (clone,) if laid_out is not None else (clone, doc)
    layout = clone.documentLayout()
    page_h = clone.pageSize().height()
    gap = 2 * _PRINT_MARGIN * writer.logicalDpiY() / 96  # bottom + top margin skipped at each page end

    def short(top: float, bottom: float) -> bool:
        """Under 30 % of a page once the margins skipped at page ends are taken out."""
        return bottom - top - gap * (int((bottom - 1) // page_h) - int(top // page_h)) < 0.3 * page_h

    added = 0
    block = clone.begin()
    while block.isValid():
        level = block.blockFormat().headingLevel()
        if level in (2, 3) and block.next().isValid():
            head = layout.blockBoundingRect(block).top()
            body = _first_line_bottom(layout, block.next())
            section_end, b = body, block.next()
            while (
                b.isValid() and not b.blockFormat().headingLevel() and not b.blockFormat().pageBreakPolicy()
            ):
                section_end = max(section_end, _block_bottom(layout, b))
                b = b.next()
            if short(head, section_end):
                body = section_end - 1.0
            first_table = QTextCursor(block.next()).currentTable()
            if first_table is not None:
                frame = layout.frameBoundingRect(first_table)
                if short(frame.top(), frame.bottom()):
                    body = max(body, frame.bottom() - 1.0)
            if int(head // page_h) != int(body // page_h):
                for target in targets:
                    cursor = QTextCursor(target.findBlockByNumber(block.blockNumber()))
                    fmt = cursor.blockFormat()
                    fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
                    cursor.setBlockFormat(fmt)
                added += 1
        table = QTextCursor(block).currentTable()
        if table is not None and table.firstCursorPosition().block() == block:
            frame = layout.frameBoundingRect(table)
            if short(frame.top(), frame.bottom()) and int(frame.top() // page_h) != int(
                (frame.bottom() - 1) // page_h
            ):
                for target in targets:
                    same = QTextCursor(target.findBlockByNumber(block.blockNumber())).currentTable()
                    fmt = same.format()
                    fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
                    same.setFormat(fmt)
                added += 1
        block = block.next()
    return added


def document_to_pdf(doc: QTextDocument, title: str = "HSG report") -> bytes:
    """Print a laid-out document as PDF/A-1b on A4 (headings kept with their content, see
    ``keep_headings_with_content``; adds page breaks to ``doc``)."""
    ensure_gui_app()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPdfVersion(QPagedPaintDevice.PdfVersion.PdfVersion_A1b)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait, QMarginsF(15, 15, 15, 15)
        )
    )
    writer.setResolution(300)
    writer.setTitle(title)
    writer.setCreator(f"HSG workstation {__version__}")
    laid_out = _paginated_like_print(doc, writer)
    keep_headings_with_content(doc, writer, laid_out)
    running = doc.property(RUNNING_HEADER)
    _print_pages(laid_out, writer, str(running) if running else "")
    del writer  # finishes the PDF into the buffer
    buffer.close()
    return bytes(data.data())


def render_pdf(
    report: HsgReport,
    images: Mapping[str, ImageSource] | None = None,
    out_path: str | os.PathLike[str] | None = None,
) -> bytes:
    """The report as PDF/A-1b bytes (also written to ``out_path`` when given).

    ``images`` maps SOP Instance UID → file path or dataset for the key images. Raises ValueError naming the
    key image when its source is missing.
    """
    pdf = document_to_pdf(build_document(report, images))
    if out_path is not None:
        Path(out_path).write_bytes(pdf)
    return pdf
