"""Connection budget of the storage SCP: silent or abandoned TCP connections must not lock the listener.

Why this exists (issue 16): pynetdicom gives each accepted TCP connection an association thread that counts
against ``maximum_associations`` *before* the peer has said anything, and waits the whole ACSE timeout for an
A-ASSOCIATE-RQ — even after the peer has closed its socket. Ten silent connections (a port scanner, a load
balancer's health check, a half-dead modality) therefore refused every legitimate sender with 'Local Limit
Exceeded'; no AE title is needed to do that, so the calling-AE allow-list does not help.

The guard sits in the server's ``verify_request`` (called for every accepted socket, before pynetdicom creates
the association) and keeps its own count of live connections per peer address:

* a connection whose peer closed it, or whose association ended, stops counting at once;
* when a peer is at :data:`~hsg_workstation.dicom_io.limits.MAX_ASSOCIATIONS_PER_PEER`, or the listener at
  :data:`~hsg_workstation.dicom_io.limits.MAX_ASSOCIATIONS`, the *oldest connection that has not yet sent an
  A-ASSOCIATE-RQ* is closed to make room (that peer's own first, else the busiest peer's); a legitimate sender
  sends its request within milliseconds of connecting, so it is never the oldest silent one;
* if every counted connection is an established association, the new connection is refused (closed).

pynetdicom's own limit is raised above ours (evicted threads need a moment to end), and its ACSE timeout
(ARTIM) is :data:`~hsg_workstation.dicom_io.limits.ASSOCIATION_REQUEST_SECONDS`.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pynetdicom import evt

from hsg_workstation.dicom_io import limits

log = logging.getLogger(__name__)

#: DUL states before the A-ASSOCIATE-RQ has arrived (Sta1 idle / not started yet, Sta2 transport open).
_AWAITING_REQUEST = frozenset({"Sta1", "Sta2"})
#: A brand-new connection whose association thread has not started yet counts for this long without one.
_STARTUP_GRACE_S = 2.0


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    peer: str
    opened: float = field(default_factory=time.monotonic)
    assoc: Any = None  # the pynetdicom Association once EVT_CONN_OPEN has fired
    evicted: bool = False

    def live(self, now: float) -> bool:
        if self.evicted:
            return False
        if self.assoc is None:
            return now - self.opened < _STARTUP_GRACE_S
        if self.assoc.ident is None:  # EVT_CONN_OPEN fires just before the thread starts
            return now - self.opened < _STARTUP_GRACE_S
        if not self.assoc.is_alive():
            return False
        state = self.assoc.dul.state_machine.current_state
        # Sta1 after the DUL has started means the transport closed (the peer hung up).
        return not (state == "Sta1" and self.assoc._started_dul and now - self.opened > 0.5)

    def awaiting_request(self) -> bool:
        """Silent so far: no A-ASSOCIATE-RQ processed and no bytes waiting to be read. The second half matters
        under load: a legitimate sender's request may sit in the socket until its DUL thread gets the CPU, and
        must not make it look silent to a flood of newer connections."""
        if self.assoc is not None and (
            self.assoc.is_established or self.assoc.dul.state_machine.current_state not in _AWAITING_REQUEST
        ):
            return False
        return not _readable(self.sock)


class ConnectionGuard:
    """Per-peer and total connection budget for one ``ThreadedAssociationServer`` (see the module docstring)."""

    def __init__(
        self,
        *,
        per_peer: int = limits.MAX_ASSOCIATIONS_PER_PEER,
        total: int = limits.MAX_ASSOCIATIONS,
    ) -> None:
        self.per_peer = per_peer
        self.total = total
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self.evicted = 0
        self.refused = 0

    def install(self, server: Any) -> None:
        """Hook into a started server: ``verify_request`` for admission, EVT_CONN_OPEN to learn associations."""
        server.verify_request = self.verify_request
        server.bind(evt.EVT_CONN_OPEN, self._on_open)

    def verify_request(self, request: socket.socket, client_address: Any) -> bool:
        peer = str(client_address[0]) if isinstance(client_address, tuple) else str(client_address)
        now = time.monotonic()
        with self._lock:
            self._connections = [c for c in self._connections if c.live(now)]
            mine = [c for c in self._connections if c.peer == peer]
            victim: _Connection | None = None
            if len(mine) >= self.per_peer:
                victim = _oldest_waiting(mine)
                if victim is None:
                    return self._refuse(peer, f"{len(mine)} associations open from this peer")
            elif len(self._connections) >= self.total:
                victim = _oldest_waiting(self._busiest_peer_connections())
                if victim is None:
                    return self._refuse(peer, f"{len(self._connections)} associations open")
            if victim is not None:
                victim.evicted = True
                self._connections.remove(victim)
                self.evicted += 1
            self._connections.append(_Connection(request, peer, now))
        if victim is not None:
            _close(victim)
            log.info("storage SCP: closed a connection from %s that sent no association request", victim.peer)
        return True

    def close_waiting(self) -> None:
        """Close every connection that has not sent an A-ASSOCIATE-RQ (at shutdown: pynetdicom's own shutdown
        sends them an A-ABORT their state machine rejects, with a traceback on stderr per connection)."""
        with self._lock:
            waiting = [c for c in self._connections if c.awaiting_request()]
            for c in waiting:
                c.evicted = True
            self._connections = [c for c in self._connections if not c.evicted]
        for c in waiting:
            _close(c)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and any(
            c.assoc is not None and c.assoc.is_alive() for c in waiting
        ):
            time.sleep(0.02)

    def _busiest_peer_connections(self) -> list[_Connection]:
        counts: dict[str, int] = {}
        for c in self._connections:
            if c.awaiting_request():
                counts[c.peer] = counts.get(c.peer, 0) + 1
        if not counts:
            return []
        busiest = max(counts, key=counts.__getitem__)
        return [c for c in self._connections if c.peer == busiest]

    def _refuse(self, peer: str, why: str) -> bool:
        self.refused += 1
        log.warning("storage SCP: connection from %s refused (%s)", peer, why)
        return False

    def _on_open(self, event: evt.Event) -> None:
        sock = getattr(event.assoc.dul.socket, "socket", None)
        with self._lock:
            conn = next((c for c in self._connections if c.sock is sock or _same_socket(c.sock, sock)), None)
            if conn is None:
                return
            conn.assoc = event.assoc
            evicted = conn.evicted
        if evicted:  # evicted between admission and the association's start
            _close(conn)


def _readable(sock: socket.socket) -> bool:
    """Bytes from the peer are waiting (a hung-up peer's EOF does not count: that connection is evictable)."""
    try:
        if not select.select([sock], [], [], 0)[0]:
            return False
        # the raw TCP bytes, also under TLS (SSLSocket.recv refuses flags)
        return socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except (OSError, ValueError):  # closed or reset
        return False


def _oldest_waiting(connections: list[_Connection]) -> _Connection | None:
    waiting = [c for c in connections if c.awaiting_request()]
    return min(waiting, key=lambda c: c.opened) if waiting else None


def _same_socket(a: socket.socket, b: Any) -> bool:
    try:
        return b is not None and a.fileno() == b.fileno() and a.fileno() != -1
    except OSError:
        return False


def _close(conn: _Connection) -> None:
    """Shut the socket (the peer sees the close), then wake the association thread waiting for an
    A-ASSOCIATE-RQ so it ends now instead of after the ACSE timeout."""
    try:
        conn.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    assoc = conn.assoc
    if assoc is None:
        return
    # The acceptor thread waits on this queue for the A-ASSOCIATE-RQ; None is what its timeout returns, so it
    # takes pynetdicom's own ARTIM-expiry path (kill the DUL, close the socket, end) — now, not seconds later.
    assoc.dul.to_user_queue.put(None)
