"""DICOMweb client: QIDO-RS search, WADO-RS retrieval, STOW-RS store — the same calls and results as the DIMSE
client (:class:`~hsg_workstation.pacs.client.DicomClient`), so the CLI and the GUI take either kind of node alike.

* QIDO-RS goes through ``dicomweb-client`` (its query-parameter encoding and paging are well tested).
* WADO-RS and STOW-RS use the same authenticated ``requests`` session but move raw Part 10 bytes: retrieval
  streams the multipart answer (:mod:`hsg_workstation.pacs.multipart`) and writes each instance atomically
  through the sink as soon as it is complete; sending posts the files as stored. Nothing is decoded and encoded
  again, so the archive's bytes are what lands in the database and what we send is what we hold.
* Every HTTP failure becomes a :class:`PacsError` in words (401 credentials, 404 not found, timeouts, TLS);
  a retrieval cut off mid-transfer keeps the complete instances, stores no partial one, and says ``partial``.

Why ~600 lines in one module: the three services share one authenticated session, one HTTP-error-to-message
mapping and the client protocol's result types; the multipart reader, which stands alone, is in ``multipart.py``.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from dicomweb_client.api import DICOMwebClient

from hsg_workstation.errors import PacsError
from hsg_workstation.pacs.multipart import MultipartError, boundary_of, iter_parts
from hsg_workstation.pacs.nodes import DicomWebNode
from hsg_workstation.pacs.sinks import read_uids
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

# Ask for the instances as the archive holds them (no transcoding); servers that cannot do that answer 406.
WADO_ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'
MAX_PART_BYTES = 4 * 1024**3  # one instance; the dicom_io limits refuse larger files anyway
STOW_BATCH_BYTES = 64 * 1024**2
_CHUNK = 1024 * 1024

_STUDY_FIELDS = (
    "StudyInstanceUID",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)


def _session(node: DicomWebNode) -> requests.Session:
    session = requests.Session()
    if node.auth == "basic":
        session.auth = (node.username, _read_secret(node.password_file, "password file"))
    elif node.auth == "bearer":
        session.headers["Authorization"] = "Bearer " + _read_secret(node.token_file, "token file")
    if node.ca_bundle:
        session.verify = node.ca_bundle
    if node.client_cert:
        session.cert = (node.client_cert, node.client_key) if node.client_key else node.client_cert
    return session


def _read_secret(path: str, what: str) -> str:
    """Secrets live in files (never on the command line, where ``ps`` shows them, nor in nodes.json)."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise PacsError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    if not text:
        raise PacsError(f"the {what} {path} is empty")
    return text


# -- DICOM JSON model ------------------------------------------------------------------------------------


def _values(item: dict[str, Any], tag: str) -> list[Any]:
    return list((item.get(tag) or {}).get("Value") or [])


def _text(item: dict[str, Any], tag: str) -> str:
    values = _values(item, tag)
    if not values:
        return ""
    v = values[0]
    if isinstance(v, dict):  # PN: {"Alphabetic": "DOE^JANE"}
        return str(v.get("Alphabetic") or v.get("Ideographic") or v.get("Phonetic") or "")
    return str(v)


def _int(item: dict[str, Any], tag: str) -> int | None:
    text = _text(item, tag)
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def _study_match(item: dict[str, Any]) -> StudyMatch:
    return StudyMatch(
        study_instance_uid=_text(item, "0020000D"),
        patient_name=_text(item, "00100010"),
        patient_id=_text(item, "00100020"),
        patient_birth_date=_text(item, "00100030"),
        patient_sex=_text(item, "00100040"),
        study_date=_text(item, "00080020"),
        study_time=_text(item, "00080030"),
        accession_number=_text(item, "00080050"),
        study_description=_text(item, "00081030"),
        modalities=tuple(str(v) for v in _values(item, "00080061")),
        number_of_series=_int(item, "00201206"),
        number_of_instances=_int(item, "00201208"),
    )


def _name_matches(match: StudyMatch, query: StudyQuery) -> bool:
    """DICOM PN wildcard matching (``*``, ``?``; case-insensitive as most archives do) of the asked name."""
    if not query.patient_name:
        return True
    return fnmatch.fnmatchcase(match.patient_name.upper(), query.patient_name.upper().replace("[", "[[]"))


def _qido_filters(query: StudyQuery) -> dict[str, str]:
    """C-FIND keys → QIDO-RS attribute filters (same matching rules: wildcards, DA ranges)."""
    pairs = {
        "PatientName": query.patient_name,
        "PatientID": query.patient_id,
        "StudyDate": query.study_date,
        "ModalitiesInStudy": query.modality,
        "AccessionNumber": query.accession_number,
        "StudyDescription": query.study_description,
        "StudyInstanceUID": query.study_instance_uid,
    }
    return {k: v for k, v in pairs.items() if v}


class DicomWebClient:
    """One DICOMweb node; methods mirror :class:`~hsg_workstation.pacs.client.DicomClient`."""

    def __init__(self, node: DicomWebNode, timeouts: Timeouts | None = None) -> None:
        self.node = node.validated()
        self.timeouts = timeouts or Timeouts()
        self._session = _session(self.node)
        self._timeout = (self.timeouts.connect, self.timeouts.dimse)
        self._dw = DICOMwebClient(
            url=self.node.base_url,
            session=self._session,
            qido_url_prefix=self.node.qido_prefix or None,
            wado_url_prefix=self.node.wado_prefix or None,
            stow_url_prefix=self.node.stow_prefix or None,
            timeout=self._timeout,
        )

    # -- errors in words -------------------------------------------------------------------------------

    def describe(self) -> str:
        return f"{self.node.name} ({self.node.base_url})" if self.node.name else self.node.base_url

    def _failure(self, what: str, exc: BaseException) -> PacsError:
        where = self.describe()
        if isinstance(exc, requests.HTTPError) and exc.response is not None:
            code = exc.response.status_code
            meaning = {
                400: "the server did not understand the request",
                401: "the server refused the credentials (check the user / password or token)",
                403: "the credentials are not allowed to do this",
                404: "not found on the server",
                406: "the server cannot send the requested format",
                409: "the server refused the instances (conflict)",
                413: "the request is too large for the server",
                415: "the server does not accept this media type",
                503: "the server is unavailable",
            }.get(code, "server error" if code >= 500 else "request refused")
            return PacsError(f"{what} on {where}: HTTP {code}: {meaning}")
        if isinstance(exc, requests.exceptions.SSLError):
            return PacsError(f"{what} on {where}: TLS failed ({exc.__class__.__name__}); check the CA bundle")
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return PacsError(f"{what} on {where}: no connection within {self.timeouts.connect:g} s")
        if isinstance(exc, requests.Timeout):
            return PacsError(f"{what} on {where}: no answer within {self.timeouts.dimse:g} s")
        if isinstance(exc, requests.ConnectionError):
            return PacsError(f"{what} on {where}: cannot connect or the connection was closed")
        if isinstance(exc, MultipartError):
            return PacsError(f"{what} on {where}: {exc}")
        return PacsError(f"{what} on {where}: {type(exc).__name__}: {exc}")

    def _qido(self, what: str, call: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        try:
            result = call()
        except (requests.RequestException, ValueError) as exc:
            raise self._failure(what, exc) from None
        return list(result or [])

    # -- QIDO-RS ---------------------------------------------------------------------------------------

    def _paged(
        self,
        what: str,
        fetch: Callable[[int, int], list[dict[str, Any]]],
        *,
        key: str,
        page_size: int = 1000,
        max_items: int = 100_000,
    ) -> list[dict[str, Any]]:
        """Every page of a QIDO search (``limit`` / ``offset``). Stops on a short page, on a page that brings
        nothing new (a server that ignores ``offset`` would otherwise be asked forever — dicomweb-client's
        ``get_remaining`` loops on such a server) and at ``max_items``."""
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        offset = 0
        while len(items) < max_items:
            page = self._qido(what, lambda off=offset: fetch(page_size, off))
            new = [i for i in page if _text(i, key) not in seen]
            seen.update(_text(i, key) for i in new)
            items.extend(new)
            offset += len(page)
            if len(page) < page_size or not new:
                break
        return items

    def _search_studies(self, filters: dict[str, str], limit: int, offset: int) -> list[dict[str, Any]]:
        """GET {qido}/studies with the query string built here, not by dicomweb-client's urlencode: Orthanc
        1.10 does not percent-decode query values, so ``PatientName=DOE%2A`` finds nothing there. The DICOM
        wildcards ``*`` and ``?`` are legal in a URI query (RFC 3986) and go literally; ``^`` (PN component
        separator) is not, so it is sent as the one-character wildcard ``?`` and the matches are filtered here
        against the real pattern (:func:`_name_matches`)."""
        base = self.node.base_url.rstrip("/")
        if self.node.qido_prefix:
            base += "/" + self.node.qido_prefix.strip("/")
        params = [(k, v.replace("^", "?") if k == "PatientName" else v) for k, v in filters.items()]
        params += [("includefield", f) for f in _STUDY_FIELDS]
        params += [("limit", str(limit)), ("offset", str(offset))]
        query = "&".join(f"{quote(k, safe='')}={quote(v, safe='*?-.,_')}" for k, v in params)
        rsp = self._session.get(
            f"{base}/studies?{query}", headers={"Accept": "application/dicom+json"}, timeout=self._timeout
        )
        rsp.raise_for_status()
        if rsp.status_code == 204 or not rsp.content:
            return []
        data = rsp.json()
        if not isinstance(data, list):
            raise ValueError("the study search answer is not a JSON list")
        return data

    def echo(self) -> float:
        """The DICOMweb counterpart of C-ECHO: one QIDO study search with limit 1, timed."""
        t0 = time.perf_counter()
        self._qido("search", lambda: self._dw.search_for_studies(limit=1))
        return time.perf_counter() - t0

    def find_studies(
        self,
        query: StudyQuery,
        *,
        max_results: int = 5000,
        page_size: int = 500,
        cancel: threading.Event | None = None,
    ) -> FindResult[StudyMatch]:
        """QIDO-RS study search with the C-FIND filters, read page by page (``limit`` / ``offset``)."""
        query = query.validated()
        filters = _qido_filters(query)
        result: FindResult[StudyMatch] = FindResult()
        offset = 0
        while len(result.matches) < max_results:
            if cancel is not None and cancel.is_set():
                result.truncated, result.message = True, "cancelled"
                break
            limit = min(page_size, max_results - len(result.matches))
            page = self._qido(
                "study search", lambda off=offset, lim=limit: self._search_studies(filters, lim, off)
            )
            result.matches.extend(m for m in map(_study_match, page) if _name_matches(m, query))
            offset += len(page)
            if len(page) < limit:
                break
        else:
            result.truncated = True
            result.message = f"stopped after {max_results} matches"
        return result

    def find_series(self, study_uid: str, *, modality: str = "") -> list[SeriesMatch]:
        filters = {"Modality": modality} if modality else None
        items = self._paged(
            "series search",
            lambda lim, off: self._dw.search_for_series(
                study_instance_uid=study_uid, search_filters=filters, limit=lim, offset=off
            ),
            key="0020000E",
        )
        return [
            SeriesMatch(
                study_instance_uid=study_uid,
                series_instance_uid=_text(i, "0020000E"),
                modality=_text(i, "00080060"),
                series_number=_int(i, "00200011"),
                series_description=_text(i, "0008103E"),
                number_of_instances=_int(i, "00201209"),
            )
            for i in items
        ]

    def find_instances(self, study_uid: str, series_uid: str | None = None) -> list[InstanceMatch]:
        items = self._paged(
            "instance search",
            lambda lim, off: self._dw.search_for_instances(
                study_instance_uid=study_uid, series_instance_uid=series_uid, limit=lim, offset=off
            ),
            key="00080018",
        )
        return [
            InstanceMatch(
                study_instance_uid=study_uid,
                series_instance_uid=_text(i, "0020000E"),
                sop_instance_uid=_text(i, "00080018"),
                sop_class_uid=_text(i, "00080016"),
                instance_number=_int(i, "00200013"),
            )
            for i in items
        ]

    # -- WADO-RS ---------------------------------------------------------------------------------------

    def _wado_url(self, study_uid: str, series_uid: str | None = None, sop_uid: str | None = None) -> str:
        base = self.node.base_url.rstrip("/")
        if self.node.wado_prefix:
            base += "/" + self.node.wado_prefix.strip("/")
        url = f"{base}/studies/{study_uid}"
        if series_uid:
            url += f"/series/{series_uid}"
            if sop_uid:
                url += f"/instances/{sop_uid}"
        return url

    def _stream(self, url: str, cancel: threading.Event | None) -> Iterator[bytes]:
        """Raw instances of one WADO-RS request, each yielded once complete."""
        try:
            rsp = self._session.get(url, headers={"Accept": WADO_ACCEPT}, stream=True, timeout=self._timeout)
            rsp.raise_for_status()
        except requests.RequestException as exc:
            raise self._failure("retrieve", exc) from None
        with rsp:
            boundary = boundary_of(rsp.headers.get("Content-Type", ""))

            def chunks() -> Iterator[bytes]:
                try:
                    for chunk in rsp.iter_content(_CHUNK):
                        if cancel is not None and cancel.is_set():
                            return
                        yield chunk
                except requests.RequestException as exc:
                    raise self._failure("retrieve", exc) from None

            yield from iter_parts(chunks(), boundary, max_part_bytes=MAX_PART_BYTES)

    def get(
        self,
        study_uid: str,
        sink: InstanceSink,
        *,
        series_uid: str | None = None,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        sop_uids: Sequence[str] | None = None,
        mark_study: bool = True,
    ) -> RetrieveResult:
        """WADO-RS retrieval of a study (or one series, or listed instances) into ``sink``.

        The instance list is asked first (QIDO-RS) so progress has a total and completeness is proven by the
        archive's own list, not assumed. Instances of another study than the one asked for are refused.
        """
        try:
            expected = {
                m.sop_instance_uid: m.series_instance_uid for m in self.find_instances(study_uid, series_uid)
            }
        except PacsError as exc:
            return RetrieveResult("failed", str(exc), errors=[str(exc)])
        if sop_uids is not None:
            expected = {u: s for u, s in expected.items() if u in set(sop_uids)}
        if not expected:
            message = f"{self.describe()} holds no instance of study {study_uid}" + (
                f" series {series_uid}" if series_uid else ""
            )
            return RetrieveResult("failed", message, errors=[message])
        if sop_uids is not None:
            requests_ = [self._wado_url(study_uid, expected[u], u) for u in expected]
        else:
            requests_ = [self._wado_url(study_uid, series_uid)]
        received: list[str] = []
        errors: list[str] = []
        duplicates = local_failures = 0
        prog = Progress(remaining=len(expected))
        cancelled = False
        for url in requests_:
            try:
                for data in self._stream(url, cancel):
                    if cancel is not None and cancel.is_set():
                        break  # parts already received in the same read are not stored after a cancel
                    try:
                        sop_uid, got_study, _ = read_uids(data)
                    except ValueError as exc:
                        errors.append(str(exc))
                        local_failures += 1
                        continue
                    if got_study != study_uid:
                        errors.append(
                            f"refused instance {sop_uid}: it belongs to another study ({got_study})"
                        )
                        local_failures += 1
                        continue
                    try:
                        outcome = sink.add_encoded(data, source="dicomweb")
                    except Exception as exc:  # noqa: BLE001 - disk full / sink error: that instance fails
                        errors.append(f"{sop_uid}: not stored: {type(exc).__name__}: {exc}")
                        local_failures += 1
                        continue
                    status = getattr(outcome, "status", "imported")
                    if status == "skipped":
                        errors.append(f"{sop_uid}: not stored: {getattr(outcome, 'reason', 'skipped')}")
                        local_failures += 1
                        continue
                    duplicates += status == "duplicate"
                    received.append(sop_uid)
                    done = len(set(received) & expected.keys())
                    prog = Progress(
                        completed=done,
                        remaining=max(0, len(expected) - done),
                        received=len(received),
                        duplicates=duplicates,
                        local_failures=local_failures,
                    )
                    if progress is not None:
                        progress(prog)
            except (PacsError, MultipartError) as exc:
                errors.append(
                    str(self._failure("retrieve", exc)) if isinstance(exc, MultipartError) else str(exc)
                )
                break
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
        got = set(received) & expected.keys()
        missing = len(expected) - len(got)
        if cancelled:
            status = "cancelled"
        elif missing == 0 and not local_failures:
            status = "complete"
        else:
            status = "partial" if got else "failed"
        message = f"retrieved {len(got)} of {len(expected)} instance(s) over DICOMweb"
        if missing:
            message += f"; {missing} missing (retrieve again with --missing)"
        if errors:
            message += f". First problem: {errors[0]}"
        result = RetrieveResult(status, message, prog, received, [], errors)  # type: ignore[arg-type]
        if mark_study:
            setter = getattr(sink, "set_study_complete", None)
            if callable(setter) and (status == "complete" or got):
                setter(study_uid, status == "complete" and series_uid is None)
        return result

    def get_missing(
        self,
        study_uid: str,
        sink: InstanceSink,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RetrieveResult:
        """Retrieve again: the archive's instance list (QIDO-RS) minus what we hold, each by WADO-RS."""
        try:
            on_peer = {m.sop_instance_uid for m in self.find_instances(study_uid)}
        except PacsError as exc:
            return RetrieveResult("failed", str(exc), errors=[str(exc)])
        getter = getattr(sink, "sop_instance_uids", None)
        local = set(getter(study_uid)) if callable(getter) else set()
        wanted = sorted(on_peer - local)
        if not on_peer:
            message = f"{self.describe()} holds no instance of study {study_uid}"
            return RetrieveResult("failed", message, errors=[message])
        if not wanted:
            setter = getattr(sink, "set_study_complete", None)
            if callable(setter):
                setter(study_uid, True)
            return RetrieveResult("complete", f"nothing missing: all {len(on_peer)} instance(s) are here")
        result = self.get(
            study_uid, sink, progress=progress, cancel=cancel, sop_uids=wanted, mark_study=False
        )
        now_local = set(getter(study_uid)) if callable(getter) else set(result.received_sop_instance_uids)
        setter = getattr(sink, "set_study_complete", None)
        if callable(setter):
            setter(study_uid, on_peer <= now_local | set(result.received_sop_instance_uids))
        return result

    # -- STOW-RS ---------------------------------------------------------------------------------------

    def send(
        self,
        paths: Sequence[str | Path],
        *,
        progress: Callable[[StoreOutcome], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[StoreOutcome]:
        """STOW-RS the files as stored, in batches of at most ~64 MB; one outcome per file, in input order."""
        outcomes: list[StoreOutcome | None] = [None] * len(paths)
        batch: list[tuple[int, Path, str, bytes]] = []
        size = 0

        def emit(index: int, out: StoreOutcome) -> None:
            outcomes[index] = out
            if progress is not None:
                progress(out)

        def flush() -> None:
            nonlocal batch, size
            if batch:
                for (index, *_), out in zip(batch, self._stow([b[1:] for b in batch]), strict=True):
                    emit(index, out)
            batch, size = [], 0

        for index, p in enumerate(paths):
            path = Path(p)
            if cancel is not None and cancel.is_set():
                emit(index, StoreOutcome(str(path), "", None, False, "not sent: cancelled"))
                continue
            try:
                data = path.read_bytes()
                sop_uid, _, _ = read_uids(data)
            except (OSError, ValueError) as exc:
                emit(
                    index,
                    StoreOutcome(str(path), "", None, False, f"{path}: not a readable DICOM file ({exc})"),
                )
                continue
            if batch and size + len(data) > STOW_BATCH_BYTES:
                flush()
            batch.append((index, path, sop_uid, data))
            size += len(data)
        flush()
        return [o for o in outcomes if o is not None]

    def _stow(self, batch: list[tuple[Path, str, bytes]]) -> list[StoreOutcome]:
        boundary = f"hsg-{time.time_ns():x}"
        base = self.node.base_url.rstrip("/")
        if self.node.stow_prefix:
            base += "/" + self.node.stow_prefix.strip("/")

        def body() -> Iterator[bytes]:
            for _, _, data in batch:
                yield f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
                yield data
                yield b"\r\n"
            yield f"--{boundary}--\r\n".encode()

        headers = {
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        }
        try:
            rsp = self._session.post(
                f"{base}/studies", data=b"".join(body()), headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            err = str(self._failure("send", exc))
            return [StoreOutcome(str(p), u, None, False, f"not sent: {err}") for p, u, _ in batch]
        failed: dict[str, int | None] = {}
        stored: set[str] = set()
        try:
            answer = rsp.json() if rsp.content else {}
        except ValueError:
            answer = {}
        if isinstance(answer, dict):
            for item in _values(answer, "00081198"):  # FailedSOPSequence
                failed[_text(item, "00081155")] = _int(item, "00081197")
            for item in _values(answer, "00081199"):  # ReferencedSOPSequence
                stored.add(_text(item, "00081155"))
        outcomes = []
        for path, sop_uid, _ in batch:
            if sop_uid in failed:
                reason = failed[sop_uid]
                outcomes.append(
                    StoreOutcome(
                        str(path), sop_uid, reason, False, f"refused by the server (reason {reason})"
                    )
                )
            elif sop_uid in stored or (rsp.ok and not failed and not stored):
                outcomes.append(StoreOutcome(str(path), sop_uid, rsp.status_code, True, "stored"))
            else:
                err = (
                    str(self._failure("send", requests.HTTPError(response=rsp)))
                    if not rsp.ok
                    else "not stored"
                )
                outcomes.append(StoreOutcome(str(path), sop_uid, rsp.status_code, False, err))
        return outcomes
