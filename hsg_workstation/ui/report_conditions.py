"""The report form's memory for answers whose field stops applying: cleared, and given back if it applies again.

Why apart from the form's widgets: the rule itself is the model's (``HsgReport.clear_inapplicable``, the CLI runs
it too); what the form adds is memory — a value cleared because the reader changed another answer is kept, so
toggling that answer by mistake and back restores what was typed (nothing typed is lost), and answers that
were already inapplicable when the report was loaded (imported SR, older drafts) are shown and never cleared.
``ReportForm`` mixes this in; it owns ``report``, ``_stash``, ``_loaded_inapplicable`` and ``_adjusting``.
"""

from __future__ import annotations

import logging
from typing import Any

from hsg_workstation.reporting import form_spec
from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.form_spec import applies

log = logging.getLogger("hsg_workstation.ui.report_form")


class ConditionMemory:
    """Mixin for ``ReportForm``."""

    _stash: dict[str, Any]
    _loaded_inapplicable: set[str]
    _adjusting: bool

    def _inapplicable_with_values(self) -> set[str]:
        """Fields that hold a value although their condition says they do not apply, as the report was loaded
        (imported SR, older drafts): they stay visible and are never cleared automatically — only answers the
        user makes inapplicable in this form are."""
        self._loaded_inapplicable = set()
        return set(form_spec.inapplicable_answers(self.report))

    def _apply_conditions(self) -> None:
        """Clear answers whose field no longer applies (``HsgReport.clear_inapplicable``); give them back if it
        applies again.

        The rule itself is the model's (the CLI runs it too); what the form adds is memory: a cleared value is
        kept here, so toggling an answer by mistake and back restores what was typed (nothing typed is lost).
        """
        self._adjusting = True
        try:
            self._stash.update(self.report.clear_inapplicable(keep=self._loaded_inapplicable))
            restored = False
            for spec in form_spec.conditional_fields(self.report):
                path = spec.path
                if path not in self._stash or path in self._loaded_inapplicable:
                    continue
                if applies(spec, self.report) and self.report.get_value(path) == form_spec.empty_value_at(
                    self.report, path
                ):
                    self.report.set_value(path, self._stash.pop(path))
                    restored = True
            if restored:  # a restored answer may hide another field again
                self._stash.update(self.report.clear_inapplicable(keep=self._loaded_inapplicable))
        except (ValueError, KeyError, m.ReportLockedError):
            log.exception("could not apply field conditions")
        finally:
            self._adjusting = False
