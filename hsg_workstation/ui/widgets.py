"""Small widget factories shared by several panels."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QAbstractItemModel, QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView


def read_only_table(model: QAbstractItemModel, *, sorting: bool = False) -> QTableView:
    """Table view over ``model``: whole-row single selection, no editing, no row numbers, columns sized to
    their contents with the last one stretched; header clicks sort when ``sorting``."""
    table = QTableView()
    table.setModel(model)
    if sorting:
        table.setSortingEnabled(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def sortable_table(
    columns: Sequence[str], parent: QObject
) -> tuple[QStandardItemModel, QSortFilterProxyModel, QTableView]:
    """A QStandardItemModel with ``columns`` behind a QSortFilterProxyModel that sorts by the UserRole data
    (so a header click never re-queries), shown in a read-only sortable table."""
    model = QStandardItemModel(0, len(columns), parent)
    model.setHorizontalHeaderLabels(list(columns))
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(Qt.ItemDataRole.UserRole)
    return model, proxy, read_only_table(proxy, sorting=True)
