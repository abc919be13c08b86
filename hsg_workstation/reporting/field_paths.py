"""Field paths into the report and the editor kind of each field, from the model's type hints.

Why paths: validation issues name the field they are about (``Issue.field_path``), the form specification
(``form_spec``) lists fields by path, and the viewer links regions to findings by a field path too. One path
syntax — ``findings.tubes.left.patency``, ``findings.filling_defects[0].size_mm`` (or ``.0.``) — lets the form
find the widget an issue belongs to and ``HsgReport.clear_inapplicable`` know what "empty" means for a field
without a second lookup table. Qt-free (standard library only); ``ui/report_binding.py`` re-exports it.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import types
import typing
from typing import Any


class PathError(LookupError):
    """A field path does not name an attribute of the report model."""


def split_path(path: str) -> list[str]:
    """``findings.filling_defects[0].size_mm`` (the model's syntax) or ``...filling_defects.0.size_mm``."""
    return [p for p in re.sub(r"\[(\d+)\]", r".\1", path).split(".") if p]


def get_path(root: Any, path: str) -> Any:
    """Value at ``path`` (attributes, mapping keys and list indices)."""
    obj = root
    for part in split_path(path):
        obj = _child(obj, part, path)
    return obj


def _child(obj: Any, part: str, path: str) -> Any:
    if isinstance(obj, list | tuple) and part.lstrip("-").isdigit():
        try:
            return obj[int(part)]
        except IndexError as exc:
            raise PathError(f"{path}: no item {part}") from exc
    if isinstance(obj, dict):
        key = _dict_key(obj, part)
        if key is not None:
            return obj[key]
    try:
        return getattr(obj, part)
    except AttributeError as exc:
        raise PathError(f"{path}: {type(obj).__name__} has no field {part!r}") from exc


def _dict_key(obj: dict, part: str) -> Any:
    for key in obj:
        if str(getattr(key, "value", key)) == part or str(key) == part:
            return key
    return None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Resolved annotations of a model class (cached: resolving them is ~1 ms a class, the form asks ~600 times)."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # unresolved forward refs: fall back to raw annotations
        hints: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            hints.update(getattr(klass, "__annotations__", {}))
        return hints


def field_type(root: Any, path: str) -> Any:
    """The declared type of the attribute at ``path``, or the runtime type when no hint is declared."""
    parts = split_path(path)
    obj = root
    hint: Any = type(root)
    for part in parts:
        parent = obj
        obj = _child(obj, part, path)
        if isinstance(parent, list | tuple):
            args = typing.get_args(unwrap_optional(hint)[0])
            hint = args[0] if args else type(obj)
        elif isinstance(parent, dict):
            args = typing.get_args(unwrap_optional(hint)[0])
            hint = args[1] if len(args) == 2 else type(obj)
        else:
            hint = _hints(type(parent)).get(part, type(obj))
    return hint


def unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True); anything else → (hint, False)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        if len(args) == 1:
            return args[0], optional
        return hint, optional
    return hint, False


class Kind(enum.Enum):
    """Which editor a model field gets."""

    ENUM = "enum"
    MULTI_ENUM = "multi_enum"
    BOOL = "bool"
    OPTIONAL_BOOL = "optional_bool"
    INT = "int"
    FLOAT = "float"
    DATE = "date"
    DATETIME = "datetime"
    TEXT = "text"
    OTHER = "other"


def classify(hint: Any) -> tuple[Kind, Any, bool]:
    """(editor kind, enum class or container type, optional) for a type hint."""
    base, optional = unwrap_optional(hint)
    origin = typing.get_origin(base)
    if origin in (set, frozenset, list, tuple):
        args = [a for a in typing.get_args(base) if a is not Ellipsis]
        if args and isinstance(args[0], type) and issubclass(args[0], enum.Enum):
            return Kind.MULTI_ENUM, (args[0], origin), optional
        return Kind.OTHER, None, optional
    if isinstance(base, type):
        if issubclass(base, enum.Enum):
            return Kind.ENUM, base, optional
        if issubclass(base, bool):
            return (Kind.OPTIONAL_BOOL if optional else Kind.BOOL), None, optional
        if issubclass(base, int):
            return Kind.INT, None, optional
        if issubclass(base, float):
            return Kind.FLOAT, None, optional
        if issubclass(base, dt.datetime):
            return Kind.DATETIME, None, optional
        if issubclass(base, dt.date):
            return Kind.DATE, None, optional
        if issubclass(base, str):
            return Kind.TEXT, None, optional
    return Kind.OTHER, None, optional
