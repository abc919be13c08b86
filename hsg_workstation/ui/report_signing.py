"""Signing and amending from the report form: who signs, the infection follow-up, acknowledgements, the reason.

Why apart from the form's widgets: the sign / amend hand-shake (a dialog, the model's checks, what is recorded,
what the reader is told when it cannot happen) is one subject; the dialog itself is ``report_actions.SignDialog``.
``ReportForm`` mixes this in; it owns ``report``, ``issues``, ``rule_config``, ``user_name``,
``last_sr_sop_instance_uid``, ``save_draft``, ``set_report`` and the ``report_signed`` signal.
"""

from __future__ import annotations

from PySide6.QtWidgets import QInputDialog, QMessageBox

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.rules import Issue, Severity
from hsg_workstation.ui.report_actions import SignDialog


class Signing:
    """Mixin for ``ReportForm``."""

    issues: list[Issue]
    user_name: str
    last_sr_sop_instance_uid: str

    def error_count(self) -> int:
        return sum(i.severity is Severity.ERROR for i in self.issues)

    def open_warnings(self) -> list[Issue]:
        return [
            i
            for i in self.issues
            if i.severity is Severity.WARNING and not self.report.is_acknowledged(i.rule_id, i.field_path)
        ]

    def sign(
        self, verifying_observer_name: str, acknowledgements: dict[tuple[str, str], str] | None = None
    ) -> None:
        """Acknowledge the given warnings ((rule_id, field_path) -> reason), then sign. Raises the model's errors."""
        for (rule_id, field_path), reason in (acknowledgements or {}).items():
            self.report.acknowledge(rule_id, field_path, reason, verifying_observer_name)
        self.report.sign(verifying_observer_name, config=self.rule_config)
        self.save_draft()
        self.report_signed.emit()

    def sign_interactively(self) -> None:
        dialog = SignDialog(
            self.report,
            self.open_warnings(),
            self.user_name or self.report.author_name,
            self,
            configured=bool(self.user_name),
        )
        if dialog.exec() != SignDialog.DialogCode.Accepted:
            return
        try:
            name = dialog.observer_name()
            if self.report.complications.infection_followup != dialog.infection_followup():
                self.report.set_value("complications.infection_followup", dialog.infection_followup())
            self.user_name = self.user_name or name  # remembered for the next report of this session
            self.sign(name, dialog.acknowledgements())
        except (m.ReportValidationError, ValueError) as exc:
            QMessageBox.warning(self, "Cannot sign", str(exc))

    def amend(self, reason: str) -> m.HsgReport:
        """Replace the signed report in the form by a new draft amendment that references it (and its SR)."""
        new = self.report.amend(self.last_sr_sop_instance_uid, reason)
        if not new.author_name:
            new.author_name = self.user_name
        self.set_report(new, save=True)
        return new

    def amend_interactively(self) -> None:
        reason, ok = QInputDialog.getText(self, "Amend report", "Reason for the amendment:")
        if not ok:
            return
        if not reason.strip():
            # say so: an amendment without a reason used to do nothing, silently
            QMessageBox.warning(
                self, "Amend report", "An amendment needs a reason: the report was not amended."
            )
            return
        self.amend(reason.strip())
