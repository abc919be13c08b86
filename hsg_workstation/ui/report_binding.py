"""Dotted-path access to the report model, and editor choice from its type hints.

Why paths: validation issues name the field they are about (``Issue.field``), and the viewer links regions to
findings by a field path too (``mark_on_image_requested(field_path)``). One path syntax for both —
``findings.tubes.left.patency``, ``findings.filling_defects.0.size_mm`` — lets the form find the widget an
issue belongs to and the finding a region belongs to without a second lookup table.

Qt-free on purpose (only standard library): tested without a display.
"""

from __future__ import annotations

import dataclasses
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


def set_path(root: Any, path: str, value: Any) -> Any:
    """Set ``path`` to ``value``; returns the (possibly new) root.

    Mutable dataclasses are changed in place. Frozen ones are rebuilt with ``dataclasses.replace`` up the
    chain, so the form works whichever style the model chose; callers must keep the returned root.
    """
    parts = split_path(path)
    if not parts:
        return value
    return _set(root, parts, value, path)


def _set(obj: Any, parts: list[str], value: Any, path: str) -> Any:
    head, rest = parts[0], parts[1:]
    new_child = value if not rest else _set(_child(obj, head, path), rest, value, path)
    if isinstance(obj, list) and head.lstrip("-").isdigit():
        obj[int(head)] = new_child
        return obj
    if isinstance(obj, tuple) and head.lstrip("-").isdigit():
        items = list(obj)
        items[int(head)] = new_child
        return type(obj)(items)
    if isinstance(obj, dict):
        key = _dict_key(obj, head)
        obj[key if key is not None else head] = new_child
        return obj
    if not rest and _child(obj, head, path) is new_child:
        return obj
    try:
        setattr(obj, head, new_child)
        return obj
    except (dataclasses.FrozenInstanceError, AttributeError):
        if dataclasses.is_dataclass(obj):
            return dataclasses.replace(obj, **{head: new_child})
        raise


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
