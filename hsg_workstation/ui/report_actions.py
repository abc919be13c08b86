"""Report form actions: Sign (verifying observer + warning acknowledgements), PDF preview, Export, Send.

Why separate from the form: these are the form's dialogs and button states around the report workflows
(``reporting.workflows``: export, export-then-send; the CLI calls the same functions). They see the form only
as an ``ActionHost`` — the handful of attributes listed there — so this module does not import the form and the
form imports it (no circle). A button that cannot work is disabled with a tooltip that says why (no source
study attached, no PACS node configured, poppler missing) — never because a project module failed to import:
that is a bug and raises.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.errors import HsgError
from hsg_workstation.pacs.nodes import DicomWebNode, load_nodes
from hsg_workstation.reporting import model as m
from hsg_workstation.reporting import workflows
from hsg_workstation.reporting.export import load_study
from hsg_workstation.reporting.pdf import render_pdf
from hsg_workstation.reporting.rules import Issue
from hsg_workstation.reporting.templates import valid_person_name


class ActionHost(Protocol):
    """What the actions need of the report form (``ReportForm`` provides it)."""

    report: m.HsgReport
    study: Any
    data_dir: Path | None
    pdf_handler: Callable[[m.HsgReport], bytes] | None
    export_handler: Callable[[m.HsgReport, Path], list[Path]] | None
    send_handler: Callable[..., str] | None
    last_sr_sop_instance_uid: str
    pdf_preview_dialog: Any
    pdf_button: QPushButton
    export_button: QPushButton
    send_button: QPushButton

    def run_in_background(
        self, job: Callable[[], Any], done: Callable[[Any, BaseException | None], None]
    ) -> None: ...


def pdf_renderer(form: ActionHost) -> Callable[[m.HsgReport], bytes]:
    """A callable ``(report) -> bytes`` producing the report PDF (the injected one, else ``reporting.pdf``)."""
    if form.pdf_handler is not None:
        return form.pdf_handler

    def render(report: m.HsgReport) -> bytes:
        return render_pdf(report, study_sources(form))

    return render


def study_sources(form: ActionHost) -> dict[str, Any]:
    """SOP Instance UID → file/dataset of the study's images (key images in the PDF need their pixels)."""
    if form.study is None:
        return {}
    return dict(load_study(form.study, form.report.identity.study_instance_uid).sources)


def export_function(form: ActionHost) -> Callable[[m.HsgReport, Path], list[Path]] | None:
    """A callable ``(report, directory) -> list[Path]`` writing SR, PDF, Encapsulated PDF and KOS, or None
    when no source study is attached."""
    if form.export_handler is not None:
        return form.export_handler
    if form.study is None:
        return None

    def run(report: m.HsgReport, directory: Path) -> list[Path]:
        result = workflows.export_report(report, form.study, directory=directory)
        if result.sr is not None:
            form.last_sr_sop_instance_uid = str(result.sr.SOPInstanceUID)
        return result.written

    return run


def output_names(report: m.HsgReport, directory: Path) -> dict[str, Path | None]:
    """File names of one export (``workflows.output_names``)."""
    return workflows.output_names(report, directory)


def send_function(form: ActionHost) -> tuple[Callable[..., str] | None, str]:
    """(callable ``(report[, node_name]) -> str``, why-not). Default: the PACS nodes configured in the data dir."""
    if form.send_handler is not None:
        return form.send_handler, ""
    if form.study is None:
        return None, "Send is unavailable: no source study is attached to the form (ReportForm.set_study)"
    if form.data_dir is None:
        return None, "Send is unavailable: no data directory with PACS nodes (nodes.json)"
    try:
        config = load_nodes(form.data_dir)
    except HsgError as exc:  # a malformed nodes.json: say so on the button
        return None, f"Send is unavailable: {exc}"
    nodes = [*config.nodes, *config.web_nodes]
    if not nodes:
        return None, "Send is unavailable: no PACS node is configured (hsg-workstation pacs nodes add ...)"
    data_dir = Path(form.data_dir)

    def run(report: m.HsgReport, node_name: str | None = None) -> str:
        """Export + send (C-STORE, or STOW-RS to a DICOMweb node); runs on a worker thread (no widgets here).
        Default node: the first configured."""
        node = config.get_any(node_name) if node_name else nodes[0]
        outbox = data_dir / "outbox" / report.report_id
        sent = workflows.send_report(report, form.study, node, config.local.ae_title, outbox)
        form.last_sr_sop_instance_uid = sent.sr_sop_instance_uid or form.last_sr_sop_instance_uid
        if sent.failed:
            raise HsgError("; ".join(f"{Path(o.path).name}: {o.message}" for o in sent.failed))
        where = node.base_url if isinstance(node, DicomWebNode) else node.ae_title
        return f"Sent {len(sent.outcomes)} object(s) to {node.name} ({where})."

    run.node_names = [n.name for n in nodes]  # type: ignore[attr-defined]
    return run, ""


def configure_buttons(form: ActionHost) -> None:
    """Enable PDF / Export / Send only when what they need exists; say why otherwise."""
    signed = form.report.is_signed
    if shutil.which("pdftoppm") is None:
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
    else:
        form.export_button.setEnabled(False)
        form.export_button.setToolTip(
            "Export is unavailable: no source study is attached to the form (ReportForm.set_study)"
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
    """Confirms who signs (the configured radiologist; a valid DICOM Person Name otherwise), asks the infection
    follow-up, and a reason for every open warning before signing."""

    def __init__(
        self,
        report: m.HsgReport,
        warnings: list[Issue],
        name: str,
        parent: QWidget | None = None,
        *,
        configured: bool = False,
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
        if configured and name:
            # the configured reporting radiologist signs; another person changes it in the Report bar
            self.name_edit.setReadOnly(True)
            self.name_edit.setToolTip("The configured reporting radiologist (Report bar ▸ Radiologist)")
        name_label = QLabel("&Verifying observer", self)
        name_label.setBuddy(self.name_edit)
        form.addRow(name_label, self.name_edit)
        self.name_error = QLabel("", self)
        self.name_error.setStyleSheet("QLabel { color: #b00020; }")
        self.name_error.setMinimumHeight(self.name_error.fontMetrics().height())  # reserved: nothing moves
        form.addRow("", self.name_error)
        # Infection after HSG shows days later; the question is asked at every signature and recorded.
        self.infection = QComboBox(self)
        self.infection.setObjectName("infection_followup")
        for value, text in (
            (m.InfectionFollowup.NONE_REPORTED, "No infection reported so far"),
            (m.InfectionFollowup.POST_HSG_PID, "Pelvic infection after the procedure"),
        ):
            self.infection.addItem(text, value)
        current = report.complications.infection_followup
        self.infection.setCurrentIndex(1 if current is m.InfectionFollowup.POST_HSG_PID else 0)
        infection_label = QLabel("&Infection follow-up", self)
        infection_label.setBuddy(self.infection)
        form.addRow(infection_label, self.infection)
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
        name_ok = True
        text = self.name_edit.text().strip()
        if text:
            try:
                valid_person_name(text)
                self.name_error.setText("")
            except ValueError as exc:
                name_ok = False
                self.name_error.setText(str(exc))
        ok = bool(text) and name_ok and all(e.text().strip() for e in self.reason_edits.values())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def observer_name(self) -> str:
        """The signer as a valid DICOM Person Name ('Anna Reader' → 'Reader^Anna')."""
        return valid_person_name(self.name_edit.text())

    def infection_followup(self) -> m.InfectionFollowup:
        return self.infection.currentData()

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


def show_pdf_preview(form: ActionHost) -> PdfPreviewDialog | None:
    render = pdf_renderer(form)
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


def export_interactively(form: ActionHost) -> None:
    fn = export_function(form)
    if fn is None:
        QMessageBox.information(form, "Export", form.export_button.toolTip())
        return
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


def send_interactively(form: ActionHost) -> None:
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
