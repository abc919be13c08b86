"""A minimal :class:`InstanceSink` that writes received instances into a folder, atomically.

Used by ``hsg-workstation pacs get --out DIR`` and as the baseline in tests/benchmarks. The real target is the
local database (``LocalDatabase.add_encoded``), which has the same contract.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.errors import InvalidDicomError

from hsg_workstation.dicom_io.store import is_valid_uid

_UID_SAFE = re.compile(r"[^0-9A-Za-z.\-]")


@dataclass(frozen=True)
class FolderImportResult:
    path: Path | None
    status: str  # "imported" | "duplicate" | "skipped"
    reason: str
    sop_instance_uid: str | None
    study_instance_uid: str | None


def read_uids(data: bytes) -> tuple[str, str, str]:
    """(SOP Instance UID, Study Instance UID, SOP Class UID) from an encoded DICOM file, without pixel data."""
    try:
        ds = dcmread(
            io.BytesIO(data),
            stop_before_pixels=True,
            specific_tags=[(0x0008, 0x0016), (0x0008, 0x0018), (0x0020, 0x000D)],
        )
    except (InvalidDicomError, EOFError, ValueError, OSError) as exc:
        raise ValueError(f"received data is not a readable DICOM file: {exc}") from None
    sop_uid = str(ds.get("SOPInstanceUID", "") or "")
    if not sop_uid:
        raise ValueError("received data has no SOP Instance UID")
    return sop_uid, str(ds.get("StudyInstanceUID", "") or ""), str(ds.get("SOPClassUID", "") or "")


class FolderSink:
    """Writes ``<folder>/<StudyUID>/<SOPInstanceUID>.dcm`` via tmp file + ``os.replace``; thread-safe."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._complete: dict[str, bool] = {}

    def _path(self, study_uid: str, sop_uid: str) -> Path:
        return self.folder / _UID_SAFE.sub("_", study_uid or "unknown") / f"{_UID_SAFE.sub('_', sop_uid)}.dcm"

    def add_encoded(self, data: bytes, *, source: str = "network") -> FolderImportResult:
        sop_uid, study_uid, _ = read_uids(data)
        for keyword, uid in (("SOP Instance UID", sop_uid), ("Study Instance UID", study_uid)):
            if not is_valid_uid(uid):  # it would become a path component
                reason = f"{keyword} {uid[:80]!r} is not a valid UID; not written"
                return FolderImportResult(None, "skipped", reason, None, None)
        path = self._path(study_uid, sop_uid)
        with self._lock:
            if path.exists():
                return FolderImportResult(path, "duplicate", "already stored", sop_uid, study_uid)
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".incoming-", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            with self._lock:
                if path.exists():
                    os.unlink(tmp)
                    return FolderImportResult(path, "duplicate", "already stored", sop_uid, study_uid)
                os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return FolderImportResult(path, "imported", "", sop_uid, study_uid)

    def has_instance(self, sop_uid: str) -> bool:
        return any(self.folder.glob(f"*/{_UID_SAFE.sub('_', sop_uid)}.dcm"))

    def sop_instance_uids(self, study_uid: str) -> set[str]:
        folder = self.folder / _UID_SAFE.sub("_", study_uid)
        return {p.stem for p in folder.glob("*.dcm")} if folder.is_dir() else set()

    def set_study_complete(self, study_uid: str, complete: bool) -> None:
        self._complete[study_uid] = complete

    def is_study_complete(self, study_uid: str) -> bool | None:
        return self._complete.get(study_uid)

    def files(self) -> list[Path]:
        return sorted(self.folder.rglob("*.dcm"))
