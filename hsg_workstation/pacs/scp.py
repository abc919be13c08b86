"""Storage SCP: the optional always-on listener, and the destination of our own C-MOVEs.

Accepts associations only from configured AE titles unless 'allow any' is on (a PACS that is not in the node
list is refused at association time with 'calling AE title not recognised', so the sender sees why).
Only the HSG storage classes are offered; any other class is refused at presentation-context negotiation
(result 'abstract syntax not supported'), and a C-STORE whose SOP class somehow does not match gets 0x0122.
C-ECHO is answered so a PACS admin can test the route.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.presentation import build_context

from hsg_workstation.errors import PacsError
from hsg_workstation.pacs import netcontexts as nc
from hsg_workstation.pacs.nodes import LocalNode, load_nodes
from hsg_workstation.pacs.retrieve_state import RetrieveState
from hsg_workstation.pacs.tls import server_context
from hsg_workstation.pacs.types import InstanceSink, Timeouts

log = logging.getLogger(__name__)

InstanceCallback = Callable[
    [str, str, str], None
]  # (calling AE, SOP Instance UID, "imported"/"duplicate"/error)


class _HandshakeInAssociationThread:
    """Wraps the listener's ``ssl.SSLContext`` so the TLS handshake runs in the association's thread.

    pynetdicom's ``AssociationServer.get_request`` calls ``wrap_socket`` in the *accepting* thread, and the
    default ``do_handshake_on_connect=True`` does the handshake right there on a blocking socket: one client
    that opens TCP and stays silent (a port scanner, a load-balancer health check, a half-dead PACS) froze the
    whole TLS listener — every later sender timed out. Deferring the handshake makes OpenSSL perform it on the
    first read, inside that association's own thread, bounded by the association's network timeout; a failed
    handshake there ends only that association.
    """

    def __init__(self, context: ssl.SSLContext, timeout: float | None) -> None:
        self.context = context
        self.timeout = timeout

    def wrap_socket(self, sock: socket.socket, server_side: bool = True, **_kw: Any) -> ssl.SSLSocket:
        sock.settimeout(self.timeout)
        return self.context.wrap_socket(sock, server_side=server_side, do_handshake_on_connect=False)

    def __getattr__(self, name: str) -> Any:  # anything else pynetdicom may ask of an SSLContext
        return getattr(self.context, name)


class StorageSCP:
    """A pynetdicom storage SCP writing every received instance through ``sink.add_encoded``."""

    def __init__(
        self,
        local: LocalNode,
        sink: InstanceSink,
        *,
        allowed_calling_aes: Iterable[str] = (),
        allow_any: bool | None = None,
        timeouts: Timeouts | None = None,
        on_instance: InstanceCallback | None = None,
    ) -> None:
        self.local = local.validated()
        self.sink = sink
        self.allowed = sorted({a.strip() for a in allowed_calling_aes if a.strip()})
        self.allow_any = self.local.allow_any_calling_ae if allow_any is None else allow_any
        self.timeouts = timeouts or Timeouts()
        self.on_instance = on_instance
        self._server: Any = None
        self._watchers: list[RetrieveState] = []
        self._lock = threading.Lock()
        self.received_count = 0

    @property
    def port(self) -> int:
        """The bound port (useful with ``LocalNode(port=0)``)."""
        if self._server is None:
            raise PacsError("storage SCP is not running")
        return int(self._server.server_address[1])

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> StorageSCP:
        if self._server is not None:
            return self
        if not self.allow_any and not self.allowed:
            raise PacsError(
                "storage SCP: no remote node is configured and 'allow any calling AE' is off, "
                "so every sender would be refused; add a node or allow any"
            )
        ae = AE(ae_title=self.local.ae_title)
        ae.acse_timeout = self.timeouts.acse
        ae.dimse_timeout = self.timeouts.dimse
        ae.network_timeout = self.timeouts.network
        ae.maximum_pdu_size = 0
        ae.supported_contexts = [*nc.scp_storage_contexts(), build_context(nc.VERIFICATION)]
        ae.require_called_aet = True
        ae.require_calling_aet = [] if self.allow_any else list(self.allowed)
        ssl_ctx: Any = None
        if self.local.tls.enabled:
            ssl_ctx = _HandshakeInAssociationThread(server_context(self.local.tls), self.timeouts.network)
        try:
            self._server = ae.start_server(
                (self.local.bind_address, self.local.port),
                block=False,
                evt_handlers=[(evt.EVT_C_STORE, self._handle_store), (evt.EVT_C_ECHO, lambda _e: 0x0000)],
                ssl_context=ssl_ctx,
            )
        except OSError as exc:
            raise PacsError(
                f"storage SCP cannot listen on {self.local.bind_address or '*'}:{self.local.port}: {exc}"
            ) from None
        self._ae = ae
        log.info("storage SCP %s listening on port %s", self.local.ae_title, self.port)
        return self

    def stop(self) -> None:
        """Stop listening and end open associations (pynetdicom's shutdown joins the server thread)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            self._ae.shutdown()

    def __enter__(self) -> StorageSCP:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def watch(self, state: RetrieveState) -> Iterator[None]:
        """While a C-MOVE runs, also count what we received into ``state`` (progress of the move)."""
        with self._lock:
            self._watchers.append(state)
        try:
            yield
        finally:
            with self._lock:
                self._watchers.remove(state)

    def _handle_store(self, event: evt.Event) -> int:
        calling = str(event.assoc.requestor.ae_title).strip()
        sop_class = str(event.request.AffectedSOPClassUID)
        if sop_class not in nc.HSG_STORAGE_CLASSES:
            return 0x0122
        with self._lock:
            watchers = list(self._watchers)
        if watchers:
            # The watcher writes through the same sink and records received / failed for the move's result.
            code = watchers[0].handle_store(event)
            for w in watchers[1:]:
                w.notify()
            outcome = "stored" if code == 0 else f"failed 0x{code:04X}"
        else:
            code, outcome = self._store_plain(event)
        with self._lock:
            self.received_count += code == 0
        if self.on_instance is not None:
            try:
                self.on_instance(calling, str(event.request.AffectedSOPInstanceUID), outcome)
            except Exception:  # noqa: BLE001
                log.exception("on_instance callback failed")
        return code

    def _store_plain(self, event: evt.Event) -> tuple[int, str]:
        try:
            result = self.sink.add_encoded(event.encoded_dataset(), source="network")
        except OSError as exc:
            log.error("storage SCP: cannot write instance: %s", exc)
            return 0xA700, f"failed: {exc}"
        except Exception as exc:  # noqa: BLE001
            log.error("storage SCP: cannot store instance: %s", exc)
            return 0xC210, f"failed: {exc}"
        status = str(getattr(result, "status", "imported"))
        if status == "skipped":
            return 0xC211, f"failed: {getattr(result, 'reason', '')}"
        return 0x0000, status


def listener_from_config(
    data_dir: str | os.PathLike[str], sink: InstanceSink, *, on_instance: InstanceCallback | None = None
) -> StorageSCP | None:
    """Start the always-on listener if ``nodes.json`` enables it (the main window calls this at start-up and
    ``stop()`` at exit); it accepts the configured nodes' AE titles, or anyone with 'allow any'."""
    config = load_nodes(data_dir)
    if not config.local.listener_enabled:
        return None
    scp = StorageSCP(
        config.local, sink, allowed_calling_aes=config.allowed_calling_aes(), on_instance=on_instance
    )
    return scp.start()
