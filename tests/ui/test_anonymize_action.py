"""File ▸ Export anonymised copy… on the real main window: disabled without a study, then the open bundled study
is written anonymised into the chosen folder on a worker, and the summary names what was written."""

from __future__ import annotations

from pathlib import Path

import pydicom
from PySide6.QtWidgets import QMessageBox

from hsg_workstation.ui.app import create_main_window

REPO = Path(__file__).resolve().parents[2]


def test_export_anonymised_copy_of_the_open_study(qtbot, tmp_path: Path, monkeypatch) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    for f in (REPO / "sample_data" / "normal").glob("*.dcm"):
        (samples / f.name).write_bytes(f.read_bytes())
    window, db = create_main_window(tmp_path / "data", sample_dir=samples)
    try:
        qtbot.addWidget(window)
        action = window.actions_by_id["anonymize"]
        assert action in window.file_menu.actions()
        assert action.isEnabled()  # the first start opened the newest study
        out = tmp_path / "anon"
        monkeypatch.setattr(window.anonymize, "choose_folder", lambda: str(out))
        shown: list[str] = []
        monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda _p, _t, text: shown.append(text)))
        action.trigger()
        qtbot.waitUntil(lambda: bool(shown), timeout=60000)
        assert shown[0].startswith("5 instances written to")
        files = sorted(out.rglob("*.dcm"))
        assert len(files) == 5
        source = pydicom.dcmread(samples / "02_loop.dcm", stop_before_pixels=True)
        for f in files:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
            assert ds.PatientIdentityRemoved == "YES" and ds.PatientID != source.PatientID
            assert str(source.PatientName).encode() not in f.read_bytes()
        window.close_study()
        assert not action.isEnabled()
    finally:
        window.close()
        db.close()
