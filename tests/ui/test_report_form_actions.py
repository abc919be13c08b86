"""Report form actions on a real generated study: PDF preview pages, Export files, Send (C-STORE to an in-process
pynetdicom storage SCP on 127.0.0.1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.drafts import DraftStore
from hsg_workstation.reporting.reference import build_reference_report
from hsg_workstation.synthetic.study import generate_case
from hsg_workstation.ui import report_actions
from hsg_workstation.ui.report_form import ReportForm

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, m.HsgReport]:
    generated = generate_case("endometrial_polyp", size=128, frames=8)
    case_dir = generated.write(tmp_path / "study")
    report = m.HsgReport.from_json(build_reference_report(generated.truth, case_dir))
    return case_dir, report


@pytest.fixture
def form(qtbot, case, data_dir: Path) -> ReportForm:
    case_dir, report = case
    w = ReportForm(report, draft_store=DraftStore(data_dir / "drafts"), study=case_dir, data_dir=data_dir)
    qtbot.addWidget(w)
    w.resize(560, 900)
    w.show()
    return w


def test_buttons_disabled_without_a_study(qtbot) -> None:
    w = ReportForm(m.HsgReport())
    qtbot.addWidget(w)
    assert not w.export_button.isEnabled() and "no source study" in w.export_button.toolTip()
    assert not w.send_button.isEnabled() and "no source study" in w.send_button.toolTip()


def test_pdf_preview_shows_pages(qtbot, form: ReportForm, monkeypatch) -> None:
    assert form.pdf_button.isEnabled()
    dialog = report_actions.show_pdf_preview(form)
    assert dialog is not None
    qtbot.addWidget(dialog)
    assert len(dialog.page_labels) >= 2  # report + patient after-care page
    first = dialog.page_labels[0].pixmap()
    assert not first.isNull() and first.width() > 300
    shot = os.environ.get("HSG_REPORT_PDF_PREVIEW_SCREENSHOT")
    if shot:
        dialog.grab().save(shot)


def test_export_writes_sr_pdf_encapsulated_and_kos(form: ReportForm, tmp_path: Path) -> None:
    assert form.export_button.isEnabled()
    written = report_actions.export_function(form)(form.report, tmp_path / "out")
    names = sorted(p.name for p in written)
    assert any(n.endswith("_sr.dcm") for n in names)
    assert any(n.endswith(".pdf") for n in names)
    assert any(n.endswith("_pdf.dcm") for n in names)
    assert any(n.endswith("_kos.dcm") for n in names)
    sr = dcmread(next(p for p in written if p.name.endswith("_sr.dcm")))
    assert sr.StudyInstanceUID == form.report.identity.study_instance_uid


def test_send_needs_signature_then_stores_to_pacs(
    qtbot, form: ReportForm, data_dir: Path, monkeypatch
) -> None:
    from pynetdicom import AE, AllStoragePresentationContexts, evt
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from hsg_workstation.pacs.nodes import NodeConfig, RemoteNode, save_nodes

    received: list[str] = []

    def on_store(event) -> int:
        received.append(str(event.dataset.SOPClassUID))
        return 0x0000

    ae = AE(ae_title="TESTPACS")
    ae.supported_contexts = AllStoragePresentationContexts
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        port = server.server_address[1]
        save_nodes(data_dir, NodeConfig(nodes=(RemoteNode("test", "TESTPACS", "127.0.0.1", port),)))
        form.set_study(form.study, data_dir)
        assert not form.send_button.isEnabled()
        assert "Sign" in form.send_button.toolTip()
        assert form.error_count() == 0 and form.open_warnings() == []
        form.sign("Verifier^Dora")
        assert form.send_button.isEnabled()
        shown: list[tuple[str, str]] = []
        monkeypatch.setattr(
            QMessageBox, "information", staticmethod(lambda _p, title, text: shown.append((title, text)))
        )
        monkeypatch.setattr(
            QMessageBox, "warning", staticmethod(lambda _p, title, text: shown.append((title, text)))
        )
        qtbot.mouseClick(form.send_button, Qt.MouseButton.LeftButton)  # sends on a worker thread
        assert not form.send_button.isEnabled() and "Sending" in form.send_button.text()
        qtbot.waitUntil(lambda: bool(shown), timeout=30000)
    finally:
        server.shutdown()
    assert shown[0][0] == "Sent", shown
    message = shown[0][1]
    assert "Sent 4 object(s)" in message
    assert form.send_button.isEnabled() and form.background_jobs == 0
    assert (
        sorted(received)
        == sorted(
            [
                "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
                "1.2.840.10008.5.1.4.1.1.88.33",  # TID 1500 measurement SR (the reference report has defect regions)
                "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
                "1.2.840.10008.5.1.4.1.1.88.59",  # Key Object Selection
            ]
        )
    )
    assert form.last_sr_sop_instance_uid  # an amendment will reference the SR that was sent


def test_open_report_prefills_dose_and_dates_then_recovers_the_draft(qtbot, case, data_dir: Path) -> None:
    from hsg_workstation.ui.report_form import open_report

    case_dir, reference = case
    store = DraftStore(data_dir / "drafts")
    report = open_report(store, case_dir)
    assert report.identity.study_instance_uid == reference.identity.study_instance_uid
    assert report.identity.study_date is not None
    assert report.dose.dap_total_gy_cm2 is not None and report.dose.dap_source_unit is m.DapUnit.DGY_CM2
    form = ReportForm(report, draft_store=store, study=case_dir)
    qtbot.addWidget(form)
    shown = form.rows["dose.dap_total_gy_cm2"].editor.line.text()
    assert shown and float(shown) == pytest.approx(report.dose.dap_total_gy_cm2)
    assert "dGy·cm²" in form.dose_hint.text()
    assert form.rows["dose.fluoroscopy_time_s"].editor.line.text() != ""
    qtbot.keyClicks(form.rows["clinical.comparison"].editor.line, "none available")
    form.close()
    again = open_report(store, case_dir)
    assert again == report and again.clinical.comparison == "none available"


def test_export_button_writes_into_the_chosen_folder(
    qtbot, form: ReportForm, tmp_path: Path, monkeypatch
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    out = tmp_path / "chosen"
    out.mkdir()
    shown: list[str] = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(out)))
    monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda _p, _t, text: shown.append(text)))
    qtbot.mouseClick(form.export_button, Qt.MouseButton.LeftButton)
    assert shown and "Written" in shown[0]
    # report SR, TID 1500 measurement SR, Encapsulated PDF, KOS
    assert len(list(out.glob("*.dcm"))) == 4 and len(list(out.glob("*.pdf"))) == 1
    assert form.last_sr_sop_instance_uid


def test_send_to_a_dicomweb_node_stows_the_report_objects(
    qtbot, form: ReportForm, data_dir: Path, monkeypatch
) -> None:
    """The same Send button with a DICOMweb node: the SR, Encapsulated PDF and KOS arrive by STOW-RS (a small
    in-process STOW endpoint parses the multipart body with the client's own reader)."""
    import http.server
    import io
    import json
    import threading

    from pydicom import dcmread as read
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from hsg_workstation.pacs.multipart import boundary_of, iter_parts
    from hsg_workstation.pacs.nodes import DicomWebNode, NodeConfig, save_nodes

    received: list[str] = []

    class Stow(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            parts = list(
                iter_parts([body], boundary_of(self.headers["Content-Type"]), max_part_bytes=1 << 28)
            )
            refs = []
            for part in parts:
                ds = read(io.BytesIO(part), stop_before_pixels=True)
                received.append(str(ds.SOPClassUID))
                refs.append({"00081155": {"vr": "UI", "Value": [str(ds.SOPInstanceUID)]}})
            answer = json.dumps({"00081199": {"vr": "SQ", "Value": refs}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/dicom+json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
        save_nodes(data_dir, NodeConfig().with_web_node(DicomWebNode(name="web", base_url=url)))
        form.set_study(form.study, data_dir)
        form.sign("Verifier^Dora")
        shown: list[tuple[str, str]] = []
        monkeypatch.setattr(
            QMessageBox, "information", staticmethod(lambda _p, title, text: shown.append((title, text)))
        )
        monkeypatch.setattr(
            QMessageBox, "warning", staticmethod(lambda _p, title, text: shown.append((title, text)))
        )
        qtbot.mouseClick(form.send_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(shown), timeout=30000)
    finally:
        server.shutdown()
    assert shown[0][0] == "Sent", shown
    assert "Sent 4 object(s) to web" in shown[0][1]
    assert sorted(received) == sorted(
        [
            "1.2.840.10008.5.1.4.1.1.88.33",  # the report
            "1.2.840.10008.5.1.4.1.1.88.33",  # its TID 1500 measurement SR
            "1.2.840.10008.5.1.4.1.1.104.1",
            "1.2.840.10008.5.1.4.1.1.88.59",
        ]
    )


def test_a_broken_project_module_fails_loudly_instead_of_disabling_a_button() -> None:
    """The actions import reporting.pdf / export / workflows directly: a module that does not import is an
    error at start, never a silently disabled PDF button (the old optional-module lookup returned None)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['hsg_workstation.reporting.pdf'] = None\n"
        "try:\n    import hsg_workstation.ui.report_actions\nexcept ImportError as exc:\n    print('refused:', exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused:" in out.stdout and "hsg_workstation.reporting.pdf" in out.stdout
