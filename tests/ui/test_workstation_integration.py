"""The viewer wired to the other areas' widgets: key frames ⇄ report key images, keyboard focus, documents."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from hsg_workstation.ui.app import create_main_window
from tests.ui.helpers import wait_until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def workstation(qtbot, data_dir: Path, study_dir: Path):
    window, db = create_main_window(str(data_dir), sample_dir=study_dir)
    qtbot.addWidget(window)
    # the application opens loops on their middle (filled) frame (issue 11); these tests start from frame 1
    wait_until(lambda: window.active is not None and window.active.displayed_index == window.active.index, 20)
    window.active.show_frame(0)
    wait_until(lambda: window.active.displayed_index == 0, 20)
    yield window
    window.close()
    db.close()


def _report_keys(window) -> list[tuple[str, int]]:
    return [(k.sop_instance_uid, k.frame_number) for k in window.report_dock.form.report.key_images]


def _viewer_keys(window) -> list[tuple[str, int]]:
    return [
        (k.sop_instance_uid, k.frame_number) for k in window.store.key_frames(window.study.study_instance_uid)
    ]


def test_key_frames_and_report_key_images_stay_equal_both_ways(workstation) -> None:
    w = workstation
    vp = w.active
    sop = vp.current_ref.sop_instance_uid
    assert w.toggle_key_frame() is True
    vp.show_frame(2)
    wait_until(lambda: vp.displayed_index == 2)
    assert w.toggle_key_frame() is True
    assert sorted(_report_keys(w)) == [(sop, 1), (sop, 3)]
    # Unmark in the viewer → gone from the report.
    vp.show_frame(0)
    wait_until(lambda: vp.displayed_index == 0)
    assert w.toggle_key_frame() is False
    assert _report_keys(w) == [(sop, 3)]
    assert w.key_list.count() == 1
    # Remove in the report form → unmarked in the viewer (list and button).
    panel = w.report_dock.form.key_images_panel
    panel.list.setCurrentRow(0)
    panel.remove_button.click()
    assert _report_keys(w) == []
    assert _viewer_keys(w) == []
    assert w.key_list.count() == 0


def test_recovered_draft_key_images_show_as_key_frames(workstation) -> None:
    w = workstation
    uid = w.study.study_instance_uid
    vp = w.active
    vp.show_frame(4)
    wait_until(lambda: vp.displayed_index == 4)
    w.toggle_key_frame()
    sop = vp.current_ref.sop_instance_uid
    assert w.report_dock.form.save_draft()
    w.close_study()
    w.store.clear(uid)  # a new session: the viewer remembers nothing, the draft on disk does
    w.open_study(uid)
    # (the application reopens the loop on its middle, filled frame: issue 11)
    wait_until(lambda: w.active is not None and w.active.displayed_index == w.active.index)
    assert _viewer_keys(w) == [(sop, 5)]
    assert w.key_list.count() == 1
    w.jump_to(sop, 5)
    assert w.key_button.text().startswith("Unmark")


def test_keys_reach_the_viewport_right_after_start(workstation, qtbot) -> None:
    """Start-up leaves the keyboard on the viewport, not in the study search box (Space would type there)."""
    w = workstation
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5000)
    assert QApplication.focusWidget() is w.active.view
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_K)
    assert len(_viewer_keys(w)) == 1
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: w.active.index > 0, timeout=10000)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert not w.active.cine.playing
    assert w.browser.search.text() == ""


@pytest.fixture
def sample_workstation(qtbot, data_dir: Path):
    """The real first-start window on one bundled sample case (40-frame loop), analysis included."""
    from hsg_workstation.ui.app import SAMPLE_DATA

    window, db = create_main_window(str(data_dir), sample_dir=SAMPLE_DATA / "normal")
    qtbot.addWidget(window)
    yield window
    window.close()
    db.close()


@pytest.mark.timeout(180)
def test_analysis_suggestions_accept_fills_report_and_overlay_follows_cine(sample_workstation, qtbot) -> None:
    w = sample_workstation
    if w.analysis is None:
        pytest.fail("analysis widgets (ui/suggestions_panel.py, ui/analysis_overlay.py) missing: not wired")
    panel = w.analysis.panel
    qtbot.waitUntil(lambda: bool(panel.suggestion_ids()), timeout=120_000)
    form = w.report_dock.form
    loop_sop = w.fill_curve.loop.instances[0].sop_instance_uid
    rows = {s.id: s for s in (r.suggestion for r in panel._rows.values())}
    sid, sugg = next(
        (i, s)
        for i, s in rows.items()
        if s.one_click and s.frame is not None and s.fields and "{new}" not in str(s.fields)
    )
    show, accept, _reject = panel.row_buttons(sid)
    # "Show" jumps the loop to the frame the suggestion rests on
    show.click()
    qtbot.waitUntil(lambda: w.active.index == sugg.frame - 1, timeout=10_000)
    assert w.fill_curve.widget is not None
    # nothing is written before the reader accepts
    assert (loop_sop, sugg.frame) not in [
        (k.sop_instance_uid, k.frame_number) for k in form.report.key_images
    ]
    accept.click()
    assert panel.state(sid) == "accepted"
    for path, value in sugg.fields.items():
        got = form.report.get_value(path)
        assert getattr(got, "value", got) == value, path
    assert (loop_sop, sugg.frame) in [(k.sop_instance_uid, k.frame_number) for k in form.report.key_images]
    # the accepted key image is also a key frame of the viewer (report ⇄ viewer sync)
    assert (loop_sop, sugg.frame) in _viewer_keys(w)

    # overlay: off by default, toggled from the View menu action (Shift+O), follows the cine frame
    vp = w.active
    act = w.actions_by_id["analysis_overlay"]
    assert act.shortcut().toString() == "Shift+O"
    act.trigger()
    assert "cavity cyan" in w.statusBar().currentMessage()  # the legend
    overlay = vp.analysis_overlay
    assert overlay.isVisible() and overlay.parentItem() is vp.image_space
    vp.show_frame(20)
    qtbot.waitUntil(lambda: vp.displayed_index == 20, timeout=10_000)
    assert overlay.frame == 21  # the frame on screen
    assert overlay.image is not None and overlay.image.max() > 0  # the cavity is drawn on a filled frame
    w.set_layout("1x2")  # rebuilt viewports get their overlay too
    assert all(getattr(v, "analysis_overlay", None) is not None for v in w.viewports)
    assert not w.viewports[1].analysis_overlay.isVisible()  # a spot image is not the analysed loop
    act.trigger()
    assert not w.viewports[0].analysis_overlay.isVisible()


@pytest.fixture(scope="module")
def study_with_documents(tmp_path_factory) -> Path:
    """The 'normal' sample case plus its report as SR, Encapsulated PDF and KO (the real exporters)."""
    import json
    import shutil

    from hsg_workstation.reporting.export import export_all
    from hsg_workstation.reporting.model import HsgReport
    from hsg_workstation.ui.app import SAMPLE_DATA

    case = SAMPLE_DATA / "normal"
    d = tmp_path_factory.mktemp("docs") / "study"
    d.mkdir()
    for f in case.glob("*.dcm"):
        shutil.copy(f, d / f.name)
    report = HsgReport.from_json(json.loads((case / "report.json").read_text()))
    export_all(
        report, case, sr_path=d / "sr.dcm", encapsulated_pdf_path=d / "epdf.dcm", kos_path=d / "ko.dcm"
    )
    return d


@pytest.mark.timeout(120)
def test_documents_open_as_readable_views(qtbot, data_dir: Path, study_with_documents: Path) -> None:
    from hsg_workstation.dicom_io.model import DisplaySetKind, SopKind

    window, db = create_main_window(str(data_dir), sample_dir=study_with_documents)
    qtbot.addWidget(window)
    try:
        # the application opens loops on their middle (filled) frame (issue 11); start from frame 1
        wait_until(
            lambda: window.active is not None and window.active.displayed_index == window.active.index, 20
        )
        window.active.show_frame(0)
        wait_until(lambda: window.active is not None and window.active.displayed_index == 0, 20)
        docs = {
            ds.instances[0].kind: i
            for i, ds in enumerate(window.display_sets)
            if ds.kind is DisplaySetKind.DOCUMENT
        }
        assert set(docs) == {
            SopKind.STRUCTURED_REPORT,
            SopKind.ENCAPSULATED_PDF,
            SopKind.KEY_OBJECT_SELECTION,
        }
        vp = window.active
        window._thumbnail_clicked(docs[SopKind.STRUCTURED_REPORT])
        assert vp.document_view.isVisible() and not vp.view.isVisible()
        text = vp.document_view.toPlainText()
        assert "Hysterosalpingography" in text and "Impression" in text  # laid out like the PDF
        window._thumbnail_clicked(docs[SopKind.ENCAPSULATED_PDF])
        assert "Rendering the PDF pages" in vp.document_view.toPlainText()  # the UI did not wait for pdftoppm
        qtbot.waitUntil(lambda: "pdfpage://1" in vp.document_view.toHtml(), timeout=30_000)
        img = vp.document_view.document().resource(1, "pdfpage://1")  # 1 = ImageResource
        assert img is not None and not img.isNull() and img.width() > 300
        window._thumbnail_clicked(docs[SopKind.KEY_OBJECT_SELECTION])
        assert "Key Object Selection" in vp.document_view.toPlainText()
        # each selected image by series, frame and orientation, never by the tail of a UID (issue 11)
        ko_text = vp.document_view.toPlainText()
        assert "frame" in ko_text and "patient's right on image left" in ko_text and "…" not in ko_text
        # back to an image: the document view goes, the image and overlays return
        loop = next(i for i, d in enumerate(window.display_sets) if d.kind is DisplaySetKind.CINE)
        window._thumbnail_clicked(loop)
        wait_until(lambda: vp.displayed_index == 0)
        assert vp.view.isVisible() and not vp.document_view.isVisible()
        # closing the study while PDF pages render leaves no rendering thread behind
        window._thumbnail_clicked(docs[SopKind.ENCAPSULATED_PDF])
        assert vp.document_view.is_rendering()
        window.close_study()
        assert not [t for t in threading.enumerate() if t.name == "hsg-pdf-pages" and t.is_alive()]
    finally:
        window.close()
        db.close()


def test_optional_panels_keep_their_saved_dock_state(qtbot, data_dir: Path, study_dir: Path) -> None:
    """The report / fill curve / suggestions / PACS docks are added after the main window restored its state;
    their saved visibility must still come back on the next start."""
    window, db = create_main_window(str(data_dir), sample_dir=study_dir)
    qtbot.addWidget(window)
    hidden = [t for t in ("Fill curve", "PACS") if t in window.extra_docks]
    assert hidden, "no optional panel installed"
    for title in hidden:
        window.extra_docks[title].close()
    window.close()
    db.close()
    again, db2 = create_main_window(str(data_dir), sample_dir=study_dir)
    qtbot.addWidget(again)
    try:
        for title in hidden:
            assert again.extra_docks[title].isHidden(), title
        assert not again.extra_docks["Report"].isHidden()
    finally:
        again.close()
        db2.close()


@pytest.mark.timeout(180)
def test_signed_report_is_never_changed_by_suggestions_or_key_frames(sample_workstation, qtbot) -> None:
    import json

    from hsg_workstation.reporting.model import HsgReport
    from hsg_workstation.ui.app import SAMPLE_DATA

    w = sample_workstation
    panel = w.analysis.panel
    qtbot.waitUntil(lambda: bool(panel.suggestion_ids()), timeout=120_000)
    form = w.report_dock.form
    form.set_report(HsgReport.from_json(json.loads((SAMPLE_DATA / "normal" / "report.json").read_text())))
    acks = {(i.rule_id, i.field_path): "reviewed" for i in form.open_warnings()}
    form.sign("Test^Reader", acks)
    assert form.report.is_signed
    before = form.report.to_json() if hasattr(form.report, "to_json") else None
    sid = panel.suggestion_ids()[0]
    _show, accept, _reject = panel.row_buttons(sid)
    assert not accept.isEnabled()  # read-only rows on a signed report
    w.analysis.accept(next(r.suggestion for r in panel._rows.values() if r.suggestion.id == sid))
    assert panel.state(sid) == "failed"
    keys_before = list(form.report.key_images)
    vp = w.active
    vp.show_frame(3)
    wait_until(lambda: vp.displayed_index == 3)
    w.toggle_key_frame()  # marked in the viewer only
    assert form.report.key_images == keys_before
    assert "signed" in w.statusBar().currentMessage()
    if before is not None:
        assert form.report.to_json() == before


def test_keys_go_to_the_cine_after_a_thumbnail_or_key_frame_click(workstation, qtbot) -> None:
    """A click in the series / key frame lists hands the keyboard back to the viewport (a list would take
    ←/→ and Space for its own selection)."""
    from hsg_workstation.dicom_io.model import DisplaySetKind

    w = workstation
    w.activateWindow()
    loop = next(i for i, d in enumerate(w.display_sets) if d.kind is DisplaySetKind.CINE)
    w.thumbnails.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.thumbnails, timeout=5000)
    item = w.thumbnails.item(loop)
    qtbot.mouseClick(
        w.thumbnails.viewport(), Qt.MouseButton.LeftButton, pos=w.thumbnails.visualItemRect(item).center()
    )
    qtbot.waitUntil(lambda: QApplication.focusWidget() is w.active.view, timeout=5000)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: w.active.index == 1, timeout=5000)
    w.toggle_key_frame()
    w.active.show_frame(0)
    w.key_list.setFocus()
    w.key_list.setCurrentRow(0)
    w._key_frame_activated(w.key_list.item(0))
    assert w.active.index == 1
    assert QApplication.focusWidget() is w.active.view


def test_foreign_sr_and_bad_pdf_are_readable_messages(qtbot, tmp_path: Path) -> None:
    """An SR not written by this program is shown as its content tree in words; a broken PDF is a message."""
    import pydicom
    from pydicom.data import get_testdata_file

    from hsg_workstation.dicom_io.model import Instance, SopKind
    from hsg_workstation.ui.document_view import DocumentView, document_for

    sr = Path(get_testdata_file("test-SR.dcm"))
    ds = pydicom.dcmread(sr)
    inst = Instance(ds.SOPInstanceUID, ds.SOPClassUID, "1.2", "1.3", sr, SopKind.STRUCTURED_REPORT)
    text = document_for(inst).toPlainText()
    assert "not by this program" in text  # why it is shown as a tree and not as an HSG report
    assert "Diagnosis" in text and "Sample Text" in text  # the tree itself, in words

    bad = tmp_path / "bad_pdf.dcm"
    ds.EncapsulatedDocument = b"not a pdf at all"
    ds.save_as(bad)
    view = DocumentView()
    qtbot.addWidget(view)
    view.show_instance(
        Instance("1.4", "1.2.840.10008.5.1.4.1.1.104.1", "1.2", "1.3", bad, SopKind.ENCAPSULATED_PDF)
    )
    qtbot.waitUntil(lambda: "not a PDF" in view.toPlainText(), timeout=20_000)
    assert "bad_pdf.dcm" in view.toPlainText()
    view.wait()


def test_enter_in_the_study_list_opens_the_study(workstation, qtbot, data_dir: Path, tmp_path: Path) -> None:
    """Enter belongs to the study list (and the report form) unless a polygon is being drawn."""
    from tests.ui.conftest import make_rf

    w = workstation
    from pydicom.uid import generate_uid

    other = tmp_path / "other"
    other.mkdir()
    make_rf(other / "b.dcm", study_uid=generate_uid(), patient_name="OTHER^STUDY")
    w.database.import_paths([other])
    w.browser.refresh()
    qtbot.waitUntil(lambda: len(w.browser.study_uids()) == 2, timeout=10_000)
    t = w.browser.table
    row = next(r for r in range(t.model().rowCount()) if "OTHER" in str(t.model().index(r, 0).data()))
    w.activateWindow()
    t.setFocus()
    t.setCurrentIndex(t.model().index(row, 0))
    QTest.keyClick(t, Qt.Key.Key_Return)
    assert "OTHER" in w.study.patient_name
    # while the polygon tool is armed, Enter closes the polygon instead
    w.set_tool("polygon")
    assert w.actions_by_id["finish"].isEnabled()
    w.set_tool(None)
    assert not w.actions_by_id["finish"].isEnabled()


def test_a_panel_that_fails_to_build_is_said_not_silently_left_out(
    qtbot, data_dir: Path, study_dir: Path, monkeypatch, caplog
) -> None:
    """A project module that does not import used to make its dock vanish without a word (ImportError caught)."""
    import logging

    import hsg_workstation.ui.fill_dock as fill_dock

    def broken(window):
        raise ImportError("No module named 'hsg_workstation.ui.fill_curve'")

    monkeypatch.setattr(fill_dock, "FillCurveController", broken)
    with caplog.at_level(logging.ERROR, logger="hsg_workstation.ui.app"):
        window, db = create_main_window(str(data_dir), sample_dir=study_dir)
    qtbot.addWidget(window)
    try:
        assert "Fill curve panel could not be built" in caplog.text
        assert "hsg_workstation.ui.fill_curve" in caplog.text
        assert window.report_dock is not None  # the other panels and the viewer still open
    finally:
        window.close()
        db.close()
