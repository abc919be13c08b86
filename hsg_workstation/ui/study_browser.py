"""Study browser on the local database: search by name / ID / accession / date, sortable columns.

The database does the filtering (it owns the index) and returns at most the newest ``MAX_LISTED`` matches; the
view sorts with a QSortFilterProxyModel so a click on a header never re-queries. The rows live in a virtual model
(``study_list_model``): a refresh after an import adds the new studies instead of rebuilding the list, and each
study's report state is asked only when its row is shown. "Unreported only" hides signed / amended studies.
Dates are entered as YYYY-MM-DD or YYYYMMDD and passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.dicom_io.model import Study
from hsg_workstation.ui.study_list_model import (
    COLUMNS,
    DATE_COLUMN,
    REPORT_COLUMN,
    UID_ROLE,
    StudyListModel,
    StudyListProxy,
)
from hsg_workstation.ui.widgets import read_only_table

__all__ = ["COLUMNS", "DATE_COLUMN", "REPORT_COLUMN", "UID_ROLE", "StudyBrowser"]

# The list shows at most the newest this many matching studies (a department database holds thousands; nobody
# scrolls past a few hundred — the count label asks to refine the search instead).
MAX_LISTED = 1000


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", "\u2009")  # thin space: "1 000", not the locale-dependent "1,000"


class StudyBrowser(QWidget):
    """Table of studies; emits ``studyActivated(uid)`` on double-click / Enter."""

    studyActivated = Signal(str)

    def __init__(self, database, parent: QWidget | None = None, *, max_listed: int = MAX_LISTED) -> None:
        super().__init__(parent)
        self.database = database
        self.max_listed = max_listed
        self.search = QLineEdit(placeholderText="Search name, ID, accession…")
        # short placeholders (the fields share a ~200 px row at 1366×768); the format is in the tooltip
        self.date_from = QLineEdit(placeholderText="from date")
        self.date_to = QLineEdit(placeholderText="to date")
        self.date_from.setToolTip("Studies on or after this date: YYYY-MM-DD or YYYYMMDD")
        self.date_to.setToolTip("Studies on or before this date: YYYY-MM-DD or YYYYMMDD")
        self.unreported_only = QCheckBox("&Unreported only")
        self.unreported_only.setToolTip("Hide studies with a signed or amended report (drafts stay listed)")
        self.count_label = QLabel()
        self.model = StudyListModel(self)
        self.proxy = StudyListProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = read_only_table(self.proxy, sorting=True)
        # Size columns from the visible rows only: sizing from all of them would ask every study's report state.
        self.table.horizontalHeader().setResizeContentsPrecision(0)
        self.table.doubleClicked.connect(self._activated)
        self.table.activated.connect(self._activated)
        # newest study first (the one a reader is most likely to report next); a header click re-sorts
        self.table.sortByColumn(DATE_COLUMN, Qt.SortOrder.DescendingOrder)
        self._total = 0

        # The search box gets its own row and the two date fields share the next one, so that all three stay
        # readable in a ~200 px left column (at 1366×768; on one row they were cut to "S…", "from…").
        dates = QHBoxLayout()
        dates.addWidget(self.date_from, 1)
        dates.addWidget(self.date_to, 1)
        # The filter sits under the list with the count it changes, each on its own line: on the search row
        # they would widen the left column past a 1366 px screen. Tab order: search -> dates -> filter -> list.
        self.count_label.setWordWrap(True)
        # the count ("showing 1 000 of 2 000 — refine the search") wraps rather than widening the column
        self.count_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.search)
        lay.addLayout(dates)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.unreported_only, 0, Qt.AlignmentFlag.AlignLeft)  # clickable where it shows
        lay.addWidget(self.count_label)
        QWidget.setTabOrder(self.date_to, self.unreported_only)
        QWidget.setTabOrder(self.unreported_only, self.table)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.refresh)
        for w in (self.search, self.date_from, self.date_to):
            w.textChanged.connect(self._debounce.start)
            w.returnPressed.connect(self.refresh)
        self.unreported_only.toggled.connect(self._unreported_toggled)

    @property
    def report_status(self) -> Callable[[str], str] | None:
        """study uid -> "signed" / "draft" / "" (the report dock sets it; the viewer alone shows nothing)."""
        return self.model.report_status

    @report_status.setter
    def report_status(self, fn: Callable[[str], str] | None) -> None:
        self.model.report_status = fn
        self.model.invalidate_status()

    def refresh(self) -> None:
        """Re-run the query with the current search fields; rows that did not change stay as they are (with the
        selection, sort column and scroll position), new studies are added, vanished ones removed."""
        self._debounce.stop()
        text = self.search.text().strip()
        lo, hi = self.date_from.text().strip() or None, self.date_to.text().strip() or None
        try:
            studies = self.database.studies(text, lo, hi, limit=self.max_listed)
            total = (
                self.database.count_studies(text, lo, hi) if len(studies) >= self.max_listed else len(studies)
            )
        except Exception as exc:  # noqa: BLE001 - a bad date or a closed database is a message, not a crash
            self.count_label.setText(f"Search failed: {exc}")
            return
        self.set_studies(studies, total)

    def stop(self) -> None:
        """No pending search after the window closes."""
        self._debounce.stop()

    def set_studies(self, studies: list[Study], total: int | None = None) -> str:
        """Show ``studies`` (``total``: how many matched before the limit). Returns what the model did."""
        selected = self.selected_uid()
        scroll = self.table.verticalScrollBar().value()
        change = self.model.update(studies)
        self._total = len(studies) if total is None else total
        if change == "reset":
            self._restore(selected, scroll)
        self._update_count()
        return change

    def selected_uid(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(UID_ROLE) if rows else None

    def _restore(self, uid: str | None, scroll: int) -> None:
        """After a model reset: the same study selected again (if still listed) and the list where it was."""
        if uid is not None:
            for r in range(self.proxy.rowCount()):
                index = self.proxy.index(r, 0)
                if index.data(UID_ROLE) == uid:
                    flags = (
                        QItemSelectionModel.SelectionFlag.ClearAndSelect
                        | QItemSelectionModel.SelectionFlag.Rows
                    )
                    self.table.selectionModel().setCurrentIndex(index, flags)
                    break
        self.table.verticalScrollBar().setValue(scroll)

    def _update_count(self) -> None:
        listed = self.model.rowCount()
        if listed < self._total:
            text = f"showing {_thousands(listed)} of {_thousands(self._total)} — refine the search"
        else:
            text = f"{_thousands(listed)} {'study' if listed == 1 else 'studies'}"
        if self.proxy.unreported_only:
            text = f"{_thousands(self.proxy.rowCount())} unreported · {text}"
        self.count_label.setText(text)

    def _unreported_toggled(self, on: bool) -> None:
        self.proxy.set_unreported_only(on)
        self._update_count()

    def update_report_status(self, study_uid: str) -> None:
        """Refresh one row's Report cell (after a sign / autosave) without re-querying the database."""
        self.model.invalidate_status(study_uid)
        if self.proxy.unreported_only:
            self._update_count()

    def study_uids(self) -> list[str]:
        """UIDs in displayed (sorted, filtered) order."""
        return [self.proxy.index(r, 0).data(UID_ROLE) for r in range(self.proxy.rowCount())]

    def _activated(self, index) -> None:
        uid = index.data(UID_ROLE)
        if uid:
            self.studyActivated.emit(uid)
