"""What the report form shows — rendered from ``hsg_workstation.reporting.form_spec``.

The specification (sections, blocks, fields, labels, units, and when a field applies) is clinical content that
decides what the SR and PDF contain, so it lives Qt-free in ``reporting/form_spec.py`` where the CLI and
``HsgReport.clear_inapplicable`` use it too. This module re-exports it for the widgets and adds what only the
screen needs (how a value is written in a row).
"""

from __future__ import annotations

from typing import Any

from hsg_workstation.reporting.form_spec import (
    CRITICAL_RESULT_SECTION,
    DEFECT_FIELDS,
    SECTIONS,
    BlockSpec,
    Condition,
    FieldSpec,
    SectionSpec,
    all_field_paths,
    applies,
    defect_fields,
    plain,
)
from hsg_workstation.ui.report_editors import enum_label

__all__ = [
    "CRITICAL_RESULT_SECTION",
    "DEFECT_FIELDS",
    "SECTIONS",
    "BlockSpec",
    "Condition",
    "FieldSpec",
    "SectionSpec",
    "all_field_paths",
    "applies",
    "defect_fields",
    "describe",
    "label_text",
    "plain",
]


def label_text(spec: FieldSpec) -> str:
    return spec.label


def describe(value: Any) -> str:
    if value is None:
        return "—"
    if hasattr(value, "value") and hasattr(value, "name"):
        return enum_label(value)
    return str(value)
