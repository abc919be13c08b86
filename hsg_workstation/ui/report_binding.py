"""The form's name for ``hsg_workstation.reporting.field_paths``: field paths and editor kinds from type hints.

Why a re-export and nothing more: the path walk and the editor kinds are needed without Qt (the form
specification, ``HsgReport.clear_inapplicable``), so they live in ``reporting/field_paths.py``; writes go through
``HsgReport.set_value`` only (the earlier ``set_path`` here was a second writer that only its test used).
"""

from __future__ import annotations

from hsg_workstation.reporting.field_paths import (
    Kind,
    PathError,
    classify,
    field_type,
    get_path,
    split_path,
    unwrap_optional,
)

__all__ = ["Kind", "PathError", "classify", "field_type", "get_path", "split_path", "unwrap_optional"]
