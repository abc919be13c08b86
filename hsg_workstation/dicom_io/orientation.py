"""Patient Orientation (0020,0020) → the letters at the image edges and the AP display convention.

Why a module of its own: left and right are the *patient's*, and a projection image carries them only in
Patient Orientation. The viewer, the thumbnails, the PDF's key images and the KOS captions must all draw the
same letters from the same rule, so the rule lives here, Qt-free (dicom_io layer, below ui and reporting).

PS3.3 C.7.6.1.1.1: the first value is the patient direction of the rows (towards increasing column index,
i.e. what lies at the image's right), the second that of the columns (towards increasing row index, i.e. the
image's bottom). Letters: L/R, A/P, H/F, possibly combined ("LF" for an oblique).

The AP display convention (radiographs viewed as if facing the patient): the patient's left on the image's
right, head at the top. An image stored otherwise (e.g. ``R\\F``, taken PA or mirrored by the modality) is
flipped *for display only*: stored pixels and every stored coordinate stay in the DICOM pixel grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_OPPOSITE = {"L": "R", "R": "L", "A": "P", "P": "A", "H": "F", "F": "H"}
EDGES = ("left", "right", "top", "bottom")
UNKNOWN_TEXT = "Orientation unknown"
FLIPPED_TEXT = "Flipped for display"


def opposite(direction: str) -> str:
    """'L' → 'R', 'LF' → 'RH' (each letter reversed)."""
    return "".join(_OPPOSITE.get(c, c) for c in direction)


@dataclass(frozen=True, slots=True)
class PatientOrientation:
    """Patient directions of the image rows (towards the image's right) and columns (towards its bottom)."""

    row: str
    column: str

    @property
    def dicom(self) -> str:
        return f"{self.row}\\{self.column}"

    def stored_edges(self) -> dict[str, str]:
        """Letters at the stored image's edges (no display transform)."""
        return {
            "right": self.row,
            "left": opposite(self.row),
            "bottom": self.column,
            "top": opposite(self.column),
        }


def parse_patient_orientation(value: object) -> PatientOrientation | None:
    """The (0020,0020) value (pydicom MultiValue, list, or 'R\\F' string) → PatientOrientation, or None when
    absent, empty or not made of the letters L R A P H F (never guessed)."""
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.split("\\")
    elif isinstance(value, Sequence):
        parts = [str(v) for v in value]
    else:
        return None
    if len(parts) != 2:
        return None
    row, column = (p.strip().upper() for p in parts)
    if not row or not column or any(c not in _OPPOSITE for c in row + column):
        return None
    return PatientOrientation(row, column)


def orientation_of(dataset: object) -> PatientOrientation | None:
    """Patient Orientation of a pydicom Dataset (or anything with ``.get``)."""
    get = getattr(dataset, "get", None)
    return parse_patient_orientation(get("PatientOrientation") if get else None)


def ap_display_flips(orientation: PatientOrientation | None) -> tuple[bool, bool]:
    """(flip_h, flip_v) that put the patient's left on the image's right and the head at the top.

    Only the left/right and head/feet components are used; an orientation whose rows run head–feet (a rotated
    acquisition) is left as stored — its markers still say where everything is."""
    if orientation is None:
        return False, False
    return orientation.row[:1] == "R", orientation.column[:1] == "H"


def displayed_edges(
    orientation: PatientOrientation | None, rotation: int = 0, flip_h: bool = False, flip_v: bool = False
) -> dict[str, str] | None:
    """Letters at the edges of the image *as displayed*, after rotating by ``rotation`` degrees clockwise
    (screen y down) and then flipping what is seen (the viewport's transform order); None without an
    orientation."""
    if orientation is None:
        return None
    stored = orientation.stored_edges()
    vectors = {"right": (1, 0), "left": (-1, 0), "bottom": (0, 1), "top": (0, -1)}
    a = math.radians(rotation % 360)
    cos, sin = round(math.cos(a)), round(math.sin(a))
    out: dict[str, str] = {}
    for edge, (x, y) in vectors.items():
        rx, ry = x * cos - y * sin, x * sin + y * cos
        if flip_h:
            rx = -rx
        if flip_v:
            ry = -ry
        shown = {(1, 0): "right", (-1, 0): "left", (0, 1): "bottom", (0, -1): "top"}[(rx, ry)]
        out[shown] = stored[edge]
    return out


def display_badge(
    orientation: PatientOrientation | None, rotation: int = 0, flip_h: bool = False, flip_v: bool = False
) -> str:
    """The badge text: 'Orientation unknown', 'Flipped for display (stored R\\F)', or '' when shown as stored."""
    if orientation is None:
        return UNKNOWN_TEXT
    if not (flip_h or flip_v or rotation % 360):
        return ""
    what = FLIPPED_TEXT if (flip_h or flip_v) else "Rotated for display"
    if rotation % 360 and (flip_h or flip_v):
        what = "Flipped and rotated for display"
    return f"{what} (stored {orientation.dicom})"


def describe_display(
    orientation: PatientOrientation | None, flip_h: bool = False, flip_v: bool = False
) -> str:
    """A caption phrase: where the patient's right is on the image as printed, and whether it was flipped."""
    if orientation is None:
        return "orientation unknown (no Patient Orientation)"
    edges = displayed_edges(orientation, 0, flip_h, flip_v) or {}
    left = edges.get("left", "")
    side = {"R": "patient's right on image left", "L": "patient's left on image left"}.get(
        left[:1], f"{left} on image left"
    )
    flipped = f"; flipped from stored {orientation.dicom}" if (flip_h or flip_v) else ""
    return side + flipped


def image_point_to_display(
    point: tuple[float, float], size: tuple[int, int], flip_h: bool, flip_v: bool
) -> tuple[float, float]:
    """Where a stored pixel coordinate (column, row) lands on an image flipped for display; ``size`` is
    (columns, rows). Used to burn regions into flipped key images: the region stays on the anatomy."""
    x, y = point
    w, h = size
    return (w - x if flip_h else x, h - y if flip_v else y)


__all__ = [
    "EDGES",
    "FLIPPED_TEXT",
    "UNKNOWN_TEXT",
    "PatientOrientation",
    "ap_display_flips",
    "describe_display",
    "display_badge",
    "displayed_edges",
    "image_point_to_display",
    "opposite",
    "orientation_of",
    "parse_patient_orientation",
]
