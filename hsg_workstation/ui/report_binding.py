"""Dotted-path access to the report model, and editor choice from its type hints.

Why paths: validation issues name the field they are about (``Issue.field``), and the viewer links regions to
findings by a field path too (``mark_on_image_requested(field_path)``). One path syntax for both —
``findings.tubes.left.patency``, ``findings.filling_defects.0.size_mm`` — lets the form find the widget an
issue belongs to and the finding a region belongs to without a second lookup table.

The path walk and the editor kinds live in ``hsg_workstation.reporting.field_paths`` (the form specification
and ``HsgReport.clear_inapplicable`` need them without Qt); this module re-exports them for the form.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hsg_workstation.reporting.field_paths import (
    Kind,
    PathError,
    _child,
    _dict_key,
    classify,
    field_type,
    get_path,
    split_path,
    unwrap_optional,
)

__all__ = [
    "Kind",
    "PathError",
    "classify",
    "field_type",
    "get_path",
    "set_path",
    "split_path",
    "unwrap_optional",
]


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
