"""Imaging geometry: patient millimetres <-> stored pixels, and the numbers drawn inside the binned axes.

Patient coordinates (mm): ``x`` points to the patient's LEFT, ``y`` points to the FEET (caudal); the origin is
the centre of the uterine cavity at rest. The image is an AP projection: without flipping, the column direction
points to the patient's left (Patient Orientation ``L\\F``); a flipped image has column direction RIGHT
(``R\\F``). Rows always run head -> feet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PIXEL_BINS = {"0.15-0.25": (0.15, 0.25), "0.25-0.35": (0.25, 0.35), "0.35-0.45": (0.35, 0.45)}
FOV_MM = (165.0, 440.0)  # plausible HSG fields of view; pixel size and matrix are drawn to fit


@dataclass(frozen=True)
class Geometry:
    """Pixel grid of the stored image in the reference (frame 1) pose."""

    rows: int
    cols: int
    px: float  # pixel spacing at the patient, mm
    flipped: bool
    xc: float  # patient x (mm) at the image centre
    yc: float  # patient y (mm) at the image centre
    magnification: float

    @property
    def sign(self) -> float:
        return -1.0 if self.flipped else 1.0

    @property
    def imager_spacing(self) -> float:
        return self.px * self.magnification

    @property
    def fov_mm(self) -> float:
        return self.cols * self.px

    def to_pixel(self, x: np.ndarray | float, y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) float pixel coordinates of patient points."""
        col = (self.cols - 1) / 2 + self.sign * (np.asarray(x) - self.xc) / self.px
        row = (self.rows - 1) / 2 + (np.asarray(y) - self.yc) / self.px
        return row, col

    def to_patient(self, row: np.ndarray | float, col: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        x = self.xc + self.sign * (np.asarray(col) - (self.cols - 1) / 2) * self.px
        y = self.yc + (np.asarray(row) - (self.rows - 1) / 2) * self.px
        return x, y

    def window(self, xmin: float, xmax: float, ymin: float, ymax: float) -> tuple[slice, slice] | None:
        """Pixel slices covering a patient box (clipped to the image); None when entirely outside."""
        r = self.to_pixel(np.array([xmin, xmax]), np.array([ymin, ymax]))
        r0 = int(np.floor(min(r[0]))) - 1
        r1 = int(np.ceil(max(r[0]))) + 2
        c0 = int(np.floor(min(r[1]))) - 1
        c1 = int(np.ceil(max(r[1]))) + 2
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1, self.rows), min(c1, self.cols)
        if r0 >= r1 or c0 >= c1:
            return None
        return slice(r0, r1), slice(c0, c1)

    def grid(self, win: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
        """Patient (X, Y) mm of every pixel in a window, float32, broadcastable (rows x 1, 1 x cols)."""
        rows = np.arange(win[0].start, win[0].stop, dtype=np.float32)[:, None]
        cols = np.arange(win[1].start, win[1].stop, dtype=np.float32)[None, :]
        x, y = self.to_patient(rows, cols)
        return x.astype(np.float32), y.astype(np.float32)


def draw_geometry(axes: dict, rng: np.random.Generator) -> Geometry:
    """Matrix, pixel size (within its bin and a plausible field of view), magnification, centring."""
    lo, hi = PIXEL_BINS[axes["pixel_size"]]
    n = int(axes["matrix"])
    # keep the field of view plausible: the pixel size is drawn inside its bin AND inside FOV_MM / n when the two
    # overlap; otherwise the bin wins (a small or a huge field is still a valid, if unusual, study)
    plo, phi = max(lo, FOV_MM[0] / n), min(hi, FOV_MM[1] / n)
    if plo >= phi:
        plo, phi = lo, hi
    px = float(rng.uniform(plo, phi))
    mag = float(rng.uniform(1.1, 1.45))
    fov = n * px
    # the cavity sits near the centre, a little off and usually a little high (tubes and spill go down)
    xc = float(rng.normal(0.0, 0.04 * fov))
    yc = float(rng.uniform(0.0, 0.12) * fov)
    return Geometry(
        rows=n,
        cols=n,
        px=round(px, 4),
        flipped=axes["image_flipped"] == "yes",
        xc=xc,
        yc=yc,
        magnification=mag,
    )
