"""Iodine maps (mm of full-strength contrast) per frame: cavity, canal, catheter, tubes, sacs, spill, veins.

Static rasters are built once per study (sparse pixel lists where the structure is thin); each frame then only
thresholds them against the fill fronts of ``dynamics``. Per frame the renderer also gets the physical
measurements that define the truth events (cavity iodine area, venous iodine volume).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from . import raster
from .anatomy import SIDE_SIGN, Cavity, Defect, Pocket, Tube
from .dynamics import Dynamics
from .geometry import Geometry
from .pelvis import BowelLoop, loop_gap_pattern

CAVITY_AREA_MIN_MM = 0.5  # a cavity pixel counts as filled when it holds >= 0.5 mm of contrast
VENOUS_MM3 = 150.0  # intravasation is present while the veins hold >= 150 mm^3 (~1/4 of a filled lace)
VENOUS_CONCENTRATION = 0.85  # contrast slightly diluted by venous blood


@dataclass
class Sparse:
    """Pixels (flat indices into the full image) with per-pixel values."""

    flat: np.ndarray
    thick: np.ndarray
    order: np.ndarray  # fill order (mm or fraction, per structure)

    @classmethod
    def from_window(cls, geom: Geometry, win, thick: np.ndarray, order: np.ndarray, floor: float = 1e-3):
        rr, cc = np.nonzero(thick > floor)
        flat = (rr + win[0].start) * geom.cols + (cc + win[1].start)
        return cls(flat.astype(np.int64), thick[rr, cc].astype(np.float32), order[rr, cc].astype(np.float32))


@dataclass
class Puff:
    side: str
    index: int
    start: np.ndarray
    target: np.ndarray
    move_tau: float
    sigma0: float
    grow: float
    aniso: float


@dataclass
class ContrastScene:
    geom: Geometry
    dyn: Dynamics
    span: float
    cavity: Sparse
    cavity_body: np.ndarray  # bool per cavity pixel: above the internal os (for the area measure)
    cavity_entry_to_os: float
    cavity_order_max: float
    catheter: Sparse | None
    tubes: dict[str, tuple[Sparse, Tube, Sparse | None]]  # lumen, anatomy, hydrosalpinx sac
    pockets: dict[str, Sparse] = field(default_factory=dict)
    puffs: list[Puff] = field(default_factory=list)
    puff_volume: dict[str, float] = field(default_factory=dict)
    spill_win: dict[str, tuple] = field(default_factory=dict)
    veins: Sparse | None = None


def cavity_raster(
    geom: Geometry,
    cavity: Cavity,
    defects: list[Defect],
    balloon: tuple | None,
    entry: np.ndarray,
    below_entry: bool,
) -> tuple[Sparse, np.ndarray, float, float]:
    """Cavity + canal iodine thickness at full fill, fill order (mm from the entry point), body flag."""
    got = raster.polygon_mask(geom, cavity.polygon, margin=12.0)
    assert got is not None, "the cavity is outside the image"
    win, mask = got
    x, y = geom.grid(win)
    if balloon is not None:  # the lower segment stretched around the balloon: contrast rims it
        bx, by, ba, bb, bang = balloon
        u, v = raster.local(x, y, bx, by, bang)
        mask |= (u / (ba + 1.8)) ** 2 + (v / (bb + 1.8)) ** 2 <= 1.0
    d = ndi.distance_transform_edt(mask).astype(np.float32) * np.float32(geom.px) - np.float32(0.5 * geom.px)
    R = np.float32(cavity.depth_radius)
    dc = np.clip(d, 0.0, R)
    thick = 2.0 * np.sqrt(np.clip(dc * (2 * R - dc), 0.0, None)) * mask
    # axis coordinate along the uterus (caudal positive) relative to the internal os
    ax = np.array([-np.sin(cavity.tilt), np.cos(cavity.tilt)], dtype=np.float32)
    v_os = (x - cavity.internal_os[0]) * ax[0] + (y - cavity.internal_os[1]) * ax[1]
    v_entry = float((entry - cavity.internal_os) @ ax)
    if below_entry:  # a balloon seals the canal: no contrast below the catheter tip
        thick = thick * (v_os <= v_entry + 1.0)
    for dft in defects:
        thick = thick - defect_raster(x, y, dft, float(2 * R + 2))
    if balloon is not None:
        bx, by, ba, bb, bang = balloon
        u, v = raster.local(x, y, bx, by, bang)
        q = 1.0 - (u / ba) ** 2 - (v / bb) ** 2
        thick = thick - 2 * bb * np.sqrt(np.clip(q, 0, None)) * 3.0
    thick = np.clip(thick, 0.0, None)
    order = np.hypot(x - np.float32(entry[0]), y - np.float32(entry[1])).astype(np.float32)
    sp = Sparse.from_window(geom, win, thick, order)
    rr, cc = np.unravel_index(sp.flat, (geom.rows, geom.cols))
    body = v_os[rr - win[0].start, cc - win[1].start] < 0.0
    e_os = float(np.hypot(*(cavity.internal_os - entry)))
    return sp, body, e_os, float(sp.order.max())


def defect_raster(x: np.ndarray, y: np.ndarray, d: Defect, full: float) -> np.ndarray:
    """Contrast displaced by one filling defect (mm)."""
    u, v = raster.local(x, y, float(d.center[0]), float(d.center[1]), d.angle)
    a, b = d.axes_mm
    if d.kind == "synechia":
        th = np.arctan2(v, u)
        k = len(d.jag)
        pos = (th + np.pi) / (2 * np.pi) * k
        i0 = np.floor(pos).astype(int) % k
        w = pos - np.floor(pos)
        scale = d.jag[i0] * (1 - w) + d.jag[(i0 + 1) % k] * w
        rho = np.sqrt((u / a) ** 2 + (v / b) ** 2) / scale
        return (full * np.clip((1.0 - rho) * 6.0, 0.0, 1.0)).astype(np.float32)  # adhesion: full depth, sharp
    q = 1.0 - (u / a) ** 2 - (v / b) ** 2
    depth = min(2 * a, full) if d.kind == "polyp" else full
    return (depth * np.sqrt(np.clip(q, 0.0, None))).astype(np.float32)


def tube_raster(geom: Geometry, tube: Tube) -> Sparse | None:
    """The lumen (order = arc length from the cornu); inside a hydrosalpinx only the narrow lumen."""
    radius = tube.base_radius if tube.base_radius is not None else tube.radius
    got = raster.stroke(geom, tube.path, radius)
    if got is None:
        return None
    win, thick, idx = got
    return Sparse.from_window(geom, win, thick, tube.s[idx].astype(np.float32))


def sac_raster(geom: Geometry, tube: Tube) -> Sparse | None:
    """A hydrosalpinx sac as a union of spheres along the distal tube (smooth outline, projected chords);
    order = distance (mm) from the sac's entrance, so the diluted contrast spreads from there."""
    if tube.sac_start is None:
        return None
    idx = np.nonzero(tube.s >= tube.sac_start)[0][:: max(1, int(1.0 / 0.2))]
    centres, radii = tube.path[idx], tube.radius[idx]
    win = geom.window(*raster.box(centres, float(radii.max()) + 2))
    if win is None:
        return None
    x, y = geom.grid(win)
    thick = np.zeros(np.broadcast_shapes(x.shape, y.shape), dtype=np.float32)
    for (cx, cy), r in zip(centres, radii, strict=True):
        r2 = np.float32(r * r)
        d2 = (x - np.float32(cx)) ** 2 + (y - np.float32(cy)) ** 2
        np.maximum(thick, 2.0 * np.sqrt(np.clip(r2 - d2, 0.0, None)), out=thick)
    entry = tube.path[idx[0]]
    order = np.hypot(x - np.float32(entry[0]), y - np.float32(entry[1])).astype(np.float32)
    return Sparse.from_window(geom, win, thick, order)


def pocket_raster(
    geom: Geometry, pocket: Pocket, fimbria: np.ndarray, rng: np.random.Generator
) -> Sparse | None:
    depth = rng.uniform(3.0, 5.5)
    pts = np.array([[b[0], b[1]] for b in pocket.blobs])
    r = max(max(b[2], b[3]) for b in pocket.blobs)
    win = geom.window(*raster.box(np.vstack([pts, fimbria]), r + 2))
    if win is None:
        return None
    x, y = geom.grid(win)
    thick = np.zeros(np.broadcast_shapes(x.shape, y.shape), dtype=np.float32)
    for bx, by, a, b, ang in pocket.blobs:
        u, v = raster.local(x, y, bx, by, ang)
        thick = np.maximum(thick, depth * np.sqrt(np.clip(1 - (u / a) ** 2 - (v / b) ** 2, 0, None)))
    thick *= 0.8  # diluted by peritoneal fluid
    order = np.hypot(x - np.float32(fimbria[0]), y - np.float32(fimbria[1])).astype(np.float32)
    sp = Sparse.from_window(geom, win, thick, order)
    # fill order -> cumulative volume: the pocket fills outward from the fimbria
    srt = np.argsort(sp.order, kind="stable")
    cum = np.empty_like(sp.thick)
    cum[srt] = np.cumsum(sp.thick[srt]) * np.float32(geom.px**2)
    sp.order = cum
    return sp


def vein_network(geom: Geometry, cavity: Cavity, rng: np.random.Generator) -> Sparse | None:
    """A fine reticular venous lace in the myometrium/parametrium plus a few draining veins.

    Order = normalised path distance from the cavity wall, so the lace spreads outwards as it fills.
    """
    poly = cavity.polygon
    centre = poly.mean(axis=0)
    pts, rads, orders = [], [], []
    n_walk = int(rng.integers(110, 180))
    starts = poly[rng.integers(0, len(poly), n_walk)]
    for p0 in starts:
        out = p0 - centre
        out = out / (np.hypot(*out) + 1e-9)
        ang = np.arctan2(out[1], out[0]) + rng.normal(0, 0.6)
        p = p0 + out * 1.0
        dist = 0.0
        rad = rng.uniform(0.28, 0.5)
        for _ in range(int(rng.integers(8, 30))):
            ang += rng.normal(0, 0.45)
            step = np.array([np.cos(ang), np.sin(ang)]) * 0.7
            for f in np.linspace(0, 1, 4, endpoint=False):
                pts.append(p + step * f)
                rads.append(rad)
                orders.append(dist + 0.7 * f)
            p = p + step
            dist += 0.7
    for sx in (-1.0, 1.0):  # parametrial / uterine veins draining laterally and down
        for _ in range(int(rng.integers(1, 3))):
            p = centre + np.array([sx * rng.uniform(12, 20), rng.uniform(5, 20)])
            ang = np.arctan2(rng.uniform(0.2, 0.8), sx)
            dist = 5.0
            for _ in range(int(rng.integers(40, 80))):
                ang += rng.normal(0, 0.15)
                step = np.array([np.cos(ang), np.sin(ang)]) * 0.8
                for f in np.linspace(0, 1, 4, endpoint=False):
                    pts.append(p + step * f)
                    rads.append(rng.uniform(0.35, 0.6))
                    orders.append(dist + 0.8 * f)
                p = p + step
                dist += 0.8
    P = np.array(pts)
    got = raster.stroke(geom, P, np.array(rads, dtype=np.float32))
    if got is None:
        return None
    win, thick, idx = got
    o = np.array(orders, dtype=np.float32)
    return Sparse.from_window(geom, win, thick, o[idx] / o.max())


def make_puffs(
    side: str,
    tube: Tube,
    cavity: Cavity,
    axes: dict,
    span: float,
    rng: np.random.Generator,
    drift_side: str | None = None,
    n: int = 14,
) -> list[Puff]:
    """Free spill as puffs released one after another from the fimbrial end, drifting and spreading.

    ``drift_side``: the side whose spill drifts across the midline when the ``spill_drift`` axis asks for it.
    """
    sx = SIDE_SIGN[side]
    f = tube.fimbria
    douglas = cavity.internal_os + np.array([rng.normal(0, 8), rng.uniform(8, 30)])
    faint = axes["spill_visibility"] == "faint"
    drift = axes["spill_drift"] == "crosses_midline" and side == drift_side
    puffs = []
    for k in range(n):
        if drift:
            tgt = np.array([-sx * rng.uniform(15, 50), f[1] + rng.uniform(0, 35)])
        elif rng.random() < 0.45:
            tgt = douglas + rng.normal(0, 6, 2)  # pooling toward the pouch of Douglas
        else:
            tgt = f + rng.normal(0, 14, 2) + np.array([0, 8])  # over nearby bowel surfaces
        puffs.append(
            Puff(
                side=side,
                index=k,
                start=f + rng.normal(0, 1.5, 2),
                target=tgt,
                move_tau=span * rng.uniform(0.15, 0.4),
                sigma0=rng.uniform(2.0, 3.5),
                grow=(rng.uniform(12, 18) if faint else rng.uniform(5, 10)),
                aniso=rng.uniform(0.7, 1.4),
            )
        )
    return puffs


@dataclass
class SpillWindow:
    """Where one side's free spill can go: the cloud is evaluated on a coarse (~1 mm) grid of this window and
    interpolated; the bowel-loop pattern multiplies it at full resolution."""

    win: tuple[slice, slice]
    xs: np.ndarray  # coarse grid patient x per column
    ys: np.ndarray  # coarse grid patient y per row
    up: raster.Upsampler
    gap: np.ndarray


def spill_window(geom: Geometry, puffs: list[Puff], loops: list[BowelLoop]) -> SpillWindow | None:
    pts = np.vstack([[p.start for p in puffs], [p.target for p in puffs]])
    margin = max(p.sigma0 + p.grow * 1.4 for p in puffs) * 2.2
    win = geom.window(*raster.box(pts, margin))
    if win is None:
        return None
    x, y = geom.grid(win)
    stride = max(1, int(1.0 / geom.px))
    xs, ys = x[0, ::stride], y[::stride, 0]
    shape = (y.shape[0], x.shape[1])
    return SpillWindow(
        win, xs, ys, raster.Upsampler(shape, (len(ys), len(xs))), loop_gap_pattern(x, y, loops)
    )


def frame_iodine(scene: ContrastScene, t: float, out: np.ndarray, scale: float = 1.0) -> dict[str, float]:
    """Add ``scale`` x the iodine (mm) at time ``t`` (relative to injection) into ``out``; return measurements.

    With ``scale`` = mu_iodine the iodine goes straight into an attenuation map (no full-size iodine image)."""
    if not out.flags.c_contiguous:  # reshape would copy and every sparse add would be lost
        raise ValueError("frame_iodine: the output map must be C-contiguous")
    k = np.float32(scale)
    dyn, flat = scene.dyn, out.reshape(-1)
    px2 = scene.geom.px**2
    # cavity + canal
    front = scene.cavity_entry_to_os * float(dyn.canal_front(t)) + (
        scene.cavity_order_max - scene.cavity_entry_to_os
    ) * float(dyn.cavity_front(t))
    cav = scene.cavity
    vis = np.clip((front - cav.order) / 1.5 + 0.5, 0.0, 1.0)
    val = cav.thick * vis
    flat[cav.flat] += val * k
    area = float(np.count_nonzero((val >= CAVITY_AREA_MIN_MM) & scene.cavity_body)) * px2
    m: dict[str, float] = {"cavity_area_mm2": area}
    if scene.catheter is not None:
        c = scene.catheter
        fill = float(dyn.catheter_front(t))
        flat[c.flat] += c.thick * (c.order >= (1.0 - fill) * c.order.max()) * k
    for side, (sp, _tube, sac) in scene.tubes.items():
        fr = float(dyn.tube_front(side, t))
        flat[sp.flat] += sp.thick * np.clip((fr - sp.order) / 0.6 + 0.5, 0.0, 1.0) * k
        if sac is not None:
            frac, conc = dyn.sac_state(side, t)
            if conc > 0 and frac > 0:
                front = float(frac) * float(sac.order.max())
                flat[sac.flat] += (
                    k * sac.thick * (np.float32(conc) * np.clip((front - sac.order) / 2.0 + 0.5, 0.0, 1.0))
                )
        m[f"tube_front_{side}"] = fr
    for side, sp in scene.pockets.items():
        vol = float(dyn.spill_volume(side, t))
        flat[sp.flat] += sp.thick * (sp.order <= vol) * k
    for side, sw in scene.spill_win.items():
        vol = float(dyn.spill_volume(side, t))
        if vol <= 0:
            continue
        xs, ys = sw.xs, sw.ys
        field_ = np.zeros((len(ys), len(xs)), dtype=np.float32)
        for p in (q for q in scene.puffs if q.side == side):
            pv = scene.puff_volume[side]
            v_k = min(max(vol - p.index * pv, 0.0), pv)
            if v_k <= 0:
                continue
            age = max(t - (dyn.spill_t0[side] + p.index * pv / dyn.spill_rate[side]), 0.0)
            pos = p.start + (p.target - p.start) * (1.0 - np.exp(-age / p.move_tau))
            sig = p.sigma0 + p.grow * np.sqrt(age / scene.span)
            sx_, sy_ = sig * p.aniso, sig / p.aniso
            gx = np.exp(-0.5 * ((xs - pos[0]) / sx_) ** 2)
            gy = np.exp(-0.5 * ((ys - pos[1]) / sy_) ** 2)
            field_ += np.float32(v_k / (2 * np.pi * sx_ * sy_)) * np.outer(gy, gx)
        out[sw.win] += sw.up(field_ * k) * sw.gap
    if scene.veins is not None:
        lvl = float(dyn.venous_level(t))
        if lvl > 0:
            prog = float(dyn.venous_progress(t))
            v = scene.veins.thick * (scene.veins.order <= prog) * np.float32(lvl * VENOUS_CONCENTRATION)
            flat[scene.veins.flat] += v * k
            m["venous_mm3"] = float(v.sum()) * px2
        else:
            m["venous_mm3"] = 0.0
    return m
