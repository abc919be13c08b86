"""Values exchanged with the PACS client: query keys, matches, progress, retrieve / send outcomes, the sink.

Plain frozen dataclasses so the GUI worker can pass them across threads and the CLI can dump them as JSON.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from hsg_workstation.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    """Every network wait is bounded; a PACS that stops answering must never hang the workstation.

    ``connect``: TCP connect; ``acse``: association request/release answer; ``dimse``: each DIMSE response;
    ``network``: idle connection; ``stall``: a retrieve whose counters and received files have not moved for
    this long is cancelled (a PACS that answers 'pending' forever); ``cancel_grace``: after C-CANCEL, how long
    we wait for the final response before aborting the association.
    """

    connect: float = 10.0
    acse: float = 15.0
    dimse: float = 60.0
    network: float = 120.0
    stall: float = 120.0
    cancel_grace: float = 10.0


@dataclass(frozen=True)
class StudyQuery:
    """C-FIND keys at study level. ``patient_name`` supports DICOM wildcards (``*`` and ``?``).

    ``study_date`` is a DICOM date or range: ``20240101``, ``20240101-20240131``, ``-20240131``, ``20240101-``.
    """

    patient_name: str = ""
    patient_id: str = ""
    study_date: str = ""
    modality: str = ""
    accession_number: str = ""
    study_description: str = ""
    study_instance_uid: str = ""

    def validated(self) -> StudyQuery:
        """Raise ConfigError for a malformed ``study_date``: sent as is, ``2024-01-01`` is an invalid DA that
        PACSs answer with *no matches* — the user would believe the study does not exist."""
        text = self.study_date.strip()
        if text:
            m = re.fullmatch(r"(\d{8})?(-)?(\d{8})?", text)
            if not m or not (m.group(1) or m.group(3)) or (m.group(1) and m.group(3) and not m.group(2)):
                raise ConfigError(
                    f"study date {self.study_date!r}: use YYYYMMDD or a range YYYYMMDD-YYYYMMDD "
                    "(either end may be left open)"
                )
            for day in (m.group(1), m.group(3)):
                if day:
                    try:
                        datetime.strptime(day, "%Y%m%d")
                    except ValueError:
                        raise ConfigError(
                            f"study date {self.study_date!r}: {day} is not a calendar date"
                        ) from None
            if m.group(1) and m.group(3) and m.group(1) > m.group(3):
                raise ConfigError(f"study date {self.study_date!r}: the range starts after it ends")
        return replace(self, study_date=text)


@dataclass(frozen=True)
class StudyMatch:
    study_instance_uid: str
    patient_name: str
    patient_id: str
    patient_birth_date: str
    patient_sex: str
    study_date: str
    study_time: str
    accession_number: str
    study_description: str
    modalities: tuple[str, ...]
    number_of_series: int | None
    number_of_instances: int | None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["modalities"] = list(self.modalities)
        return data


@dataclass(frozen=True)
class SeriesMatch:
    study_instance_uid: str
    series_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    number_of_instances: int | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InstanceMatch:
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    instance_number: int | None


@dataclass
class FindResult(Generic[T]):  # noqa: UP046 - Python 3.11
    """Matches of a C-FIND; ``truncated`` when we stopped (C-CANCEL) at ``max_results``."""

    matches: list[T] = field(default_factory=list)
    truncated: bool = False
    message: str = ""


@dataclass(frozen=True)
class Progress:
    """Retrieve progress: the peer's sub-operation counters plus what actually landed here."""

    completed: int = 0
    remaining: int | None = None
    failed: int = 0
    warning: int = 0
    received: int = 0
    duplicates: int = 0
    local_failures: int = 0
    foreign: int = 0  # instances of another study than the one asked for: refused, not stored

    @property
    def fraction(self) -> float | None:
        if self.remaining is None:
            return None
        total = self.completed + self.failed + self.warning + self.remaining
        return 1.0 if total == 0 else (self.completed + self.failed + self.warning) / total


ProgressCallback = Callable[[Progress], None]


class RetrieveStatus(StrEnum):
    """How a retrieve ended. A ``StrEnum``: compares equal to its text, so ``result.status == "complete"`` and the
    JSON output read as before, while a misspelt status is refused when the result is made."""

    COMPLETE = "complete"
    PARTIAL = "partial"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass
class RetrieveResult:
    """Outcome of a C-GET / C-MOVE (or of 'retrieve again')."""

    status: RetrieveStatus
    message: str
    progress: Progress = field(default_factory=Progress)
    received_sop_instance_uids: list[str] = field(default_factory=list)
    failed_sop_instance_uids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    final_status_code: int | None = None

    def __post_init__(self) -> None:
        try:
            self.status = RetrieveStatus(self.status)
        except ValueError:
            allowed = ", ".join(s.value for s in RetrieveStatus)
            raise ValueError(f"retrieve status {self.status!r} is not one of {allowed}") from None

    @property
    def ok(self) -> bool:
        return self.status is RetrieveStatus.COMPLETE

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "message": self.message,
            "progress": asdict(self.progress),
            "received": len(self.received_sop_instance_uids),
            "failed_sop_instance_uids": self.failed_sop_instance_uids,
            "errors": self.errors,
            "final_status_code": self.final_status_code,
        }


@dataclass(frozen=True)
class StoreOutcome:
    """Per-instance result of a C-STORE we sent."""

    path: str
    sop_instance_uid: str
    status_code: int | None
    ok: bool
    message: str


@runtime_checkable
class ImportResultLike(Protocol):
    status: str
    sop_instance_uid: str | None


@runtime_checkable
class InstanceSink(Protocol):
    """Where received instances go: the local database (``LocalDatabase``) or a plain folder.

    ``add_encoded`` must write atomically (tmp + rename) and be thread-safe: C-STORE handlers call it from
    pynetdicom's association threads. Returns an object with ``status`` in {"imported", "duplicate", "skipped"}
    and ``sop_instance_uid``; raises on failure (disk full, not DICOM).
    """

    def add_encoded(self, data: bytes, *, source: str = "network") -> Any: ...


CancelEvent = threading.Event
