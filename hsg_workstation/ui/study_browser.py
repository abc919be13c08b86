"""Study browser on the local database: search by name / ID / accession / date, sortable columns.

The database does the filtering (it owns the index); the view sorts with a QSortFilterProxyModel so a click
on a header never re-queries. Dates are entered as YYYY-MM-DD or YYYYMMDD and passed through unchanged.
"""

from __future__ import annotations

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

COLUMNS = ("Patient", "Patient ID", "Study date", "Accession", "Description", "Modalities", "Images")
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

    def study_uids(self) -> list[str]:
        """UIDs in displayed (sorted) order."""
        return [self.proxy.index(r, 0).data(UID_ROLE) for r in range(self.proxy.rowCount())]

    def _activated(self, index) -> None:
        uid = index.data(UID_ROLE)
        if uid:
            self.studyActivated.emit(uid)
