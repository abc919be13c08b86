"""Uterine cavity, Fallopian tubes, filling defects and spill pockets, in patient millimetres.

Everything here is geometry only (shapes, paths, radii); when contrast is where is decided in ``dynamics`` and
how much iodine each pixel holds in ``contrast``. Patient coordinates: ``x`` to the patient's left, ``y`` to the
feet, origin at the cavity centre (see ``geometry``).

Cavity shapes are drawn in a local frame (u lateral, v caudal) and rotated by the uterine tilt:
normal (convex fundus), arcuate (shallow broad fundal dent), septate (deep narrow midline septum), bicornuate
(wide-set horns, broad deep cleft), unicornuate (one banana-shaped horn, one tube), T-shaped (narrow body with
short transverse horns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d
from skimage.measure import points_in_poly

SIDES = ("left", "right")
SIDE_SIGN = {"left": 1.0, "right": -1.0}  # patient x sign of each side


@dataclass
class Cavity:
    polygon: np.ndarray  # (N, 2) patient (x, y) mm, closed implicitly; includes the cervical canal
    internal_os: np.ndarray  # (2,)
    external_os: np.ndarray  # (2,)
    cornua: dict[str, np.ndarray | None]
    depth_radius: float  # AP half-depth scale of the cavity (mm): iodine thickness saturates at 2x this
    tilt: float  # radians


@dataclass
class Tube:
    side: str
    path: np.ndarray  # (M, 2) patient mm, from the cornu (s = 0) to the fimbrial end
    s: np.ndarray  # (M,) arc length, mm
    radius: np.ndarray  # (M,) lumen radius, mm
    kind: str  # patent | loculated | proximal_occlusion | distal_occlusion | hydrosalpinx
    sac_start: float | None = None  # arc length where the hydrosalpinx sac begins
    diameter_mm: float | None = None  # largest sac width (hydrosalpinx only)
    base_radius: np.ndarray | None = None  # lumen radius without the sac (the tube inside a hydrosalpinx)

    @property
    def length(self) -> float:
        return float(self.s[-1])

    @property
    def fimbria(self) -> np.ndarray:
        return self.path[-1]


@dataclass
class Defect:
    kind: str  # polyp | submucous_myoma | synechia
    size_mm: float
    center: np.ndarray  # patient (x, y)
    axes_mm: tuple[float, float]  # semi-axes
    angle: float
    jag: np.ndarray = field(default_factory=lambda: np.zeros(0))  # synechia outline irregularity


@dataclass
class Pocket:
    """A loculated spill pocket: union of ellipses next to a fimbrial end."""

    side: str
    blobs: list[tuple[float, float, float, float, float]]  # (x, y, a, b, angle)


def _rot(theta: float) -> np.ndarray:
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def make_cavity(kind: str, rng: np.random.Generator, absent_side: str | None) -> Cavity:
    """Outline of cavity + cervical canal for one cavity class."""
    W = rng.uniform(14.0, 21.0)
    H = rng.uniform(28.0, 38.0)
    w_os = rng.uniform(2.0, 3.5)
    p = rng.uniform(0.85, 1.3)  # side curvature: < 1 bulging, > 1 cornua drawn out
    dome, indent, sigma = rng.uniform(0.5, 4.0), 0.0, 0.3 * W
    if kind == "arcuate":
        dome, indent, sigma = 0.0, rng.uniform(3.0, 8.0), rng.uniform(0.4, 0.55) * W
    elif kind == "septate":
        dome, indent, sigma = rng.uniform(0.0, 2.0), rng.uniform(0.45, 0.75) * H, rng.uniform(0.1, 0.16) * W
    elif kind == "bicornuate":
        W = rng.uniform(22.0, 28.0)
        dome, indent, sigma = 0.0, rng.uniform(0.5, 0.8) * H, rng.uniform(0.28, 0.36) * W
        p = rng.uniform(0.8, 1.1)
    v = np.linspace(H / 2, -H / 2, 40)
    frac = (H / 2 - v) / H
    if kind == "t_shaped":
        arm = rng.uniform(6.0, 10.0)
        narrow = rng.uniform(4.0, 6.0)
        u = np.where(v > -H / 2 + arm, w_os + (narrow - w_os) * frac**0.5, narrow + (W - narrow) * 0.5)
        u[-1] = W
        v[-1] = -H / 2 - arm * 0.2
        right = np.column_stack([u, v])
        right = np.vstack([right[:-1], [[W * 0.75, -H / 2 + arm * 0.6], [W, -H / 2]]])
    else:
        u = w_os + (W - w_os) * frac**p
        right = np.column_stack([u, v])
    uf = np.linspace(W, -W, 61)[1:-1]
    vf = -H / 2 - dome * (1 - (uf / W) ** 2) + indent * np.exp(-((uf / sigma) ** 2))
    fundus = np.column_stack([uf, vf])
    left = right[::-1] * [-1, 1]
    Lc = rng.uniform(24.0, 34.0)
    vc = np.linspace(H / 2, H / 2 + Lc, 24)[1:]
    wc = 1.6 + rng.uniform(1.5, 3.0) * np.clip(np.sin(np.pi * (vc - H / 2) / Lc), 0, 1) ** 0.8
    wc += 0.35 * np.sin(vc * rng.uniform(1.2, 2.0))  # plicae palmatae: a wavy canal outline
    canal_r = np.column_stack([wc, vc])[::-1]
    canal_l = np.column_stack([-wc, vc])
    # one simple outline: right canal wall up, right side to the cornu, fundus, left side down, left canal wall
    poly = np.vstack([canal_r, right, fundus, left, canal_l])
    cornua_local = {"left": np.array([W, -H / 2]), "right": np.array([-W, -H / 2])}
    if kind == "unicornuate":
        # one curved horn: the centre line bends towards the present side
        sgn = SIDE_SIGN["left" if absent_side == "right" else "right"]
        t = np.linspace(0, 1, 40)
        cx = sgn * (rng.uniform(10.0, 16.0) * t**1.4)
        cy = H / 2 - H * 1.05 * t
        half = 5.5 * (1 - t) + 2.0
        nx, ny = -np.gradient(cy), np.gradient(cx)
        nrm = np.hypot(nx, ny)
        nx, ny = nx / nrm, ny / nrm
        side_a = np.column_stack([cx + half * nx, cy + half * ny])
        side_b = np.column_stack([cx - half * nx, cy - half * ny])
        tip = np.array([[cx[-1] + sgn * 1.5, cy[-1] - 1.5]])
        horn = np.vstack([side_a, tip, side_b[::-1]])
        poly = np.vstack([canal_r, horn, canal_l])  # horn: +u wall up, tip, -u wall down
        cornua_local = {s: None for s in SIDES}
        present = "left" if sgn > 0 else "right"
        cornua_local[present] = np.array([cx[-1], cy[-1]])
    tilt = float(rng.normal(0.0, np.radians(10.0)))
    R = _rot(tilt)
    centre = np.array([0.0, 0.0])
    poly = poly @ R.T + centre
    cornua = {s: (None if c is None else c @ R.T + centre) for s, c in cornua_local.items()}
    if absent_side is not None:
        cornua[absent_side] = None
    return Cavity(
        polygon=poly,
        internal_os=np.array([0.0, H / 2]) @ R.T + centre,
        external_os=np.array([0.0, H / 2 + Lc]) @ R.T + centre,
        cornua=cornua,
        depth_radius=float(rng.uniform(3.0, 5.0)),
        tilt=tilt,
    )


def _arc_resample(path: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear resampling of a dense polyline at equal arc-length steps."""
    d = np.r_[0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))]
    s = np.arange(0, d[-1], step)
    return np.column_stack([np.interp(s, d, path[:, 0]), np.interp(s, d, path[:, 1])]), s


def _resample(points: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Smooth a control polyline (Catmull-Rom) and resample it at ``step`` mm; returns (path, arc length)."""
    P = np.vstack([points[0], points, points[-1]])
    segs = []
    for i in range(1, len(P) - 2):
        p0, p1, p2, p3 = P[i - 1], P[i], P[i + 1], P[i + 2]
        t = np.linspace(0, 1, 24, endpoint=False)[:, None]
        segs.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    dense = np.vstack([*segs, points[-1][None]])
    d = np.r_[0, np.cumsum(np.hypot(*np.diff(dense, axis=0).T))]
    s = np.arange(0, d[-1], step)
    path = np.column_stack([np.interp(s, d, dense[:, 0]), np.interp(s, d, dense[:, 1])])
    return path, s


def make_tube(
    side: str, kind: str, cavity: Cavity, course: str, reach: float, rng: np.random.Generator
) -> Tube:
    """A tube from the cornu to the fimbrial end; ``reach`` bounds its lateral extent (mm from the cornu)."""
    corn = cavity.cornua[side]
    assert corn is not None
    sx = SIDE_SIGN[side]
    reach = float(np.clip(reach, 35.0, 80.0))
    pts = [corn, corn + [sx * 4.0, -rng.uniform(1.0, 3.0)]]
    if course == "crossing_cavity":
        # the tube runs out laterally, then its ampulla folds back caudally and medially, projecting over the
        # lower cavity (an anteverted uterus with the adnexa behind it)
        pts += [
            corn + [sx * rng.uniform(16, 26), -rng.uniform(2, 8)],
            corn + [sx * rng.uniform(26, 36), rng.uniform(6, 14)],
            corn + [sx * rng.uniform(14, 22), rng.uniform(20, 28)],
            corn + [sx * rng.uniform(4, 10), rng.uniform(22, 30)],
            corn + [-sx * rng.uniform(0, 6), rng.uniform(14, 22)],
        ]
    else:
        a = reach * rng.uniform(0.45, 0.6)
        pts += [
            corn + [sx * a * 0.55, -rng.uniform(2, 8)],
            corn + [sx * a, rng.uniform(-6, 4)],
            corn + [sx * reach * 0.85, rng.uniform(-4, 10)],
            corn + [sx * reach, rng.uniform(8, 22)],
            corn + [sx * reach * rng.uniform(0.75, 0.95), rng.uniform(22, 34)],
        ]
    ctrl = np.array(pts) + np.vstack([[0, 0], [0, 0], rng.normal(0, 1.5, (len(pts) - 2, 2))])
    path, s = _resample(ctrl, 0.2)
    # tortuosity: convolutions that grow from the straight isthmus to the coiled ampulla
    n = np.gradient(path, axis=0)[:, ::-1] * [1, -1]
    n /= np.hypot(*n.T)[:, None] + 1e-9
    amp = 0.4 + np.clip((s - 0.3 * s[-1]) / (0.5 * s[-1]), 0, 1) * rng.uniform(0.8, 2.2)
    corr = rng.uniform(2.5, 5.0) / 0.2  # correlation length of the coils, in samples
    wig = gaussian_filter1d(rng.standard_normal(len(s)), corr, mode="nearest")
    wig = amp * wig / (wig.std() + 1e-9)
    wig[: int(6 / 0.2)] *= np.linspace(0, 1, len(wig[: int(6 / 0.2)]))  # the interstitial part stays put
    path, s = _arc_resample(path + n * wig[:, None], 0.2)
    L = s[-1]
    # lumen radius: interstitial/isthmic ~0.5 mm, widening through the ampulla
    r = 0.45 + 0.1 * rng.random() + np.clip((s - 0.35 * L) / (0.6 * L), 0, 1) ** 1.5 * rng.uniform(0.9, 1.8)
    sac_start, diam = None, None
    if kind == "distal_occlusion":
        r = r + np.clip((s - 0.8 * L) / (0.2 * L), 0, 1) * rng.uniform(
            0.6, 1.5
        )  # club-shaped blind end, < 10 mm
    base = r.copy()
    if kind == "hydrosalpinx":
        diam = float(rng.uniform(10.0, 40.0))
        sac_start = float(L * rng.uniform(0.45, 0.6))
        # a retort: radius grows from the ampulla to the full sac, rounds off at the blind end
        x = np.clip((s - sac_start) / (L - sac_start), 0, 1)
        prof = np.sin(np.pi * np.clip(x * 0.62, 0, 0.5)) * np.where(
            x > 0.8, np.sqrt(np.clip((1 - x) / 0.2, 0, 1)), 1
        )
        r = np.maximum(r, diam / 2 * prof)
        r[-1] = max(r[-2] * 0.6, 1.0)
    return Tube(
        side=side,
        path=path,
        s=s,
        radius=r,
        kind=kind,
        sac_start=sac_start,
        diameter_mm=diam,
        base_radius=base,
    )


def make_defects(axes: dict, cavity: Cavity, rng: np.random.Generator) -> list[Defect]:
    """Filling defects placed inside the cavity body (not the cervical canal)."""
    kind = axes["defects"]
    if kind == "none":
        return []
    kinds = (
        [kind]
        if kind != "multiple"
        else [str(k) for k in rng.choice(["polyp", "submucous_myoma", "synechia"], 2)]
    )
    sizes = axes["defect_size"]
    out: list[Defect] = []
    for i, k in enumerate(kinds):
        small = sizes == "small" or (sizes == "mixed" and i % 2 == 0)
        if k == "polyp":
            size = rng.uniform(3.0, 4.6) if small else rng.uniform(5.5, 15.0)
        elif k == "submucous_myoma":
            size = rng.uniform(8.0, 30.0) if not small else rng.uniform(3.5, 4.6)
        else:
            size = rng.uniform(3.0, 4.6) if small else rng.uniform(6.0, 16.0)
        # a point inside the cavity body, away from the canal; myomas bulge from the wall
        for _ in range(200):
            c = np.array([rng.uniform(-14, 14), rng.uniform(-12, 8)]) @ _rot(cavity.tilt).T
            if points_in_poly(c[None], cavity.polygon)[0]:
                break
        if k == "submucous_myoma":
            c = c * 1.15
        ratio = rng.uniform(0.7, 1.0) if k != "synechia" else rng.uniform(0.3, 0.6)
        a = size / 2
        out.append(
            Defect(
                kind=k,
                size_mm=round(float(size), 2),
                center=c,
                axes_mm=(a, a * ratio),
                angle=float(rng.uniform(0, np.pi)),
                jag=rng.uniform(0.75, 1.2, 12) if k == "synechia" else np.zeros(0),
            )
        )
    return out


def make_pocket(tube: Tube, rng: np.random.Generator) -> Pocket:
    """A confined pocket hugging the fimbrial end (loculated spill)."""
    f = tube.fimbria
    d = tube.path[-1] - tube.path[-8]
    d = d / (np.hypot(*d) + 1e-9)
    blobs = []
    size = rng.uniform(8.0, 15.0)
    for k in range(int(rng.integers(2, 4))):
        c = f + d * size * (0.6 + 0.5 * k) + rng.normal(0, 2.5, 2)
        blobs.append(
            (
                float(c[0]),
                float(c[1]),
                size * rng.uniform(0.6, 1.0),
                size * rng.uniform(0.4, 0.7),
                rng.uniform(0, 3),
            )
        )
    return Pocket(side=tube.side, blobs=blobs)
