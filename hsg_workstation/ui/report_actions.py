"""Report form actions: Sign (verifying observer + warning acknowledgements), PDF preview, Export, Send.

Why separate from the form: these reach into optional modules written by other parts of the project
(``reporting.pdf`` / ``reporting.export`` for files, ``dicom_io.pacs`` for C-STORE). When one is missing, its button
stays disabled with a tooltip that says what is missing — the form itself never depends on them.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.measurement_sr import has_measurement_content
from hsg_workstation.reporting.rules import Issue

if TYPE_CHECKING:
    from hsg_workstation.ui.report_form import ReportForm


def _module(name: str) -> Any | None:
    """Import an optional project module; None if it does not exist (yet) or fails to import."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
        return importlib.import_module(name)
    except Exception:
        return None


def pdf_renderer(form: ReportForm) -> Any | None:
    """A callable ``(report) -> bytes`` producing the report PDF, or None when no PDF engine is available."""
    if getattr(form, "pdf_handler", None) is not None:
        return form.pdf_handler
    pdf = _module("hsg_workstation.reporting.pdf")
    if pdf is None or not callable(getattr(pdf, "render_pdf", None)):
        return None

    def render(report: m.HsgReport) -> bytes:
        return pdf.render_pdf(report, study_sources(form))

    return render


def study_sources(form: ReportForm) -> dict[str, Any]:
    """SOP Instance UID → file/dataset of the study's images (key images in the PDF need their pixels)."""
    if form.study is None:
        return {}
    export = _module("hsg_workstation.reporting.export")
    if export is None:
        return {}
    return dict(export.load_study(form.study, form.report.identity.study_instance_uid).sources)


def export_function(form: ReportForm) -> Any | None:
    """A callable ``(report, directory) -> list[Path]`` writing SR, PDF, Encapsulated PDF and KOS, or None."""
    if getattr(form, "export_handler", None) is not None:
        return form.export_handler
    if form.study is None:
        return None
    export = _module("hsg_workstation.reporting.export")
    if export is None or not callable(getattr(export, "export_all", None)):
        return None

    def run(report: m.HsgReport, directory: Path) -> list[Path]:
        result = export_files(report, form.study, directory)
        if result.sr is not None:
            form.last_sr_sop_instance_uid = str(result.sr.SOPInstanceUID)
        return result.written

    return run


def output_names(report: m.HsgReport, directory: Path) -> dict[str, Path | None]:
    """File names of one export: stem from the report id, so re-exports of an amendment do not overwrite."""
    stem = f"hsg_report_{report.report_id[:12]}"
    return {
        "sr_path": directory / f"{stem}_sr.dcm",
        "pdf_path": directory / f"{stem}.pdf",
        "encapsulated_pdf_path": directory / f"{stem}_pdf.dcm",
        "kos_path": directory / f"{stem}_kos.dcm" if report.key_images else None,
        "measurement_sr_path": directory / f"{stem}_measurements.dcm"
        if has_measurement_content(report)
        else None,
    }


def export_files(report: m.HsgReport, study: Any, directory: Path) -> Any:
    """Write every output into ``directory`` through ``reporting.export.export_all``; returns its result."""
    from hsg_workstation.reporting.export import export_all

    directory.mkdir(parents=True, exist_ok=True)
    return export_all(report, study, **output_names(report, directory))


def send_report(
    report: m.HsgReport, study: Any, node: Any, calling_ae: str, outbox: Path
) -> tuple[list[Any], str]:
    """Export the DICOM outputs (SR, Encapsulated PDF, KOS) into ``outbox`` and C-STORE them to ``node``.

    Returns the per-file outcomes and the SR's SOP Instance UID (an amendment's predecessor)."""
    from hsg_workstation.pacs.client import DicomClient

    result = export_files(report, study, outbox)
    dicom_files = [p for p in result.written if p.suffix == ".dcm"]
    sr_uid = str(result.sr.SOPInstanceUID) if result.sr is not None else ""
    return DicomClient(node, calling_ae=calling_ae).send(dicom_files), sr_uid


def send_function(form: ReportForm) -> tuple[Any | None, str]:
    """(callable ``(report) -> str``, why-not). Default: the PACS nodes configured in the data dir."""
    if getattr(form, "send_handler", None) is not None:
        return form.send_handler, ""
    if form.study is None:
        return None, "Send is unavailable: no source study is attached to the form (ReportForm.set_study)"
    if _module("hsg_workstation.reporting.export") is None or _module("hsg_workstation.pacs.client") is None:
        return None, "Send is unavailable: the export or PACS module is not installed"
    if form.data_dir is None:
        return None, "Send is unavailable: no data directory with PACS nodes (nodes.json)"
    from hsg_workstation.pacs.nodes import load_nodes

    try:
        config = load_nodes(form.data_dir)
    except Exception as exc:
        return None, f"Send is unavailable: {exc}"
    if not config.nodes:
        return None, "Send is unavailable: no PACS node is configured (hsg-workstation pacs nodes add ...)"

    def run(report: m.HsgReport, node_name: str | None = None) -> str:
        """Export + C-STORE; runs on a worker thread (no widgets here). Default node: the first configured."""
        node = config.get(node_name) if node_name else config.nodes[0]
        outbox = Path(form.data_dir) / "outbox" / report.report_id
        outcomes, sr_uid = send_report(report, form.study, node, config.local.ae_title, outbox)
        form.last_sr_sop_instance_uid = sr_uid or form.last_sr_sop_instance_uid
        bad = [o for o in outcomes if not o.ok]
        if bad:
            raise RuntimeError("; ".join(f"{Path(o.path).name}: {o.message}" for o in bad))
        return f"Sent {len(outcomes)} object(s) to {node.name} ({node.ae_title})."

    run.node_names = [n.name for n in config.nodes]  # type: ignore[attr-defined]
    return run, ""


def configure_buttons(form: ReportForm) -> None:
    """Enable PDF / Export / Send only when what they need exists; say why otherwise."""
    signed = form.report.is_signed
    if pdf_renderer(form) is None:
        form.pdf_button.setEnabled(False)
        form.pdf_button.setToolTip(
            "PDF preview is unavailable: the PDF module (reporting/pdf.py) is not installed"
        )
    elif shutil.which("pdftoppm") is None:
        form.pdf_button.setEnabled(False)
        form.pdf_button.setToolTip("PDF preview needs poppler's pdftoppm, which is not installed")
    else:
        form.pdf_button.setEnabled(True)
        form.pdf_button.setToolTip("Render the report PDF and show its pages")
    if export_function(form) is not None:
        form.export_button.setEnabled(True)
        form.export_button.setToolTip(
            "Write DICOM SR, PDF, Encapsulated PDF and KOS files"
            + ("" if signed else " (the report is a draft: the SR is marked partial / unverified)")
        )
    elif form.study is None and getattr(form, "export_handler", None) is None:
        form.export_button.setEnabled(False)
        form.export_button.setToolTip(
            "Export is unavailable: no source study is attached to the form (ReportForm.set_study)"
        )
    else:
        form.export_button.setEnabled(False)
        form.export_button.setToolTip(
            "Export is unavailable: the export module (reporting/export.py) is not installed"
        )
    send, why = send_function(form)
    if send is None:
        form.send_button.setEnabled(False)
        form.send_button.setToolTip(why)
    elif not signed:
        form.send_button.setEnabled(False)
        form.send_button.setToolTip("Sign the report first: only signed reports are sent to the PACS")
    else:
        form.send_button.setEnabled(True)
        form.send_button.setToolTip("Export and C-STORE the SR, Encapsulated PDF and KOS to a PACS node")


class SignDialog(QDialog):
    """Asks the verifying observer's name and a reason for every open warning before signing."""

    def __init__(
        self, report: m.HsgReport, warnings: list[Issue], name: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign report")
        self.warnings = warnings
        lay = QVBoxLayout(self)
        intro = QLabel(
            "Signing makes this report final and read-only; later changes need an amendment.", self
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.name_edit = QLineEdit(name, self)
        self.name_edit.setObjectName("verifying_observer_name")
        self.name_edit.setPlaceholderText("Family^Given (DICOM person name)")
        name_label = QLabel("&Verifying observer", self)
        name_label.setBuddy(self.name_edit)
        form.addRow(name_label, self.name_edit)
        self.reason_edits: dict[tuple[str, str], QLineEdit] = {}
        for w in warnings:
            edit = QLineEdit(self)
            edit.setPlaceholderText("reason (required)")
            edit.setObjectName(f"ack:{w.rule_id}:{w.field_path}")
            label = QLabel(f"▲ {w.rule_id}: {w.message}", self)
            label.setWordWrap(True)
            label.setStyleSheet("QLabel { color: #8a5300; }")
            form.addRow(label)
            form.addRow("Acknowledge because", edit)
            self.reason_edits[(w.rule_id, w.field_path)] = edit
            edit.textChanged.connect(self._update)
        lay.addLayout(form)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.name_edit.textChanged.connect(self._update)
        self._update()

    def _update(self, *_a: object) -> None:
        ok = bool(self.name_edit.text().strip()) and all(e.text().strip() for e in self.reason_edits.values())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def observer_name(self) -> str:
        return self.name_edit.text().strip()

    def acknowledgements(self) -> dict[tuple[str, str], str]:
        return {k: e.text().strip() for k, e in self.reason_edits.items()}


def render_pdf_pages(pdf: bytes, dpi: int = 72) -> list[QPixmap]:
    """Rasterise PDF pages with poppler's pdftoppm (PySide6-Essentials has no QtPdf)."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise RuntimeError("pdftoppm (poppler-utils) is not installed")
    with tempfile.TemporaryDirectory(prefix="hsg-pdf-preview-") as tmp:
        src = Path(tmp) / "report.pdf"
        src.write_bytes(pdf)
        subprocess.run(
            [exe, "-r", str(dpi), "-png", str(src), str(Path(tmp) / "page")], check=True, timeout=60
        )
        pages = sorted(Path(tmp).glob("page*.png"))
        return [QPixmap(str(p)) for p in pages]


class PdfPreviewDialog(QDialog):
    def __init__(self, pages: list[QPixmap], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"PDF preview ({len(pages)} page{'s' if len(pages) != 1 else ''})")
        lay = QVBoxLayout(self)
        scroll = QScrollArea(self)
        host = QWidget()
        col = QVBoxLayout(host)
        self.page_labels: list[QLabel] = []
        for pix in pages:
            label = QLabel(host)
            label.setPixmap(pix)
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            label.setStyleSheet("QLabel { background: white; border: 1px solid #999; }")
            col.addWidget(label)
            self.page_labels.append(label)
        scroll.setWidget(host)
        scroll.setWidgetResizable(True)
        lay.addWidget(scroll)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.resize(700, 800)


def show_pdf_preview(form: ReportForm) -> PdfPreviewDialog | None:
    render = pdf_renderer(form)
    if render is None:
        QMessageBox.information(form, "PDF preview", form.pdf_button.toolTip())
        return None
    try:
        pdf = render(form.report)
        if isinstance(pdf, str | Path):
            pdf = Path(pdf).read_bytes()
        pages = render_pdf_pages(pdf)
    except Exception as exc:
        QMessageBox.warning(form, "PDF preview", f"The PDF could not be rendered: {exc}")
        return None
    dialog = PdfPreviewDialog(pages, form)
    dialog.setModal(False)
    dialog.show()
    form.pdf_preview_dialog = dialog
    return dialog


def export_interactively(form: ReportForm) -> None:
    fn = export_function(form)
    if fn is None:
        QMessageBox.information(form, "Export", form.export_button.toolTip())
        return
    from PySide6.QtWidgets import QFileDialog

    directory = QFileDialog.getExistingDirectory(form, "Export report files to")
    if not directory:
        return
    try:
        written = fn(form.report, Path(directory))
    except Exception as exc:
        QMessageBox.warning(form, "Export failed", str(exc))
        return
    names = "\n".join(str(p) for p in (written or []))
    QMessageBox.information(form, "Exported", f"Written:\n{names}" if names else "Exported.")


def send_interactively(form: ReportForm) -> None:
    """Pick a node (if several), then export + C-STORE on a worker thread; the form stays usable meanwhile."""
    handler, why = send_function(form)
    if handler is None:
        QMessageBox.information(form, "Send", why)
        return
    if not form.report.is_signed:
        QMessageBox.information(form, "Send", form.send_button.toolTip())
        return
    names: list[str] = list(getattr(handler, "node_names", []))
    args: tuple[Any, ...] = (form.report,)
    if len(names) > 1:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getItem(form, "Send to PACS", "Node:", names, 0, False)
        if not ok:
            return
        args = (form.report, name)
    form.send_button.setEnabled(False)
    form.send_button.setText("Sending…")

    def done(message: Any, error: BaseException | None) -> None:
        form.send_button.setText("Send &to PACS…")
        configure_buttons(form)
        if error is not None:
            QMessageBox.warning(form, "Send failed", str(error))
        else:
            QMessageBox.information(form, "Sent", str(message or "Sent."))

    form.run_in_background(lambda: handler(*args), done)
