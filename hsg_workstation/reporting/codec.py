"""The report's JSON codec: generic over the dataclass tree, round-trips to an equal object (``==``).

Why generic: adding a field to a section needs no codec change; the decoder checks every value against the
field's type hint and names the dotted path of what is wrong (``ReportJsonError``). ``SCHEMA_VERSION`` is
written as ``"schema_version"`` by ``HsgReport.to_json`` and checked on load. ``coerce`` turns form values
(enum strings, ints for floats, ISO dates) into model values for ``HsgReport.set_value``; ``resolve_parent``
walks a dotted path (``findings.filling_defects[0].size_mm``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import enum
import functools
import math
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from hsg_workstation.errors import HsgError
from hsg_workstation.reporting.field_paths import PathError, get_path, split_path

SCHEMA_VERSION = 1


class ReportJsonError(HsgError):
    """A report JSON document is malformed; the message names the field path and what is wrong."""


class ReportIntegrityError(ReportJsonError):
    """A signed report's JSON does not match its integrity check (changed after signing) or lacks it."""


def _encode(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, hint: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ReportJsonError(f"report JSON: {path or 'report'} must not be null")
        non_none = [a for a in args if a is not type(None)]
        return _decode(value, non_none[0], path)
    if value is None:
        raise ReportJsonError(f"report JSON: {path or 'report'} must not be null")
    if origin is list:
        if not isinstance(value, list):
            raise ReportJsonError(f"report JSON: {path} must be a list, got {type(value).__name__}")
        return [_decode(v, args[0], f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ReportJsonError(f"report JSON: {path} must be a list, got {type(value).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        return tuple(_decode(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if isinstance(hint, type):
        if issubclass(hint, enum.Enum):
            try:
                return hint(value)
            except ValueError:
                allowed = ", ".join(repr(m.value) for m in hint)
                raise ReportJsonError(f"report JSON: {path} = {value!r} is not one of {allowed}") from None
        if hint is _dt.datetime:
            return _parse(_dt.datetime.fromisoformat, value, path)
        if hint is _dt.date:
            return _parse(_dt.date.fromisoformat, value, path)
        if hint is _dt.time:
            return _parse(_dt.time.fromisoformat, value, path)
        if hint is bool:
            if not isinstance(value, bool):
                raise ReportJsonError(f"report JSON: {path} must be true/false, got {value!r}")
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ReportJsonError(f"report JSON: {path} must be an integer, got {value!r}")
            return value
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ReportJsonError(f"report JSON: {path} must be a finite number, got {value!r}")
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise ReportJsonError(f"report JSON: {path} must be text, got {value!r}")
            return value
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ReportJsonError(f"report JSON: {path or 'report'} must be an object")
            hints, names = _hints_of(hint)
            unknown = set(value) - names
            if unknown:
                raise ReportJsonError(
                    f"report JSON: unknown field(s) {', '.join(sorted(unknown))} in {path or 'report'}"
                )
            kwargs = {k: _decode(v, hints[k], f"{path}.{k}" if path else k) for k, v in value.items()}
            try:
                return hint(**kwargs)
            except (TypeError, ValueError) as exc:  # a missing field, or refused by the class's own checks
                raise ReportJsonError(f"report JSON: {path or 'report'}: {exc}") from None
    if hint is Any:
        return value
    raise ReportJsonError(f"report JSON: {path}: cannot decode type {hint!r}")


@functools.cache
def _hints_of(cls: type) -> tuple[dict[str, Any], frozenset[str]]:
    """Resolved type hints and field names of a dataclass (cached: resolving string annotations is slow)."""
    return typing.get_type_hints(cls), frozenset(f.name for f in dataclasses.fields(cls))


def _coerce(value: Any, hint: Any, path: str) -> Any:
    """Form values to model values: enum strings to enums, ints to floats, ISO strings to dates, element-wise
    for lists; objects (dataclasses, dates) pass unchanged. None is refused for a non-optional field."""
    if value is None:
        return _decode(None, hint, path)
    if isinstance(value, enum.Enum) or not isinstance(value, str | int | float | list | tuple):
        return value
    if isinstance(value, list | tuple) and typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if isinstance(value, list | tuple) and typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return [_coerce(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, list | tuple):
        return value
    return _decode(value, hint, path)


def _parse(fn: Callable[[str], Any], value: Any, path: str) -> Any:
    try:
        return fn(value)
    except (TypeError, ValueError):
        raise ReportJsonError(f"report JSON: {path} = {value!r} is not an ISO date/time") from None


def _resolve_parent(root: Any, path: str) -> tuple[Any, str | int]:
    """The parent of the last step of ``a.b[2].c`` and that step (name or index), for writes. The walk is
    ``field_paths.get_path``'s — one path walker for reads and writes, the same two syntaxes (``[2]`` / ``.2.``)."""
    parts = split_path(path)
    for part in parts:
        if not re.fullmatch(r"[A-Za-z_]\w*|\d+", part):
            raise KeyError(f"report field path {path!r} is malformed at {part!r}")
    if not parts:
        raise KeyError(f"report field path {path!r} is malformed")
    try:
        parent = get_path(root, ".".join(parts[:-1])) if len(parts) > 1 else root
    except PathError:
        raise KeyError(f"report field {path!r} does not exist") from None
    last = parts[-1]
    return parent, int(last) if last.isdigit() else last
