"""Report workflows as plain functions that the GUI (``ui/report_actions.py``) and the CLI (``cli/report.py``)
both call, so the two paths cannot drift apart.

Why here and not in the widgets: what a report file turns into (which answers survive, what is prefilled, what is
written and sent) decides the SR and PDF; a rule that only the GUI runs is a rule the CLI breaks.

- ``load_report_json(path)``: read REPORT.json and clear answers whose field does not apply
  (``HsgReport.clear_inapplicable``) — a JSON file written by hand or by an older version may hold an occlusion
  level for a patent tube, which the form would hide yet the SR would state.
- ``open_report(drafts, study, uid)``: prefill-on-open — the study's surviving unsigned draft, else a new report
  prefilled from the images' headers (the report dock and ``report`` callers share it; the UI reads no files).
- ``export_report(report, study, directory=... | sr_path=...)``: SR, PDF, Encapsulated PDF, KOS through
  ``export.export_all``, named after the report id when written into a directory.
- ``send_report(report, study, node, calling_ae, outbox)``: export the DICOM outputs, then C-STORE them.

Plain functions, no threads: the GUI runs them on a worker, the CLI in its own thread.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from hsg_workstation.errors import HsgError
from hsg_workstation.pacs.client import DicomClient
from hsg_workstation.pacs.dicomweb import DicomWebClient
from hsg_workstation.pacs.nodes import DicomWebNode, RemoteNode
from hsg_workstation.pacs.types import StoreOutcome
from hsg_workstation.reporting.drafts import DraftStore
from hsg_workstation.reporting.enums import ReportStatus
from hsg_workstation.reporting.export import ExportResult, StudyInput, export_all, load_study
from hsg_workstation.reporting.measurement_sr import has_measurement_content
from hsg_workstation.reporting.prefill import prefill_from_datasets
from hsg_workstation.reporting.report import HsgReport

log = logging.getLogger(__name__)


@dataclass
class LoadedReport:
    """A report read from JSON and the answers removed because their field does not apply (path → value)."""

    report: HsgReport
    cleared: dict[str, Any] = field(default_factory=dict)


def load_report_json(path: str | Path) -> LoadedReport:
    """Read REPORT.json; HsgError naming the file for unreadable / malformed content.

    A draft has its inapplicable answers cleared; a signed report is a legal document and is left as signed
    (the form cleared it before signing)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HsgError(f"{p}: cannot be read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HsgError(f"{p}: not valid JSON ({exc})") from None
    try:
        report = HsgReport.from_json(
            data, require_integrity=True
        )  # a signed report edited on disk is refused
    except HsgError as exc:
        raise HsgError(f"{p}: {exc}") from None
    cleared = {} if report.is_signed else report.clear_inapplicable()
    return LoadedReport(report, cleared)


# ---------------------------------------------------------------------------------------------------------
# Prefill on open
# ---------------------------------------------------------------------------------------------------------


def draft_for_study(draft_store: DraftStore, study_instance_uid: str) -> HsgReport | None:
    """The newest unsigned draft of this study left in ``draft_store`` (after a crash or a closed window).

    Opening a study calls this before creating a new report, so reopening it continues what was typed.
    Unreadable drafts are skipped with a warning (``DraftStore.recover`` lists them with their error)."""
    if not study_instance_uid:
        return None
    for info in draft_store.recover():  # newest first
        if info.error or info.study_instance_uid != study_instance_uid or info.status != ReportStatus.DRAFT:
            continue
        try:
            return draft_store.load(info.report_id)
        except HsgError as exc:  # a draft that cannot be read must not block opening the study
            log.warning("draft %s could not be loaded: %s", info.path, exc)
    return None


def open_report(draft_store: DraftStore | None, study: StudyInput, study_instance_uid: str = "") -> HsgReport:
    """The report to show for a study: its unsigned draft if one survived, else a new report prefilled from the
    images' headers (patient / study identity, study date, dose area product, fluoroscopy time, LMP, pregnancy
    status — ``prefill_from_datasets``). ``study`` is a folder or a list of paths / datasets; only the images
    of ``study_instance_uid`` (when given) are read. ``ExportError`` when the study holds no image."""
    if draft_store is not None and study_instance_uid:
        recovered = draft_for_study(draft_store, study_instance_uid)
        if recovered is not None:
            return recovered
    images = load_study(study, study_instance_uid)
    uid = study_instance_uid or str(images.headers[0].get("StudyInstanceUID", ""))
    if draft_store is not None and not study_instance_uid:
        recovered = draft_for_study(draft_store, uid)
        if recovered is not None:
            return recovered
    report = HsgReport()
    prefill_from_datasets(report, images.headers)
    return report


# ---------------------------------------------------------------------------------------------------------
# Export, send
# ---------------------------------------------------------------------------------------------------------


def output_names(report: HsgReport, directory: Path) -> dict[str, Path | None]:
    """File names of one export into a directory: stem from the report id, so an amendment's re-export does not
    overwrite the earlier files; no KOS file without key images."""
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


def export_report(
    report: HsgReport,
    study: StudyInput,
    *,
    directory: str | os.PathLike[str] | None = None,
    sr_path: str | os.PathLike[str] | None = None,
    pdf_path: str | os.PathLike[str] | None = None,
    encapsulated_pdf_path: str | os.PathLike[str] | None = None,
    kos_path: str | os.PathLike[str] | None = None,
    measurement_sr_path: str | os.PathLike[str] | None = None,
    predecessor: Dataset | None = None,
) -> ExportResult:
    """Write the report's outputs: every output into ``directory`` (``output_names``), or the named paths.
    ``measurement_sr_path``: the TID 1500 measurement SR the report references (written only when the report
    has image measurements or regions)."""
    if directory is not None:
        if any(
            p is not None for p in (sr_path, pdf_path, encapsulated_pdf_path, kos_path, measurement_sr_path)
        ):
            raise ValueError("export_report: give a directory or output paths, not both")
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        return export_all(report, study, predecessor=predecessor, **output_names(report, folder))
    return export_all(
        report,
        study,
        sr_path=sr_path,
        pdf_path=pdf_path,
        encapsulated_pdf_path=encapsulated_pdf_path,
        kos_path=kos_path,
        measurement_sr_path=measurement_sr_path,
        predecessor=predecessor,
    )


@dataclass(frozen=True)
class SendResult:
    """Per-file C-STORE outcomes and the SR's SOP Instance UID (what an amendment will name as predecessor)."""

    outcomes: Sequence[StoreOutcome]
    sr_sop_instance_uid: str

    @property
    def failed(self) -> list[StoreOutcome]:
        return [o for o in self.outcomes if not o.ok]


def send_report(
    report: HsgReport,
    study: StudyInput,
    node: RemoteNode | DicomWebNode,
    calling_ae: str,
    outbox: str | os.PathLike[str],
) -> SendResult:
    """Export the DICOM outputs (SR, Encapsulated PDF, KOS) into ``outbox`` and send them to ``node``: C-STORE to
    a DIMSE node, STOW-RS to a DICOMweb node (``calling_ae`` is then unused)."""
    result = export_report(report, study, directory=outbox)
    dicom_files = [p for p in result.written if p.suffix == ".dcm"]
    sr_uid = str(result.sr.SOPInstanceUID) if result.sr is not None else ""
    client = (
        DicomWebClient(node) if isinstance(node, DicomWebNode) else DicomClient(node, calling_ae=calling_ae)
    )
    return SendResult(client.send(dicom_files), sr_uid)
