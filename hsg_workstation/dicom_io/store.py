"""The DICOM file store: one file per SOP instance under ``store/<study>/<series>/<sop>.dcm``.

Files are only ever created by writing a temporary file in the destination folder, fsync-ing it and renaming it
into place (``os.replace`` is atomic on POSIX within one file system). A crash, a cancelled retrieve or a full
disk therefore leaves either the complete file or no file — never a half-written one the index could point at.
Leftover ``*.part`` temporaries are harmless and removed by :meth:`Store.remove_partials`.

UIDs come from outside (files, PACS) and are used as path components, so they are sanitised: anything other
than digits, letters, ``.``, ``-`` and ``_`` is replaced, names made only of dots are rejected, and whenever
sanitising changed the UID a short hash of the original is appended so two different UIDs never collide.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_UNSAFE = re.compile(r"[^0-9A-Za-z._-]")
_MAX_COMPONENT = 80
PARTIAL_SUFFIX = ".part"


_UID = re.compile(r"[0-9]+(\.[0-9]+)*")


def is_valid_uid(uid: object) -> bool:
    """A DICOM UID (PS3.5 9.1): digits in dot-separated components, at most 64 characters. Leading zeros in a
    component are tolerated (some vendors write them). ``..``, ``.``, slashes or letters are not UIDs — they must
    never become path components (a peer sending Study UID ``..`` wrote into the parent folder)."""
    return isinstance(uid, str) and 0 < len(uid) <= 64 and _UID.fullmatch(uid) is not None


def sanitize_uid(uid: str) -> str:
    """A file-system-safe, collision-free path component for a UID."""
    uid = str(uid)
    safe = _UNSAFE.sub("_", uid).strip()
    if safe != uid or not safe.strip(".") or len(safe) > _MAX_COMPONENT:
        digest = hashlib.sha1(uid.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        safe = f"{safe.strip('.')[: _MAX_COMPONENT - 13]}_{digest}".lstrip("_") or digest
    return safe


class Store:
    """The folder holding the DICOM files of the local database."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        """Where the instance lives in the store (the folder is not created here)."""
        return self.root / sanitize_uid(study_uid) / sanitize_uid(series_uid) / f"{sanitize_uid(sop_uid)}.dcm"

    def relative(self, path: Path) -> str:
        """Path relative to the store root, as kept in the index (so a data dir can be moved)."""
        return Path(path).relative_to(self.root).as_posix()

    def absolute(self, relative: str) -> Path:
        return self.root / relative

    def write_atomic(self, dest: str | os.PathLike[str], data: bytes) -> Path:
        """Write ``data`` to ``dest`` so that ``dest`` is either absent or complete, never partial."""
        return _replace_atomic(dest, lambda fh: fh.write(data))

    def copy_atomic(self, dest: str | os.PathLike[str], source: str | os.PathLike[str]) -> Path:
        """Copy a file into the store with the same all-or-nothing guarantee; the source is only read."""

        def copy(out: BinaryIO) -> None:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)

        return _replace_atomic(dest, copy)

    def remove_partials(self) -> int:
        """Delete temporaries left by an interrupted write; returns how many were removed."""
        count = 0
        for tmp in self.root.rglob(f".*{PARTIAL_SUFFIX}"):
            _unlink_quietly(tmp)
            count += 1
        return count


def _replace_atomic(dest: str | os.PathLike[str], fill: Callable[[BinaryIO], object]) -> Path:
    """Let ``fill`` write a temporary file next to ``dest``, fsync it and rename it into place; on any
    failure the temporary is removed, so ``dest`` is either absent or complete, never partial."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=PARTIAL_SUFFIX, dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    _fsync_dir(dest.parent)
    return dest


def _unlink_quietly(path: str | os.PathLike[str]) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable too (POSIX); silently skipped where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
