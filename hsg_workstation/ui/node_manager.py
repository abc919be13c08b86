"""Node manager: edit our AE title / listener and the remote DICOM nodes, test each with C-ECHO; DICOMweb nodes
in their own section (``ui/dicomweb_nodes.py``), tested with one QIDO-RS search.

Works on a copy of ``nodes.json`` (:class:`NodeConfig`); every "Apply" goes through the same validation as the
CLI, and the message names the field that is wrong. "Save" writes the file atomically; ``nodesSaved`` tells the
query panel to reload. The C-ECHO test runs on a worker thread with the Qt-free client.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hsg_workstation.errors import HsgError
from hsg_workstation.pacs.nodes import (
    LocalNode,
    NodeConfig,
    RemoteNode,
    TlsSettings,
    load_nodes,
    save_nodes,
    validate_ae_title,
)
from hsg_workstation.pacs.tls import check_tls_files
from hsg_workstation.ui.dicomweb_nodes import DicomWebNodesBox
from hsg_workstation.ui.pacs_panel import ClientFactory, default_client_factory


class _EchoBridge(QObject):
    done = Signal(bool, str)


class NodeManagerDialog(QDialog):
    """Edit nodes.json: a list of nodes on the left, the selected node's fields on the right."""

    nodesSaved = Signal()

    def __init__(
        self,
        data_dir: str | Path,
        *,
        client_factory: ClientFactory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("DICOM nodes")
        self.data_dir = Path(data_dir)
        self.client_factory = client_factory or default_client_factory
        self.bridge = _EchoBridge(self)
        self.bridge.done.connect(self._echo_done)
        self._echo_thread: threading.Thread | None = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        try:
            self.config = load_nodes(self.data_dir)
        except HsgError as exc:
            self.config = NodeConfig()
            self._show(f"{exc} — starting from an empty list", error=True)

        # local AE
        self.local_aet = QLineEdit(self.config.local.ae_title)
        self.local_port = QSpinBox(minimum=1, maximum=65535, value=max(self.config.local.port, 1))
        self.allow_any = QCheckBox("Accept any calling AE title")
        self.allow_any.setChecked(self.config.local.allow_any_calling_ae)
        self.listener = QCheckBox("Run the storage listener")
        self.listener.setChecked(self.config.local.listener_enabled)
        local_tls = self.config.local.tls
        self.local_tls = QCheckBox("DICOM TLS for the listener")
        self.local_tls.setChecked(local_tls.enabled)
        self.local_ca = QLineEdit(
            local_tls.ca_file, placeholderText="CA that signed the senders' certificates"
        )
        self.local_cert = QLineEdit(local_tls.cert_file, placeholderText="the listener's certificate (PEM)")
        self.local_key = QLineEdit(local_tls.key_file, placeholderText="the listener's private key (PEM)")
        local_box = QGroupBox("This workstation")
        lf = QFormLayout(local_box)
        lf.addRow("AE title", self.local_aet)
        lf.addRow("Listener port", self.local_port)
        lf.addRow("", self.allow_any)
        lf.addRow("", self.listener)
        lf.addRow("", self.local_tls)
        lf.addRow("Listener CA", self._with_browse(self.local_ca))
        lf.addRow("Listener certificate", self._with_browse(self.local_cert))
        lf.addRow("Listener key", self._with_browse(self.local_key))

        # remote nodes
        self.node_list = QListWidget()
        self.name = QLineEdit()
        self.ae_title = QLineEdit()
        self.host = QLineEdit()
        self.port = QSpinBox(minimum=1, maximum=65535, value=104)
        self.tls = QCheckBox("DICOM TLS")
        self.ca_file = QLineEdit(placeholderText="CA certificate (PEM)")
        self.cert_file = QLineEdit(placeholderText="our certificate (PEM), if the PACS asks for one")
        self.key_file = QLineEdit(placeholderText="our private key (PEM)")
        self.new_button = QPushButton("New")
        self.apply_button = QPushButton("Apply")
        self.remove_button = QPushButton("Remove")
        self.echo_button = QPushButton("Test (C-ECHO)")
        node_box = QGroupBox("Remote node")
        nf = QFormLayout(node_box)
        nf.addRow("Name", self.name)
        nf.addRow("AE title", self.ae_title)
        nf.addRow("Host", self.host)
        nf.addRow("Port", self.port)
        nf.addRow("", self.tls)
        nf.addRow("CA", self._with_browse(self.ca_file))
        nf.addRow("Certificate", self._with_browse(self.cert_file))
        nf.addRow("Key", self._with_browse(self.key_file))
        row = QHBoxLayout()
        for b in (self.new_button, self.apply_button, self.remove_button, self.echo_button):
            row.addWidget(b)
        nf.addRow(row)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        middle = QHBoxLayout()
        middle.addWidget(self.node_list, 1)
        middle.addWidget(node_box, 2)
        self.web_box = DicomWebNodesBox(lambda: self.config, self._set_config, self._show, self)
        lay = QVBoxLayout(self)
        lay.addWidget(local_box)
        lay.addLayout(middle, 1)
        lay.addWidget(self.web_box, 1)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)

        self.node_list.currentTextChanged.connect(self._show_node)
        self.new_button.clicked.connect(self.new_node)
        self.apply_button.clicked.connect(self.apply_node)
        self.remove_button.clicked.connect(self.remove_node)
        self.echo_button.clicked.connect(self.test_echo)
        self.tls.toggled.connect(self._tls_toggled)
        self.local_tls.toggled.connect(self._local_tls_toggled)
        self._refresh_list()
        self._tls_toggled(self.tls.isChecked())
        self._local_tls_toggled(self.local_tls.isChecked())

    # -- helpers -------------------------------------------------------------------------------------------

    def _set_config(self, config: NodeConfig) -> None:
        self.config = config

    def _show(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "")

    def _tls_toggled(self, on: bool) -> None:
        for w in (self.ca_file, self.cert_file, self.key_file):
            w.parentWidget().setEnabled(on)

    def _local_tls_toggled(self, on: bool) -> None:
        for w in (self.local_ca, self.local_cert, self.local_key):
            w.parentWidget().setEnabled(on)

    def _with_browse(self, edit: QLineEdit) -> QWidget:
        """The path field with a "…" button opening a file chooser (typing a path works too)."""
        host = QWidget()
        row = QHBoxLayout(host)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QToolButton(text="…", toolTip="Choose a PEM file")

        def browse() -> None:
            path, _ = QFileDialog.getOpenFileName(
                self, "PEM file", edit.text(), "PEM files (*.pem *.crt *.key);;All files (*)"
            )
            if path:
                edit.setText(path)

        button.clicked.connect(browse)
        row.addWidget(button)
        return host

    def _refresh_list(self, select: str | None = None) -> None:
        self.node_list.blockSignals(True)
        self.node_list.clear()
        self.node_list.addItems([n.name for n in self.config.nodes])
        self.node_list.blockSignals(False)
        names = [n.name for n in self.config.nodes]
        if select in names:
            self.node_list.setCurrentRow(names.index(select))
        elif names:
            self.node_list.setCurrentRow(0)
        else:
            self.new_node()

    def _show_node(self, name: str) -> None:
        if not name:
            return
        node = self.config.get(name)
        self.name.setText(node.name)
        self.ae_title.setText(node.ae_title)
        self.host.setText(node.host)
        self.port.setValue(node.port)
        self.tls.setChecked(node.tls.enabled)
        self.ca_file.setText(node.tls.ca_file)
        self.cert_file.setText(node.tls.cert_file)
        self.key_file.setText(node.tls.key_file)

    def node_from_form(self) -> RemoteNode:
        """The node in the form, validated (raises ConfigError naming the field)."""
        tls = TlsSettings(
            self.tls.isChecked(),
            self.ca_file.text().strip(),
            self.cert_file.text().strip(),
            self.key_file.text().strip(),
        )
        node = RemoteNode(
            self.name.text(), self.ae_title.text(), self.host.text(), self.port.value(), tls
        ).validated()
        check_tls_files(node.tls, f"node {node.name!r}", server=False)
        return node

    def local_from_form(self) -> LocalNode:
        """Our AE and listener from the form, validated; with TLS on, the CA / certificate / key are loaded
        as the listener would (a missing file, a non-PEM file or a key that does not match is named)."""
        tls = TlsSettings(
            self.local_tls.isChecked(),
            self.local_ca.text().strip(),
            self.local_cert.text().strip(),
            self.local_key.text().strip(),
        )
        local = replace(
            self.config.local,
            ae_title=self.local_aet.text(),
            port=self.local_port.value(),
            allow_any_calling_ae=self.allow_any.isChecked(),
            listener_enabled=self.listener.isChecked(),
            tls=tls,
        ).validated()
        check_tls_files(local.tls, "local", server=True)
        return local

    # -- actions -------------------------------------------------------------------------------------------

    def new_node(self) -> None:
        self.node_list.clearSelection()
        for w in (self.name, self.ae_title, self.host, self.ca_file, self.cert_file, self.key_file):
            w.clear()
        self.port.setValue(104)
        self.tls.setChecked(False)
        self.name.setFocus()

    def apply_node(self) -> bool:
        try:
            node = self.node_from_form()
            old = self.node_list.currentItem().text() if self.node_list.currentItem() else None
            config = self.config
            if old and old.lower() != node.name.lower():
                config = config.without_node(old)
            self.config = config.with_node(node)
        except HsgError as exc:
            self._show(str(exc), error=True)
            return False
        self._refresh_list(select=node.name)
        self._show(f"{node.name}: {node.ae_title}@{node.host}:{node.port} — not saved yet")
        return True

    def remove_node(self) -> None:
        item = self.node_list.currentItem()
        if item is None:
            return
        self.config = self.config.without_node(item.text())
        self._refresh_list()
        self._show(f"removed {item.text()} — not saved yet")

    def save(self) -> bool:
        try:
            self.config = replace(self.config, local=self.local_from_form())
            path = save_nodes(self.data_dir, self.config)
        except (HsgError, OSError) as exc:
            self._show(str(exc), error=True)
            return False
        self._show(f"saved {path}")
        self.nodesSaved.emit()
        return True

    def test_echo(self) -> None:
        """C-ECHO the node in the form (validated, not necessarily saved) on a worker thread."""
        if self._echo_thread is not None and self._echo_thread.is_alive():
            return
        try:
            node = self.node_from_form()
            calling = validate_ae_title(
                self.local_aet.text(), "local ae_title"
            )  # the listener's TLS is moot here
        except HsgError as exc:
            self._show(str(exc), error=True)
            return
        self.echo_button.setEnabled(False)
        self._show(f"C-ECHO {node.ae_title}@{node.host}:{node.port}…")
        factory = self.client_factory

        def run() -> None:
            try:
                seconds = factory(node, calling).echo()
                self.bridge.done.emit(True, f"C-ECHO {node.ae_title}: ok ({seconds * 1000:.0f} ms)")
            except HsgError as exc:
                self.bridge.done.emit(False, f"C-ECHO failed: {exc}")
            except Exception as exc:  # noqa: BLE001
                self.bridge.done.emit(False, f"C-ECHO failed: {type(exc).__name__}: {exc}")

        self._echo_thread = threading.Thread(target=run, name="hsg-echo", daemon=True)
        self._echo_thread.start()

    def _echo_done(self, ok: bool, message: str) -> None:
        self.echo_button.setEnabled(True)
        self._show(message, error=not ok)

    def echo_running(self) -> bool:
        return self._echo_thread is not None and self._echo_thread.is_alive()
