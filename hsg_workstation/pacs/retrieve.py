"""One retrieve for the GUI and the CLI: ``retrieve(client, request, sink, ...)``.

Why: the PACS panel and ``hsg-workstation pacs get / move`` each chose between C-GET, C-MOVE into our own storage
SCP and "retrieve again" (only the missing instances) with their own if-chains. The choice is now a frozen
``RetrieveRequest`` (which study, which series, which method, missing only?) and this one function; the panel
hands the same request to its worker (``ui/workers.py``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hsg_workstation.pacs.client import DicomClient, move_missing, retrieve_by_move
from hsg_workstation.pacs.dicomweb import DicomWebClient
from hsg_workstation.pacs.nodes import LocalNode
from hsg_workstation.pacs.types import InstanceSink, ProgressCallback, RetrieveResult


class RetrieveMethod(StrEnum):
    GET = "C-GET"  # the peer sends on our association (no inbound port needed)
    MOVE = "C-MOVE"  # the peer opens an association to our storage SCP
    WADO = "WADO-RS"  # DICOMweb: the client streams the instances over HTTP


@dataclass(frozen=True)
class RetrieveRequest:
    """What to fetch: a study, or one series of it, or only the instances not here yet ("retrieve again")."""

    study_uid: str
    method: RetrieveMethod = RetrieveMethod.GET
    series_uid: str | None = None
    missing_only: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", RetrieveMethod(self.method))
        if not self.study_uid:
            raise ValueError("retrieve: a Study Instance UID is needed")
        if self.missing_only and self.series_uid:
            raise ValueError("retrieve: 'missing only' works on the whole study, not on one series")

    def describe(self) -> str:
        what = (
            "missing instances of the study"
            if self.missing_only
            else ("series" if self.series_uid else "study")
        )
        return f"{what} by {self.method.value}"


def retrieve(
    client: DicomClient | DicomWebClient,
    request: RetrieveRequest,
    sink: InstanceSink,
    *,
    local: LocalNode | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scp: Any | None = None,
) -> RetrieveResult:
    """Fetch what ``request`` names into ``sink``. C-MOVE needs ``local`` (our AE and port) and uses the running
    listener ``scp`` when given, else a temporary storage SCP that accepts only this peer. C-GET and WADO-RS are
    the client's own ``get`` / ``get_missing`` (a ``DicomClient`` or a ``DicomWebClient``)."""
    if request.method is RetrieveMethod.MOVE:
        if not isinstance(client, DicomClient):
            raise ValueError(f"retrieve by C-MOVE needs a DIMSE node, not {type(client).__name__}")
        if local is None:
            raise ValueError("retrieve by C-MOVE: our own node (AE title, port) is needed")
        if request.missing_only:
            return move_missing(
                client, request.study_uid, sink, local, progress=progress, cancel=cancel, scp=scp
            )
        return retrieve_by_move(
            client,
            request.study_uid,
            sink,
            local,
            series_uid=request.series_uid,
            progress=progress,
            cancel=cancel,
            scp=scp,
        )
    if request.missing_only:
        return client.get_missing(request.study_uid, sink, progress=progress, cancel=cancel)
    return client.get(
        request.study_uid, sink, series_uid=request.series_uid, progress=progress, cancel=cancel
    )
