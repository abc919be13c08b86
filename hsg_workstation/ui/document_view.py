"""Readable views of the study's documents (SR, Encapsulated PDF, Key Object Selection) in a viewport.

Why here and not as images: a document display set has no pixels. A reader who clicks the report SR of a prior
study expects to read it, so:
  * an HSG report SR written by this program is rebuilt with ``reporting.sr_import.read_sr`` and laid out
    by the PDF engine's ``build_document`` (the same clinical wording as the signed PDF; key images are listed,
    not drawn — their pixels are in the image series). Any other SR (Basic Text, TID 1500 measurements, dose
    reports, another producer's report) is shown as its content tree in words (``reporting.sr_text``);
  * an Encapsulated PDF is rendered page by page with poppler's ``pdftoppm`` (no QtPdf in PySide6-Essentials), on a
    background job (``ui/workers.py``) so the UI never waits for it;
  * a KO lists the frames it selects (series, frame, patient orientation as displayed) and its title.
Every failure becomes a message that names the file and the reason; nothing here raises into the viewer.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pydicom
from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QSizePolicy, QTextBrowser, QWidget

from hsg_workstation.dicom_io.model import Instance, SopKind
from hsg_workstation.dicom_io.orientation import ap_display_flips, describe_display, orientation_of
from hsg_workstation.ui.workers import JobContext, Workers

PDF_DPI = 80  # readable on screen, ~0.2 s per page here
MAX_PDF_PAGES = 20


def _pre(text: str) -> str:
    return f"<pre style='font-size: 9pt'>{html.escape(text)}</pre>"


def sr_document(path: Path) -> QTextDocument:
    """The report laid out like its PDF, or the content tree in words for any other SR."""
    from hsg_workstation.reporting.integrity import INTEGRITY_KEY
    from hsg_workstation.reporting.model import HsgReport
    from hsg_workstation.reporting.sr_import import SrImportError, read_sr

    doc = QTextDocument()
    try:
        result = read_sr(path)
    except SrImportError as exc:  # not ours, or not readable as ours: still shown, as its content tree
        doc.setHtml(_tree_html(path, str(exc)))
        return doc
    if result.incomplete:
        doc.setHtml(_tree_html(path, "Incomplete HSG report: " + "; ".join(result.warnings)))
        return doc
    from hsg_workstation.reporting.pdf import build_document

    report = result.report
    keys = list(report.key_images)
    # A signed report is locked, so it is not copied and edited: a new (equally locked) one is built from its JSON
    # without the key images — their pixels are in the image series; they are listed below instead.
    # (the display copy is not the signed record: its integrity seal is left out, since it no longer matches)
    data = {**report.to_json(), "key_images": []}
    data.pop(INTEGRITY_KEY, None)
    shown = HsgReport.from_json(data)
    laid_out = build_document(shown)
    if keys:
        items = "".join(
            f"<li>…{html.escape(k.sop_instance_uid[-16:])} frame {k.frame_number}</li>" for k in keys
        )
        cursor = laid_out.rootFrame().lastCursorPosition()
        cursor.insertHtml(f"<h3>Key images ({len(keys)})</h3><ul>{items}</ul>")
    return laid_out


def _tree_html(path: Path, note: str) -> str:
    from hsg_workstation.reporting.sr_text import sr_html

    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:  # noqa: BLE001 - the view shows the reason, never a traceback
        return f"<p>Cannot show {html.escape(path.name)}: {html.escape(str(exc))}</p>"
    return sr_html(ds, note)


def render_pdf_pages(path: Path) -> tuple[str, list[QImage]]:
    """(title, page images) of an Encapsulated PDF via pdftoppm; raises ValueError naming the file and reason.

    Pure work without widgets, so it runs on a worker thread (QImage is safe off the GUI thread)."""
    ds = pydicom.dcmread(path)
    data = bytes(ds.get("EncapsulatedDocument", b""))
    length = ds.get("EncapsulatedDocumentLength")
    if length:
        data = data[: int(length)]
    if not data.startswith(b"%PDF"):
        raise ValueError(f"{path.name}: Encapsulated Document is not a PDF (no %PDF header)")
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise ValueError("PDF pages cannot be shown: poppler's pdftoppm is not installed")
    title = str(ds.get("DocumentTitle", "")) or path.name
    with tempfile.TemporaryDirectory(prefix="hsg-pdf-") as tmp:
        pdf = Path(tmp) / "doc.pdf"
        pdf.write_bytes(data)
        cmd = [exe, "-r", str(PDF_DPI), "-l", str(MAX_PDF_PAGES), "-png", str(pdf), str(Path(tmp) / "p")]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        pages = sorted(Path(tmp).glob("p*.png"))
        if run.returncode != 0 or not pages:
            raise ValueError(f"{path.name}: pdftoppm could not render the PDF: {run.stderr.strip()[:300]}")
        return title, [QImage(str(page)) for page in pages]


def pages_document(title: str, pages: list[QImage]) -> QTextDocument:
    doc = QTextDocument()
    body = [f"<h3>{html.escape(title)}</h3>"]
    for n, image in enumerate(pages, 1):
        url = f"pdfpage://{n}"
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
        body.append(f"<p>Page {n}<br><img src='{url}'></p>")
    doc.setHtml("".join(body))
    return doc


def message_document(text: str) -> QTextDocument:
    doc = QTextDocument()
    doc.setHtml(f"<p>{html.escape(text)}</p>")
    return doc


def pdf_document(path: Path) -> QTextDocument:
    """Pages of the Encapsulated PDF as images (pdftoppm), one under the other (synchronous)."""
    try:
        return pages_document(*render_pdf_pages(path))
    except ValueError as exc:
        return message_document(str(exc))


def image_caption(path: Path | None, frames: object = "", ap_display: bool = True) -> str:
    """'RF series 2 (fill sequence), frame 17 — patient's right on the image's left, flipped for display
    from stored R\\F': what a KO selects, named by its header and orientation (never by a UID tail)."""
    where = f", frame {frames}" if frames not in ("", None) else ""
    if path is None:
        return f"image not in this study{where}"
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # noqa: BLE001 - a caption never fails the document
        return f"{Path(path).name}: unreadable ({exc}){where}"
    orientation = orientation_of(ds)
    flip_h, flip_v = ap_display_flips(orientation) if ap_display else (False, False)
    name = f"{ds.get('Modality', '')} series {ds.get('SeriesNumber', '?')}"
    if ds.get("SeriesDescription"):
        name += f" ({ds.SeriesDescription})"
    return f"{name}{where} — {describe_display(orientation, flip_h, flip_v)}"


def ko_document(
    path: Path, images: Mapping[str, Path] | None = None, ap_display: bool = True
) -> QTextDocument:
    """A KO: its title and each selected image by series, frame and patient orientation as displayed."""
    images = images or {}
    ds = pydicom.dcmread(path)
    title = ""
    if "ConceptNameCodeSequence" in ds:
        title = str(ds.ConceptNameCodeSequence[0].get("CodeMeaning", ""))
    rows = []
    for item in ds.get("ContentSequence", []):
        if item.get("ValueType") == "IMAGE":
            for ref in item.get("ReferencedSOPSequence", []):
                frames = ref.get("ReferencedFrameNumber", "")
                uid = str(ref.ReferencedSOPInstanceUID)
                caption = image_caption(images.get(uid), frames, ap_display)
                rows.append(f"<li>{html.escape(caption)}</li>")
        elif item.get("ValueType") == "TEXT":
            rows.append(f"<li><i>{html.escape(str(item.get('TextValue', '')))}</i></li>")
    doc = QTextDocument()
    doc.setHtml(
        f"<h3>Key Object Selection — {html.escape(title)}</h3><ul>{''.join(rows) or '<li>empty</li>'}</ul>"
    )
    return doc


def document_for(
    instance: Instance, images: Mapping[str, Path] | None = None, ap_display: bool = True
) -> QTextDocument:
    """The readable document of one SR / PDF / KO instance; a failure becomes a message naming the file."""
    path = Path(instance.path)
    try:
        if instance.kind is SopKind.ENCAPSULATED_PDF:
            return pdf_document(path)
        if instance.kind is SopKind.KEY_OBJECT_SELECTION:
            return ko_document(path, images, ap_display)
        return sr_document(path)
    except Exception as exc:  # noqa: BLE001 - shown in the viewport, never a crash
        doc = QTextDocument()
        doc.setHtml(f"<p>Cannot show {html.escape(path.name)}: {html.escape(str(exc))}</p>")
        return doc


@dataclass(frozen=True, slots=True)
class _PdfPagesRequest:
    path: Path


def _render_job(request: _PdfPagesRequest, ctx: JobContext) -> tuple[str, list[QImage]]:
    return render_pdf_pages(request.path)


class DocumentView(QTextBrowser):
    """Read-only browser laid over a viewport's image area while it shows a document display set.

    PDF pages are rendered by a background job (``ui/workers.py``; pdftoppm takes 0.1–0.6 s here), so the UI never
    waits; a newer document supersedes a rendering in flight (its result is dropped by generation), and
    :meth:`wait` (called when the viewport closes) joins it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)  # the grid cell decides
        self.setStyleSheet("QTextBrowser { background: #f4f4f0; color: #111; }")
        self._doc: QTextDocument | None = None
        self._generation = 0
        self._workers = Workers(self)
        self.instance_paths: Mapping[str, Path] = {}  # the study's images, for KO captions
        self.ap_display = True

    def show_instance(self, instance: Instance) -> None:
        self._generation += 1
        if instance.kind is SopKind.ENCAPSULATED_PDF:
            path, generation = Path(instance.path), self._generation
            self._set(message_document(f"Rendering the PDF pages of {path.name}…"))
            self._workers.start(
                "pdf-pages",
                _render_job,
                _PdfPagesRequest(path),
                on_result=lambda result: self._pages_ready(generation, result),
                on_error=lambda exc: self._pages_ready(generation, f"Cannot show {path.name}: {exc}"),
            )
            return
        self._set(document_for(instance, self.instance_paths, self.ap_display))

    def is_rendering(self) -> bool:
        return bool(self._workers.jobs())

    def wait(self, timeout: float = 10.0) -> None:
        self._generation += 1  # a result still to come is dropped
        self._workers.shutdown(timeout)

    def _pages_ready(self, generation: int, result: object) -> None:
        if generation != self._generation:
            return
        if isinstance(result, str):
            self._set(message_document(result))
        else:
            self._set(pages_document(*result))

    def _set(self, doc: QTextDocument) -> None:
        self._doc = doc
        doc.setParent(self)
        self.setDocument(doc)
