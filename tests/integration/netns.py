"""Run the integration tests inside a private network namespace that has only loopback.

Orthanc 1.10 listens on every interface and cannot be bound to 127.0.0.1, and a test PACS must never be reachable
from (or send to) the machine's real network. As root we move *this pytest thread* into a fresh network namespace
with ``unshare(CLONE_NEWNET)`` and bring ``lo`` up; every thread and child process started afterwards (Orthanc,
DCMTK tools, pynetdicom association threads) inherits it. At the end of the integration package we switch back
with ``setns`` to the namespace we came from, so later tests are unaffected. Network namespaces are per thread in
Linux, which is what makes the switch back possible.

If the process already runs in a loopback-only namespace (e.g. ``unshare -rn pytest ...`` as a normal user) we use
it as is. Otherwise, without root, we fail loudly — never skip — with the command to use.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
entered_from: str | None = None  # the namespace we left (e.g. 'net:[4026531833]'), None if we did not switch


class NetnsError(RuntimeError):
    pass


def interfaces() -> list[str]:
    return [name for _, name in socket.if_nameindex()]


def _lo_up() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True, timeout=10)


def enter_private_netns() -> int | None:
    """Enter a loopback-only namespace; return an fd of the previous namespace (None if we did not switch)."""
    if interfaces() == ["lo"]:
        _lo_up()
        return None
    if os.geteuid() != 0:
        raise NetnsError(
            "integration tests need a private network namespace (Orthanc binds all interfaces): run pytest as root, "
            "or as a user inside `unshare -rn sh -c 'ip link set lo up; exec .venv/bin/pytest tests/integration'`"
        )
    global entered_from
    entered_from = os.readlink("/proc/thread-self/ns/net")
    previous = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    if _libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        os.close(previous)
        raise NetnsError(f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}")
    _lo_up()
    if interfaces() != ["lo"]:
        raise NetnsError(f"private namespace has unexpected interfaces: {interfaces()}")
    return previous


def leave_private_netns(previous: int | None) -> None:
    if previous is None:
        return
    try:
        if _libc.setns(previous, CLONE_NEWNET) != 0:
            raise NetnsError(f"setns back failed: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(previous)
