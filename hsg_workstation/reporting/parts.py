"""The lock every report part carries: once a report is signed, assignment and list mutation raise.

Why: a signed report is a legal document; ``HsgReport.sign()`` calls ``_lock()`` on the whole tree and a
correction is a new report made by ``amend()``. Kept apart from the sections so that the error type and the
mixin are importable without the dataclasses.
"""

from __future__ import annotations

import dataclasses
import typing
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


class _Part:
    """Mixin for every report part: ``__setattr__`` raises after ``_lock()``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_locked", False):
            raise ReportLockedError(
                f"cannot set {type(self).__name__}.{name}: the report is signed; create an amendment"
            )
        object.__setattr__(self, name, value)

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
