"""PACS query / retrieve panel: form, results table, retrieve with progress bar and cancel, errors in words.

A standalone widget (the main window docks it). Network work runs on a plain Python thread through the Qt-free
:class:`~hsg_workstation.pacs.client.DicomClient`; results come back as values through queued signals, so
widgets are only touched on the GUI thread. Double-clicking a study that is already complete locally emits
``studyActivated(uid)`` at once; otherwise it is retrieved first and opened when the retrieve ends with
anything received (a partial study opens too, marked incomplete, with "Retrieve missing" enabled).

The panel also owns the always-on storage listener (``nodes.json`` ``local.listener_enabled``): it starts it
when built and after the node manager saved (``reload_nodes``), stops it when the application quits, sends
C-MOVEs there, and reports pushed studies with ``studyRetrieved(uid, "received")`` so the study list refreshes.

Over the ~600-line guide (~720 lines) because the query form, the two result tables, retrieve with its
progress / cancel / "retrieve missing" states and the listener are one panel whose states depend on each other
(a node's kind decides the buttons, a retrieve locks the form, a push refreshes the list); only layout lines
changed in issue 11 (narrow column), so it was not split then.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.errors import HsgError
from hsg_workstation.pacs.dicomweb import DicomWebClient
from hsg_workstation.pacs.nodes import DicomWebNode, NodeConfig, RemoteNode, load_nodes
from hsg_workstation.pacs.retrieve import RetrieveMethod, RetrieveRequest, retrieve
from hsg_workstation.pacs.types import Progress, RetrieveResult, SeriesMatch, StudyMatch, StudyQuery
from hsg_workstation.reporting.status import report_states
from hsg_workstation.ui.widgets import read_only_table, sortable_table
from hsg_workstation.ui.workers import Job, JobContext, Workers

SERIES_COLUMNS = ("#", "Modality", "Images", "Description")
COLUMNS = (
    "Patient",
    "Patient ID",
    "Study date",
    "Modalities",
    "Images",
    "Accession",
    "Description",
    "Local",
    "Report here",
)
WORKLIST_DAYS = 7  # the HSG worklist button: RF studies of the last week
UID_ROLE = Qt.ItemDataRole.UserRole + 1
ClientFactory = Callable[[RemoteNode, str], Any]


def default_client_factory(node: RemoteNode, calling_ae: str) -> Any:
    from hsg_workstation.pacs.client import DicomClient

    return DicomClient(node, calling_ae)


def dicom_date_range(date_from: str, date_to: str) -> str:
    """'2024-01-01', '2024-01-31' -> '20240101-20240131'; either end may be empty. Raises ValueError."""

    def norm(text: str, which: str) -> str:
        d = text.strip().replace("-", "").replace(".", "").replace("/", "")
        if d and not (len(d) == 8 and d.isdigit()):
            raise ValueError(f"{which} date {text!r} is not YYYY-MM-DD")
        return d

    a, b = norm(date_from, "from"), norm(date_to, "to")
    if a and b and a > b:
        raise ValueError(f"from date {date_from} is after to date {date_to}")
    if a and b:
        return a if a == b else f"{a}-{b}"
    if a:
        return f"{a}-"
    if b:
        return f"-{b}"
    return ""


class _Bridge(QObject):
    """The listener's notifications: emitted in pynetdicom's association threads, queued to the GUI thread.
    (Find / retrieve jobs run through ``ui/workers.py``; this is only for pushes nobody asked for.)"""

    pushed = Signal(str, str)  # study UID, ImportResult status: an instance a PACS / modality pushed to us


class _PushedSink:
    """The listener's sink: stores through the database, and tells the GUI which study received something."""

    def __init__(self, database: Any, notify: Callable[[str, str], None]) -> None:
        self.database = database
        self.notify = notify

    def add_encoded(self, data: bytes, *, source: str = "network") -> Any:
        result = self.database.add_encoded(data, source=source)
        uid = getattr(result, "study_instance_uid", None)
        if uid:
            self.notify(uid, str(getattr(result, "status", "")))
        return result

    def __getattr__(self, name: str) -> Any:  # sop_instance_uids, set_study_complete, ... for C-MOVE
        return getattr(self.database, name)


class PacsQueryPanel(QWidget):
    """Query a configured node, show matches, retrieve the selected study into the local database."""

    studyActivated = Signal(str)  # study UID available locally: open it in the viewer
    studyRetrieved = Signal(
        str, str
    )  # study UID, RetrieveResult.status, or "received" (pushed to the listener)
    busyChanged = Signal(bool)
    addNodeRequested = Signal()  # the "no node" hint's button: the application opens the node manager

    def __init__(
        self,
        data_dir: str | Path,
        database: Any,
        *,
        client_factory: ClientFactory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.data_dir = Path(data_dir)
        self.database = database
        self.client_factory = client_factory or default_client_factory
        self.listener: Any = None  # a running StorageSCP (C-MOVE goes there instead of a temporary one)
        self._config = NodeConfig()
        self.workers = Workers(self)
        self._job: Job | None = None
        self._busy = False
        self._open_after: str | None = None
        self._opened_early: str | None = None
        self._matches: dict[str, StudyMatch] = {}

        self.bridge = _Bridge(self)
        self.bridge.pushed.connect(self._on_pushed)
        self._own_listener: Any = None  # the StorageSCP this panel started from nodes.json
        self._listener_key: Any = None
        self._pushed_studies: set[str] = set()
        self._pushed_count = 0
        self._push_timer = QTimer(self, singleShot=True, interval=500)  # one refresh per burst of pushes
        self._push_timer.timeout.connect(self._flush_pushed)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop_listener)

        self.node_combo = QComboBox()
        self.method_combo = QComboBox()
        self.method_combo.addItems(["C-GET", "C-MOVE"])
        self.method_combo.setToolTip("C-GET needs no listener; C-MOVE needs the PACS to know our AE title")
        self.patient_name = QLineEdit(placeholderText="e.g. DOE* (wildcards * ?)")
        self.patient_id = QLineEdit()
        self.date_from = QLineEdit(placeholderText="from date")  # (short: a narrow column; format in tooltip)
        self.date_to = QLineEdit(placeholderText="to date")
        for w in (self.date_from, self.date_to):
            w.setToolTip("Study date: YYYY-MM-DD or YYYYMMDD")
        self.modality = QComboBox()
        self.modality.setEditable(True)
        self.modality.addItems(["", "RF", "XA", "DX", "CR", "SR"])
        self.accession = QLineEdit()
        self.description = QLineEdit()
        self.search_button = QPushButton("Search")
        self.series_button = QPushButton("Series")
        self.series_button.setToolTip("List the series of the selected study; select one to retrieve only it")
        self.retrieve_button = QPushButton("Retrieve")
        self.missing_button = QPushButton("Retrieve missing")
        self.missing_button.setToolTip("Fetch only the instances of the selected study that are not here yet")
        self.cancel_button = QPushButton("Cancel")
        self.worklist_button = QPushButton("HSG worklist")
        self.worklist_button.setToolTip(
            f"RF studies of the last {WORKLIST_DAYS} days on this node, each marked as local / reported here"
        )
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.listener_status = QLabel()
        self.listener_status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.model, self.proxy, self.table = sortable_table(COLUMNS, self)

        self.series_model = QStandardItemModel(0, len(SERIES_COLUMNS), self)
        self.series_model.setHorizontalHeaderLabels(list(SERIES_COLUMNS))
        self.series_table = read_only_table(self.series_model)
        self._series_study: str | None = None
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.series_table)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)

        form = QFormLayout()
        # In the ~200 px left column of a 1366 px screen a label goes above its field rather than the form
        # scrolling sideways (issue 11: nothing cut at 1366×768).
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        top = QHBoxLayout()
        top.addWidget(self.node_combo, 1)
        top.addWidget(self.method_combo)
        form.addRow("Node", top)
        form.addRow("Patient name", self.patient_name)
        form.addRow("Patient ID", self.patient_id)
        dates = QHBoxLayout()
        dates.addWidget(self.date_from)
        dates.addWidget(self.date_to)
        form.addRow("Study date", dates)
        form.addRow("Modality", self.modality)
        form.addRow("Accession", self.accession)
        form.addRow("Description", self.description)
        buttons = QGridLayout()  # two a row: six in one row were ~450 px wide (the column is ~190 px)
        buttons.setHorizontalSpacing(4)
        order = (  # the two wide ones in the first column
            self.worklist_button,
            self.search_button,
            self.missing_button,
            self.retrieve_button,
            self.series_button,
            self.cancel_button,
        )
        for b in order:
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 14)  # below the style's 80 px
        for n, b in enumerate(order):
            buttons.addWidget(b, n // 2, n % 2)
        # Everything sits in a scroll area so the ~450 px query form never forces its height on the dock group it is
        # tabbed with (the study list and the series thumbnails keep their room on small screens).
        content = QWidget()
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        lay = QVBoxLayout(content)
        lay.setContentsMargins(2, 2, 2, 2)
        # Without a node the form below is greyed out; this says why and what to do, at the top where it is seen.
        self.no_node_hint = QWidget(content)
        hint_row = QVBoxLayout(self.no_node_hint)  # the button under the text: the column is narrow
        hint_row.setContentsMargins(4, 4, 4, 4)
        hint_text = QLabel(
            "No PACS node configured yet. Add one (File ▸ DICOM nodes…) to query and retrieve."
        )
        hint_text.setWordWrap(True)
        self.add_node_button = QPushButton("Add a node…")
        self.add_node_button.clicked.connect(self.addNodeRequested.emit)
        hint_row.addWidget(hint_text)
        hint_row.addWidget(self.add_node_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.no_node_hint.setStyleSheet("background: #fff6d5; color: #3a3000;")
        lay.addWidget(self.no_node_hint)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(splitter, 1)
        lay.addWidget(self.progress_bar)
        lay.addWidget(self.status)
        lay.addWidget(self.listener_status)

        self.search_button.clicked.connect(self.search)
        self.worklist_button.clicked.connect(self.show_worklist)
        self.node_combo.currentTextChanged.connect(lambda _: self._node_kind_changed())
        self.series_button.clicked.connect(self.list_series)
        self.retrieve_button.clicked.connect(lambda: self.retrieve())
        self.missing_button.clicked.connect(lambda: self.retrieve(missing=True))
        self.cancel_button.clicked.connect(self.cancel)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._study_selection_changed())
        for w in (
            self.patient_name,
            self.patient_id,
            self.date_from,
            self.date_to,
            self.accession,
            self.description,
        ):
            w.returnPressed.connect(self.search)
        self.reload_nodes()
        self._update_buttons()

    # -- state ---------------------------------------------------------------------------------------------

    def reload_nodes(self) -> None:
        """Re-read nodes.json (after the node manager saved it)."""
        current = self.node_combo.currentText()
        try:
            self._config = load_nodes(self.data_dir)
        except HsgError as exc:
            self._config = NodeConfig()
            self._set_status(str(exc), error=True)
        self.node_combo.clear()
        self.node_combo.addItems([n.name for n in self._config.nodes])
        for web in self._config.web_nodes:
            self.node_combo.addItem(web.name)
            self.node_combo.setItemData(
                self.node_combo.count() - 1, f"DICOMweb {web.base_url}", Qt.ItemDataRole.ToolTipRole
            )
        if current:
            self.node_combo.setCurrentText(current)
        if not self._config.nodes and not self._config.web_nodes:
            self._set_status("No PACS node configured: add one in the node manager.", error=False)
        self.no_node_hint.setVisible(not self._config.nodes)
        self._apply_listener_config()
        self._update_buttons()

    # -- storage listener ------------------------------------------------------------------------------------

    def _apply_listener_config(self) -> None:
        """Start, restart or stop the listener to match nodes.json (only when its settings changed)."""
        local = self._config.local
        wanted = local if local.listener_enabled else None
        allowed = self._config.allowed_calling_aes()
        key = (wanted, allowed)
        if self._own_listener is not None and self._listener_key == key:
            return
        if self.listener is not None and self._own_listener is None:
            return  # the application handed us its own listener: leave it alone
        self.stop_listener()
        self._listener_key = key
        if wanted is None:
            self.listener_status.setText("Storage listener: off (enable it in the node manager)")
            self.listener_status.setStyleSheet("color: #777;")
            return
        from hsg_workstation.pacs.scp import StorageSCP

        try:
            scp = StorageSCP(
                wanted, _PushedSink(self.database, self.bridge.pushed.emit), allowed_calling_aes=allowed
            )
            scp.start()
        except HsgError as exc:
            self._listener_key = None
            self.listener_status.setText(f"Storage listener not running: {exc}")
            self.listener_status.setStyleSheet("color: #b00020;")
            return
        self.listener = self._own_listener = scp
        who = "any calling AE" if scp.allow_any else ", ".join(sorted(allowed))
        tls = " (TLS)" if wanted.tls.enabled else ""
        self.listener_status.setText(
            f"Storage listener: {wanted.ae_title} on port {scp.port}{tls}, accepting {who}"
        )
        self.listener_status.setStyleSheet("")

    def stop_listener(self) -> None:
        """Stop the always-on listener this panel started (the application's aboutToQuit calls this too)."""
        scp, self._own_listener = self._own_listener, None
        self._listener_key = None
        if scp is not None:
            if self.listener is scp:
                self.listener = None
            scp.stop()

    def _on_pushed(self, study_uid: str, status: str) -> None:
        if status in ("imported", "duplicate"):
            self._pushed_studies.add(study_uid)
            self._pushed_count += status == "imported"
            self._push_timer.start()

    def _flush_pushed(self) -> None:
        studies, self._pushed_studies = sorted(self._pushed_studies), set()
        if not studies:
            return
        self._refresh_local_column()
        base = self.listener_status.text().split(" — ")[0]
        self.listener_status.setText(f"{base} — {self._pushed_count} instance(s) received")
        for uid in studies:
            self.studyRetrieved.emit(uid, "received")

    def is_busy(self) -> bool:
        """True from the start of a job until its result has been shown (GUI-thread state, no race)."""
        return self._busy

    def selected_study_uid(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(UID_ROLE) if rows else None

    def result_uids(self) -> list[str]:
        return [self.proxy.index(r, 0).data(UID_ROLE) for r in range(self.proxy.rowCount())]

    def select_study(self, uid: str) -> None:
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, 0).data(UID_ROLE) == uid:
                self.table.selectRow(r)
                return

    def _update_buttons(self) -> None:
        busy = self.is_busy()
        has_node = bool(self._config.nodes or self._config.web_nodes)
        selected = self.selected_study_uid() is not None
        self.search_button.setEnabled(has_node and not busy)
        self.retrieve_button.setEnabled(has_node and selected and not busy)
        self.series_button.setEnabled(has_node and selected and not busy)
        self.missing_button.setEnabled(has_node and selected and not busy)
        self.cancel_button.setEnabled(busy)
        self.worklist_button.setEnabled(has_node and not busy)

    def _current_is_dicomweb(self) -> bool:
        name = self.node_combo.currentText()
        return any(w.name == name for w in self._config.web_nodes)

    def _node_kind_changed(self) -> None:
        """C-GET / C-MOVE are DIMSE services; a DICOMweb node retrieves by WADO-RS (the choice is hidden)."""
        web = self._current_is_dicomweb()
        self.method_combo.setVisible(not web)
        self.method_combo.setEnabled(not web)

    def _set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")

    def _client(self) -> Any:
        name = self.node_combo.currentText()
        node = self._config.get_any(name)
        if isinstance(node, DicomWebNode):
            return DicomWebClient(node)
        return self.client_factory(node, self._config.local.ae_title)

    def _idle_client(self, uid: str | None) -> Any | None:
        """A client for the chosen node when a study ``uid`` is given and nothing is running; None otherwise
        (a node that cannot be used is reported in the status line)."""
        if not uid or self.is_busy():
            return None
        try:
            return self._client()
        except HsgError as exc:
            self._set_status(str(exc), error=True)
            return None

    def _start(
        self,
        work: Callable[[JobContext], Any],
        label: str,
        on_result: Callable[[Any], None],
        *,
        on_progress: Callable[[Any], None] | None = None,
    ) -> None:
        """Run ``work(ctx)`` through ``ui/workers.py``; its result, progress and errors come back here."""
        self._busy = True
        self.progress_bar.setRange(0, 0)
        self._set_status(label)

        def failed(exc: BaseException) -> None:  # the panel says what happened, never dies silently
            text = str(exc) if isinstance(exc, HsgError) else f"unexpected error: {type(exc).__name__}: {exc}"
            self._on_failed(text)

        self._job = self.workers.start(
            "pacs-panel",
            lambda _request, ctx: work(ctx),
            on_result=on_result,
            on_error=failed,
            on_progress=on_progress,
        )
        self._update_buttons()
        self.busyChanged.emit(True)

    def _done(self) -> None:
        if self._job is not None:
            self._job.wait(timeout=5)
        self._job = None
        self._busy = False
        self._update_buttons()
        self.busyChanged.emit(False)

    # -- actions -------------------------------------------------------------------------------------------

    def query(self) -> StudyQuery:
        return StudyQuery(
            patient_name=self.patient_name.text().strip(),
            patient_id=self.patient_id.text().strip(),
            study_date=dicom_date_range(self.date_from.text(), self.date_to.text()),
            modality=self.modality.currentText().strip().upper(),
            accession_number=self.accession.text().strip(),
            study_description=self.description.text().strip(),
        )

    def search(self) -> None:
        if self.is_busy():
            return
        try:
            query = self.query()
            client = self._client()
        except (ValueError, HsgError) as exc:
            self._set_status(str(exc), error=True)
            return

        self._start(
            lambda ctx: client.find_studies(query, cancel=ctx.cancel_event),
            f"Searching {client.node.name}…",
            self._on_found,
        )

    def show_worklist(self) -> None:
        """The remote HSG worklist: RF studies of the last days on the chosen node; the result table marks
        each as local (complete / incomplete / —) and with its report state here; double-click retrieves."""
        today = _dt.date.today()
        self.patient_name.clear()
        self.patient_id.clear()
        self.accession.clear()
        self.description.clear()
        self.date_from.setText((today - _dt.timedelta(days=WORKLIST_DAYS)).isoformat())
        self.date_to.setText(today.isoformat())
        self.modality.setCurrentText("RF")
        self.search()

    def _report_state(self, uid: str) -> str:
        """none / draft / signed / amended for a study held locally ('' when it is not here)."""
        try:
            if not self.database.sop_instance_uids(uid):
                return ""
            state = report_states(self.database, self.data_dir / "drafts", [uid])[uid]
        except (HsgError, OSError, AttributeError):
            return "?"
        return state.state if not state.by else f"{state.state} ({state.by.replace('^', ' ').strip()})"

    def selected_series_uid(self) -> str | None:
        """The selected series, if it belongs to the selected study (then Retrieve fetches only it)."""
        rows = self.series_table.selectionModel().selectedRows()
        if not rows or self._series_study != self.selected_study_uid():
            return None
        return rows[0].data(UID_ROLE)

    def _study_selection_changed(self) -> None:
        if self._series_study is not None and self._series_study != self.selected_study_uid():
            self.series_model.setRowCount(0)
            self._series_study = None
        self._update_buttons()

    def list_series(self) -> None:
        uid = self.selected_study_uid()
        client = self._idle_client(uid)
        if client is None:
            return

        self._start(
            lambda _ctx: client.find_series(uid),
            f"Listing series on {client.node.name}…",
            lambda series: self._on_series_found(uid, series),
        )

    def retrieve(
        self, uid: str | None = None, *, missing: bool = False, series_uid: str | None = None
    ) -> None:
        if uid is None:
            uid = self.selected_study_uid()
            series_uid = series_uid or (None if missing else self.selected_series_uid())
        client = self._idle_client(uid)
        if client is None:
            return
        method = (
            RetrieveMethod.WADO if isinstance(client, DicomWebClient) else self.method_combo.currentText()
        )
        request = RetrieveRequest(
            uid,
            RetrieveMethod(method),
            series_uid=None if missing else series_uid,
            missing_only=missing,
        )
        local, listener, db = self._config.local, self.listener, self.database

        def work(ctx: JobContext) -> RetrieveResult:
            return retrieve(
                client, request, db, local=local, progress=ctx.progress, cancel=ctx.cancel_event, scp=listener
            )

        self._start(
            work,
            f"Retrieving {request.describe()} from {client.node.name}…",
            lambda result: self._on_retrieved(uid, result),
            on_progress=self._on_progress,
        )

    def cancel(self) -> None:
        if self._job is not None and self.is_busy():
            self._job.cancel()
            self._open_after = None
            self._set_status("Cancelling (C-CANCEL)…")

    def _double_clicked(self, index: Any) -> None:
        uid = index.data(UID_ROLE)
        if not uid:
            return
        if self._local_state(uid) == "complete":
            self.studyActivated.emit(uid)
            return
        self._open_after = uid
        self.retrieve(uid)

    def _local_state(self, uid: str) -> str:
        try:
            have = self.database.sop_instance_uids(uid)
        except Exception:  # noqa: BLE001
            return "—"
        if not have:
            return "—"
        study = self.database.study(uid) if hasattr(self.database, "study") else None
        if study is not None and not getattr(study, "complete", True):
            return "incomplete"
        match = self._matches.get(uid)
        if (
            match is not None
            and match.number_of_instances is not None
            and len(have) < match.number_of_instances
        ):
            return "incomplete"
        return "complete"

    # -- results (GUI thread) ------------------------------------------------------------------------------

    def _on_found(self, result: Any) -> None:
        self._done()
        matches: list[StudyMatch] = list(result.matches)
        self._matches = {m.study_instance_uid: m for m in matches}
        self.model.setRowCount(0)
        for m in matches:
            date = (
                f"{m.study_date[:4]}-{m.study_date[4:6]}-{m.study_date[6:]}"
                if len(m.study_date) == 8
                else m.study_date
            )
            images = "" if m.number_of_instances is None else str(m.number_of_instances)
            values = (
                (m.patient_name.replace("^", " "), m.patient_name),
                (m.patient_id, m.patient_id),
                (date, m.study_date + m.study_time),
                (" ".join(m.modalities), " ".join(m.modalities)),
                (images, m.number_of_instances or 0),
                (m.accession_number, m.accession_number),
                (m.study_description, m.study_description),
                (self._local_state(m.study_instance_uid), ""),
                (self._report_state(m.study_instance_uid), ""),
            )
            items = []
            for text, key in values:
                it = QStandardItem(text)
                it.setData(key, Qt.ItemDataRole.UserRole)
                it.setData(m.study_instance_uid, UID_ROLE)
                items.append(it)
            self.model.appendRow(items)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.reset()  # no percentage after a search: the bar is about retrieves
        n = len(matches)
        text = f"{n} stud{'y' if n == 1 else 'ies'} found"
        if result.truncated:
            text += f" — {result.message}; refine the search"
        self._set_status(text)
        self._update_buttons()

    def _on_series_found(self, study_uid: str, series: list[SeriesMatch]) -> None:
        self._done()
        self.progress_bar.reset()
        self._series_study = study_uid
        self.series_model.setRowCount(0)
        for se in series:
            values = (
                "" if se.series_number is None else str(se.series_number),
                se.modality,
                "" if se.number_of_instances is None else str(se.number_of_instances),
                se.series_description,
            )
            items = [QStandardItem(v) for v in values]
            for it in items:
                it.setData(se.series_instance_uid, UID_ROLE)
            self.series_model.appendRow(items)
        self._set_status(f"{len(series)} series; select one to retrieve only it")
        self._update_buttons()

    def _on_progress(self, p: Progress) -> None:
        if self._open_after is not None and p.received >= 1:
            # Open on the first instance that landed (a loop is viewable while the rest of the study still
            # downloads); the thumbnails are refreshed when the retrieve ends (studyRetrieved).
            uid, self._open_after = self._open_after, None
            self._opened_early = uid
            self.studyActivated.emit(uid)
        if p.remaining is None:
            self.progress_bar.setRange(0, 0)
            return
        total = p.completed + p.failed + p.warning + p.remaining
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(p.completed + p.failed + p.warning)
        self.progress_bar.setFormat(f"%v / %m  (failed {p.failed + p.local_failures})")

    def _on_retrieved(self, uid: str, result: RetrieveResult) -> None:
        self._done()
        p = result.progress
        done = max(p.completed + p.failed + p.warning, p.received + p.local_failures)
        total = max(done + (p.remaining or 0), 1)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(total if result.status == "complete" else min(done, total))
        labels = {
            "complete": "Retrieved",
            "partial": "Partly retrieved",
            "cancelled": "Cancelled",
            "failed": "Failed",
        }
        self._set_status(
            f"{labels.get(result.status, result.status)}: {result.message}", error=result.status != "complete"
        )
        self._refresh_local_column()
        self.studyRetrieved.emit(uid, result.status)
        if self._open_after == uid and result.progress.received:
            self.studyActivated.emit(uid)
        self._open_after = None

    def _on_failed(self, message: str) -> None:
        self._done()
        self._open_after = None
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self._set_status(message, error=True)

    def _refresh_local_column(self) -> None:
        col = COLUMNS.index("Local")
        report_col = COLUMNS.index("Report here")
        for r in range(self.model.rowCount()):
            item = self.model.item(r, col)
            item.setText(self._local_state(item.data(UID_ROLE)))
            self.model.item(r, report_col).setText(self._report_state(item.data(UID_ROLE)))
