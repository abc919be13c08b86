"""The keyboard map, in one table: the actions use it and the Help page shows it, so they never disagree."""

from __future__ import annotations

SHORTCUTS: tuple[tuple[str, str, str], ...] = (
    # (action id, key sequence, what it does)
    ("play", "Space", "Play / pause the cine loop"),
    ("prev", "Left", "Previous frame"),
    ("next", "Right", "Next frame"),
    ("first", "Home", "First frame (of the loop range)"),
    ("last", "End", "Last frame (of the loop range)"),
    ("zoom_in", "+", "Zoom in (also =)"),
    ("zoom_out", "-", "Zoom out"),
    ("fit", "F", "Fit image to viewport"),
    ("one_to_one", "Ctrl+1", "1:1 — one image pixel per screen pixel"),
    ("rotate", "Ctrl+R", "Rotate 90° clockwise"),
    ("flip_h", "Ctrl+H", "Flip horizontally"),
    ("flip_v", "Ctrl+J", "Flip vertically"),
    ("invert", "I", "Invert grey scale"),
    ("reset", "R", "Reset the view: file's window/level, fit, no rotation/flip/inversion"),
    ("auto_wl", "A", "Auto window/level (1–99 percentile)"),
    ("preset", "1 … 9", "Window/level preset 1–9 (see Image ▸ Presets)"),
    ("key_frame", "K", "Mark / unmark the current frame as key image"),
    ("cancel", "Esc", "Cancel the measurement tool"),
    ("delete_measurement", "Delete", "Delete the measurement selected in the list (or right-click a shape)"),
    ("length", "L", "Length tool"),
    ("angle", "G", "Angle tool"),
    ("ellipse", "E", "Ellipse ROI tool"),
    ("polygon", "P", "Polygon ROI tool (click points, double-click or Enter closes)"),
    ("arrow", "T", "Arrow with text"),
    ("calibrate", "C", "Manual calibration (line over a known length)"),
    ("overlays", "O", "Show / hide corner overlays"),
    ("analysis_overlay", "Shift+O", "Show / hide the analysis overlay (detected cavity, tubes, spill)"),
    ("loop", "Ctrl+L", "Loop on / off"),
    ("accept_confident", "Ctrl+Shift+A", "Accept every analysis suggestion above its confidence threshold"),
    ("normal_template", "Ctrl+Shift+N", "Fill the report from the 'Normal HSG' template"),
    ("report_undo", "Ctrl+Z", "Undo the last report edit (outside a text field)"),
    ("report_redo", "Ctrl+Shift+Z", "Redo a report edit"),
)


def shortcut(action_id: str) -> str:
    for aid, key, _ in SHORTCUTS:
        if aid == action_id:
            return key
    raise KeyError(action_id)


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{k}</b></td><td>{d}</td></tr>" for _, k, d in SHORTCUTS)
    return (
        "<h3>Keyboard shortcuts</h3><table cellpadding=3>"
        + rows
        + "</table><p>Mouse: wheel zooms, left drag pans (or draws with a tool), "
        "the W/L button (Settings, default right) drags window/level: right/left = width, down/up = center.</p>"
    )
