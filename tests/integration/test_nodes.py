"""nodes.json: validation with clear messages, atomic save, round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsg_workstation.errors import ConfigError
from hsg_workstation.pacs.nodes import (
    LocalNode,
    NodeConfig,
    RemoteNode,
    TlsSettings,
    load_nodes,
    save_nodes,
    validate_ae_title,
)


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("A" * 17, "longer than 16"),
        ("BAD\\AE", "backslash"),
        ("BAD\tAE", "control"),
        ("ÄE", "non-ASCII"),
    ],
)
def test_bad_ae_titles(title: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_ae_title(title, "node 'x' ae_title")


def test_ae_title_padding_stripped() -> None:
    assert validate_ae_title(" ORTHANC ", "x") == "ORTHANC"


@pytest.mark.parametrize("port", [0, 65536, -1, "abc"])
def test_bad_ports(port: object) -> None:
    with pytest.raises(ConfigError, match="node 'pacs' port"):
        RemoteNode("pacs", "PACS", "h", port).validated()  # type: ignore[arg-type]


def test_tls_files_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ca_file"):
        RemoteNode("p", "P", "h", 104, TlsSettings(True, str(tmp_path / "nope.pem"))).validated()


def test_round_trip_and_defaults(data_dir: Path) -> None:
    assert load_nodes(data_dir) == NodeConfig()
    cfg = NodeConfig(local=LocalNode("MYWS", 11112)).with_node(
        RemoteNode("PACS", "ORTHANC", "pacs.local", 4242)
    )
    cfg = cfg.with_node(RemoteNode("pacs", "ORTHANC2", "pacs.local", 4243))  # same name, case-insensitive
    save_nodes(data_dir, cfg)
    back = load_nodes(data_dir)
    assert back == cfg and len(back.nodes) == 1 and back.get("PaCs").port == 4243
    assert back.allowed_calling_aes() == {"ORTHANC2"}
    assert list(data_dir.glob(".nodes-*")) == []
    with pytest.raises(ConfigError, match="no DICOM node named 'x'"):
        back.get("x")


def test_broken_file_names_the_file_and_field(data_dir: Path) -> None:
    path = data_dir / "nodes.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="nodes.json: cannot read"):
        load_nodes(data_dir)
    path.write_text(json.dumps({"nodes": [{"name": "a", "ae_title": "A" * 20, "host": "h", "port": 104}]}))
    with pytest.raises(ConfigError, match="nodes.json: node 'a' ae_title"):
        load_nodes(data_dir)
    path.write_text(
        json.dumps({"nodes": [{"name": "a", "ae_title": "A", "host": "h", "port": 104, "colour": 1}]})
    )
    with pytest.raises(ConfigError, match="colour"):
        load_nodes(data_dir)


def test_tls_listener_needs_ca_cert_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="local TLS: the listener needs ca_file, key_file"):
        LocalNode(tls=TlsSettings(True, cert_file=str(tmp_path))).validated()
    assert LocalNode(tls=TlsSettings(False, cert_file="ignored")).validated().tls.enabled is False
