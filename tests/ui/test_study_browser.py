"""Study list at department scale: virtual model, refresh without rebuild, "Unreported only", newest N of M.

The databases are filled through the index's own row insert (``StudyIndex.add_rows``, what every import does after
reading a header), as benchmarks/db.py does: generated headers, no pixels. Real clicks and keys via QTest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.index import IndexRow
from hsg_workstation.dicom_io.model import Instance, SopKind
from hsg_workstation.ui.study_browser import REPORT_COLUMN, StudyBrowser

RF = "1.2.840.10008.5.1.4.1.1.12.2"
ROOT = "1.2.826.0.1.3680043.10.77"


def add_studies(db: LocalDatabase, numbers: range, per_study: int = 3, date: str | None = None) -> list[str]:
    rows: list[IndexRow] = []
    uids = []
    for s in numbers:
        study_uid = f"{ROOT}.{s}"
        uids.append(study_uid)
        da = date or f"2024{1 + s % 12:02d}{1 + s % 28:02d}"
        values = (
            f"ID{s:05d}",
            f"PATIENT{s:05d}^JANE",
            "19900101",
            da,
            f"{s % 24:02d}0000",
            f"ACC{s:06d}",
            "HSG",
        )
        for i in range(per_study):
            inst = Instance(
                f"{study_uid}.1.{i}", RF, f"{study_uid}.1", study_uid, Path("x"), SopKind.IMAGE, i + 1
            )
            rows.append(IndexRow(inst, f"fake/{s}/{i}.dcm", "test", values, "RF", 1, "loop"))
    db.index.add_rows(rows)
    return uids


@pytest.fixture
def db(tmp_path: Path):
    with LocalDatabase(tmp_path / "db") as database:
        yield database


def shown(qtbot, browser: StudyBrowser) -> StudyBrowser:
    qtbot.addWidget(browser)
    browser.resize(900, 400)
    with qtbot.waitExposed(browser):
        browser.show()
    with qtbot.waitActive(browser):
        browser.activateWindow()
    return browser


def click_row(qtbot, browser: StudyBrowser, row: int, *, double: bool = False) -> None:
    index = browser.proxy.index(row, 0)
    browser.table.scrollTo(index)
    pos = browser.table.visualRect(index).center()
    qtbot.mouseClick(browser.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    if double:
        qtbot.mouseDClick(browser.table.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_unreported_only_by_click_and_keyboard(qtbot, db: LocalDatabase) -> None:
    uids = add_studies(db, range(4))
    states = {uids[0]: "signed", uids[1]: "draft", uids[2]: "amended", uids[3]: ""}
    browser = shown(qtbot, StudyBrowser(db))
    browser.report_status = states.__getitem__
    browser.refresh()
    assert sorted(browser.study_uids()) == sorted(uids)
    box = browser.unreported_only
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert box.isChecked()
    assert sorted(browser.study_uids()) == sorted([uids[1], uids[3]])  # none and draft stay listed
    assert browser.count_label.text().startswith("2 unreported")
    # the draft gets signed: update_report_status (what the report dock calls) drops it from the filtered list
    states[uids[1]] = "signed"
    browser.update_report_status(uids[1])
    assert browser.study_uids() == [uids[3]]
    # keyboard: Tab from the last date field reaches the checkbox, Space toggles it
    browser.date_to.setFocus()
    qtbot.keyClick(browser.date_to, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is box
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert not box.isChecked() and len(browser.study_uids()) == 4
    # and its mnemonic, Alt+U, from the search field
    browser.search.setFocus()
    qtbot.keyClick(browser.search, Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(box.isChecked, timeout=2000)  # a mnemonic "animates" the click: checked ~100 ms later
    assert browser.study_uids() == [uids[3]]
    box.setChecked(False)
    # a report_status that fails shows "?" and keeps the study under "Unreported only" (never hidden by an error)
    browser.report_status = lambda uid: (_ for _ in ()).throw(OSError("drafts unreadable"))
    box.setChecked(True)
    assert len(browser.study_uids()) == 4
    assert {browser.proxy.index(r, REPORT_COLUMN).data() for r in range(4)} == {"?"}


def test_double_click_and_enter_open_the_study(qtbot, db: LocalDatabase) -> None:
    uids = add_studies(db, range(3))
    browser = shown(qtbot, StudyBrowser(db))
    browser.refresh()
    with qtbot.waitSignal(browser.studyActivated, timeout=2000) as opened:
        click_row(qtbot, browser, 1, double=True)
    assert opened.args == [browser.study_uids()[1]] and opened.args[0] in uids
    click_row(qtbot, browser, 2)
    with qtbot.waitSignal(browser.studyActivated, timeout=2000) as opened:
        qtbot.keyClick(browser.table, Qt.Key.Key_Return)
    assert opened.args == [browser.study_uids()[2]]


def test_department_size_list_refreshes_without_rebuild(qtbot, db: LocalDatabase) -> None:
    add_studies(db, range(2000))
    browser = shown(qtbot, StudyBrowser(db))
    calls: list[str] = []

    def status(uid: str) -> str:
        calls.append(uid)
        return ""

    browser.report_status = status
    resets: list[int] = []
    browser.model.modelAboutToBeReset.connect(lambda: resets.append(1))
    browser.refresh()
    QApplication.processEvents()
    assert browser.model.rowCount() == 1000
    assert browser.count_label.text() == "showing 1\u2009000 of 2\u2009000 — refine the search"
    # the report state is asked for the rows on screen, not for all 1 000 listed
    assert 0 < len(calls) < 100
    # select a study further down and scroll: a refresh with nothing new changes nothing
    click_row(qtbot, browser, 300)
    picked = browser.selected_uid()
    scroll = browser.table.verticalScrollBar().value()
    assert picked == browser.study_uids()[300] and scroll > 0
    resets.clear()
    assert browser.set_studies(db.studies(limit=1000), db.count_studies()) == "unchanged"
    browser.refresh()
    assert not resets and browser.selected_uid() == picked
    assert browser.table.verticalScrollBar().value() == scroll
    # an import adds a newest study: it appears at the top, the oldest listed drops out, no reset, selection kept
    new_uid = add_studies(db, range(5000, 5001), date="20990101")[0]
    n_calls = len(calls)
    browser.refresh()
    assert not resets
    assert browser.study_uids()[0] == new_uid and browser.model.rowCount() == 1000
    assert browser.selected_uid() == picked
    assert browser.count_label.text() == "showing 1\u2009000 of 2\u2009001 — refine the search"
    assert len(calls) - n_calls < 100
    # more instances of a listed study arrive: only that row changes (Images column), still no reset
    study = db.study(new_uid)
    add_studies(db, range(5000, 5001), per_study=5, date="20990101")
    browser.refresh()
    assert not resets and db.study(new_uid).instance_count == 5 != study.instance_count
    assert browser.proxy.index(0, 7).data() == "5"
    # a new search replaces the list (one reset), the selected study stays selected while it is listed
    qtbot.keyClicks(browser.search, f"ID{int(picked.rsplit('.', 1)[1]):05d}")
    qtbot.keyClick(browser.search, Qt.Key.Key_Return)
    assert resets and browser.study_uids() == [picked] and browser.selected_uid() == picked
    assert browser.count_label.text() == "1 study"
    # the Enter key on the kept selection opens it
    with qtbot.waitSignal(browser.studyActivated, timeout=2000) as opened:
        browser.table.setFocus()
        qtbot.keyClick(browser.table, Qt.Key.Key_Return)
    assert opened.args == [picked]


def test_small_list_counts_plainly_and_bad_date_is_a_message(qtbot, db: LocalDatabase) -> None:
    add_studies(db, range(3))
    browser = shown(qtbot, StudyBrowser(db, max_listed=2))
    browser.refresh()
    assert browser.model.rowCount() == 2
    assert browser.count_label.text() == "showing 2 of 3 — refine the search"
    browser.search.setText("PATIENT00001")
    browser.refresh()
    assert browser.count_label.text() == "1 study" and browser.model.rowCount() == 1
    browser.date_from.setText("last week")
    browser.refresh()
    assert "Search failed" in browser.count_label.text() and "YYYYMMDD" in browser.count_label.text()
    assert browser.model.rowCount() == 1  # the list stays as it was
    assert not browser.model.index(0, 0).parent().isValid() and browser.model.rowCount(QModelIndex()) == 1
