"""DICOM network nodes: our own Application Entity and the remote PACS / modalities we talk to.

Stored as ``<data_dir>/nodes.json`` so the GUI node manager, the CLI (``--node NAME``) and the always-on storage
SCP read the same list. Everything is validated when loaded *and* when built, because a bad AE title or port is
otherwise only discovered as an obscure association failure at 3 a.m.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from hsg_workstation.errors import ConfigError

NODES_FILE = "nodes.json"
DEFAULT_LOCAL_AE = "HSGVIEW"
DEFAULT_LOCAL_PORT = 11112


def validate_ae_title(value: object, where: str) -> str:
    """Return the AE title stripped of padding, or raise :class:`ConfigError` naming ``where``.

    PS3.5 AE (Application Entity) VR: at most 16 characters of the default repertoire, no backslash and no
    control characters; leading/trailing spaces are not significant, and an all-space title is not allowed.
    """
    if not isinstance(value, str):
        raise ConfigError(f"{where}: AE title must be text, got {type(value).__name__}")
    title = value.strip()
    if not title:
        raise ConfigError(f"{where}: AE title is empty")
    if len(title) > 16:
        raise ConfigError(f"{where}: AE title {title!r} is longer than 16 characters ({len(title)})")
    if "\\" in title:
        raise ConfigError(f"{where}: AE title {title!r} contains a backslash, which DICOM forbids")
    bad = [c for c in title if ord(c) < 0x20 or ord(c) > 0x7E]
    if bad:
        raise ConfigError(f"{where}: AE title {title!r} contains control or non-ASCII characters")
    return title


def validate_port(value: object, where: str, *, allow_zero: bool = False) -> int:
    """Return a TCP port number 1..65535 (0 allowed for 'any free port' in tests), or raise ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{where}: port must be a number, got {value!r}")
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(f"{where}: port must be a number, got {value!r}") from None
    low = 0 if allow_zero else 1
    if not low <= port <= 65535:
        raise ConfigError(f"{where}: port {port} is outside {low}..65535")
    return port


def validate_host(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: host is empty")
    host = value.strip()
    if any(c.isspace() or ord(c) < 0x20 for c in host):
        raise ConfigError(f"{where}: host {host!r} contains spaces or control characters")
    return host


@dataclass(frozen=True)
class TlsSettings:
    """DICOM TLS (PS3.15 B.1) for one association end.

    ``ca_file`` verifies the peer; ``cert_file``/``key_file`` is our own certificate (required by servers that
    authenticate clients, and always for our own TLS listener).
    """

    enabled: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    verify_hostname: bool = False

    def validated(self, where: str) -> TlsSettings:
        if not self.enabled:
            return self
        for name in ("ca_file", "cert_file", "key_file"):
            value = getattr(self, name)
            if value and not Path(value).is_file():
                raise ConfigError(f"{where}: TLS {name} {value!r} does not exist")
        if bool(self.cert_file) != bool(self.key_file):
            raise ConfigError(f"{where}: TLS needs both cert_file and key_file, or neither")
        return self


@dataclass(frozen=True)
class RemoteNode:
    """A remote DICOM node (PACS, modality, another workstation)."""

    name: str
    ae_title: str
    host: str
    port: int
    tls: TlsSettings = field(default_factory=TlsSettings)
    description: str = ""

    def validated(self) -> RemoteNode:
        where = f"node {self.name!r}" if self.name else "node"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("node: name is empty")
        return replace(
            self,
            name=self.name.strip(),
            ae_title=validate_ae_title(self.ae_title, f"{where} ae_title"),
            host=validate_host(self.host, f"{where} host"),
            port=validate_port(self.port, f"{where} port"),
            tls=self.tls.validated(f"{where}"),
        )


DicomWebAuth = Literal["none", "basic", "bearer"]


@dataclass(frozen=True)
class DicomWebNode:
    """A DICOMweb service (QIDO-RS / WADO-RS / STOW-RS) — an archive, a cluster or a cloud store.

    Secrets are never kept here (nodes.json is not a password store): HTTP basic auth names a
    ``password_file``, a bearer token a ``token_file``; both are read when a request is made.
    """

    name: str
    base_url: str
    qido_prefix: str = ""
    wado_prefix: str = ""
    stow_prefix: str = ""
    auth: DicomWebAuth = "none"
    username: str = ""
    password_file: str = ""
    token_file: str = ""
    ca_bundle: str = ""
    client_cert: str = ""
    client_key: str = ""
    description: str = ""

    def validated(self) -> DicomWebNode:
        where = f"DICOMweb node {self.name!r}" if self.name else "DICOMweb node"
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConfigError("DICOMweb node: name is empty")
        url = (self.base_url or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"{where}: base URL {url!r} must start with http:// or https:// and name a host"
            )
        if any(c.isspace() for c in url):
            raise ConfigError(f"{where}: base URL {url!r} contains spaces")
        if self.auth not in ("none", "basic", "bearer"):
            raise ConfigError(f"{where}: auth must be none, basic or bearer, not {self.auth!r}")
        if self.auth == "basic" and not (self.username and self.password_file):
            raise ConfigError(f"{where}: HTTP basic auth needs a user name and a password file")
        if self.auth == "bearer" and not self.token_file:
            raise ConfigError(f"{where}: bearer auth needs a token file")
        for label in ("password_file", "token_file", "ca_bundle", "client_cert", "client_key"):
            value = getattr(self, label)
            if value and not Path(value).is_file():
                raise ConfigError(f"{where}: {label} {value!r} does not exist")
        if self.client_key and not self.client_cert:
            raise ConfigError(f"{where}: a client key needs its client certificate")
        return replace(self, name=self.name.strip(), base_url=url.rstrip("/"))


@dataclass(frozen=True)
class LocalNode:
    """Our own AE: the title we call with and the optional storage SCP listener."""

    ae_title: str = DEFAULT_LOCAL_AE
    port: int = DEFAULT_LOCAL_PORT
    bind_address: str = ""  # "" = all interfaces; "127.0.0.1" keeps the listener private
    allow_any_calling_ae: bool = False
    listener_enabled: bool = False
    tls: TlsSettings = field(default_factory=TlsSettings)

    def validated(self) -> LocalNode:
        if self.tls.enabled:
            # A TLS listener presents its own certificate and verifies every sender's against the CA: without
            # these it cannot start, and finding that out when the PACS first pushes is too late.
            missing = [n for n in ("ca_file", "cert_file", "key_file") if not getattr(self.tls, n)]
            if missing:
                raise ConfigError(
                    f"local TLS: the listener needs {', '.join(missing)} "
                    "(our certificate and key, and the CA that signed the senders' certificates)"
                )
        return replace(
            self,
            ae_title=validate_ae_title(self.ae_title, "local ae_title"),
            port=validate_port(self.port, "local port", allow_zero=True),
            tls=self.tls.validated("local"),
        )


@dataclass(frozen=True)
class NodeConfig:
    """Everything in ``nodes.json``."""

    local: LocalNode = field(default_factory=LocalNode)
    nodes: tuple[RemoteNode, ...] = ()
    web_nodes: tuple[DicomWebNode, ...] = ()

    def get_any(self, name: str) -> RemoteNode | DicomWebNode:
        """A DIMSE or DICOMweb node by name (names are unique across both kinds)."""
        for node in (*self.nodes, *self.web_nodes):
            if node.name.lower() == name.strip().lower():
                return node
        known = ", ".join(n.name for n in (*self.nodes, *self.web_nodes)) or "none configured"
        raise ConfigError(f"no DICOM node named {name!r} (known: {known})")

    def with_web_node(self, node: DicomWebNode) -> NodeConfig:
        node = node.validated()
        if any(n.name.lower() == node.name.lower() for n in self.nodes):
            raise ConfigError(f"a DIMSE node is already called {node.name!r}")
        others = tuple(n for n in self.web_nodes if n.name.lower() != node.name.lower())
        return replace(self, web_nodes=(*others, node))

    def get(self, name: str) -> RemoteNode:
        for node in self.nodes:
            if node.name.lower() == name.strip().lower():
                return node
        known = ", ".join(n.name for n in self.nodes) or "none configured"
        raise ConfigError(f"no DICOM node named {name!r} (known: {known})")

    def with_node(self, node: RemoteNode) -> NodeConfig:
        """Add or replace (by name, case-insensitive) a node."""
        node = node.validated()
        if any(n.name.lower() == node.name.lower() for n in self.web_nodes):
            raise ConfigError(f"a DICOMweb node is already called {node.name!r}")
        others = tuple(n for n in self.nodes if n.name.lower() != node.name.lower())
        return replace(self, nodes=(*others, node))

    def without_node(self, name: str) -> NodeConfig:
        self.get_any(name)
        key = name.strip().lower()
        return replace(
            self,
            nodes=tuple(n for n in self.nodes if n.name.lower() != key),
            web_nodes=tuple(n for n in self.web_nodes if n.name.lower() != key),
        )

    def allowed_calling_aes(self) -> frozenset[str]:
        """AE titles the storage SCP accepts when 'allow any' is off: every configured remote node."""
        return frozenset(n.ae_title for n in self.nodes)

    def validated(self) -> NodeConfig:
        local = self.local.validated()
        seen: set[str] = set()
        nodes = []
        for node in self.nodes:
            node = node.validated()
            if node.name.lower() in seen:
                raise ConfigError(f"node {node.name!r} is defined twice")
            seen.add(node.name.lower())
            nodes.append(node)
        web = []
        for web_node in self.web_nodes:
            web_node = web_node.validated()
            if web_node.name.lower() in seen:
                raise ConfigError(f"node {web_node.name!r} is defined twice")
            seen.add(web_node.name.lower())
            web.append(web_node)
        return NodeConfig(local=local, nodes=tuple(nodes), web_nodes=tuple(web))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": 1,
            "local": asdict(self.local),
            "nodes": [asdict(n) for n in self.nodes],
        }
        if self.web_nodes:
            data["dicomweb_nodes"] = [asdict(n) for n in self.web_nodes]
        return data

    @classmethod
    def from_json(cls, data: Any, source: str = NODES_FILE) -> NodeConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a JSON object")
        try:
            local_raw = dict(data.get("local") or {})
            local_tls = TlsSettings(**(local_raw.pop("tls", None) or {}))
            local = LocalNode(**local_raw, tls=local_tls)
            nodes = []
            for i, raw in enumerate(data.get("nodes") or []):
                if not isinstance(raw, dict):
                    raise ConfigError(f"{source}: nodes[{i}] is not an object")
                raw = dict(raw)
                tls = TlsSettings(**(raw.pop("tls", None) or {}))
                nodes.append(RemoteNode(**raw, tls=tls))
            web_nodes = []
            for i, raw in enumerate(data.get("dicomweb_nodes") or []):
                if not isinstance(raw, dict):
                    raise ConfigError(f"{source}: dicomweb_nodes[{i}] is not an object")
                web_nodes.append(DicomWebNode(**raw))
        except TypeError as exc:  # unknown / missing keys
            raise ConfigError(f"{source}: {exc}") from None
        try:
            return cls(local=local, nodes=tuple(nodes), web_nodes=tuple(web_nodes)).validated()
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None


def nodes_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / NODES_FILE


def load_nodes(data_dir: str | os.PathLike[str]) -> NodeConfig:
    """Read ``nodes.json``; a missing file gives the defaults, a broken one a ConfigError naming it."""
    path = nodes_path(data_dir)
    if not path.exists():
        return NodeConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read node list: {exc}") from None
    return NodeConfig.from_json(data, source=str(path))


def save_nodes(data_dir: str | os.PathLike[str], config: NodeConfig) -> Path:
    """Validate and write ``nodes.json`` atomically (tmp + rename) so a crash never leaves half a file."""
    config = config.validated()
    path = nodes_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".nodes-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(config.to_json(), fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
