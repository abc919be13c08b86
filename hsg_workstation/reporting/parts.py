"""The lock every report part carries: once a report is signed, assignment and list mutation raise.

Why: a signed report is a legal document; ``HsgReport.sign()`` calls ``_lock()`` on the whole tree and a
correction is a new report made by ``amend()``. Kept apart from the sections so that the error type and the
mixin are importable without the dataclasses.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
import weakref
from typing import Any

from hsg_workstation.errors import HsgError


class ReportLockedError(HsgError):
    """A signed report was about to be changed; make an amendment (``amend()``) instead."""


class LockedList(list):
    """A list that refuses mutation; used for every list of a signed report (compares equal to a list)."""

    def _refuse(self, *_a: Any, **_k: Any) -> typing.NoReturn:
        raise ReportLockedError("this report is signed and cannot be changed; create an amendment")

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse


_NOT_COPIED = frozenset({"_root", "_path", "_edited", "_mutating"})


class _Part:
    """Mixin for every report part: ``__setattr__`` raises after ``_lock()``, and a direct assignment
    (``report.technique.contrast_volume_ml = 8``) is announced to the report's listeners like a mutator's edit.

    Why the announcement: autosave, undo and the reading session listen to ``HsgReport.edited``; an assignment
    that told nobody was never saved (issue 14 point 5). Each part of a report's tree knows its root (a weak
    reference, so copying a part never copies the report) and its own path; the root decides whether to emit
    (not while one of its own mutators runs — those announce their edit themselves, once)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_locked", False):
            raise ReportLockedError(
                f"cannot set {type(self).__name__}.{name}: the report is signed; create an amendment"
            )
        object.__setattr__(self, name, value)
        root_ref = self.__dict__.get("_root")
        if root_ref is None or name.startswith("_"):
            return
        root = root_ref()
        if root is None:
            return
        path = f"{self.__dict__.get('_path', '')}{name}"
        adopt(value, root, path)
        root._direct_edit(path)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        """A copy belongs to no report (its announcements would reach the original's listeners otherwise);
        a copied report gets its own signal and tree (``_after_copy``)."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            if key not in _NOT_COPIED:
                object.__setattr__(new, key, copy.deepcopy(value, memo))
        after = getattr(new, "_after_copy", None)
        if after is not None:
            after()
        return new

    def _lock(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, list) and not isinstance(value, LockedList):
                object.__setattr__(self, f.name, LockedList(value))
                value = getattr(self, f.name)
            for child in value if isinstance(value, list) else (value,):
                if isinstance(child, _Part):
                    child._lock()
        object.__setattr__(self, "_locked", True)

    @property
    def is_locked(self) -> bool:
        return self.__dict__.get("_locked", False)


def adopt(value: Any, root: Any, path: str) -> None:
    """Tell ``value`` (a part, or a list of parts) and everything under it which report it belongs to and where."""
    if isinstance(value, _Part):
        object.__setattr__(value, "_root", weakref.ref(root))
        object.__setattr__(value, "_path", f"{path}." if path else "")
        for f in dataclasses.fields(value):  # type: ignore[arg-type]
            adopt(getattr(value, f.name), root, f"{path}.{f.name}" if path else f.name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, _Part):
                adopt(item, root, f"{path}[{i}]")
