"""An in-process pynetdicom Query/Retrieve SCP whose handlers misbehave on purpose (fault injection)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.dimse_primitives import C_GET

from hsg_workstation.pacs import netcontexts as nc

Handler = Callable[[Any], Iterator[Any]]
FAKE_AET = "FAKEPACS"


class FakeQR:
    """Study Root FIND/GET/MOVE + Verification on 127.0.0.1 with pluggable handlers."""

    def __init__(
        self,
        *,
        find: Handler | None = None,
        get: Handler | None = None,
        move: Handler | None = None,
        require_calling_aet: list[str] | None = None,
        ssl_context: Any = None,
        offer_get: bool = True,
    ) -> None:
        self.stop_event = threading.Event()
        ae = AE(ae_title=FAKE_AET)
        ae.acse_timeout = 5
        ae.dimse_timeout = 5
        ae.network_timeout = 10
        ae.maximum_pdu_size = 0
        ae.add_supported_context(nc.VERIFICATION)
        ae.add_supported_context(nc.STUDY_ROOT_FIND)
        if offer_get:
            ae.add_supported_context(nc.STUDY_ROOT_GET)
        ae.add_supported_context(nc.STUDY_ROOT_MOVE)
        for uid in nc.HSG_STORAGE_CLASSES:
            ae.add_supported_context(uid, nc.UNCOMPRESSED, scu_role=True, scp_role=True)
        if require_calling_aet:
            ae.require_calling_aet = require_calling_aet
        handlers = [(evt.EVT_C_ECHO, lambda _e: 0x0000)]
        if find:
            handlers.append((evt.EVT_C_FIND, find))
        if get:
            handlers.append((evt.EVT_C_GET, get))
        if move:
            handlers.append((evt.EVT_C_MOVE, move))
        self.ae = ae
        self.server = ae.start_server(
            ("127.0.0.1", 0), block=False, evt_handlers=handlers, ssl_context=ssl_context
        )
        self.port = int(self.server.server_address[1])

    def close(self) -> None:
        self.stop_event.set()
        self.server.shutdown()
        self.ae.shutdown()

    def __enter__(self) -> FakeQR:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_pending_get_response(event: Any, remaining: int) -> None:
    """A C-GET 'pending' response with counters that never move (what a stuck PACS sends)."""
    rsp = C_GET()
    rsp.MessageIDBeingRespondedTo = event.request.MessageID
    rsp.AffectedSOPClassUID = event.request.AffectedSOPClassUID
    rsp.Status = 0xFF00
    rsp.NumberOfRemainingSuboperations = remaining
    rsp.NumberOfCompletedSuboperations = 0
    rsp.NumberOfFailedSuboperations = 0
    rsp.NumberOfWarningSuboperations = 0
    event.assoc.dimse.send_msg(rsp, event.context.context_id)


def study_match(study_uid: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid
    ds.PatientName = "FAKE^PATIENT"
    return ds


def sleep_until(stop: threading.Event, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.05)
