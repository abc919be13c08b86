"""Report form (pytest-qt, offscreen): widget ↔ model both ways, autosave to a real DraftStore, conditional fields,
inline rule messages, Sign gating, live impression, closing never loses a draft, image-region links."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget

from hsg_workstation.measurements import ImageRegion, RegionType
from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.drafts import DraftStore
from hsg_workstation.ui.report_editors import EnumEditor, FloatEditor, MultiEnumEditor, TriStateEditor
from hsg_workstation.ui.report_form import ReportForm
from tests.ui.test_report_form_support import complete_report, make_report, read_draft

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def report() -> m.HsgReport:
    return make_report()


@pytest.fixture
def drafts(data_dir: Path) -> DraftStore:
    return DraftStore(data_dir / "drafts")


@pytest.fixture
def form(qtbot, report: m.HsgReport, drafts: DraftStore) -> ReportForm:
    w = ReportForm(report, draft_store=drafts)
    qtbot.addWidget(w)
    w.resize(560, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def choose(editor: EnumEditor, value: object) -> None:
    """Pick ``value`` in an enum combo the way a user does (index change → user edit)."""
    index = editor.index_of(value)
    assert index >= 0, value
    editor.combo.setCurrentIndex(index)


def tick(qtbot, box) -> None:
    """Click a check box on its indicator (its centre may be empty space in a wide grid cell)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))


def test_every_section_field_exists_on_the_model(form: ReportForm, report: m.HsgReport) -> None:
    for path in form.rows:
        report.get_value(path)  # raises KeyError if the form names a field the model does not have
    assert "findings.tubes.left.occlusion_level" in form.rows
    assert isinstance(form.rows["findings.tubes.left.patency"].editor, EnumEditor)
    assert isinstance(form.rows["clinical.indications"].editor, MultiEnumEditor)
    assert isinstance(form.rows["safety.consent"].editor, TriStateEditor)
    assert isinstance(form.rows["technique.contrast_volume_ml"].editor, FloatEditor)


def test_widget_edits_change_model_and_draft_on_disk(qtbot, form: ReportForm, report, drafts) -> None:
    choose(form.rows["findings.tubes.left.patency"].editor, m.Patency.PATENT)
    assert report.findings.tubes.left.patency is m.Patency.PATENT
    assert read_draft(drafts, report)["findings"]["tubes"]["left"]["patency"] == "patent"

    line = form.rows["technique.contrast_volume_ml"].editor.line
    qtbot.keyClicks(line, "7.5")
    assert report.technique.contrast_volume_ml == 7.5
    assert read_draft(drafts, report)["technique"]["contrast_volume_ml"] == 7.5
    assert line.text() == "7.5"  # the model echo did not rewrite what is being typed

    boxes = form.rows["clinical.indications"].editor.boxes
    tick(qtbot, boxes[m.Indication.SECONDARY_INFERTILITY])
    assert report.clinical.indications == [m.Indication.SECONDARY_INFERTILITY]
    assert read_draft(drafts, report)["clinical"]["indications"] == ["secondary_infertility"]

    notes = form.rows["clinical.notes"].editor.edit
    qtbot.keyClicks(notes, "Two years trying")
    assert report.clinical.notes == "Two years trying"
    assert read_draft(drafts, report)["clinical"]["notes"] == "Two years trying"
    assert form.dirty is False


def test_exclusive_none_clears_other_choices(qtbot, form: ReportForm, report) -> None:
    boxes = form.rows["complications.complications"].editor.boxes
    tick(qtbot, boxes[m.Complication.VASOVAGAL])
    tick(qtbot, boxes[m.Complication.NONE])
    assert report.complications.complications == [m.Complication.NONE]
    tick(qtbot, boxes[m.Complication.BLEEDING])
    assert report.complications.complications == [m.Complication.BLEEDING]


def test_invalid_number_is_not_written(qtbot, form: ReportForm, report) -> None:
    editor = form.rows["dose.fluoroscopy_time_s"].editor
    qtbot.keyClicks(editor.line, "42")
    assert report.dose.fluoroscopy_time_s == 42.0
    editor.line.setText("")
    editor.line.textEdited.emit("")
    assert report.dose.fluoroscopy_time_s is None
    editor.line.textEdited.emit("4x")  # what a paste of junk looks like; the validator blocks typing it
    assert report.dose.fluoroscopy_time_s is None
    assert not editor.is_valid


def test_model_changes_show_in_widgets(form: ReportForm, report) -> None:
    report.set_value("findings.tubes.right.spill", "free")
    assert form.rows["findings.tubes.right.spill"].editor.value() is m.Spill.FREE
    assert form.rows["findings.tubes.right.spill"].editor.combo.currentText() == "Free"

    report.technique.contrast_volume_ml = 12.0
    report.changed("technique.contrast_volume_ml")
    assert form.rows["technique.contrast_volume_ml"].editor.line.text() == "12"

    report.set_value("safety.contraindications", [m.Contraindication.NONE])
    assert form.rows["safety.contraindications"].editor.boxes[m.Contraindication.NONE].isChecked()

    report.add_filling_defect(m.FillingDefect(location=m.DefectLocation.FUNDUS, size_mm=6.0))
    assert len(form.defect_blocks) == 1
    assert form.rows["findings.filling_defects[0].size_mm"].editor.line.text() == "6"
    report.remove_filling_defect(0)
    assert form.defect_blocks == []
    assert "findings.filling_defects[0].size_mm" not in form.rows


def test_filling_defect_rows_add_and_remove(qtbot, form: ReportForm, report, drafts) -> None:
    qtbot.mouseClick(form.add_defect_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(form.add_defect_button, Qt.MouseButton.LeftButton)
    assert len(report.findings.filling_defects) == 2
    choose(form.rows["findings.filling_defects[1].suspected_nature"].editor, m.DefectNature.POLYP)
    assert report.findings.filling_defects[1].suspected_nature is m.DefectNature.POLYP
    qtbot.mouseClick(form.defect_blocks[0].remove_button, Qt.MouseButton.LeftButton)
    assert len(report.findings.filling_defects) == 1
    assert report.findings.filling_defects[0].suspected_nature is m.DefectNature.POLYP
    assert form.rows["findings.filling_defects[0].suspected_nature"].editor.value() is m.DefectNature.POLYP
    assert len(read_draft(drafts, report)["findings"]["filling_defects"]) == 1


def test_conditional_fields_appear_and_disappear(form: ReportForm, report) -> None:
    rows = form.rows
    occl = rows["findings.tubes.left.occlusion_level"]
    assert not occl.is_visible
    report.set_value("findings.tubes.left.patency", "occluded")
    assert occl.is_visible
    assert not rows["findings.tubes.left.proximal_spasm"].is_visible
    report.set_value("findings.tubes.left.occlusion_level", m.OcclusionLevel.PROXIMAL)
    assert rows["findings.tubes.left.proximal_spasm"].is_visible
    report.set_value("findings.tubes.left.patency", "patent")
    assert not occl.is_visible and not rows["findings.tubes.left.proximal_spasm"].is_visible

    diameter = rows["findings.tubes.right.hydrosalpinx_diameter_mm"]
    assert not rows["findings.tubes.right.hydrosalpinx"].is_visible
    report.set_value("findings.tubes.right.calibre", "dilated")
    assert rows["findings.tubes.right.hydrosalpinx"].is_visible and not diameter.is_visible
    report.set_value("findings.tubes.right.hydrosalpinx", True)
    assert diameter.is_visible

    limits = rows["technique.limitation_reasons"]
    assert not limits.is_visible
    report.set_value("technique.study_quality", "limited")
    assert limits.is_visible
    report.set_value("technique.study_quality", "diagnostic")
    assert not limits.is_visible

    afs = rows["findings.adhesions.afs_extent"]
    assert not afs.is_visible
    report.set_value("findings.adhesions.present", True)
    assert afs.is_visible

    # a surgically absent tube hides everything but its status and note
    report.set_value("findings.tubes.left.status", "surgically_absent")
    assert not rows["findings.tubes.left.patency"].is_visible
    assert rows["findings.tubes.left.status"].is_visible


def test_inline_rule_message_for_contradiction_then_fixed(form: ReportForm, report) -> None:
    report.set_value("findings.tubes.left.patency", "patent")
    report.set_value("findings.tubes.left.spill", "none")
    row = form.rows["findings.tubes.left.patency"]
    assert row.messages.isVisibleTo(form)
    assert "V08" in row.messages.text()
    assert "#b3261e" in row.messages.text()  # error colour
    assert any(i.rule_id == "V08" for i in form.issues_panel.issues)
    choose(form.rows["findings.tubes.left.spill"].editor, m.Spill.FREE)
    assert "V08" not in row.messages.text()
    assert not any(i.rule_id == "V08" for i in form.issues)


def test_issue_for_a_block_shows_on_the_block(form: ReportForm, report) -> None:
    """An issue whose path is not a visible row still shows, on the finding's block."""
    report.set_value("findings.adhesions.present", True)
    report.set_value("findings.adhesions.afs_extent", m.AfsExtent.LT_ONE_THIRD)
    report.findings.adhesions.afs_score = 11  # inconsistent computed field (V18)
    report.changed("findings.adhesions.afs_score")
    block = form.blocks["findings.adhesions"]
    assert "V18" in block.messages.text() or any("V18" in r.messages.text() for r in block.rows), [
        i for i in form.issues if i.rule_id == "V18"
    ]


def test_sign_disabled_with_errors_enabled_without(qtbot, form: ReportForm, report) -> None:
    assert form.error_count() > 0
    assert not form.sign_button.isEnabled()
    complete_report(report)
    report.changed("")
    assert form.error_count() == 0, [i for i in form.issues if i.severity.value == "error"]
    assert form.sign_button.isEnabled()
    report.set_value("findings.tubes.left.spill", "none")  # patent + no spill: V08 error
    assert not form.sign_button.isEnabled()
    report.set_value("findings.tubes.left.spill", "free")
    assert form.sign_button.isEnabled()


def test_sign_acknowledges_warnings_and_locks_the_form(qtbot, form: ReportForm, report, drafts) -> None:
    complete_report(report)
    report.set_value("technique.contrast_volume_ml", 25.0)  # V21 warning
    warnings = form.open_warnings()
    assert [w.rule_id for w in warnings] == ["V21"]
    assert form.sign_button.isEnabled()
    with pytest.raises(m.ReportValidationError):
        form.sign("Dr Verifier")  # unacknowledged warning
    with qtbot.waitSignal(form.report_signed, timeout=1000):
        form.sign("Dr Verifier", {(w.rule_id, w.field_path): "volume needed for reflux" for w in warnings})
    assert report.is_signed and report.signature.verifying_observer_name == "Dr Verifier"
    assert report.acknowledgements[0].reason == "volume needed for reflux"
    assert not form.sign_button.isEnabled()
    assert not form.rows["technique.contrast_volume_ml"].editor.isEnabled()
    assert "SIGNED" in form.status_label.text()
    # signed reports are not drafts (issue 16 point 6): the draft is gone, the signed store holds the report
    assert not drafts.path_for(report.report_id).exists()
    assert drafts.signed.load(report.report_id).to_json() == report.to_json()


def test_sign_dialog_requires_name_and_reasons(qtbot, form: ReportForm, report) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from hsg_workstation.ui.report_actions import SignDialog

    complete_report(report)
    report.set_value("technique.contrast_volume_ml", 25.0)
    dialog = SignDialog(report, form.open_warnings(), "", form)
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.name_edit.setText("Dr Verifier")
    assert not ok.isEnabled()  # the V21 warning still needs a reason
    next(iter(dialog.reason_edits.values())).setText("reflux")
    assert ok.isEnabled()
    assert dialog.acknowledgements() == {("V21", "technique.contrast_volume_ml"): "reflux"}


def test_impression_preview_updates_live(form: ReportForm, report) -> None:
    before = form.impression_panel.preview.toPlainText()
    report.set_value("findings.tubes.left.patency", "occluded")
    report.set_value("findings.tubes.left.occlusion_level", m.OcclusionLevel.DISTAL)
    after = form.impression_panel.preview.toPlainText()
    assert after != before
    assert "left" in after.lower() and "occlu" in after.lower()
    assert report.impression.sentences == []  # the preview does not write the report
    form.user_name = "Dr Test"
    form.impression_panel.regenerate()
    assert [s.text for s in report.impression.sentences] == [s.text for s in form.generated_impression]
    assert form.impression_panel.sentences.count() == len(report.impression.sentences)


def test_impression_sentence_edit_is_audited(qtbot, form: ReportForm, report) -> None:
    form.user_name = "Dr Test"
    report.set_value("findings.tubes.left.patency", "occluded")
    form.impression_panel.regenerate()
    item = form.impression_panel.sentences.item(0)
    item.setText("My own sentence.")  # what an in-place edit does
    assert report.impression.sentences[0].text == "My own sentence."
    assert report.impression.sentences[0].generated is False
    assert report.impression.edits[-1].action is m.ImpressionEditAction.EDITED
    assert report.impression.edits[-1].who == "Dr Test"


def test_recommendations_one_per_line(qtbot, form: ReportForm, report) -> None:
    edit = form.recommendations_panel.edit
    edit.setPlainText("Hysteroscopy\nRepeat HSG in 1 month")
    assert [r.text for r in report.recommendations] == ["Hysteroscopy", "Repeat HSG in 1 month"]


def test_computed_values_are_shown(form: ReportForm, report) -> None:
    report.set_value("safety.lmp_date", "2026-11-12")
    assert "day 9" in form.cycle_hint.text()
    assert form.rows["safety.cycle_day"].editor.line.placeholderText().startswith("9")
    report.set_value("findings.adhesions.present", True)
    report.set_value("findings.adhesions.afs_extent", m.AfsExtent.ONE_TO_TWO_THIRDS)
    report.set_value("findings.adhesions.afs_type", m.AfsAdhesionType.DENSE)
    report.set_value("findings.adhesions.afs_menstrual_pattern", m.AfsMenstrualPattern.HYPOMENORRHOEA)
    assert "8" in form.afs_label.text() and "stage II" in form.afs_label.text()
    report.dose.set_dap(25.6, m.DapUnit.DGY_CM2, m.DoseSource.RF_LOOP)
    report.changed("dose")
    assert form.rows["dose.dap_total_gy_cm2"].editor.line.text() == "2.56"
    assert "25.6 dGy·cm²" in form.dose_hint.text()


def test_typed_dap_is_recorded_as_manual_gy_cm2(qtbot, form: ReportForm, report) -> None:
    qtbot.keyClicks(form.rows["dose.dap_total_gy_cm2"].editor.line, "3.2")
    assert report.dose.dap_total_gy_cm2 == 3.2
    assert report.dose.dap_source_unit is m.DapUnit.GY_CM2
    assert report.dose.dap_source is m.DoseSource.MANUAL
    assert not any(i.rule_id == "V23" for i in form.issues)


def test_derived_peritoneal_spill_button(qtbot, form: ReportForm, report) -> None:
    for side in ("left", "right"):
        report.set_value(f"findings.tubes.{side}.spill", "free")
    assert form.use_derived_spill.isEnabled()
    qtbot.mouseClick(form.use_derived_spill, Qt.MouseButton.LeftButton)
    assert report.findings.peritoneum.peritoneal_spill_overall is m.PeritonealSpill.BILATERAL_FREE
    assert not form.use_derived_spill.isEnabled()


def test_mark_on_image_signal_and_attach_region(qtbot, form: ReportForm, report, drafts) -> None:
    block = form.blocks["findings.tubes.left"]
    with qtbot.waitSignal(form.mark_on_image_requested, timeout=1000) as blocker:
        qtbot.mouseClick(block.mark_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["findings.tubes.left"]
    uid = report.identity.source_instances[0].sop_instance_uid
    region = ImageRegion(uid, 7, RegionType.ELLIPSE, ((10.0, 20.0), (30.0, 20.0), (20.0, 15.0), (20.0, 25.0)))
    form.attach_region("findings.tubes.left", region)
    link = report.findings.tubes.left.image_links[0]
    assert link.region == region and link.frame_number == 7
    assert link.sop_class_uid == "1.2.840.10008.5.1.4.1.1.12.2"
    assert "1 linked region" in block.links_label.text() and "frame 7" in block.links_label.toolTip()
    assert read_draft(drafts, report)["findings"]["tubes"]["left"]["image_links"][0]["frame_number"] == 7
    # a field path maps to the finding that owns it
    form.attach_region("findings.tubes.left.hydrosalpinx_diameter_mm", region)
    assert len(report.findings.tubes.left.image_links) == 2
    report.add_filling_defect()
    form.attach_region("findings.filling_defects[0]", region)
    assert len(report.findings.filling_defects[0].image_links) == 1
    with pytest.raises(KeyError):
        form.attach_region("technique.contrast_volume_ml", region)
    assert block.unlink_button.isVisible()
    with qtbot.waitSignal(form.region_unlinked, timeout=1000) as unlinked:
        qtbot.mouseClick(block.unlink_button, Qt.MouseButton.LeftButton)
    assert unlinked.args == ["findings.tubes.left", region]
    assert len(report.findings.tubes.left.image_links) == 1
    assert len(read_draft(drafts, report)["findings"]["tubes"]["left"]["image_links"]) == 1


def test_key_images_from_viewer(form: ReportForm, report) -> None:
    form.add_key_image("1.2.3.4", "1.2.840.10008.5.1.4.1.1.12.2", 5, "full distension")
    assert report.key_images[0].frame_number == 5
    assert form.key_images_panel.list.count() == 1
    form.key_images_panel._remove()
    assert report.key_images == []


def test_close_refused_until_the_draft_is_on_disk(qtbot, report: m.HsgReport, data_dir: Path) -> None:
    store = DraftStore(data_dir / "drafts")
    form = ReportForm(report, draft_store=store)
    qtbot.addWidget(form)
    form.show()
    # The drafts folder disappears and a file takes its name: every write fails (works as root too).
    shutil.rmtree(store.directory)
    store.directory.write_text("not a directory")
    qtbot.keyClicks(form.rows["clinical.prior_imaging"].editor.line, "US 2026")
    assert report.clinical.prior_imaging == "US 2026"
    assert form.dirty and form.last_save_error
    assert "NOT SAVED" in form.status_label.text()

    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    original = QMessageBox.critical
    QMessageBox.critical = staticmethod(lambda *a, **k: shown.append(a[2]))  # no modal loop in tests
    try:
        assert form.close() is False
        assert form.isVisible()
        assert shown and "could not be written" in shown[0]
        store.directory.unlink()
        store.directory.mkdir()
        assert form.close() is True
    finally:
        QMessageBox.critical = original
    on_disk = read_draft(store, report)
    assert on_disk["clinical"]["prior_imaging"] == "US 2026"
    assert m.HsgReport.from_json(on_disk) == report


def test_close_after_edits_leaves_an_equal_draft(qtbot, report, drafts) -> None:
    form = ReportForm(report, draft_store=drafts)
    qtbot.addWidget(form)
    form.show()
    choose(form.rows["findings.cavity.shape"].editor, m.CavityShape.FUNDAL_INDENTATION)
    qtbot.keyClicks(form.rows["findings.cavity.internal_indentation_depth_mm"].editor.line, "12")
    assert form.close()
    recovered = drafts.load(report.report_id)
    assert recovered == report
    assert recovered.findings.cavity.internal_indentation_depth_mm == 12.0


def test_signed_report_opens_read_only(qtbot, report, drafts) -> None:
    complete_report(report)
    report.sign("Dr Verifier")
    form = ReportForm(report, draft_store=drafts)
    qtbot.addWidget(form)
    assert not form.rows["findings.tubes.left.patency"].editor.isEnabled()
    assert not form.add_defect_button.isEnabled()
    assert not form.sign_button.isEnabled()
    assert "SIGNED by Dr Verifier" in form.status_label.text()


def test_labels_have_buddies_and_tab_order_follows_reading_order(form: ReportForm) -> None:
    for path in (
        "clinical.indications",
        "safety.lmp_date",
        "technique.catheter_type",
        "findings.cavity.shape",
    ):
        row = form.rows[path]
        assert row.label.buddy() is row.editor.focus_widget()
        assert "&" in row.spec.label  # has a mnemonic
    order = ["clinical.indications", "safety.lmp_date", "technique.catheter_type", "dose.dap_total_gy_cm2",
             "findings.cervix.cervical_canal", "findings.tubes.left.status", "findings.tubes.right.status",
             "complications.complications"]  # fmt: skip
    targets = {form.rows[p].editor.focus_widget(): p for p in order}
    seen: list[str] = []
    w: QWidget = form.rows["clinical.indications"].editor.focus_widget()
    for _ in range(2000):
        if w in targets and targets[w] not in seen:
            seen.append(targets[w])
        w = w.nextInFocusChain()
    assert seen == order


def test_action_buttons_say_why_they_are_disabled(form: ReportForm) -> None:
    for button in (form.pdf_button, form.export_button, form.send_button):
        if not button.isEnabled():
            assert "unavailable" in button.toolTip() or "needs" in button.toolTip()
    form.set_handlers(send=lambda report: "sent")
    assert not form.send_button.isEnabled() and "Sign the report first" in form.send_button.toolTip()


def test_screenshot(qtbot, form: ReportForm, report) -> None:
    """Screenshot for looking at the layout (kept under the test data dir, not the repository)."""
    complete_report(report)
    report.set_value("findings.tubes.left.patency", "occluded")
    report.set_value("findings.tubes.left.occlusion_level", m.OcclusionLevel.PROXIMAL)
    report.set_value("findings.tubes.left.spill", "free")
    out = Path(os.environ.get("HSG_REPORT_FORM_SCREENSHOT", form.draft_store.directory.parent / "form.png"))
    assert form.grab().save(str(out))
    assert out.stat().st_size > 10_000


def test_failed_sterilisation_asks_for_critical_result_communication(qtbot, form: ReportForm, report) -> None:
    complete_report(report)
    assert form.critical_box.isHidden()
    report.set_value("clinical.indications", [m.Indication.STERILIZATION_CONFIRMATION])
    report.set_value("findings.tubes.left.status", "sterilized")
    assert not form.critical_box.isHidden()
    assert any(w.rule_id == "V11" and w.critical for w in form.open_warnings())
    qtbot.keyClicks(form.rows["critical_result.communicated_to"].editor.line, "Referring^Gynaecologist")
    form.user_name = "Reader^Rita"
    qtbot.mouseClick(form.record_communication_button, Qt.MouseButton.LeftButton)
    cr = report.critical_result
    assert cr.flagged and cr.communicated_at is not None and cr.communicated_by == "Reader^Rita"
    assert "CRITICAL" in cr.reason
    assert not any(w.rule_id == "V11" for w in form.open_warnings())  # now information, still shown
    assert any(i.rule_id == "V11" for i in form.issues)
    assert "Communicated" in form.critical_when_label.text()


def test_plain_keys_in_the_form_do_not_fire_window_shortcuts(qtbot, report) -> None:
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtWidgets import QDockWidget, QMainWindow

    window = QMainWindow()
    qtbot.addWidget(window)
    fired: list[str] = []
    for key in ("P", "Right", "Ctrl+S"):
        act = QAction(key, window)
        act.setShortcut(QKeySequence(key))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.triggered.connect(lambda *_a, k=key: fired.append(k))
        window.addAction(act)
    window.setCentralWidget(QWidget())
    form = ReportForm(report)
    dock = QDockWidget("Report", window)
    dock.setWidget(form)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.show()
    qtbot.waitExposed(window)
    combo = form.rows["findings.tubes.left.patency"].editor.combo
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus, timeout=2000)
    qtbot.keyClick(combo, Qt.Key.Key_P)  # keyboard search in the pick list: "Patent"
    qtbot.keyClick(combo, Qt.Key.Key_Right)
    assert fired == []
    assert report.findings.tubes.left.patency is m.Patency.PATENT
    qtbot.keyClick(combo, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert fired == ["Ctrl+S"]


def test_section_navigation_scrolls_and_focuses_first_field(qtbot, form: ReportForm) -> None:
    index = next(i for i in range(form.section_nav.count()) if form.section_nav.itemText(i) == "E. Findings")
    form._jump_to_section(index)
    assert form.scroll.verticalScrollBar().value() > 0
    assert form.rows["findings.cervix.cervical_canal"].editor.combo.hasFocus()
    assert form.section_nav.currentText() == "E. Findings"
    before = form.scroll.verticalScrollBar().value()
    form.step_section(1)
    assert form.scroll.verticalScrollBar().value() > before
    assert form.rows["complications.complications"].editor.focus_widget().hasFocus()


def test_amend_a_signed_report_continues_in_the_form(qtbot, form: ReportForm, report, drafts) -> None:
    complete_report(report)
    form.sign("Verifier^Dora")
    assert form.amend_button.isVisible() and not form.sign_button.isVisible()
    form.last_sr_sop_instance_uid = "1.2.826.0.1.3680043.8.498.99"
    with qtbot.waitSignal(form.report_replaced, timeout=1000) as blocker:
        new = form.amend("wrong side in impression")
    assert blocker.args == [new] and form.report is new
    assert not new.is_signed and new.predecessor.report_id == report.report_id
    assert new.predecessor.sr_sop_instance_uid == "1.2.826.0.1.3680043.8.498.99"
    assert form.rows["findings.tubes.left.patency"].editor.isEnabled()
    assert form.sign_button.isVisible() and "Amendment draft" in form.status_label.text()
    choose(form.rows["findings.tubes.left.patency"].editor, m.Patency.INDETERMINATE)
    assert new.findings.tubes.left.patency is m.Patency.INDETERMINATE
    assert report.findings.tubes.left.patency is m.Patency.PATENT  # the signed one is untouched
    assert read_draft(drafts, new)["findings"]["tubes"]["left"]["patency"] == "indeterminate"


def test_reopening_a_study_recovers_its_draft(qtbot, report, drafts) -> None:
    from hsg_workstation.ui.report_form import draft_for_study

    form = ReportForm(report, draft_store=drafts)
    qtbot.addWidget(form)
    qtbot.keyClicks(form.rows["clinical.prior_imaging"].editor.line, "MRI 2025")
    form.deleteLater()  # as if the window went away without any goodbye
    recovered = draft_for_study(drafts, report.identity.study_instance_uid)
    assert recovered == report and recovered is not report
    assert draft_for_study(drafts, "1.2.3.999") is None


def test_acknowledge_a_warning_from_the_issue_list(qtbot, form: ReportForm, report, monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    complete_report(report)
    report.set_value("technique.contrast_volume_ml", 1.0)  # V21 warning
    panel = form.issues_panel
    row = next(i for i, issue in enumerate(panel.issues) if issue.rule_id == "V21")
    panel.list.setCurrentRow(row)
    assert panel.ack_button.isEnabled()
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("test bolus only", True)))
    qtbot.mouseClick(panel.ack_button, Qt.MouseButton.LeftButton)
    assert report.is_acknowledged("V21", "technique.contrast_volume_ml")
    assert report.acknowledgements[-1].who == "Dr Test Reader"  # the report's author
    assert form.open_warnings() == []
    assert "acknowledged" in form.rows["technique.contrast_volume_ml"].messages.text()


def test_mnemonics_are_unique(form: ReportForm, report) -> None:
    """Alt+letter must reach one place: no two visible, enabled mnemonics share a letter."""
    from PySide6.QtWidgets import QAbstractButton, QLabel

    complete_report(report)
    report.changed("")
    letters: dict[str, str] = {}
    for w in form.findChildren(QWidget):
        if not isinstance(w, QLabel | QAbstractButton) or not w.isVisibleTo(form) or not w.isEnabled():
            continue
        text = w.text().replace("&&", "")
        if "&" in text and (not isinstance(w, QLabel) or w.buddy() is not None):
            letter = text[text.index("&") + 1].lower()
            assert letter not in letters, f"{text!r} and {letters[letter]!r} share Alt+{letter}"
            letters[letter] = text
    assert {"i", "l", "c", "d", "s", "g"} <= set(letters)


def test_pick_lists_offer_unanswered_only_where_the_model_allows_none(form: ReportForm, report) -> None:
    vagina = form.rows["findings.cervix.eshre_vagina"].editor  # EshreVagina, default not_assessed
    assert vagina.combo.findText("—") == -1
    assert vagina.value() is m.EshreVagina.NOT_ASSESSED
    assert form.rows["findings.tubes.left.patency"].editor.combo.itemText(0) == "—"
    choose(vagina, m.EshreVagina.V1)
    assert report.findings.cervix.eshre_vagina is m.EshreVagina.V1


def test_a_refused_edit_is_reported_without_a_modal_dialog(qtbot, form: ReportForm, report) -> None:
    editor = (
        form.rows["findings.filling_defects[0].count"].editor if report.findings.filling_defects else None
    )
    assert editor is None
    report.add_filling_defect()
    editor = form.rows["findings.filling_defects[0].count"].editor
    form._user_edit(
        "findings.filling_defects[0].location",
        "not-a-location",
        form.rows["findings.filling_defects[0].location"].kind,
    )
    assert "edit not accepted" in form.status_label.text()
    assert report.findings.filling_defects[0].location is None
    qtbot.keyClicks(editor.line, "2")  # a good edit clears the message
    assert "edit not accepted" not in form.status_label.text()


def test_fields_that_stop_applying_are_cleared_and_restored(form: ReportForm, report, drafts) -> None:
    report.set_value("findings.tubes.left.patency", "occluded")
    report.set_value("findings.tubes.left.occlusion_level", m.OcclusionLevel.DISTAL)
    report.set_value("findings.tubes.left.patency", "patent")
    # hidden on screen, so it must not stay in the report (it would reach the SR / PDF)
    assert report.findings.tubes.left.occlusion_level is None
    assert read_draft(drafts, report)["findings"]["tubes"]["left"]["occlusion_level"] is None
    report.set_value("findings.tubes.left.patency", "occluded")  # changed back: the answer returns
    assert report.findings.tubes.left.occlusion_level is m.OcclusionLevel.DISTAL
    assert form.rows["findings.tubes.left.occlusion_level"].editor.value() is m.OcclusionLevel.DISTAL

    report.set_value("technique.study_quality", "limited")
    report.set_value("technique.limitation_reasons", [m.LimitationReason.CONTRAST_REFLUX])
    report.set_value("technique.study_quality", "diagnostic")
    assert report.technique.limitation_reasons == []
    report.set_value("clinical.prior_imaging", "")  # text that hides a date
    report.set_value("clinical.prior_imaging", "US")
    report.set_value("clinical.prior_imaging_date", "2026-01-02")
    report.set_value("clinical.prior_imaging", "")
    assert report.clinical.prior_imaging_date is None


def test_values_loaded_on_inapplicable_fields_are_shown_not_dropped(qtbot, drafts) -> None:
    report = make_report()
    report.findings.cavity.shape = m.CavityShape.NORMAL_TRIANGULAR
    report.findings.cavity.intercornual_distance_mm = 31.0  # e.g. from an imported SR
    form = ReportForm(report, draft_store=drafts)
    qtbot.addWidget(form)
    row = form.rows["findings.cavity.intercornual_distance_mm"]
    assert row.is_visible and row.editor.line.text() == "31"
    report.set_value("findings.cavity.size", "normal")  # any edit
    assert report.findings.cavity.intercornual_distance_mm == 31.0


def test_main_window_close_refused_while_the_docked_draft_is_not_on_disk(
    qtbot, report, data_dir, monkeypatch
):
    from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox

    store = DraftStore(data_dir / "drafts")
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QWidget())
    form = ReportForm(report, draft_store=store)
    dock = QDockWidget("Report", window)
    dock.setWidget(form)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.show()
    qtbot.waitExposed(window)
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a, **k: None))
    shutil.rmtree(store.directory)
    store.directory.write_text("not a directory")
    qtbot.keyClicks(form.rows["clinical.comparison"].editor.line, "HSG 2024")
    assert window.close() is False and window.isVisible()
    store.directory.unlink()
    store.directory.mkdir()
    assert window.close() is True
    assert read_draft(store, report)["clinical"]["comparison"] == "HSG 2024"


def test_pregnancy_test_time_and_issue_click_focuses_field(qtbot, form: ReportForm, report) -> None:
    import datetime as dt

    row = form.rows["safety.pregnancy_test_datetime"]
    assert not row.is_visible
    report.set_value("safety.pregnancy_test", "urine_negative")
    assert row.is_visible
    qtbot.keyClicks(row.editor.line, "2026-11-20 08:15")
    assert report.safety.pregnancy_test_datetime == dt.datetime(2026, 11, 20, 8, 15)
    assert m.HsgReport.from_json(report.to_json()) == report

    panel = form.issues_panel
    index = next(i for i, issue in enumerate(panel.issues) if issue.field_path == "technique.catheter_type")
    item = panel.list.item(index)
    panel.list.itemClicked.emit(item)
    assert form.rows["technique.catheter_type"].editor.combo.hasFocus()


def test_opening_a_report_writes_no_draft_until_it_changes(qtbot, drafts) -> None:
    form = ReportForm(m.HsgReport(), drafts)  # how the main window starts: an empty placeholder
    qtbot.addWidget(form)
    opened = make_report()
    form.set_report(opened)
    assert not drafts.path_for(opened.report_id).exists()
    assert form.rows["findings.tubes.left.patency"].editor.isEnabled()
    choose(form.rows["findings.tubes.left.patency"].editor, m.Patency.PATENT)
    assert read_draft(drafts, opened)["findings"]["tubes"]["left"]["patency"] == "patent"
