"""Virtual table model of the study list: one ``Study`` per row, cell text computed when the view asks.

Why not a QStandardItemModel: that one builds 8 items per study up front and has to be rebuilt on every refresh
(after each import batch or retrieve), and it asked for every study's report state at fill time — each of which
reads drafts and SR headers from disk. Here a row is just the ``Study`` the database returned; the Report cell
asks ``report_status(uid)`` only for rows that are painted (or filtered / sorted on), and remembers the answer
until ``invalidate_status(uid)`` or until the study's own record changes. ``update`` merges a new query result
with the rows already shown: unchanged rows stay (so the view keeps its selection and scroll position), changed
rows emit ``dataChanged``, new studies are inserted and vanished ones removed row by row; only a large change
(a new search) resets the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from hsg_workstation.dicom_io.model import Study

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
SORT_ROLE = Qt.ItemDataRole.UserRole
# Report states that count as reported; anything else ("", "draft", "?" when the state could not be read) is
# listed under "Unreported only" — an unreadable state must not hide a study that may still need a report.
REPORTED = frozenset({"signed", "amended"})
# More inserted + removed rows than this in one refresh: a model reset is cheaper than row-by-row signals.
_INCREMENTAL_LIMIT = 64

_Index = QModelIndex | QPersistentModelIndex


def _date(da: str) -> str:
    return f"{da[:4]}-{da[4:6]}-{da[6:]}" if len(da) == 8 and da.isdigit() else da


class StudyListModel(QAbstractTableModel):
    """Rows of ``Study`` in database order (the proxy sorts); DisplayRole text, ``SORT_ROLE`` keys, ``UID_ROLE``."""

    def __init__(self, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self._studies: list[Study] = []
        self._row_of: dict[str, int] = {}
        self._status: dict[str, str] = {}  # study uid -> report state text, filled on demand
        # study uid -> "signed" / "draft" / "" (the report dock provides it; the viewer alone shows nothing)
        self.report_status: Callable[[str], str] | None = None
        self.status_calls = 0  # how many times report_status ran (the benchmark reports it)

    # -- Qt model interface ----------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's default argument
        return 0 if parent.isValid() else len(self._studies)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < len(COLUMNS) else None
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):  # type: ignore[no-untyped-def]
        if not index.isValid() or not 0 <= index.row() < len(self._studies):
            return None
        st = self._studies[index.row()]
        if role == UID_ROLE:
            return st.study_instance_uid
        if role not in (Qt.ItemDataRole.DisplayRole, SORT_ROLE, Qt.ItemDataRole.ToolTipRole):
            return None
        col = index.column()
        if col == REPORT_COLUMN:
            return self.status(st.study_instance_uid)
        if role == Qt.ItemDataRole.ToolTipRole:
            return None
        display = role == Qt.ItemDataRole.DisplayRole
        if col == 0:
            return st.patient_name.replace("^", " ") if display else st.patient_name
        if col == 1:
            return st.patient_id
        if col == DATE_COLUMN:
            return _date(st.study_date) if display else st.study_date + st.study_time
        if col == 4:
            return st.accession_number
        if col == 5:
            return st.study_description + ("" if st.complete or not display else "  (incomplete)")
        if col == 6:
            return " ".join(st.modalities)
        if col == 7:
            return str(st.instance_count) if display else st.instance_count
        return None

    # -- report state ----------------------------------------------------------------------------------------
    def status(self, study_uid: str) -> str:
        """The study's report state text, asked of ``report_status`` once and then remembered."""
        cached = self._status.get(study_uid)
        if cached is not None:
            return cached
        text = ""
        if self.report_status is not None:
            self.status_calls += 1
            try:
                text = self.report_status(study_uid)
            except Exception:  # noqa: BLE001 - a status column never stops the list
                text = "?"
        self._status[study_uid] = text
        return text

    def invalidate_status(self, study_uid: str | None = None) -> None:
        """Forget one study's (or every study's) state; the cell re-asks when it is next shown."""
        if study_uid is None:
            self._status.clear()
            if self._studies:
                top, bottom = self.index(0, REPORT_COLUMN), self.index(len(self._studies) - 1, REPORT_COLUMN)
                self.dataChanged.emit(top, bottom)
            return
        self._status.pop(study_uid, None)
        row = self._row_of.get(study_uid)
        if row is not None:
            cell = self.index(row, REPORT_COLUMN)
            self.dataChanged.emit(cell, cell)

    def is_unreported(self, row: int) -> bool:
        return self.status(self._studies[row].study_instance_uid) not in REPORTED

    # -- rows ------------------------------------------------------------------------------------------------
    def studies(self) -> list[Study]:
        return list(self._studies)

    def update(self, studies: Sequence[Study]) -> str:
        """Show ``studies``; returns what it did ("unchanged", "incremental" or "reset") for tests and timing."""
        new = list(studies)
        if new == self._studies:
            return "unchanged"
        new_by_uid = {st.study_instance_uid: st for st in new}
        removed = [r for r, st in enumerate(self._studies) if st.study_instance_uid not in new_by_uid]
        added = [st for st in new if st.study_instance_uid not in self._row_of]
        if len(removed) + len(added) > _INCREMENTAL_LIMIT or len(removed) == len(self._studies) > 0:
            self.beginResetModel()
            self._studies = new
            self._reindex()
            self._status.clear()
            self.endResetModel()
            return "reset"
        for row in reversed(removed):
            self.beginRemoveRows(QModelIndex(), row, row)
            uid = self._studies.pop(row).study_instance_uid
            self._status.pop(uid, None)
            self.endRemoveRows()
        self._reindex()
        last = len(COLUMNS) - 1
        for row, old in enumerate(self._studies):
            st = new_by_uid[old.study_instance_uid]
            if (
                st != old
            ):  # e.g. more instances arrived, or an SR was stored: its report state may have changed
                self._studies[row] = st
                self._status.pop(st.study_instance_uid, None)
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        if added:
            first = len(self._studies)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            self._studies.extend(added)
            self._reindex()
            self.endInsertRows()
        return "incremental"

    def _reindex(self) -> None:
        self._row_of = {st.study_instance_uid: r for r, st in enumerate(self._studies)}


class StudyListProxy(QSortFilterProxyModel):
    """Sorts on ``SORT_ROLE`` (a header click never re-queries) and, when asked, hides reported studies."""

    def __init__(self, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self._unreported_only = False

    @property
    def unreported_only(self) -> bool:
        return self._unreported_only

    def set_unreported_only(self, on: bool) -> None:
        if on == self._unreported_only:
            return
        self.beginFilterChange()
        self._unreported_only = on
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if not self._unreported_only:
            return True
        model = self.sourceModel()
        return not isinstance(model, StudyListModel) or model.is_unreported(source_row)
