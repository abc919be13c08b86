"""HsgReport → PDF/A-1b (QTextDocument + QPdfWriter, DejaVu fonts embedded).

Why Qt's engine: no extra dependency, Unicode text, embedded fonts and PDF/A-1b output (stack-notes). The
document is HTML built from the report in clinical language (``pdf_html.py``, Qt-free: what the PDF says), with
the schematic (``schematic.py``) and the key images — their linked regions and measurements burned in (here) —
added as image resources, then a separate page of after-care advice for the patient in plain words. This module
is the Qt part: key images, document assembly, pagination, the PDF/A writer.

Pitfall honoured (stack-notes): never ``doc.setPageSize(writer size)`` after ``setResolution`` on a document laid\nout for the screen; the print copy is laid out on the writer itself (``_paginated_like_print``), as ``print_`` does.
This module is the only one outside ``ui/`` allowed to import Qt; it creates an offscreen QGuiApplication
when none exists so the CLI and the benchmark can render without a display.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
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
    displayed_edges,
    image_point_to_display,
    orientation_of,
)
from hsg_workstation.dicom_io.pixels import render_uint8
from hsg_workstation.measurements import ImageRegion, Measurement, RegionType
from hsg_workstation.reporting import schematic
from hsg_workstation.reporting.model import HsgReport, KeyImage
from hsg_workstation.reporting.pdf_html import (
    CSS,
    ImageSource,
    key_image_caption,
    measurement_value,
    report_body_html,
    source_header,
    status_line,
)
from hsg_workstation.reporting.wording import findings_with_links, is_analysis_text, person_name

_key_image_caption = key_image_caption  # old name (tests, GUI)
__all__ = [
    "annotations_for",
    "build_document",
    "document_to_pdf",
    "ensure_gui_app",
    "key_image_qimage",
    "measurement_value",
    "render_pdf",
]

FONT_FAMILY = "DejaVu Sans"
KEY_IMAGE_PX = 420  # longest side of a key image in the PDF (pixels of the embedded image)
RUNNING_HEADER = "hsg_running_header"  # QTextDocument property: the line printed at the top of every page


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


def key_image_flips(source: ImageSource) -> tuple[PatientOrientation | None, bool, bool]:
    """(orientation, flip_h, flip_v) the key image is printed with: the AP convention, as the viewer shows it."""
    orientation = orientation_of(source_header(source))
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
    doc.setDefaultStyleSheet(CSS)
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
        key_urls.append((url, key, key_image_caption(n, key, source, report)))
    body = report_body_html(report, key_urls, "img://schematic")
    doc.setHtml(f"<html><body>{body}</body></html>")
    i = report.identity
    doc.setProperty(
        RUNNING_HEADER,
        f"{status_line(report)}  ·  HSG report  ·  {person_name(i.patient_name)}  ·  ID {i.patient_id or '—'}",
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
