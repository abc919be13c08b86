"""DIMSE client: C-ECHO, C-FIND, C-GET, C-MOVE and C-STORE against one remote node.

Design rules, from what users of other viewers complain about:

* one association per operation, never shared between threads; every wait bounded (:class:`Timeouts`), and a
  retrieve whose counters stop moving is cancelled instead of hanging at 99 %;
* every failure becomes a :class:`PacsError` (or a ``RetrieveResult`` with status ``partial``/``failed``) whose
  message says *what* the peer did (rejected, aborted, no answer, status code and its meaning);
* received instances are written as the peer encoded them (``event.encoded_dataset()``) through the sink's
  atomic ``add_encoded``; a failure after some instances arrived keeps those instances and reports ``partial``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pynetdicom import AE, evt
from pynetdicom import _config as _pynetdicom_config
from pynetdicom.association import Association
from pynetdicom.presentation import PresentationContext, build_context, build_role

from hsg_workstation.errors import HsgError, PacsError
from hsg_workstation.pacs import netcontexts as nc
from hsg_workstation.pacs.nodes import DEFAULT_LOCAL_AE, LocalNode, RemoteNode, validate_ae_title
from hsg_workstation.pacs.retrieve_state import (
    DEFAULT_WRITE_BEHIND_BYTES,
    RetrieveState,
)
from hsg_workstation.pacs.scp import StorageSCP
from hsg_workstation.pacs.tls import client_context
from hsg_workstation.pacs.types import (
    FindResult,
    InstanceMatch,
    InstanceSink,
    Progress,
    ProgressCallback,
    RetrieveResult,
    SeriesMatch,
    StoreOutcome,
    StudyMatch,
    StudyQuery,
    Timeouts,
)

log = logging.getLogger(__name__)

# pynetdicom formats every C-FIND/GET/MOVE identifier for its log eagerly (even when nothing is logged):
# patient names and IDs would land in logs, and on a 1000-match C-FIND it was 80 % of the time here.
_pynetdicom_config.LOG_RESPONSE_IDENTIFIERS = False
_pynetdicom_config.LOG_REQUEST_IDENTIFIERS = False

# Meaning of the status codes a Q/R or storage SCP sends back (PS3.4 C.4 / B.2), for messages in words.
STATUS_MEANINGS: dict[int, str] = {
    0x0000: "success",
    0x0001: "warning: requested optional attributes are not supported",
    0x0107: "warning: attribute list error",
    0x0116: "warning: attribute value out of range",
    0x0122: "refused: SOP class not supported",
    0x0124: "refused: not authorized",
    0x0211: "unrecognized operation",
    0xA700: "refused: out of resources",
    0xA701: "refused: out of resources - unable to calculate number of matches",
    0xA702: "refused: out of resources - unable to perform sub-operations",
    0xA801: "refused: move destination unknown",
    0xA900: "error: identifier does not match SOP class",
    0xB000: "warning: sub-operations complete, one or more failures or warnings",
    0xB007: "warning: coercion of data elements",
    0xC000: "error: unable to process",
    0xFE00: "cancelled",
    0xFF00: "pending",
    0xFF01: "pending (optional keys not supported)",
}

PENDING = (0xFF00, 0xFF01)


def status_text(code: int | None) -> str:
    if code is None:
        return "no status"
    meaning = STATUS_MEANINGS.get(code)
    if meaning is None:
        if 0xA700 <= code <= 0xA7FF:
            meaning = "refused: out of resources"
        elif 0xA900 <= code <= 0xA9FF:
            meaning = "error: data set does not match SOP class"
        elif 0xC000 <= code <= 0xCFFF:
            meaning = "error: cannot understand / unable to process"
        else:
            meaning = "unknown status"
    return f"0x{code:04X} ({meaning})"


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


_SERVICE_NAMES = {
    nc.VERIFICATION: "Verification (C-ECHO)",
    nc.STUDY_ROOT_FIND: "Study Root C-FIND",
    nc.STUDY_ROOT_GET: "Study Root C-GET (retrieve by C-MOVE instead)",
    nc.STUDY_ROOT_MOVE: "Study Root C-MOVE (retrieve by C-GET instead)",
}


def _service_name(uid: str) -> str:
    return _SERVICE_NAMES.get(uid) or nc.storage_class_name(uid)


def _values(value: Any) -> list[str]:
    """A possibly multi-valued element (pydicom MultiValue, str, None) as a list of non-empty strings."""
    if value is None:
        return []
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, str):
        return [v for v in value.split("\\") if v]
    try:
        return [str(v) for v in value if str(v)]
    except TypeError:
        return [str(value)] if str(value) else []


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value)


# The retrieve state the C-STORE handler and the response loop share lives in ``retrieve_state.py`` so the
# storage SCP can watch a C-MOVE without importing this module (no client <-> scp circle).
_RetrieveState = RetrieveState


class DicomClient:
    """Operations against one :class:`RemoteNode`, calling as ``calling_ae``."""

    def __init__(
        self,
        node: RemoteNode,
        calling_ae: str = DEFAULT_LOCAL_AE,
        timeouts: Timeouts | None = None,
        max_pdu: int = 0,
        write_behind_bytes: int = DEFAULT_WRITE_BEHIND_BYTES,
    ) -> None:
        self.node = node.validated()
        self.write_behind_bytes = write_behind_bytes  # 0 = acknowledge each instance only once it is stored
        self.calling_ae = validate_ae_title(calling_ae, "calling AE title")
        self.timeouts = timeouts or Timeouts()
        self.max_pdu = max_pdu  # 0 = unlimited: ~40 % faster retrieves on loopback (stack-notes)

    # -- association ---------------------------------------------------------------------------------------

    def _describe(self) -> str:
        tls = " (TLS)" if self.node.tls.enabled else ""
        return f"{self.node.ae_title}@{self.node.host}:{self.node.port}{tls}"

    @contextmanager
    def _association(
        self,
        contexts: list[PresentationContext],
        ext_neg: list[Any] | None = None,
        handlers: list[Any] | None = None,
        require_first: bool = True,
    ) -> Iterator[Association]:
        """Associate; with ``require_first``, ``contexts[0]`` is the service this operation needs and the
        peer must accept it (else a PacsError naming the service, e.g. a PACS without C-GET)."""
        required = str(contexts[0].abstract_syntax)
        ae = AE(ae_title=self.calling_ae)
        ae.connection_timeout = self.timeouts.connect
        ae.acse_timeout = self.timeouts.acse
        ae.dimse_timeout = self.timeouts.dimse
        ae.network_timeout = self.timeouts.network
        ae.maximum_pdu_size = self.max_pdu
        ae.requested_contexts = contexts
        opened = threading.Event()
        all_handlers = [(evt.EVT_CONN_OPEN, lambda _e: opened.set()), *(handlers or [])]
        tls_args = None
        if self.node.tls.enabled:
            tls_args = (client_context(self.node.tls), self.node.host)
        t0 = time.monotonic()
        with _capture_ssl_errors(self.node.tls.enabled) as ssl_errors:
            assoc = ae.associate(
                self.node.host,
                self.node.port,
                ae_title=self.node.ae_title,
                max_pdu=self.max_pdu,
                ext_neg=ext_neg,
                tls_args=tls_args,
                evt_handlers=all_handlers,
            )
        if not assoc.is_established:
            ae.shutdown()
            raise PacsError(
                self._association_failure(assoc, opened.is_set(), ssl_errors, time.monotonic() - t0, required)
            )
        if require_first and required not in {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}:
            assoc.release()
            ae.shutdown()
            raise PacsError(f"{self._describe()} does not support {_service_name(required)}")
        try:
            yield assoc
        except BaseException as exc:
            # Interrupted (a second Ctrl-C) or a bug: abort. A polite A-RELEASE would wait up to the ACSE
            # timeout for a peer that may be busy in the very operation we are leaving.
            if assoc.is_established and not isinstance(exc, HsgError):
                assoc.abort()
            raise
        finally:
            if assoc.is_established:
                try:
                    assoc.release()
                except Exception:  # noqa: BLE001 - release of a dying association
                    assoc.abort()
            ae.shutdown()

    def _association_failure(
        self, assoc: Association, connected: bool, ssl_errors: list[str], elapsed: float, required: str = ""
    ) -> str:
        where = self._describe()
        if ssl_errors:
            return (
                f"TLS handshake with {where} failed: {ssl_errors[0]} "
                "(check the CA, our certificate / key, and that the peer expects TLS)"
            )
        if assoc.is_rejected:
            rsp = assoc.acceptor.primitive
            detail = ""
            if rsp is not None:
                detail = f": {rsp.result_str}, source {rsp.source_str}, reason {rsp.reason_str!r}"
            return f"{where} rejected the association{detail} (check the AE titles: we call as {self.calling_ae!r})"
        if not connected:
            if self.node.tls.enabled:
                return (
                    f"cannot connect to {where}: connection refused, timed out after {self.timeouts.connect:g} s, "
                    "or the TLS handshake failed (check CA / certificate / key)"
                )
            return f"cannot connect to {where}: connection refused or no answer within {self.timeouts.connect:g} s"
        if assoc.acceptor.primitive is None and elapsed < self.timeouts.acse * 0.9:
            return f"{where} closed the connection during association negotiation" + (
                " (TLS: the peer may have refused our certificate)"
                if self.node.tls.enabled
                else " (if it expects DICOM TLS, enable TLS for this node)"
            )
        if assoc.acceptor.primitive is None:
            return f"{where} accepted the connection but did not answer the association request within {self.timeouts.acse:g} s"
        if not assoc.accepted_contexts:
            return (
                f"{where} accepted none of the proposed presentation contexts "
                f"(needed: {_service_name(required)})"
            )
        return f"association with {where} was aborted during negotiation"

    def _peer_gone(self, assoc: Association, since: float) -> str:
        if time.monotonic() - since >= self.timeouts.dimse * 0.9:
            return f"{self._describe()} did not answer within {self.timeouts.dimse:g} s (DIMSE timeout); association aborted"
        return f"{self._describe()} aborted the association"

    # -- C-ECHO --------------------------------------------------------------------------------------------

    def echo(self) -> float:
        """C-ECHO; returns the round-trip time in seconds including association set-up."""
        t0 = time.monotonic()
        with self._association([build_context(nc.VERIFICATION)]) as assoc:
            status = assoc.send_c_echo()
            if not status:
                raise PacsError(self._peer_gone(assoc, t0))
            code = int(status.Status)
            if code != 0x0000:
                raise PacsError(f"C-ECHO to {self._describe()} answered {status_text(code)}")
        return time.monotonic() - t0

    # -- C-FIND --------------------------------------------------------------------------------------------

    def find(
        self, identifier: Dataset, *, max_results: int = 5000, cancel: threading.Event | None = None
    ) -> FindResult[Dataset]:
        """Raw Study Root C-FIND. Stops with C-CANCEL at ``max_results`` (``truncated``) or when ``cancel`` is set."""
        result: FindResult[Dataset] = FindResult()
        with self._association([build_context(nc.STUDY_ROOT_FIND)]) as assoc:
            msg_id = 1
            cancel_sent = 0.0
            since = time.monotonic()
            for status, ident in assoc.send_c_find(identifier, nc.STUDY_ROOT_FIND, msg_id=msg_id):
                if not status:
                    raise PacsError(f"C-FIND: {self._peer_gone(assoc, since)}")
                since = time.monotonic()
                code = int(status.Status)
                if code in PENDING:
                    if ident is not None and not cancel_sent:
                        result.matches.append(ident)
                    want_stop = len(result.matches) >= max_results or (cancel is not None and cancel.is_set())
                    if want_stop and not cancel_sent:
                        result.truncated = True
                        result.message = (
                            f"stopped after {len(result.matches)} matches"
                            if len(result.matches) >= max_results
                            else "cancelled"
                        )
                        assoc.send_c_cancel(msg_id, query_model=nc.STUDY_ROOT_FIND)
                        cancel_sent = time.monotonic()
                    elif cancel_sent and time.monotonic() - cancel_sent > self.timeouts.cancel_grace:
                        assoc.abort()
                        break
                    continue
                if code == 0xFE00:
                    break
                if code != 0x0000:
                    raise PacsError(f"C-FIND on {self._describe()} failed: {status_text(code)}")
        return result

    def find_studies(
        self, query: StudyQuery, *, max_results: int = 5000, cancel: threading.Event | None = None
    ) -> FindResult[StudyMatch]:
        """Study-level C-FIND; a malformed date raises ConfigError before anything is sent."""
        query = query.validated()
        ds = Dataset()
        ds.QueryRetrieveLevel = "STUDY"
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.PatientName = query.patient_name
        ds.PatientID = query.patient_id
        ds.PatientBirthDate = ""
        ds.PatientSex = ""
        ds.StudyDate = query.study_date
        ds.StudyTime = ""
        ds.AccessionNumber = query.accession_number
        ds.StudyDescription = query.study_description
        ds.ModalitiesInStudy = query.modality
        ds.StudyInstanceUID = query.study_instance_uid
        ds.NumberOfStudyRelatedSeries = None
        ds.NumberOfStudyRelatedInstances = None
        raw = self.find(ds, max_results=max_results, cancel=cancel)
        matches = []
        for m in raw.matches:
            modalities = tuple(_values(m.get("ModalitiesInStudy")))
            matches.append(
                StudyMatch(
                    study_instance_uid=_text(m, "StudyInstanceUID"),
                    patient_name=_text(m, "PatientName"),
                    patient_id=_text(m, "PatientID"),
                    patient_birth_date=_text(m, "PatientBirthDate"),
                    patient_sex=_text(m, "PatientSex"),
                    study_date=_text(m, "StudyDate"),
                    study_time=_text(m, "StudyTime"),
                    accession_number=_text(m, "AccessionNumber"),
                    study_description=_text(m, "StudyDescription"),
                    modalities=modalities,
                    number_of_series=_int_or_none(m.get("NumberOfStudyRelatedSeries")),
                    number_of_instances=_int_or_none(m.get("NumberOfStudyRelatedInstances")),
                )
            )
        matches.sort(key=lambda s: (s.study_date, s.study_time), reverse=True)
        return FindResult(matches, raw.truncated, raw.message)

    def find_series(self, study_uid: str, *, modality: str = "") -> list[SeriesMatch]:
        if not study_uid:
            raise PacsError("series query needs a Study Instance UID")
        ds = Dataset()
        ds.QueryRetrieveLevel = "SERIES"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = ""
        ds.Modality = modality
        ds.SeriesNumber = None
        ds.SeriesDescription = ""
        ds.NumberOfSeriesRelatedInstances = None
        raw = self.find(ds)
        out = [
            SeriesMatch(
                study_instance_uid=_text(m, "StudyInstanceUID") or study_uid,
                series_instance_uid=_text(m, "SeriesInstanceUID"),
                modality=_text(m, "Modality"),
                series_number=_int_or_none(m.get("SeriesNumber")),
                series_description=_text(m, "SeriesDescription"),
                number_of_instances=_int_or_none(m.get("NumberOfSeriesRelatedInstances")),
            )
            for m in raw.matches
        ]
        out.sort(key=lambda s: (s.series_number is None, s.series_number or 0, s.series_instance_uid))
        return out

    def find_instances(self, study_uid: str, series_uid: str) -> list[InstanceMatch]:
        """IMAGE-level C-FIND (hierarchical: study and series UIDs given) — used by 'retrieve again'."""
        ds = Dataset()
        ds.QueryRetrieveLevel = "IMAGE"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = ""
        ds.SOPClassUID = ""
        ds.InstanceNumber = None
        raw = self.find(ds, max_results=100_000)
        return [
            InstanceMatch(
                study_instance_uid=study_uid,
                series_instance_uid=_text(m, "SeriesInstanceUID") or series_uid,
                sop_instance_uid=_text(m, "SOPInstanceUID"),
                sop_class_uid=_text(m, "SOPClassUID"),
                instance_number=_int_or_none(m.get("InstanceNumber")),
            )
            for m in raw.matches
        ]

    # -- C-GET / C-MOVE ------------------------------------------------------------------------------------

    @staticmethod
    def _retrieve_identifier(
        study_uid: str, series_uid: str | None, sop_uids: Sequence[str] | None
    ) -> Dataset:
        if not study_uid:
            raise PacsError("retrieve needs a Study Instance UID")
        ds = Dataset()
        ds.StudyInstanceUID = study_uid
        if sop_uids:
            if not series_uid:
                raise PacsError("an IMAGE-level retrieve needs the Series Instance UID")
            ds.QueryRetrieveLevel = "IMAGE"
            ds.SeriesInstanceUID = series_uid
            ds.SOPInstanceUID = list(sop_uids) if len(sop_uids) > 1 else sop_uids[0]
        elif series_uid:
            ds.QueryRetrieveLevel = "SERIES"
            ds.SeriesInstanceUID = series_uid
        else:
            ds.QueryRetrieveLevel = "STUDY"
        return ds

    def get(
        self,
        study_uid: str,
        sink: InstanceSink,
        *,
        series_uid: str | None = None,
        sop_uids: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        mark_study: bool = True,
    ) -> RetrieveResult:
        """C-GET a study / series / list of instances into ``sink`` (no listener needed on our side).

        We request one context per HSG storage class with SCP role selection, so the peer can send its
        C-STORE sub-operations on this same association.
        """
        identifier = self._retrieve_identifier(study_uid, series_uid, sop_uids)
        state = _RetrieveState(sink=sink, progress_cb=progress, write_behind_bytes=self.write_behind_bytes)
        storage = nc.retrieve_storage_contexts()
        roles = [build_role(uid, scp_role=True) for uid in nc.HSG_STORAGE_CLASSES]
        contexts = [build_context(nc.STUDY_ROOT_GET), *storage]
        try:
            with self._association(
                contexts, ext_neg=roles, handlers=[(evt.EVT_C_STORE, state.handle_store)]
            ) as assoc:
                result = self._run_retrieve(
                    assoc,
                    state,
                    lambda msg_id: assoc.send_c_get(identifier, nc.STUDY_ROOT_GET, msg_id=msg_id),
                    nc.STUDY_ROOT_GET,
                    "C-GET",
                    cancel,
                )
        except PacsError as exc:
            result = self._result_from_error(state, str(exc))
        self._explain_nothing_started(result, study_uid, series_uid)
        if mark_study and identifier.QueryRetrieveLevel == "STUDY":
            _mark_study(sink, study_uid, result)
        return result

    def _explain_nothing_started(
        self, result: RetrieveResult, study_uid: str, series_uid: str | None
    ) -> None:
        """A failure status before any sub-operation usually means the peer does not hold the UID, but Orthanc
        says only ``0xC000 (unable to process)``. Ask with a C-FIND (failure path only) and say it in words."""
        p = result.progress
        if result.status != "failed" or result.final_status_code is None:
            return
        if p.received or p.completed or p.failed or p.warning:
            return
        try:
            if series_uid:
                held = any(s.series_instance_uid == series_uid for s in self.find_series(study_uid))
                what = f"series {series_uid} of study {study_uid}"
            else:
                held = bool(
                    self.find_studies(StudyQuery(study_instance_uid=study_uid), max_results=1).matches
                )
                what = f"study {study_uid}"
        except HsgError:
            return  # the explanation is a courtesy; the failure itself is already reported
        if not held:
            result.message += f"; {self._describe()} {NOT_HELD} {what} (a C-FIND finds nothing)"

    def move(
        self,
        study_uid: str,
        destination_ae: str,
        *,
        series_uid: str | None = None,
        sop_uids: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        watcher: _RetrieveState | None = None,
    ) -> RetrieveResult:
        """C-MOVE to ``destination_ae`` (which the peer must know). Counts come from the peer's responses;
        with ``watcher`` (see :func:`retrieve_by_move`) they also include what our SCP actually stored."""
        destination_ae = validate_ae_title(destination_ae, "C-MOVE destination")
        identifier = self._retrieve_identifier(study_uid, series_uid, sop_uids)
        state = watcher or _RetrieveState(sink=None, progress_cb=progress)
        try:
            with self._association([build_context(nc.STUDY_ROOT_MOVE)]) as assoc:
                result = self._run_retrieve(
                    assoc,
                    state,
                    lambda msg_id: assoc.send_c_move(
                        identifier, destination_ae, nc.STUDY_ROOT_MOVE, msg_id=msg_id
                    ),
                    nc.STUDY_ROOT_MOVE,
                    f"C-MOVE to {destination_ae}",
                    cancel,
                )
        except PacsError as exc:
            return self._result_from_error(state, str(exc))
        self._explain_nothing_started(result, study_uid, series_uid)
        return result

    def _result_from_error(self, state: _RetrieveState, message: str) -> RetrieveResult:
        prog = state.final_snapshot()
        status = "partial" if prog.received else "failed"
        if prog.received:
            message = f"{message}; {prog.received} instance(s) received before the failure were kept"
        return RetrieveResult(status, message, prog, list(state.received), [], list(state.errors), None)

    def _run_retrieve(
        self,
        assoc: Association,
        state: _RetrieveState,
        send: Callable[[int], Iterable[tuple[Dataset, Dataset | None]]],
        model: str,
        what: str,
        cancel: threading.Event | None,
    ) -> RetrieveResult:
        msg_id = 1
        state.last_activity = time.monotonic()
        finished = threading.Event()
        cs = _CancelState(assoc, msg_id, model)
        if cancel is not None:
            threading.Thread(
                target=self._cancel_watchdog,
                args=(cs, cancel, finished),
                name="hsg-cancel-watchdog",
                daemon=True,
            ).start()
        try:
            return self._retrieve_loop(assoc, state, send, what, cancel, msg_id, cs)
        finally:
            finished.set()

    def _cancel_watchdog(self, cs: _CancelState, cancel: threading.Event, finished: threading.Event) -> None:
        """Cancel must work even when the peer says nothing: the retrieve loop only runs when a response
        arrives, so a silent peer would keep the user waiting for the whole DIMSE timeout. When the user
        cancels, send the C-CANCEL from here if the loop has not (PS3.7 allows it at any time); if the retrieve
        has not ended ``cancel_grace`` s later, abort the association."""
        while not finished.is_set():
            if cancel.wait(0.1):
                break
        if finished.is_set() or finished.wait(0.3):
            return
        cs.send_once("cancelled by the user")
        if finished.wait(max(self.timeouts.cancel_grace - cs.elapsed(), 0.0) + 0.5):
            return
        cs.aborted.set()
        cs.assoc.abort()
        # pynetdicom's response wait (``dimse.get_msg``) does not notice an abort from another thread until
        # its own DIMSE timeout; an empty item is what it returns on abort, so wake it with one.
        cs.assoc.dimse.msg_queue.put((None, None))

    def _retrieve_loop(
        self,
        assoc: Association,
        state: _RetrieveState,
        send: Callable[[int], Iterable[tuple[Dataset, Dataset | None]]],
        what: str,
        cancel: threading.Event | None,
        msg_id: int,
        cs: _CancelState,
    ) -> RetrieveResult:
        final_code: int | None = None
        failed_uids: list[str] = []
        since = time.monotonic()
        last_counts: tuple[int, ...] = ()
        for status, ident in send(msg_id):
            if not status:
                prog = state.final_snapshot()
                if cs.aborted.is_set():
                    msg = (
                        f"{what}: cancelled by the user; {self._describe()} did not answer for "
                        f"{self.timeouts.cancel_grace:g} s, association aborted; {prog.received} instance(s) kept"
                    )
                    return self._finish(state, "cancelled", msg, None, failed_uids, prog)
                msg = f"{what}: {self._peer_gone(assoc, since)}"
                if prog.received:
                    msg += f"; {prog.received} instance(s) received before the failure were kept"
                return self._finish(
                    state, "partial" if prog.received else "failed", msg, None, failed_uids, prog
                )
            since = time.monotonic()
            code = int(status.Status)
            with state.lock:
                if "NumberOfCompletedSuboperations" in status:
                    state.completed = int(status.NumberOfCompletedSuboperations or 0)
                if "NumberOfFailedSuboperations" in status:
                    state.failed = int(status.NumberOfFailedSuboperations or 0)
                if "NumberOfWarningSuboperations" in status:
                    state.warning = int(status.NumberOfWarningSuboperations or 0)
                if "NumberOfRemainingSuboperations" in status:
                    state.remaining = _int_or_none(status.NumberOfRemainingSuboperations)
                elif code not in PENDING:
                    state.remaining = 0
                counts = (
                    state.completed,
                    state.failed,
                    state.warning,
                    len(state.received),
                    state.local_failures,
                )
            if counts != last_counts:
                last_counts = counts
                state.last_activity = time.monotonic()
            state.notify()
            if code in PENDING:
                now = time.monotonic()
                if not cs.sent:
                    if cancel is not None and cancel.is_set():
                        cs.send_once("cancelled by the user")
                    elif now - state.last_activity > self.timeouts.stall:
                        cs.send_once(
                            f"no progress for {self.timeouts.stall:g} s (peer keeps answering 'pending')"
                        )
                elif cs.elapsed() > self.timeouts.cancel_grace:
                    assoc.abort()
                    prog = state.final_snapshot()
                    msg = f"{what}: {cs.reason}; peer ignored C-CANCEL for {self.timeouts.cancel_grace:g} s, association aborted"
                    return self._finish(state, "cancelled", msg, None, failed_uids, prog)
                continue
            final_code = code
            if ident is not None and "FailedSOPInstanceUIDList" in ident:
                failed_uids = _values(ident.FailedSOPInstanceUIDList)
            break
        else:
            prog = state.final_snapshot()
            return self._finish(
                state,
                "partial" if prog.received else "failed",
                f"{what}: no final response",
                None,
                failed_uids,
                prog,
            )

        prog = state.final_snapshot()
        if final_code == 0xFE00 or cs.sent:
            msg = f"{what}: {cs.reason or 'cancelled by the peer'}; {prog.received} instance(s) kept"
            return self._finish(state, "cancelled", msg, final_code, failed_uids, prog)
        problems = prog.failed + prog.local_failures
        if final_code in (0x0000, 0xB000) and problems == 0:
            if prog.completed == 0 and prog.received == 0 and prog.warning == 0:
                msg = f"{what}: {self._describe()} has no matching instances (nothing was retrieved)"
                return self._finish(state, "failed", msg, final_code, failed_uids, prog)
            msg = f"{what}: {max(prog.completed + prog.warning, prog.received)} instance(s) retrieved"
            if prog.warning:
                msg += f" ({prog.warning} with warnings)"
            if prog.duplicates:
                msg += f", {prog.duplicates} already in the local database"
            return self._finish(state, "complete", msg, final_code, failed_uids, prog)
        parts = [f"{what} answered {status_text(final_code)}"]
        if prog.failed:
            parts.append(f"{prog.failed} sub-operation(s) failed at the peer")
        if prog.local_failures:
            parts.append(f"{prog.local_failures} instance(s) could not be stored here")
        parts.append(f"{prog.received} instance(s) received")
        status = "partial" if prog.received or prog.completed else "failed"
        return self._finish(state, status, "; ".join(parts), final_code, failed_uids, prog)

    @staticmethod
    def _finish(
        state: _RetrieveState,
        status: str,
        message: str,
        code: int | None,
        failed_uids: list[str],
        prog: Progress,
    ) -> RetrieveResult:
        with state.lock:
            errors = list(state.errors)
            received = list(state.received)
        if errors:
            message = f"{message}. First problem: {errors[0]}"
        return RetrieveResult(status, message, prog, received, failed_uids, errors, code)  # type: ignore[arg-type]

    # -- 'retrieve again' ----------------------------------------------------------------------------------

    def missing_instances(self, study_uid: str, local_uids: set[str]) -> dict[str, list[str]]:
        """SOP Instance UIDs of the study on the peer that are not in ``local_uids``, grouped by series."""
        missing: dict[str, list[str]] = {}
        for series in self.find_series(study_uid):
            for inst in self.find_instances(study_uid, series.series_instance_uid):
                if inst.sop_instance_uid and inst.sop_instance_uid not in local_uids:
                    missing.setdefault(series.series_instance_uid, []).append(inst.sop_instance_uid)
        return missing

    def get_missing(
        self,
        study_uid: str,
        sink: InstanceSink,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RetrieveResult:
        """Retrieve again: IMAGE-level C-FIND, then IMAGE-level C-GET of only the instances we do not have."""
        return _retrieve_missing(
            self,
            study_uid,
            sink,
            lambda series_uid, uids: self.get(
                study_uid,
                sink,
                series_uid=series_uid,
                sop_uids=uids,
                progress=progress,
                cancel=cancel,
                mark_study=False,
            ),
            cancel,
        )

    # -- C-STORE -------------------------------------------------------------------------------------------

    def send(
        self,
        paths: Sequence[str | Path],
        *,
        progress: Callable[[StoreOutcome], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[StoreOutcome]:
        """C-STORE files to the node; one outcome per file. Files are sent as stored (never modified)."""
        outcomes: list[StoreOutcome] = []
        plan: list[tuple[Path, str, str, str]] = []  # path, sop class, sop instance, transfer syntax
        for p in paths:
            path = Path(p)
            try:
                ds = dcmread(path, stop_before_pixels=True)
                sop_class = str(ds.SOPClassUID)
                sop_uid = str(ds.SOPInstanceUID)
                ts = str(ds.file_meta.TransferSyntaxUID)
            except (OSError, InvalidDicomError, AttributeError, EOFError, ValueError) as exc:
                out = StoreOutcome(str(path), "", None, False, f"{path}: not a readable DICOM file ({exc})")
                outcomes.append(out)
                if progress:
                    progress(out)
                continue
            plan.append((path, sop_class, sop_uid, ts))
        if not plan:
            return outcomes
        contexts = _store_contexts([(c, t) for _, c, _, t in plan])
        with self._association(contexts, require_first=False) as assoc:
            t0 = time.monotonic()
            for path, sop_class, sop_uid, _ts in plan:
                if cancel is not None and cancel.is_set():
                    out = StoreOutcome(str(path), sop_uid, None, False, "not sent: cancelled")
                elif not assoc.is_established:
                    out = StoreOutcome(str(path), sop_uid, None, False, "not sent: association lost")
                else:
                    try:
                        status = assoc.send_c_store(path)
                    except ValueError as exc:  # no accepted context for this class / syntax
                        name = nc.storage_class_name(sop_class)
                        out = StoreOutcome(
                            str(path),
                            sop_uid,
                            None,
                            False,
                            f"not sent: {self.node.ae_title} did not accept {name}: {exc}",
                        )
                    except Exception as exc:  # noqa: BLE001 - file vanished / unreadable: that file fails, not all
                        out = StoreOutcome(
                            str(path), sop_uid, None, False, f"not sent: {path}: {type(exc).__name__}: {exc}"
                        )
                    else:
                        if not status:
                            out = StoreOutcome(str(path), sop_uid, None, False, self._peer_gone(assoc, t0))
                        else:
                            code = int(status.Status)
                            ok = (
                                code == 0x0000 or 0xB000 <= code <= 0xBFFF or code == 0x0107 or code == 0x0116
                            )
                            out = StoreOutcome(str(path), sop_uid, code, ok, status_text(code))
                t0 = time.monotonic()
                outcomes.append(out)
                if progress:
                    progress(out)
        return outcomes


class _CancelState:
    """The one C-CANCEL of a retrieve, shared by its response loop and its cancel watchdog thread."""

    def __init__(self, assoc: Association, msg_id: int, model: str) -> None:
        self.assoc = assoc
        self.msg_id = msg_id
        self.model = model
        self.lock = threading.Lock()
        self.sent = 0.0  # monotonic time the C-CANCEL went out; 0 = not sent
        self.reason = ""
        self.aborted = threading.Event()  # the watchdog aborted the association

    def send_once(self, reason: str) -> None:
        with self.lock:
            if self.sent:
                return
            self.sent = time.monotonic()
            self.reason = reason
        self.assoc.send_c_cancel(self.msg_id, query_model=self.model)

    def elapsed(self) -> float:
        return time.monotonic() - self.sent if self.sent else 0.0


NOT_HELD = "does not hold"  # marks a failure explained by a C-FIND (see _explain_nothing_started)


class _SslErrorCapture(logging.Handler):
    """Collects the SSL errors pynetdicom logs from its DUL thread: the only place a TLS refusal is visible."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if _logged_by_acceptor(record):
            return  # a storage SCP in this process (our C-MOVE destination) refusing *its* peer: not ours
        text = record.getMessage()
        if "SSL" in text or "certificate" in text.lower():
            self.errors.append(text.strip().splitlines()[0])


def _logged_by_acceptor(record: logging.LogRecord) -> bool:
    """True if ``record`` came from the thread of an association we *accepted* (pynetdicom logs process-wide).

    Since the listener's TLS handshake runs in its association thread (see ``scp.py``), its handshake failures
    are logged there; without this filter a client in the same process would quote the listener's error."""
    thread = next((t for t in threading.enumerate() if t.ident == record.thread), None)
    assoc = getattr(thread, "assoc", None) if thread is not None else None
    if assoc is None and thread is not None and hasattr(thread, "is_acceptor"):
        assoc = thread
    return bool(getattr(assoc, "is_acceptor", False))


@contextmanager
def _capture_ssl_errors(enabled: bool) -> Iterator[list[str]]:
    if not enabled:
        yield []
        return
    handler = _SslErrorCapture()
    logger = logging.getLogger("pynetdicom")
    logger.addHandler(handler)
    try:
        yield handler.errors
    finally:
        logger.removeHandler(handler)


def _store_contexts(items: Iterable[tuple[str, str]]) -> list[PresentationContext]:
    """One context per (class, compressed syntax), plus uncompressed per class; within the 128 limit."""
    contexts: list[PresentationContext] = []
    seen: set[tuple[str, str]] = set()
    for sop_class, ts in items:
        key = (sop_class, ts if ts not in nc.UNCOMPRESSED else "u")
        if key in seen:
            continue
        seen.add(key)
        syntaxes = nc.UNCOMPRESSED if ts in nc.UNCOMPRESSED else [ts]
        contexts.append(build_context(sop_class, syntaxes))
    if len(contexts) > nc.MAX_REQUESTED_CONTEXTS:
        raise PacsError(
            f"too many different SOP class / transfer syntax pairs to send at once ({len(contexts)} > 128)"
        )
    return contexts


def _local_uids(sink: InstanceSink, study_uid: str) -> set[str]:
    getter = getattr(sink, "sop_instance_uids", None)
    return set(getter(study_uid)) if callable(getter) else set()


def _mark_study(sink: InstanceSink, study_uid: str, result: RetrieveResult) -> None:
    """Record completeness so the browser can show 'incomplete' and offer 'retrieve again'."""
    setter = getattr(sink, "set_study_complete", None)
    if not callable(setter):
        return
    if result.status == "complete":
        setter(study_uid, True)
    elif result.progress.received or result.status in ("partial", "cancelled"):
        setter(study_uid, False)


def _combine(results: list[RetrieveResult], expected: int) -> RetrieveResult:
    received = [u for r in results for u in r.received_sop_instance_uids]
    failed = [u for r in results for u in r.failed_sop_instance_uids]
    errors = [e for r in results for e in r.errors]
    prog = Progress(
        completed=sum(r.progress.completed for r in results),
        remaining=max(0, expected - len(received)),
        failed=sum(r.progress.failed for r in results),
        warning=sum(r.progress.warning for r in results),
        received=len(received),
        duplicates=sum(r.progress.duplicates for r in results),
        local_failures=sum(r.progress.local_failures for r in results),
    )
    if results and all(r.status == "complete" for r in results) and len(received) >= expected:
        status = "complete"
    elif any(r.status == "cancelled" for r in results) or len(results) == 0:
        status = "cancelled"
    else:
        status = "partial" if received else "failed"
    msgs = "; ".join(r.message for r in results if r.status != "complete")
    message = f"retrieved {len(received)} of {expected} missing instance(s)" + (f"; {msgs}" if msgs else "")
    return RetrieveResult(
        status, message, prog, received, failed, errors, results[-1].final_status_code if results else None
    )  # type: ignore[arg-type]


def _retrieve_missing(
    client: DicomClient,
    study_uid: str,
    sink: InstanceSink,
    fetch: Callable[[str, list[str]], RetrieveResult],
    cancel: threading.Event | None,
) -> RetrieveResult:
    """'Retrieve again' shared by C-GET and C-MOVE: find the instances on the peer that are not here, then
    ``fetch(series_uid, sop_uids)`` them series by series (stopping when ``cancel`` is set), combine the
    results and mark the study."""
    missing = client.missing_instances(study_uid, _local_uids(sink, study_uid))
    total = sum(len(v) for v in missing.values())
    if not total:
        result = RetrieveResult("complete", "nothing missing: every instance on the peer is already here")
        _mark_study(sink, study_uid, result)
        return result
    results = []
    for series_uid, uids in missing.items():
        if cancel is not None and cancel.is_set():
            break
        results.append(fetch(series_uid, uids))
    result = _combine(results, total)
    _mark_study(sink, study_uid, result)
    return result


def retrieve_by_move(
    client: DicomClient,
    study_uid: str,
    sink: InstanceSink,
    local: LocalNode,
    *,
    series_uid: str | None = None,
    sop_uids: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scp: Any | None = None,
) -> RetrieveResult:
    """C-MOVE into our own storage SCP: uses the running listener ``scp`` or starts a temporary one on
    ``local.port`` that accepts only the node we are moving from."""

    state = _RetrieveState(sink=sink, progress_cb=progress, write_behind_bytes=client.write_behind_bytes)
    own = scp is None
    if own:
        scp = StorageSCP(local, sink, allowed_calling_aes={client.node.ae_title}, timeouts=client.timeouts)
        scp.start()
    try:
        with scp.watch(state):
            result = client.move(
                study_uid,
                local.ae_title,
                series_uid=series_uid,
                sop_uids=sop_uids,
                cancel=cancel,
                watcher=state,
            )
        if (
            result.status == "failed"
            and not result.progress.received
            and result.final_status_code is not None
            and NOT_HELD not in result.message
        ):
            result.message += "; " + _undelivered_hint(client, scp)
    finally:
        if own:
            scp.stop()
    if series_uid is None and not sop_uids:
        _mark_study(sink, study_uid, result)
    return result


def _undelivered_hint(client: DicomClient, scp: Any) -> str:
    """Why a C-MOVE into our SCP delivers nothing is invisible to the mover (the PACS only says 'failed'):
    name both ends and the usual causes, so the message is actionable."""
    tls = scp.local.tls.enabled
    causes = "our AE title, host and port" + (" and TLS (with a certificate our CA trusts)" if tls else "")
    return (
        f"{client._describe()} could not deliver to our storage SCP {scp.local.ae_title} on port {scp.port}"
        f"{' (TLS)' if tls else ''}: check that the PACS knows {causes}"
    )


def move_missing(
    client: DicomClient,
    study_uid: str,
    sink: InstanceSink,
    local: LocalNode,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    scp: Any | None = None,
) -> RetrieveResult:
    """'Retrieve again' for a PACS without C-GET: IMAGE-level C-FIND, then IMAGE-level C-MOVE of the missing
    SOP Instance UIDs per series into our storage SCP (running listener ``scp`` or a temporary one)."""
    return _retrieve_missing(
        client,
        study_uid,
        sink,
        lambda series_uid, uids: retrieve_by_move(
            client,
            study_uid,
            sink,
            local,
            series_uid=series_uid,
            sop_uids=uids,
            progress=progress,
            cancel=cancel,
            scp=scp,
        ),
        cancel,
    )
