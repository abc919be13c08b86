"""Keys typed in the report form belong to the form, not to the viewer's one-key shortcuts.

Why apart from the form's widgets: it is the form's one rule about the keyboard, and the main window's single-key
shortcuts (``ui/shortcuts.py``) are its counterpart. ``ReportForm`` mixes this in.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent

FORM_KEYS = frozenset(
    {
        Qt.Key.Key_Space,
        Qt.Key.Key_Up,
        Qt.Key.Key_Down,
        Qt.Key.Key_Left,
        Qt.Key.Key_Right,
        Qt.Key.Key_Home,
        Qt.Key.Key_End,
        Qt.Key.Key_PageUp,
        Qt.Key.Key_PageDown,
        Qt.Key.Key_Backspace,
        Qt.Key.Key_Delete,
    }
)


class FormKeys:
    """Mixin for ``ReportForm`` (a QWidget): plain keys typed while the focus is in the form stay in the form."""

    _FORM_KEYS = FORM_KEYS

    def event(self, event: QEvent) -> bool:  # noqa: D102 - Qt override
        """While focus is in the form, plain keys belong to the form, not to the viewer's one-key shortcuts.

        The main window binds single keys (``+``, ``-``, arrows …) as window shortcuts; a pick list or check box
        does not claim them the way a line edit does, so without this, typing "p" in a combo could start cine
        playback. Keys with Ctrl / Alt / Meta still reach the window's shortcuts.
        """
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            mods = event.modifiers() & (
                Qt.KeyboardModifier.ControlModifier
                | Qt.KeyboardModifier.AltModifier
                | Qt.KeyboardModifier.MetaModifier
            )
            printable = bool(event.text()) and event.text().isprintable()
            if not mods and (printable or event.key() in self._FORM_KEYS):
                event.accept()
                return True
        return super().event(event)
