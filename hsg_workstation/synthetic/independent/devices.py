"""Instruments and the collimator: catheter/balloon, metal cannula, tenaculum, speculum; shutter shapes.

Instruments are patient-space objects (they move with the patient and, under traction, on their own: a few
mm caudally with a small rotation). Metal is converted to water-equivalent thickness (steel attenuates ~60x
water at fluoroscopy energies), so a 2 mm steel rod is ~120 mm of water: nearly opaque through the pelvis.
The collimator is fixed to the image: lead blades transmit ~0.1 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from . import raster
from .anatomy import Cavity, _resample
from .geometry import Geometry

STEEL = 60.0  # water-equivalent mm per mm of steel
PLASTIC = 1.3


@dataclass
class Devices:
    catheter_path: np.ndarray  # (M, 2) from the tip (s = 0) out of the field; contrast lumen follows it
    catheter_lumen_radius: float
    entry: np.ndarray  # where contrast enters the canal/cavity
    balloon: tuple[float, float, float, float, float] | None  # (x, y, a, b, angle), saline-filled
    balloon_air: bool
    static_map: tuple | None  # (window, water-equivalent thickness) of all instruments at rest
    traction: (
        tuple[float, float, float] | None
    )  # (max shift along the axis in mm, start fraction, end fraction)
    axis: np.ndarray  # unit vector along the uterine axis, caudal


def make_devices(axes: dict, geom: Geometry, cavity: Cavity, rng: np.random.Generator) -> Devices:
    ax = np.array([-np.sin(cavity.tilt), np.cos(cavity.tilt)])
    perp = np.array([ax[1], -ax[0]])
    bottom = geom.to_patient(geom.rows + 40, 0)[1]
    water = np.zeros((geom.rows, geom.cols), dtype=np.float32)
    balloon, air = None, False
    if axes["catheter"] == "balloon_catheter":
        bc = cavity.internal_os + ax * rng.uniform(0.0, 6.0)
        ba, bb = rng.uniform(3.5, 6.0), rng.uniform(4.5, 8.0)
        balloon = (float(bc[0]), float(bc[1]), float(ba), float(bb), float(cavity.tilt))
        air = bool(rng.random() < 0.25)
        tip = bc - ax * (bb + 2.0)
        entry = tip
        lumen_r = rng.uniform(0.45, 0.65)
    else:
        tip = cavity.external_os + ax * rng.uniform(-3.0, 1.0)
        entry = tip
        lumen_r = rng.uniform(0.6, 0.9)
    # the shaft leaves the vagina and bends off the field
    bend = rng.uniform(-0.5, 0.5)
    n = max(3, int((bottom - tip[1]) / 20))
    ctrl = [tip]
    for k in range(1, n + 1):
        ctrl.append(tip + ax * 20 * k + perp * bend * (k * 20) ** 1.3 * 0.08)
    cath, _s = _resample(np.array(ctrl), 0.25)
    if axes["catheter"] == "balloon_catheter":
        shaft = raster.stroke(geom, cath, lumen_r + 0.7)
        raster.add(water, shaft, PLASTIC * 0.6)
        stripe = raster.stroke(geom, cath + perp * (lumen_r + 0.4), 0.25)
        raster.add(water, stripe, 12.0)  # radio-opaque stripe
        if air:
            raster.add(
                water,
                raster.ellipsoid(geom, *balloon[:2], balloon[2], balloon[3], balloon[4], 2 * balloon[2]),
                -1,
            )
    else:
        raster.add(water, raster.stroke(geom, cath[int(4 / 0.25) :], rng.uniform(1.3, 1.8)), STEEL * 0.5)
        # acorn tip seated at the external os
        ac = tip + ax * 2.5
        raster.add(water, raster.ellipsoid(geom, ac[0], ac[1], 4.0, 5.0, cavity.tilt, STEEL * 4.0))
    if axes["tenaculum"] == "yes":
        for s in (-1.0, 1.0):
            tooth = cavity.external_os + perp * s * rng.uniform(5, 9) + ax * rng.uniform(-2, 2)
            ctrl = np.array(
                [tooth + ax * k * 18 + perp * s * (k * 2.5 - (k * 0.45) ** 2 * 6) for k in range(0, 10)]
            )
            arm, _ = _resample(ctrl, 0.3)
            raster.add(water, raster.stroke(geom, arm, 1.2), STEEL * 0.8)
            raster.add(water, raster.ellipsoid(geom, tooth[0], tooth[1], 2.5, 1.5, cavity.tilt, STEEL * 3))
    if axes["speculum"] != "none":
        metal = axes["speculum"] == "metal"
        # anterior and posterior blades superimpose in an AP view: one broad shadow from the fornices down,
        # denser along the curled edges
        half_len = rng.uniform(35, 45)
        base = cavity.external_os + ax * (half_len - rng.uniform(2, 8))
        amp = STEEL * 0.8 if metal else PLASTIC * 2.5
        for k, s in enumerate((-1.0, 1.0)):
            c = base + perp * s * rng.uniform(0.5, 2.5) + ax * k * rng.uniform(2, 6)
            raster.add(
                water, raster.ellipsoid(geom, c[0], c[1], rng.uniform(13, 16), half_len, cavity.tilt, amp)
            )
            raster.add(water, raster.ring(geom, c[0], c[1], 14.5, half_len, cavity.tilt, 1.0, amp * 2.5))
        if not metal:  # the plastic speculum's metal screw
            sc = base + perp * 22 + ax * 20
            raster.add(water, raster.ellipsoid(geom, sc[0], sc[1], 3, 10, cavity.tilt, STEEL * 3))
    rows, cols = np.nonzero(water)
    static = None
    if len(rows):
        win = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        static = (win, water[win].copy())
    traction = None
    if axes["device_motion"] == "traction":
        traction = (float(rng.uniform(3.0, 9.0)), float(rng.uniform(0.2, 0.5)), float(rng.uniform(0.55, 0.9)))
    return Devices(
        catheter_path=cath,
        catheter_lumen_radius=float(lumen_r),
        entry=entry,
        balloon=balloon,
        balloon_air=air,
        static_map=static,
        traction=traction,
        axis=ax,
    )


def traction_shift_mm(dev: Devices, u: float) -> np.ndarray:
    """Instrument displacement (patient mm) at loop fraction ``u`` in [0, 1]: a pull along the axis."""
    if dev.traction is None:
        return np.zeros(2)
    amount, u0, u1 = dev.traction
    f = float(np.clip((u - u0) / max(u1 - u0, 1e-6), 0.0, 1.0))
    f = f * f * (3 - 2 * f)
    return dev.axis * amount * f


def add_devices(geom: Geometry, dev: Devices, shift_mm: np.ndarray, out: np.ndarray) -> None:
    """Add the instruments (displaced by ``shift_mm``) to a water-equivalent map in place."""
    if dev.static_map is None:
        return
    win, vals = dev.static_map
    if np.allclose(shift_mm, 0):
        out[win] += vals
        return
    dr = shift_mm[1] / geom.px
    dc = geom.sign * shift_mm[0] / geom.px
    pad = int(np.ceil(max(abs(dr), abs(dc)))) + 1
    r0, r1 = max(win[0].start - pad, 0), min(win[0].stop + pad, geom.rows)
    c0, c1 = max(win[1].start - pad, 0), min(win[1].stop + pad, geom.cols)
    big = np.zeros((r1 - r0, c1 - c0), dtype=np.float32)
    big[win[0].start - r0 : win[0].stop - r0, win[1].start - c0 : win[1].stop - c0] = vals
    out[r0:r1, c0:c1] += ndi.shift(big, (dr, dc), order=1, mode="constant")


# -- collimator ------------------------------------------------------------------------------------------------
@dataclass
class Collimator:
    shape: str
    centre: tuple[float, float]  # (row, col)
    half: tuple[float, float]  # half extents (rows, cols) or radius in both
    angle: float
    close: tuple[float, float] | None  # (fraction of the extent closed at the end, start loop fraction)

    def params(self, u: float) -> tuple[float, float]:
        if self.close is None:
            return self.half
        amount, u0 = self.close
        f = float(np.clip((u - u0) / max(1 - u0, 1e-6), 0.0, 1.0))
        return self.half[0] * (1 - amount * f), self.half[1] * (1 - amount * f)

    @staticmethod
    def diagonal(hr: float, hc: float) -> float:
        """|row| + |col| limit of the octagon's cut corners."""
        return 0.9 * (hr + hc)

    def vertices(self, u: float = 0.0) -> np.ndarray:
        """Polygon (row, col) vertices of the aperture (circle: 64-gon)."""
        hr, hc = self.params(u)
        if self.shape == "circular":
            th = np.linspace(0, 2 * np.pi, 64, endpoint=False)
            pts = np.column_stack([hr * np.sin(th), hr * np.cos(th)])
        elif self.shape == "octagonal":
            k = self.diagonal(hr, hc)
            q = np.array([[hr, k - hr], [k - hc, hc]])
            pts = np.vstack([q * [1, 1], q[::-1] * [-1, 1], q * [-1, -1], q[::-1] * [1, -1]])
        else:
            pts = np.array([[-hr, -hc], [-hr, hc], [hr, hc], [hr, -hc]])
        c, s = np.cos(self.angle), np.sin(self.angle)
        rot = pts @ np.array([[c, s], [-s, c]])
        return rot + np.array(self.centre)

    def transmission(self, rows: int, cols: int, u: float, px: float) -> np.ndarray:
        """Open-field fraction per pixel (1 inside, 1e-3 behind the blades, ~1 mm penumbra)."""
        hr, hc = self.params(u)
        r = np.arange(rows, dtype=np.float32)[:, None] - np.float32(self.centre[0])
        c = np.arange(cols, dtype=np.float32)[None, :] - np.float32(self.centre[1])
        cs, sn = np.float32(np.cos(self.angle)), np.float32(np.sin(self.angle))
        rr, cc = r * cs - c * sn, r * sn + c * cs
        if self.shape == "circular":
            d = np.sqrt(rr * rr + cc * cc) - np.float32(hr)
        elif self.shape == "octagonal":
            d = np.maximum(np.abs(rr) - hr, np.abs(cc) - hc)
            k = np.float32(self.diagonal(hr, hc))
            d = np.maximum(d, (np.abs(rr) + np.abs(cc) - k) / np.float32(np.sqrt(2)))
        else:
            d = np.maximum(np.abs(rr) - np.float32(hr), np.abs(cc) - np.float32(hc))
        pen = max(1.0 / px, 1.0)
        open_ = np.clip(0.5 - d / pen, 0.0, 1.0)
        return (1e-3 + (1 - 1e-3) * open_).astype(np.float32)


def make_collimator(axes: dict, geom: Geometry, keep: np.ndarray, rng: np.random.Generator) -> Collimator:
    """An aperture that contains the ``keep`` points (row, col) with a margin, clipped to the image."""
    rows, cols = geom.rows, geom.cols
    margin = 12.0 / geom.px
    lo = np.clip(keep.min(axis=0) - margin, 0, None)
    hi = np.minimum(keep.max(axis=0) + margin, [rows - 1, cols - 1])
    centre = ((lo + hi) / 2).tolist()
    half = ((hi - lo) / 2 + rng.uniform(0, 0.08, 2) * [rows, cols]).tolist()
    shape = axes["collimator"]
    angle = 0.0
    if shape == "rotated":
        angle = float(np.radians(rng.uniform(6, 25) * rng.choice([-1, 1])))
        half = [h * 1.12 for h in half]
    if shape == "circular":
        rad = float(np.hypot(*half) * rng.uniform(0.9, 1.0))
        half = [rad, rad]
    elif shape == "octagonal":
        half = [h * 1.12 for h in half]
    close = None
    if axes["collimator_motion"] == "moving":
        # the blades close in during the run; the opening at the end still holds the anatomy
        amount = float(rng.uniform(0.05, 0.15))
        close = (amount, float(rng.uniform(0.2, 0.6)))
        half = [h / (1 - amount) for h in half]
    return Collimator(
        shape=shape,
        centre=(float(centre[0]), float(centre[1])),
        half=(half[0], half[1]),
        angle=angle,
        close=close,
    )
