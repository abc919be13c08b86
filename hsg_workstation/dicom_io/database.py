"""The local study database: a DICOM store on disk plus a SQLite index of its headers.

``LocalDatabase(data_dir)`` keeps ``data_dir/index.sqlite`` and ``data_dir/store/``. Files are *copied* into the
store (sources are only ever read) so the database never depends on a USB stick or a network share staying
mounted, and deleting a source folder cannot break a study the radiologist is reading.

Import is file by file and never stops on a bad file: each offered file yields one :class:`ImportResult`
(``imported`` / ``duplicate`` / ``skipped`` with a reason). Order of work per file: validate the header
(:func:`reader.scan_header`, a fast path over :func:`reader.read_header`), skip if the SOP Instance UID is known, copy atomically into the store, then index.
A crash between copy and index leaves an unindexed file that :meth:`LocalDatabase.rebuild_index` picks up; the
index never points at a missing or partial file.

Thread-safety: every method may be called from any thread (the PACS receiver calls :meth:`add_encoded` from
pynetdicom's handler threads while the GUI reads); SQLite connections are per thread.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from pydicom.dataset import Dataset

from hsg_workstation.dicom_io import integrity, limits, pixels, reader
from hsg_workstation.dicom_io.index import IndexRow, StudyIndex, index_row
from hsg_workstation.dicom_io.model import (
    DisplaySet,
    DisplaySetKind,
    FrameRef,
    ImportResult,
    Instance,
    Series,
    SopKind,
    Study,
)
from hsg_workstation.dicom_io.store import Store
from hsg_workstation.errors import DicomReadError, UnsupportedTransferSyntax

__all__ = ["ImportResult", "LocalDatabase", "ProgressCallback"]

ProgressCallback = Callable[[int, int, str], None]  # (files done, files known so far, current path)

_log = logging.getLogger(__name__)

INDEX_FILENAME = "index.sqlite"
STORE_DIRNAME = "store"
_DOCUMENT_KINDS = {SopKind.STRUCTURED_REPORT, SopKind.ENCAPSULATED_PDF, SopKind.KEY_OBJECT_SELECTION}


class LocalDatabase:
    """Local DICOM store + SQLite (WAL) index in ``data_dir``."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        max_pixel_bytes: int | None = None,
        manage_session: bool = True,
    ):
        """``max_pixel_bytes``: images declaring more decoded pixel bytes are skipped (absurd or hostile
        headers); ``None`` = ``$HSG_WORKSTATION_MAX_IMAGE_MB`` or the 4 GiB default
        (:func:`reader.configured_max_pixel_bytes`).

        ``manage_session``: take the data directory's shared lock and, when this start is alone after a session
        that did not close (``kill -9``, power loss), repair the store first — see :mod:`.integrity`;
        ``start_repair`` then says what was done. ``doctor`` passes False (it holds the lock exclusively)."""
        self.max_pixel_bytes = (
            reader.configured_max_pixel_bytes() if max_pixel_bytes is None else int(max_pixel_bytes)
        )
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / STORE_DIRNAME)
        self.index = StudyIndex(self.data_dir / INDEX_FILENAME, self.store.root)
        self.start_repair: integrity.RepairReport | None = None
        self._session: integrity.DataDirSession | None = None
        if manage_session:
            self._session = integrity.DataDirSession(self.data_dir)
            try:
                if self._session.open():
                    self.start_repair = self._repair_on_start()
            finally:
                self._session.downgrade()

    def _repair_on_start(self) -> integrity.RepairReport:
        report = integrity.RepairReport()
        try:
            integrity.repair_store(self, report)
        except Exception as exc:  # noqa: BLE001 - a failed repair must not keep the app from starting
            _log.warning(
                "start-up repair of %s stopped: %s (run 'hsg-workstation doctor')", self.data_dir, exc
            )
        for line in report.lines() if report.repaired else ():
            _log.info("start-up repair: %s", line)
        return report

    # -- import ------------------------------------------------------------------------------------------------
    #: Index rows are written in batches (one transaction each): at most this many files, or this many seconds,
    #: between commits — fast like a bulk insert, yet the browser sees a long import arrive progressively.
    BATCH_FILES = 128
    BATCH_SECONDS = 0.5

    def import_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> list[ImportResult]:
        """Import files, folders (recursively) and DICOMDIRs; one result per file found. Sources are not modified.

        ``progress(done, total, path)`` is called before each file (``total`` grows when a DICOMDIR adds files);
        when ``cancel`` is set the import stops before the next file and returns what was done so far (every
        file reported as imported is in the store and the index).
        """
        queue: list[Path] = []
        seen: set[Path] = set()
        results: list[ImportResult | None] = []
        batch = _Batch(self)

        def enqueue(p: Path) -> None:
            key = Path(os.path.abspath(p))
            if key not in seen:
                seen.add(key)
                queue.append(key)

        for raw in paths:
            p = Path(raw)
            if p.is_dir():
                for f in _walk_files(p):
                    enqueue(f)
            elif p.exists() or p.is_symlink():
                enqueue(p)
            else:
                results.append(
                    ImportResult(str(p), "skipped", f"{p}: no such file or folder", local_failure=True)
                )

        i = 0
        try:
            while i < len(queue):
                path = queue[i]
                if progress is not None:
                    progress(i, len(queue), str(path))
                if cancel is not None and cancel.is_set():
                    break
                i += 1
                try:
                    referenced = self._import_file(path, results, batch)
                except Exception as exc:  # noqa: BLE001 - last resort: one strange file must not stop an import
                    # The result carries the one-line reason; the traceback only at DEBUG (it was printed on
                    # stderr for every such file — 181 times in one fuzz run).
                    _log.debug("unexpected error importing %s", path, exc_info=True)
                    detail = str(exc).strip().splitlines()
                    reason = f"{path}: unexpected error reading the file ({type(exc).__name__}: {detail[0][:200] if detail else ''})"
                    results.append(ImportResult(str(path), "skipped", reason))
                    referenced = []
                for ref in referenced:
                    enqueue(ref)
        finally:
            batch.flush(results)
            batch.close()
        if progress is not None and (cancel is None or not cancel.is_set()):
            progress(len(queue), len(queue), "")
        return [r for r in results if r is not None]

    def _import_file(self, path: Path, results: list[ImportResult | None], batch: _Batch) -> list[Path]:
        try:
            ds = reader.scan_header(path, max_pixel_bytes=self.max_pixel_bytes)
        except DicomReadError as exc:
            results.append(ImportResult(str(path), "skipped", str(exc)))
            return []
        if reader.is_dicomdir(ds):
            refs = _dicomdir_files(ds, path.parent)
            reason = f"{path}: DICOMDIR media directory; its {len(refs)} referenced files are imported"
            results.append(ImportResult(str(path), "skipped", reason))
            return refs
        instance = reader.instance_from_header(ds, path)
        sop_uid, study_uid = instance.sop_instance_uid, instance.study_instance_uid
        try:
            _check_pixels_decodable(ds, instance, path)
        except UnsupportedTransferSyntax as exc:
            results.append(ImportResult(str(path), "skipped", str(exc), sop_uid, study_uid))
            return []
        if self.index.has_instance(sop_uid) or batch.has(sop_uid):
            results.append(ImportResult(str(path), "duplicate", _DUPLICATE, sop_uid, study_uid))
            return []
        dest = self.store.path_for(study_uid, instance.series_instance_uid, sop_uid)
        row = index_row(ds, replace(instance, path=dest), self.store.relative(dest), "import")
        batch.copy(len(results), row, str(path), path, dest)  # copied on the batch's I/O threads
        results.append(None)  # filled in when the batch is committed
        batch.maybe_flush(results)
        return []

    def add_encoded(self, data: bytes, *, source: str = "network") -> ImportResult:
        """Store DICOM file-format bytes (preamble + meta, e.g. pynetdicom ``event.encoded_dataset()``).

        Written atomically into the store, then indexed (committed before returning); a known SOP Instance UID
        is reported as duplicate without writing. Bad data is reported as skipped (never raises for bad DICOM).
        """
        name = f"<{source}>"
        try:
            ds = reader.scan_header_bytes(data, name=name, max_pixel_bytes=self.max_pixel_bytes)
        except DicomReadError as exc:
            return ImportResult(name, "skipped", str(exc))
        if reader.is_dicomdir(ds):
            return ImportResult(name, "skipped", f"{name}: a DICOMDIR is not an instance")
        instance = reader.instance_from_header(ds, name)
        sop_uid, study_uid = instance.sop_instance_uid, instance.study_instance_uid
        try:
            _check_pixels_decodable(ds, instance, name)
        except UnsupportedTransferSyntax as exc:
            return ImportResult(name, "skipped", str(exc), sop_uid, study_uid)
        if self.index.has_instance(sop_uid):
            return ImportResult(name, "duplicate", _DUPLICATE, sop_uid, study_uid)
        dest = self.store.path_for(study_uid, instance.series_instance_uid, sop_uid)
        try:
            self.store.write_atomic(dest, data)
        except OSError as exc:
            return ImportResult(
                name, "skipped", f"cannot write into the store: {exc}", sop_uid, study_uid, True
            )
        row = index_row(ds, replace(instance, path=dest), self.store.relative(dest), source)
        (added,) = self.index.add_rows([row])
        if not added:
            return ImportResult(str(dest), "duplicate", _DUPLICATE, sop_uid, study_uid)
        return ImportResult(str(dest), "imported", "", sop_uid, study_uid)

    def rebuild_index(self, *, progress: ProgressCallback | None = None) -> list[ImportResult]:
        """Index every file in the store that the index does not know yet (after a crash or a restore)."""
        known = {rel for _, rel in self.index.all_relpaths()}
        files = [f for f in _walk_files(self.store.root) if self.store.relative(f) not in known]
        results: list[ImportResult | None] = []
        batch = _Batch(self)
        try:
            for i, f in enumerate(files):
                if progress is not None:
                    progress(i, len(files), str(f))
                try:
                    ds = reader.scan_header(f, max_pixel_bytes=self.max_pixel_bytes)
                    instance = reader.instance_from_header(ds, f)
                except DicomReadError as exc:
                    results.append(ImportResult(str(f), "skipped", str(exc)))
                    continue
                except Exception as exc:  # noqa: BLE001 - last resort, as in import_paths
                    _log.debug("unexpected error indexing %s", f, exc_info=True)
                    reason = f"{f}: unexpected error reading the file ({type(exc).__name__}: {exc})"
                    results.append(ImportResult(str(f), "skipped", reason))
                    continue
                row = index_row(ds, instance, self.store.relative(f), "store")
                batch.add(len(results), row, str(f))
                results.append(None)
                batch.maybe_flush(results)
        finally:
            batch.flush(results)
        return [r for r in results if r is not None]

    # -- queries -----------------------------------------------------------------------------------------------
    def has_instance(self, sop_uid: str) -> bool:
        return self.index.has_instance(sop_uid)

    def sop_instance_uids(self, study_uid: str) -> set[str]:
        return self.index.sop_instance_uids(study_uid)

    def studies(
        self,
        text: str = "",
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int | None = None,
    ) -> list[Study]:
        """Studies whose patient name / ID / accession / description contain every word of ``text``.

        Dates are DICOM DA (``YYYYMMDD``) or ``YYYY-MM-DD``, inclusive; newest studies first; at most ``limit``.
        """
        return self.index.studies(text, date_from, date_to, limit)

    def count_studies(self, text: str = "", date_from: str | None = None, date_to: str | None = None) -> int:
        """How many studies ``studies(text, date_from, date_to)`` lists without a limit (for "showing N of M")."""
        return self.index.count_studies(text, date_from, date_to)

    def study(self, uid: str) -> Study | None:
        return self.index.study(uid)

    def series(self, study_uid: str) -> list[Series]:
        return self.index.series(study_uid)

    def instances(self, series_uid: str) -> list[Instance]:
        """Instances of a series ordered by acquisition date-time, then Instance Number."""
        return self.index.instances(series_uid)

    def display_sets(self, study_uid: str) -> list[DisplaySet]:
        """What the viewer can show for a study, in series order.

        Each multi-frame image → one CINE; the single-frame images of a series → one STACK (ordered by acquisition
        date-time, then Instance Number); each SR / Encapsulated PDF / KO → one DOCUMENT. Presentation states and
        unknown classes are not display sets.
        """
        out: list[DisplaySet] = []
        for se in self.series(study_uid):
            instances = self.instances(se.series_instance_uid)
            singles: list[Instance] = []
            prefix = _series_label(se)
            for inst in instances:
                if inst.kind is SopKind.IMAGE and not _within_limits(inst):
                    continue
                if inst.kind is SopKind.IMAGE and inst.number_of_frames > 1:
                    frames = tuple(
                        FrameRef(inst.path, i, inst.sop_instance_uid) for i in range(inst.number_of_frames)
                    )
                    label = f"{prefix} — cine, {inst.number_of_frames} frames"
                    if inst.instance_number is not None:
                        label += f" (#{inst.instance_number})"
                    out.append(
                        DisplaySet(
                            DisplaySetKind.CINE,
                            se.series_instance_uid,
                            study_uid,
                            label,
                            frames,
                            (inst,),
                            se.modality,
                        )
                    )
                elif inst.kind is SopKind.IMAGE:
                    singles.append(inst)
                elif inst.kind in _DOCUMENT_KINDS:
                    label = f"{prefix} — {_DOCUMENT_NAMES[inst.kind]}"
                    out.append(
                        DisplaySet(
                            DisplaySetKind.DOCUMENT,
                            se.series_instance_uid,
                            study_uid,
                            label,
                            (),
                            (inst,),
                            se.modality,
                        )
                    )
            if singles:
                frames = tuple(FrameRef(inst.path, 0, inst.sop_instance_uid) for inst in singles)
                noun = "image" if len(singles) == 1 else "images"
                label = f"{prefix} — {len(singles)} {noun}"
                out.append(
                    DisplaySet(
                        DisplaySetKind.STACK,
                        se.series_instance_uid,
                        study_uid,
                        label,
                        frames,
                        tuple(singles),
                        se.modality,
                    )
                )
        return out

    def set_study_complete(self, study_uid: str, complete: bool) -> None:
        """Mark a study as (in)complete, e.g. after a cancelled or partial PACS retrieve."""
        self.index.set_study_complete(study_uid, complete)

    def is_empty(self) -> bool:
        return self.index.is_empty()

    def close(self) -> None:
        self.index.close()
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> LocalDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_DUPLICATE = "SOP Instance UID already in the database"


def _within_limits(inst: Instance) -> bool:
    """Rows indexed before the limits existed: an image past them is left out of the study view (one
    ``FrameRef`` per frame of a 10⁸-frame header froze the viewer), with one log line naming it."""
    try:
        limits.check_image(
            inst.path, limits.ImageGeometry(inst.rows or 0, inst.columns or 0, inst.number_of_frames)
        )
    except DicomReadError as exc:
        _log.warning("not shown: %s", exc)
        return False
    return True


def _check_pixels_decodable(header: object, instance: Instance, name: str | os.PathLike[str]) -> None:
    """Images whose compression no installed decoder handles are refused (issue: "unsupported syntaxes ...
    skipped with a reason"): the reason names the syntax and the package, and the import can simply be repeated
    after installing it. Documents and native images pass."""
    if instance.kind is SopKind.IMAGE and instance.transfer_syntax_uid:
        pixels.check_decodable(header, name)


class _Batch:
    """Index rows waiting for one shared transaction, with the result slots they will fill.

    Files are copied into the store on a few I/O threads: each copy is still written, fsync-ed and renamed on
    its own (a crash never leaves a half-written file, and no row is committed before its file is durable),
    but the fsyncs of several files overlap instead of queueing — they were three quarters of the import time
    (benchmarks/db.py).
    """

    COPY_THREADS = 8

    def __init__(self, db: LocalDatabase) -> None:
        self.db = db
        self.slots: list[int] = []
        self.rows: list[IndexRow] = []
        self.paths: list[str] = []
        self.sops: set[str] = set()
        self.pending: list[tuple[int, IndexRow, str, Future[Path]]] = []
        self._pool: ThreadPoolExecutor | None = None
        self.started = time.monotonic()

    def has(self, sop_uid: str) -> bool:
        return sop_uid in self.sops

    def copy(self, slot: int, row: IndexRow, shown_path: str, source: Path, dest: Path) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.COPY_THREADS, thread_name_prefix="hsg-import-copy")
        if not self.rows and not self.pending:
            self.started = time.monotonic()
        self.sops.add(row.instance.sop_instance_uid)
        self.pending.append(
            (slot, row, shown_path, self._pool.submit(self.db.store.copy_atomic, dest, source))
        )

    def _collect(self, results: list[ImportResult | None]) -> None:
        """Wait for the copies in flight; a copied file joins the rows, a failed copy is reported skipped."""
        for slot, row, shown, future in self.pending:
            inst = row.instance
            try:
                future.result()
            except OSError as exc:
                reason = f"{shown}: cannot copy into the store: {exc}"
                results[slot] = ImportResult(
                    shown, "skipped", reason, inst.sop_instance_uid, inst.study_instance_uid, True
                )
                self.sops.discard(inst.sop_instance_uid)
                continue
            self.add(slot, row, shown)
        self.pending = []

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def add(self, slot: int, row: IndexRow, shown_path: str) -> None:
        if not self.rows:
            self.started = time.monotonic()
        self.slots.append(slot)
        self.rows.append(row)
        self.paths.append(shown_path)
        self.sops.add(row.instance.sop_instance_uid)

    def maybe_flush(self, results: list[ImportResult | None]) -> None:
        n = len(self.rows) + len(self.pending)
        if n >= self.db.BATCH_FILES or time.monotonic() - self.started >= self.db.BATCH_SECONDS:
            self.flush(results)

    def flush(self, results: list[ImportResult | None]) -> None:
        self._collect(results)
        if not self.rows:
            return
        try:
            added = self.db.index.add_rows(self.rows)
        except sqlite3.Error as exc:  # disk full, database locked for > 30 s, read-only data dir ...
            for slot, row, shown in zip(self.slots, self.rows, self.paths, strict=True):
                inst = row.instance
                reason = f"{shown}: stored but not indexed ({exc}); run the import again to index it"
                results[slot] = ImportResult(
                    shown, "skipped", reason, inst.sop_instance_uid, inst.study_instance_uid, True
                )
            self.slots, self.rows, self.paths, self.sops = [], [], [], set()
            return
        for slot, row, shown, ok in zip(self.slots, self.rows, self.paths, added, strict=True):
            inst = row.instance
            status = "imported" if ok else "duplicate"
            reason = "" if ok else _DUPLICATE
            results[slot] = ImportResult(
                shown, status, reason, inst.sop_instance_uid, inst.study_instance_uid
            )
        self.slots, self.rows, self.paths, self.sops = [], [], [], set()


_DOCUMENT_NAMES = {
    SopKind.STRUCTURED_REPORT: "structured report",
    SopKind.ENCAPSULATED_PDF: "PDF report",
    SopKind.KEY_OBJECT_SELECTION: "key images",
}


def _series_label(se: Series) -> str:
    parts = [se.modality or "?"]
    if se.series_number is not None:
        parts.append(str(se.series_number))
    text = " ".join(parts)
    return f"{text}: {se.series_description}" if se.series_description else text


def _walk_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` in a stable order, skipping the store's own partial temporaries."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.startswith(".") and name.endswith(".part"):
                continue
            yield Path(dirpath) / name


def _dicomdir_files(ds: Dataset, base: Path) -> list[Path]:
    """Files referenced by a DICOMDIR's directory records (Referenced File ID is relative to its folder)."""
    files: list[Path] = []
    for record in ds.get("DirectoryRecordSequence", []):
        ref = record.get("ReferencedFileID")
        if not ref:
            continue
        parts = [str(ref)] if isinstance(ref, str) else [str(x) for x in ref]
        # Never follow a record out of the media folder: no "..", no empty or absolute components, no
        # separators inside a component (Path.joinpath("/etc", ...) would restart at the root).
        if any(part in ("..", ".", "") or "/" in part or "\\" in part or ":" in part for part in parts):
            _log.warning(
                "DICOMDIR %s: record with Referenced File ID %r ignored (leaves the medium)", base, parts
            )
            continue
        path = _resolve_case_insensitive(base, parts)
        try:
            inside = path.resolve().is_relative_to(base.resolve())
        except OSError:
            inside = False
        if not inside:  # e.g. a symbolic link on the medium pointing elsewhere
            _log.warning("DICOMDIR %s: %s ignored (resolves outside the medium)", base, path)
            continue
        files.append(path)
    return files


def _resolve_case_insensitive(base: Path, parts: list[str]) -> Path:
    """Referenced File IDs are upper case (ISO 9660); CDs mounted on Linux often show lower-case names."""
    exact = base.joinpath(*parts)
    if exact.exists():
        return exact
    current = base
    for part in parts:
        candidate = current / part
        if not candidate.exists():
            try:
                matches = [p for p in current.iterdir() if p.name.lower() == part.lower()]
            except OSError:
                return exact
            if len(matches) != 1:
                return exact  # reported as missing by the import, with the name the DICOMDIR gives
            candidate = matches[0]
        current = candidate
    return current
