"""The node manager's DICOMweb section: DICOMweb nodes (base URL, auth, TLS files) beside the DIMSE ones.

Edits the dialog's working copy of ``nodes.json`` (``NodeManagerDialog.config``) through the same validation as the
CLI (``DicomWebNode.validated``); the dialog's Save writes it. "Test" runs one QIDO-RS search as a ``ui/workers.py`` job.
Secrets are files (password file, token file), never typed into this form, so nodes.json holds no password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QToolButton,
    QWidget,
)

from hsg_workstation.errors import HsgError
from hsg_workstation.pacs.nodes import DicomWebNode, NodeConfig
from hsg_workstation.ui.workers import Job, JobContext, Workers

AUTH_CHOICES = ("none", "basic", "bearer")


@dataclass(frozen=True)
class DicomWebEchoRequest:
    node: DicomWebNode


class DicomWebNodesBox(QGroupBox):
    """List + form of the DICOMweb nodes in ``get_config()``; changes go back through ``set_config``."""

    def __init__(
        self,
        get_config: Callable[[], NodeConfig],
        set_config: Callable[[NodeConfig], None],
        show: Callable[..., None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("DICOMweb nodes", parent)
        self._get, self._set, self._show = get_config, set_config, show
        self.workers = Workers(self)
        self._test_job: Job | None = None
        self.node_list = QListWidget()
        self.name = QLineEdit()
        self.url = QLineEdit(placeholderText="https://pacs.example/dicom-web")
        self.auth = QComboBox()
        self.auth.addItems(AUTH_CHOICES)
        self.user = QLineEdit()
        self.password_file = QLineEdit(placeholderText="file holding the password")
        self.token_file = QLineEdit(placeholderText="file holding the bearer token")
        self.ca_bundle = QLineEdit(placeholderText="CA bundle (PEM) for https, if not the system's")
        self.client_cert = QLineEdit(placeholderText="client certificate (PEM), if the server asks for one")
        self.client_key = QLineEdit(placeholderText="client private key (PEM)")
        self.qido_prefix = QLineEdit(placeholderText="only where it differs, e.g. qido")
        self.wado_prefix = QLineEdit(placeholderText="only where it differs, e.g. wado")
        self.stow_prefix = QLineEdit(placeholderText="only where it differs, e.g. stow")
        self.new_button = QPushButton("New")
        self.apply_button = QPushButton("Apply")
        self.remove_button = QPushButton("Remove")
        self.test_button = QPushButton("Test (QIDO-RS)")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Base URL", self.url)
        form.addRow("Authentication", self.auth)
        form.addRow("User", self.user)
        form.addRow("Password file", self._with_browse(self.password_file))
        form.addRow("Token file", self._with_browse(self.token_file))
        form.addRow("CA bundle", self._with_browse(self.ca_bundle))
        form.addRow("Client certificate", self._with_browse(self.client_cert))
        form.addRow("Client key", self._with_browse(self.client_key))
        prefixes = QHBoxLayout()
        for w in (self.qido_prefix, self.wado_prefix, self.stow_prefix):
            prefixes.addWidget(w)
        form.addRow("QIDO / WADO / STOW prefix", prefixes)
        row = QHBoxLayout()
        for b in (self.new_button, self.apply_button, self.remove_button, self.test_button):
            row.addWidget(b)
        form.addRow(row)
        lay = QHBoxLayout(self)
        lay.addWidget(self.node_list, 1)
        lay.addLayout(form, 2)
        self.node_list.currentTextChanged.connect(self._show_node)
        self.auth.currentTextChanged.connect(self._auth_changed)
        self.new_button.clicked.connect(self.new_node)
        self.apply_button.clicked.connect(self.apply_node)
        self.remove_button.clicked.connect(self.remove_node)
        self.test_button.clicked.connect(self.test_node)
        self.refresh()
        self._auth_changed(self.auth.currentText())

    def _with_browse(self, edit: QLineEdit) -> QWidget:
        host = QWidget()
        row = QHBoxLayout(host)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QToolButton(text="…", toolTip="Choose a file")

        def browse() -> None:
            path, _ = QFileDialog.getOpenFileName(self, "File", edit.text())
            if path:
                edit.setText(path)

        button.clicked.connect(browse)
        row.addWidget(button)
        return host

    def _auth_changed(self, auth: str) -> None:
        self.user.setEnabled(auth == "basic")
        self.password_file.parentWidget().setEnabled(auth == "basic")
        self.token_file.parentWidget().setEnabled(auth == "bearer")

    def refresh(self, select: str | None = None) -> None:
        names = [n.name for n in self._get().web_nodes]
        self.node_list.blockSignals(True)
        self.node_list.clear()
        self.node_list.addItems(names)
        self.node_list.blockSignals(False)
        if select in names:
            self.node_list.setCurrentRow(names.index(select))
        elif names:
            self.node_list.setCurrentRow(0)

    def _show_node(self, name: str) -> None:
        node = next((n for n in self._get().web_nodes if n.name == name), None)
        if node is None:
            return
        self.name.setText(node.name)
        self.url.setText(node.base_url)
        self.auth.setCurrentText(node.auth)
        self.user.setText(node.username)
        self.password_file.setText(node.password_file)
        self.token_file.setText(node.token_file)
        self.ca_bundle.setText(node.ca_bundle)
        self.client_cert.setText(node.client_cert)
        self.client_key.setText(node.client_key)
        self.qido_prefix.setText(node.qido_prefix)
        self.wado_prefix.setText(node.wado_prefix)
        self.stow_prefix.setText(node.stow_prefix)

    def node_from_form(self) -> DicomWebNode:
        """The node in the form, validated (raises ConfigError naming the field)."""
        auth = self.auth.currentText()
        return DicomWebNode(
            name=self.name.text(),
            base_url=self.url.text(),
            auth=auth,  # type: ignore[arg-type]
            username=self.user.text().strip() if auth == "basic" else "",
            password_file=self.password_file.text().strip() if auth == "basic" else "",
            token_file=self.token_file.text().strip() if auth == "bearer" else "",
            ca_bundle=self.ca_bundle.text().strip(),
            client_cert=self.client_cert.text().strip(),
            client_key=self.client_key.text().strip(),
            qido_prefix=self.qido_prefix.text().strip(),
            wado_prefix=self.wado_prefix.text().strip(),
            stow_prefix=self.stow_prefix.text().strip(),
        ).validated()

    def new_node(self) -> None:
        self.node_list.clearSelection()
        for w in (
            self.name,
            self.url,
            self.user,
            self.password_file,
            self.token_file,
            self.ca_bundle,
            self.client_cert,
            self.client_key,
            self.qido_prefix,
            self.wado_prefix,
            self.stow_prefix,
        ):
            w.clear()
        self.auth.setCurrentText("none")
        self.name.setFocus()

    def apply_node(self) -> bool:
        try:
            node = self.node_from_form()
            config = self._get()
            old = self.node_list.currentItem().text() if self.node_list.currentItem() else None
            if old and old.lower() != node.name.lower():
                config = config.without_node(old)
            self._set(config.with_web_node(node))
        except HsgError as exc:
            self._show(str(exc), error=True)
            return False
        self.refresh(select=node.name)
        self._show(f"{node.name}: DICOMweb {node.base_url} — not saved yet")
        return True

    def remove_node(self) -> None:
        item = self.node_list.currentItem()
        if item is None:
            return
        self._set(self._get().without_node(item.text()))
        self.refresh()
        self._show(f"removed {item.text()} — not saved yet")

    def test_node(self, client_factory: Callable[[DicomWebNode], Any] | None = None) -> None:
        """One QIDO-RS search against the node in the form (validated, not necessarily saved)."""
        if self.test_running():
            return
        try:
            node = self.node_from_form()
        except HsgError as exc:
            self._show(str(exc), error=True)
            return
        from hsg_workstation.pacs.dicomweb import DicomWebClient

        make = client_factory or DicomWebClient
        self.test_button.setEnabled(False)
        self._show(f"QIDO-RS search on {node.base_url}…")

        def run(request: DicomWebEchoRequest, _ctx: JobContext) -> str:
            seconds = make(request.node).echo()
            return f"{request.node.name}: DICOMweb answers ({seconds * 1000:.0f} ms)"

        def failed(exc: BaseException) -> None:
            detail = str(exc) if isinstance(exc, HsgError) else f"{type(exc).__name__}: {exc}"
            self._test_done(False, f"DICOMweb test failed: {detail}")

        self._test_job = self.workers.start(
            "dicomweb-test",
            run,
            DicomWebEchoRequest(node),
            on_result=lambda text: self._test_done(True, text),
            on_error=failed,
        )

    def _test_done(self, ok: bool, message: str) -> None:
        self.test_button.setEnabled(True)
        self._show(message, error=not ok)

    def test_running(self) -> bool:
        return self._test_job is not None and self._test_job.is_running()
