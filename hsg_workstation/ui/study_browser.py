"""Study browser on the local database: search by name / ID / accession / date, sortable columns.

The database does the filtering (it owns the index); the view sorts with a QSortFilterProxyModel so a click
on a header never re-queries. Dates are entered as YYYY-MM-DD or YYYYMMDD and passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.dicom_io.model import Study
from hsg_workstation.ui.widgets import sortable_table

COLUMNS = (
    "Patient",
    "Patient ID",
    "Study date",
    "Report",
    "Accession",
    "Description",
    "Modalities",
    "Images",
)
DATE_COLUMN = 2
REPORT_COLUMN = 3
UID_ROLE = Qt.ItemDataRole.UserRole + 1


def _date(da: str) -> str:
    return f"{da[:4]}-{da[4:6]}-{da[6:]}" if len(da) == 8 and da.isdigit() else da


class StudyBrowser(QWidget):
    """Table of studies; emits ``studyActivated(uid)`` on double-click / Enter."""

    studyActivated = Signal(str)

    def __init__(self, database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.database = database
        self.search = QLineEdit(placeholderText="Search name, ID, accession…")
        self.date_from = QLineEdit(placeholderText="from YYYY-MM-DD")
        self.date_to = QLineEdit(placeholderText="to YYYY-MM-DD")
        for w in (self.date_from, self.date_to):
            w.setMaximumWidth(120)
        self.count_label = QLabel()
        self.model, self.proxy, self.table = sortable_table(COLUMNS, self)
        self.table.doubleClicked.connect(self._activated)
        self.table.activated.connect(self._activated)
        # newest study first (the one a reader is most likely to report next); a header click re-sorts
        self.table.sortByColumn(DATE_COLUMN, Qt.SortOrder.DescendingOrder)
        # study uid -> "signed" / "draft" / "" (the report dock provides it; the viewer alone shows nothing)
        self.report_status: Callable[[str], str] | None = None

        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.date_from)
        row.addWidget(self.date_to)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(row)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.count_label)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.refresh)
        for w in (self.search, self.date_from, self.date_to):
            w.textChanged.connect(self._debounce.start)
            w.returnPressed.connect(self.refresh)

    def refresh(self) -> None:
        """Re-run the query with the current search fields (keeps the sort column)."""
        self._debounce.stop()
        try:
            studies = self.database.studies(
                self.search.text().strip(),
                self.date_from.text().strip() or None,
                self.date_to.text().strip() or None,
            )
        except Exception as exc:  # noqa: BLE001 - a bad date or a closed database is a message, not a crash
            self.count_label.setText(f"Search failed: {exc}")
            return
        self.set_studies(studies)

    def stop(self) -> None:
        """No pending search after the window closes."""
        self._debounce.stop()

    def set_studies(self, studies: list[Study]) -> None:
        self.model.setRowCount(0)
        for st in studies:
            values = (
                (st.patient_name.replace("^", " "), st.patient_name),
                (st.patient_id, st.patient_id),
                (_date(st.study_date), st.study_date + st.study_time),
                (status := self._report_status(st.study_instance_uid), status),
                (st.accession_number, st.accession_number),
                (st.study_description + ("" if st.complete else "  (incomplete)"), st.study_description),
                (" ".join(st.modalities), " ".join(st.modalities)),
                (str(st.instance_count), st.instance_count),
            )
            items = []
            for text, key in values:
                it = QStandardItem(text)
                it.setData(key, Qt.ItemDataRole.UserRole)
                it.setData(st.study_instance_uid, UID_ROLE)
                items.append(it)
            self.model.appendRow(items)
        self.count_label.setText(f"{len(studies)} studies")

    def _report_status(self, study_uid: str) -> str:
        if self.report_status is None:
            return ""
        try:
            return self.report_status(study_uid)
        except Exception:  # noqa: BLE001 - a status column never stops the list
            return "?"

    def update_report_status(self, study_uid: str) -> None:
        """Refresh one row's Report cell (after a sign / autosave) without re-querying the database."""
        status = self._report_status(study_uid)
        for r in range(self.model.rowCount()):
            it = self.model.item(r, REPORT_COLUMN)
            if it is not None and it.data(UID_ROLE) == study_uid:
                it.setText(status)
                it.setData(status, Qt.ItemDataRole.UserRole)

    def study_uids(self) -> list[str]:
        """UIDs in displayed (sorted) order."""
        return [self.proxy.index(r, 0).data(UID_ROLE) for r in range(self.proxy.rowCount())]

    def _activated(self, index) -> None:
        uid = index.data(UID_ROLE)
        if uid:
            self.studyActivated.emit(uid)
