"""Draft store: every change to a report draft is on disk before the next one can be lost.

Why this shape: a radiologist may type for ten minutes before signing; a crash, power cut or ``kill -9`` must
not lose it. Each save writes the whole report JSON to a temporary file in the same directory, ``fsync``s it,
``os.replace``s it over the draft (atomic on POSIX and Windows) and ``fsync``s the directory — so a draft on
disk is always either the previous or the new complete version, never half-written. ``recover()`` lists what
is left after a crash; ``discard()`` removes a draft once it was signed and exported (or abandoned).

Layout: ``<data_dir>/drafts/<report_id>.json`` holding ``{"draft_format": 1, "saved_at": ..., "report": {...}}``.

Signed reports are not drafts: ``DraftStore.save`` refuses them, and ``archive_signed`` moves a report that was
just signed to :class:`SignedReportStore` (``<data_dir>/signed/``), where each file is written once and carries the
report's integrity check (``reporting/integrity.py``). Loading a signed report whose JSON was changed on disk is
refused with a message naming the file; the file is kept as found, never re-sealed.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hsg_workstation.errors import HsgError
from hsg_workstation.reporting.model import HsgReport, ReportIntegrityError, ReportJsonError

DRAFT_FORMAT = 1
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class DraftError(HsgError):
    """A draft could not be written or read; the message names the file."""


class SignedReportError(HsgError):
    """A signed report could not be stored or loaded (altered on disk, or another report with the same id)."""


@dataclass(frozen=True)
class DraftInfo:
    """One draft found on disk. ``error`` is set (and the other fields may be empty) when it cannot be read."""

    report_id: str
    path: Path
    saved_at: _dt.datetime | None
    study_instance_uid: str = ""
    patient_id: str = ""
    status: str = ""
    error: str = ""


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically and durably (tmp in the same dir + fsync + replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


class DraftStore:
    """Drafts of reports under ``directory`` (normally ``resolve_data_dir(...) / "drafts"``)."""

    def __init__(self, directory: Path | str, signed_directory: Path | str | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._watched: dict[str, Any] = {}
        self.signed = SignedReportStore(
            signed_directory if signed_directory is not None else self.directory.parent / "signed"
        )

    def path_for(self, report_id: str) -> Path:
        if not _ID_RE.match(report_id):
            raise DraftError(f"report id {report_id!r} is not a safe file name")
        return self.directory / f"{report_id}.json"

    # ----- writing ----------------------------------------------------------------------------------------
    def save(self, report: HsgReport) -> Path:
        """Write the draft now (atomic + durable). A signed report is refused: see :meth:`archive_signed`."""
        if report.is_signed:
            raise DraftError(
                f"report {report.report_id} is signed: the draft store keeps drafts only "
                f"(signed reports go to {self.signed.directory} through archive_signed)"
            )
        path = self.path_for(report.report_id)
        payload = {
            "draft_format": DRAFT_FORMAT,
            "saved_at": _dt.datetime.now(_dt.UTC).isoformat(),
            "report": report.to_json(),
        }
        try:
            atomic_write_json(path, payload)
        except OSError as exc:
            raise DraftError(f"cannot write draft {path}: {exc.strerror or exc}") from exc
        return path

    def archive_signed(self, report: HsgReport) -> Path:
        """After signing: write the report to the signed store, then remove its draft. Returns the signed file."""
        path = self.signed.save(report)
        self.discard(report.report_id)
        return path

    def watch(self, report: HsgReport) -> None:
        """Autosave: save now and after every change made through the report's mutators."""

        def on_change(r: HsgReport, _field_path: str) -> None:
            if r.is_signed:  # the change was the signing itself
                self.archive_signed(r)
            else:
                self.save(r)

        self.unwatch(report)
        self._watched[report.report_id] = on_change
        report.add_listener(on_change)
        self.save(report)

    def unwatch(self, report: HsgReport) -> None:
        cb = self._watched.pop(report.report_id, None)
        if cb is not None:
            report.remove_listener(cb)

    # ----- reading ----------------------------------------------------------------------------------------
    def _read(self, path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DraftError(f"draft {path} cannot be read: {exc}") from exc
        if not isinstance(data, dict) or data.get("draft_format") != DRAFT_FORMAT or "report" not in data:
            raise DraftError(f"draft {path} is not a draft file (draft_format {DRAFT_FORMAT} expected)")
        return data

    def load(self, report_id: str) -> HsgReport:
        path = self.path_for(report_id)
        if not path.exists():
            raise DraftError(f"no draft {path}")
        data = self._read(path)
        try:
            return HsgReport.from_json(data["report"], require_integrity=True)
        except ReportJsonError as exc:
            raise DraftError(f"draft {path}: {exc}") from exc

    def recover(self) -> list[DraftInfo]:
        """Every draft on disk, newest first (what a crash / kill -9 left behind). Unreadable drafts are
        listed with ``error`` set rather than raising, so one bad file does not hide the others; temporary
        files of an interrupted save are removed (the previous complete draft is still in place)."""
        for tmp in self.directory.glob(".*.tmp"):
            try:
                tmp.unlink()
            except OSError:
                pass
        out: list[DraftInfo] = []
        for path in self.directory.glob("*.json"):
            report_id = path.stem
            try:
                data = self._read(path)
                rep = data["report"]
                saved_at = _dt.datetime.fromisoformat(data["saved_at"]) if data.get("saved_at") else None
                ident = rep.get("identity") or {}
                out.append(
                    DraftInfo(
                        report_id=report_id,
                        path=path,
                        saved_at=saved_at,
                        study_instance_uid=str(ident.get("study_instance_uid", "")),
                        patient_id=str(ident.get("patient_id", "")),
                        status=str(rep.get("status", "")),
                    )
                )
            except (DraftError, ValueError, TypeError, AttributeError) as exc:
                out.append(DraftInfo(report_id=report_id, path=path, saved_at=None, error=str(exc)))
        epoch = _dt.datetime.min.replace(tzinfo=_dt.UTC)
        out.sort(key=lambda d: d.saved_at or epoch, reverse=True)
        return out

    def discard(self, report_id: str) -> bool:
        """Remove a draft (after signing + export, or when abandoned). True if a file was removed."""
        path = self.path_for(report_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise DraftError(f"cannot remove draft {path}: {exc.strerror or exc}") from exc
        _fsync_dir(self.directory)
        return True


class SignedReportStore:
    """Signed reports under ``directory`` (normally ``<data_dir>/signed``), one ``<report_id>.json`` each.

    Written once: saving a report whose file already holds a *different* signed report is refused (a correction
    is an amendment with a new id). Every load verifies the integrity check; a file that fails it is refused and
    left exactly as found.
    """

    FORMAT = 1

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def path_for(self, report_id: str) -> Path:
        if not _ID_RE.match(report_id):
            raise SignedReportError(f"report id {report_id!r} is not a safe file name")
        return self.directory / f"{report_id}.json"

    def save(self, report: HsgReport) -> Path:
        if not report.is_signed:
            raise SignedReportError(
                f"report {report.report_id} is a draft; only signed reports are kept here"
            )
        path = self.path_for(report.report_id)
        content = report.to_json()
        if path.exists():
            try:
                existing = self.load(report.report_id)
            except SignedReportError as exc:
                raise SignedReportError(f"{exc}; the new copy was not written over it") from None
            if existing.to_json() == content:
                return path  # the same signed report again: nothing to do
            raise SignedReportError(
                f"{path} already holds a different signed report with id {report.report_id}; not overwritten"
            )
        payload = {
            "signed_format": self.FORMAT,
            "stored_at": _dt.datetime.now(_dt.UTC).isoformat(),
            "report": content,
        }
        try:
            atomic_write_json(path, payload)
        except OSError as exc:
            raise SignedReportError(f"cannot write signed report {path}: {exc.strerror or exc}") from exc
        return path

    def load(self, report_id: str) -> HsgReport:
        path = self.path_for(report_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SignedReportError(f"no signed report {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SignedReportError(f"signed report {path} cannot be read: {exc}") from exc
        if not isinstance(data, dict) or data.get("signed_format") != self.FORMAT or "report" not in data:
            raise SignedReportError(
                f"{path} is not a signed-report file (signed_format {self.FORMAT} expected)"
            )
        try:
            report = HsgReport.from_json(data["report"], require_integrity=True)
        except ReportIntegrityError as exc:
            raise SignedReportError(f"signed report {path}: {exc}") from None
        except ReportJsonError as exc:
            raise SignedReportError(f"signed report {path}: {exc}") from None
        if not report.is_signed:
            raise SignedReportError(f"signed report {path}: holds a report that is not signed")
        return report

    def report_ids(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("*.json")) if self.directory.is_dir() else []

    def problems(self) -> dict[str, str]:
        """``{report_id: message}`` for every signed report that cannot be loaded (altered, unreadable)."""
        out: dict[str, str] = {}
        for report_id in self.report_ids():
            try:
                self.load(report_id)
            except SignedReportError as exc:
                out[report_id] = str(exc)
        return out
