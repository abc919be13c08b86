"""From a freshly opened study to a signed report with real Qt events on the real main window (offscreen).

A scripted reader drives the window with QTest key presses and mouse clicks only (no model calls): the Normal HSG
template key, the safety answers every patient needs (indication, infertility duration, LMP, then "All six
confirmed" for risk history, bleeding, pregnancy test and status, contraindications, consent), the generated
impression, Sign. Every key press, click and wheel turn
(scrolling the form to a field) counts as one action. The abnormal case (bilateral distal hydrosalpinx) then
changes both tubes, marks each hydrosalpinx on the image (an ellipse drag fills its diameter) and signs.

Baselines in the same run: ``field_by_field_actions`` — the same normal report without the template and the
one-key suggestion accept (every finding chosen in its pick-list, each safety box ticked, as before issue 11).

Targets (issue 11): normal ≤ 20 actions, abnormal ≤ 60, minimum window ≤ 1366×768. Prints ONE JSON object.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/reporting.py
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class Reader:
    """Real input events on the real widgets; counts the actions a person would make."""

    def __init__(self, window) -> None:
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance()
        self.window = window
        self.form = window.report_dock.form
        self.actions = 0
        self.log: list[str] = []

    def _settle(self) -> None:
        for _ in range(3):
            self.app.processEvents()

    def _visible(self, widget) -> None:
        """Scroll the form so ``widget`` is on screen: one wheel flick when it was not."""
        bar = self.form.scroll.verticalScrollBar()
        before = bar.value()
        self.form.scroll.ensureWidgetVisible(widget, 20, 40)
        self._settle()
        if bar.value() != before:
            self.actions += 1
            self.log.append("scroll")

    def click(self, widget, what: str = "") -> None:
        from PySide6.QtCore import QPoint, Qt
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QCheckBox

        if self.form.isAncestorOf(widget):
            self._visible(widget)
        if isinstance(widget, QCheckBox):  # on the box itself (the row is wider than its text)
            QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))
        else:
            QTest.mouseClick(widget, Qt.MouseButton.LeftButton)
        self.actions += 1
        self.log.append(f"click {what}")
        self._settle()

    def key(self, widget, key, modifiers=None, what: str = "") -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        QTest.keyClick(widget, key, modifiers or Qt.KeyboardModifier.NoModifier)
        self.actions += 1
        self.log.append(f"key {what}")
        self._settle()

    def type(self, widget, text: str, what: str = "") -> None:
        """Click into a text field and type; the reader's next click elsewhere finishes the edit (no Tab)."""
        from PySide6.QtTest import QTest

        self.click(widget, what)
        for ch in text:
            QTest.keyClicks(widget, ch)
            self.actions += 1
        self.log.append(f"type {what} ({len(text)} keys)")
        self._settle()

    def choose(self, combo, text: str) -> None:
        """Click the pick-list, click the item: two actions."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        index = combo.findText(text)
        if index < 0:
            raise ValueError(f"{combo.objectName() or combo}: no item {text!r}")
        self.click(combo, f"open {text}")
        view = combo.view()
        if view.isVisible():
            # the reader's click on the item: offscreen, Qt's popup ignores synthesized clicks, so the
            # item is made current in the open list and taken with Return (one action, as the click)
            view.setCurrentIndex(view.model().index(index, 0))
            QTest.keyClick(view, Qt.Key.Key_Return)
        else:  # a platform without popups: the keyboard does the same in one action
            combo.setCurrentIndex(index)
        self.actions += 1
        self.log.append(f"pick {text}")
        self._settle()
        if combo.currentIndex() != index:
            raise RuntimeError(f"pick-list did not take {text!r}")

    def check(self, editor, member_value: str) -> None:
        box = next(b for m, b in editor.boxes.items() if m.value == member_value)
        self.click(box, member_value)

    def sign(self) -> None:
        """Sign…, then the dialog's default button (Enter) — the signer is the configured user."""
        from PySide6.QtCore import Qt, QTimer
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QApplication, QDialog

        def confirm() -> None:
            dialog = QApplication.activeModalWidget()
            if isinstance(dialog, QDialog):
                self.actions += 1
                self.log.append("key Enter (sign dialog)")
                QTest.keyClick(dialog, Qt.Key.Key_Return)

        QTimer.singleShot(50, confirm)
        self.click(self.form.sign_button, "Sign")
        self._settle()


def _window(data_dir: Path, study: Path):
    from hsg_workstation.ui.app import create_main_window

    window, db = create_main_window(str(data_dir), sample_dir=study)
    window.resize(1366, 768)
    return window, db


def _wait(app, predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.processEvents()
        if predicate():
            return
        time.sleep(0.01)
    raise RuntimeError("condition not met in time")


def _profile(data_dir: Path) -> None:
    """The reader configured once (not counted): name, catheter, contrast, volume, the unit's usual views."""
    from hsg_workstation.reporting.templates import UserProfile

    p = UserProfile("Reader^Anna", "Synthetic Teaching Hospital")
    p.defaults.update(
        {
            "technique.catheter_type": "balloon_catheter",
            "technique.contrast_type": "water_soluble_iodinated",
            "technique.contrast_product": "Iohexol 300",
            "technique.contrast_volume_ml": 8.0,
            "technique.views": ["early_filling", "full_distension", "delayed_post_drainage"],
        }
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    p.save(data_dir / "user-profile.json")


def _safety(r: Reader, shortcuts: bool = True) -> None:
    rows = r.form.rows
    r.check(rows["clinical.indications"].editor, "primary_infertility")
    strip = r.window.report_dock.toolbar.safety
    r.type(strip.duration, "18", "infertility months")
    r.type(strip.lmp, "28.12", "LMP")
    # the six checks (no risk history, not bleeding, pregnancy test negative, not pregnant, no
    # contraindication, consent) all confirmed: one click on "All six confirmed"; the field-by-field
    # baseline ticks the six boxes one by one
    if shortcuts:
        r.click(strip.confirm_all, "All six confirmed")
    else:
        for path, box in strip.boxes.items():
            r.click(box, path)
    missing = [p for p, box in strip.boxes.items() if not box.isChecked()]
    if missing:
        raise RuntimeError(f"safety checks not set: {missing}")


def _finish(r: Reader) -> None:
    r.click(r.window.report_dock.toolbar.impression_button, "Use generated impression")
    if os.environ.get("HSG_BENCH_DEBUG"):
        print([(i.rule_id, i.field_path, i.severity.value) for i in r.form.issues], file=sys.stderr)
        print(r.log, file=sys.stderr)
    r.sign()


def _normal(r: Reader, template: bool) -> None:
    from PySide6.QtCore import Qt

    view = r.window.active.view
    if template:
        r.key(
            view,
            Qt.Key.Key_N,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
            "Normal HSG",
        )
    else:
        rows = r.form.rows
        for path, text in (
            ("findings.cervix.cervical_canal", "Normal"),
            ("findings.cavity.opacified", "Yes"),
            ("findings.cavity.shape", "Normal triangular"),
            ("findings.cavity.eshre_uterus", "U0"),
            ("findings.adhesions.present", "No"),
        ):
            r.choose(rows[path].editor.combo, text)
        for side in ("right", "left"):
            for field, text in (
                ("status", "Present"),
                ("opacified_to", "Fimbrial"),
                ("patency", "Patent"),
                ("spill", "Free"),
                ("calibre", "Normal"),
                ("hydrosalpinx", "No"),
            ):
                r.choose(rows[f"findings.tubes.{side}.{field}"].editor.combo, text)
        for path, text in (
            ("findings.peritoneum.peritoneal_spill_overall", "Bilateral free"),
            ("findings.peritoneum.intravasation", "Absent"),
            ("technique.study_quality", "Diagnostic"),
        ):
            r.choose(rows[path].editor.combo, text)
        r.check(rows["complications.complications"].editor, "none")
    _safety(r, shortcuts=template)
    _finish(r)


def _hydrosalpinx(r: Reader, truth: dict) -> None:
    """Template, then both tubes: occluded distally, no spill, hydrosalpinx marked on the image."""
    from PySide6.QtCore import QPointF, Qt

    from tests.ui.helpers import drag

    view = r.window.active.view
    r.key(
        view,
        Qt.Key.Key_N,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        "Normal HSG",
    )
    rows = r.form.rows
    for side in ("right", "left"):
        r.choose(rows[f"findings.tubes.{side}.patency"].editor.combo, "Occluded")
        r.choose(rows[f"findings.tubes.{side}.occlusion_level"].editor.combo, "Distal fimbrial")
        r.choose(rows[f"findings.tubes.{side}.spill"].editor.combo, "None")
        r.choose(rows[f"findings.tubes.{side}.hydrosalpinx"].editor.combo, "Yes")
        block = r.form.blocks[f"findings.tubes.{side}"]
        r.click(block.mark_button, f"Mark {side} hydrosalpinx")
        vp = r.window.active
        side_truth = truth["sides"][side]
        row, col = side_truth["fimbrial_end"]  # (row, column) of the dilated end in the loop's pixels
        spacing = vp.calibration().column_spacing_mm or 1.0
        half_w = side_truth["hydrosalpinx_diameter_mm"] / spacing / 2  # the reader traces the tube's width
        p0 = vp.image_to_widget((col - half_w * 1.6, row - half_w))
        p1 = vp.image_to_widget((col + half_w * 1.6, row + half_w))
        drag(vp.view.viewport(), QPointF(p0), QPointF(p1))
        r.actions += 1
        r.log.append(f"drag ellipse {side}")
    r.choose(rows["findings.peritoneum.peritoneal_spill_overall"].editor.combo, "None")
    r.choose(rows["safety.antibiotic_prophylaxis"].editor.combo, "Given")
    _safety(r)
    _finish(r)


def run_case(case: str, flow, template: bool = True) -> dict:
    from PySide6.QtWidgets import QApplication

    from hsg_workstation.ui.app import make_application

    app = make_application()
    with tempfile.TemporaryDirectory(prefix="hsg-bench-report-") as tmp:
        study = Path(tmp) / "samples" / case
        shutil.copytree(ROOT / "sample_data" / case, study)
        data_dir = Path(tmp) / "data"
        _profile(data_dir)
        window, db = _window(data_dir, study.parent)
        try:
            _wait(app, lambda: window.active is not None and window.active.displayed_index >= 0)
            _wait(app, lambda: window.report_dock.form.isEnabled())
            r = Reader(window)
            truth = json.loads((study / "truth.json").read_text())
            t0 = time.perf_counter()
            if flow is _normal:
                flow(r, template)
            else:
                flow(r, truth)
            _wait(app, lambda: window.report_dock.form.report.is_signed, 20)
            seconds = time.perf_counter() - t0
            hint = window.minimumSizeHint()
            signed = window.report_dock.form.report
            return {
                "actions": r.actions,
                "seconds": round(seconds, 2),
                "signed_by": signed.signature.verifying_observer_name,
                "impression": [s.text for s in signed.impression.sentences],
                "min_window": (hint.width(), hint.height()),
                "log": r.log,
            }
        finally:
            window.close_study()
            window.close()
            db.close()
            QApplication.processEvents()


def main() -> None:
    normal = run_case("normal", _normal, template=True)
    baseline = run_case("normal", _normal, template=False)
    abnormal = run_case("bilateral_distal_hydrosalpinx", _hydrosalpinx)
    out = {
        "benchmark": "reporting",
        "normal_report_actions": normal["actions"],
        "normal_report_s": normal["seconds"],
        "abnormal_report_actions": abnormal["actions"],
        "abnormal_report_s": abnormal["seconds"],
        "field_by_field_actions": baseline["actions"],
        "template_saves_ratio": round(baseline["actions"] / max(normal["actions"], 1), 2),
        "min_window_w": normal["min_window"][0],
        "min_window_h": normal["min_window"][1],
        "targets": {"normal_actions": 20, "abnormal_actions": 60, "min_window": [1366, 768]},
        "signed_by": normal["signed_by"],
        "normal_impression": normal["impression"],
        "abnormal_impression": abnormal["impression"],
        "normal_log": normal["log"],
        "abnormal_log": abnormal["log"],
        "machine": f"{platform.machine()} {os.cpu_count()} cpu, {platform.python_version()}",
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
