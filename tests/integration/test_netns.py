"""The integration tests really run in a private, loopback-only network namespace (Orthanc binds all
interfaces; nothing here may be reachable from, or send to, the real network)."""

from __future__ import annotations

import os
import subprocess

from tests.integration import netns


def test_only_loopback_here_and_in_children() -> None:
    assert netns.interfaces() == ["lo"]
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    assert [line.split(":")[1].strip() for line in out.splitlines()] == ["lo"]


def test_namespace_is_not_the_one_we_came_from() -> None:
    if netns.entered_from is None:  # started inside a private namespace already (`unshare -rn pytest`)
        return
    assert os.readlink("/proc/thread-self/ns/net") != netns.entered_from
