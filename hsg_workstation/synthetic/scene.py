"""The drawn anatomy and contrast dynamics of one synthetic HSG study, rendered frame by frame.

A :class:`Scene` is built once per case from a seeded RNG (so shapes, angles, tube courses and timings vary
with the seed) and then rendered at any *frame position* (0-based, fractional allowed: spot images are taken
between or after loop frames). Rendering returns iodine-equivalent contrast thickness in mm and the
contrast-filled cavity mask; :mod:`sample_xray` turns that into detector pixel values with quantum noise.

The physics is deliberately simple but monotone: every pixel value is linear in the total attenuation along
the ray, so contrast that the truth says is there is always darker than where it is not.

Why ~670 lines in one module: :class:`Scene` builds the anatomy from one RNG stream in a fixed order (cavity,
defects, background, shutter, catheter, tubes, spill, veins, bowel) — every draw shifts the ones after it, so the
seeded sample data and the analysis' tuning split stay reproducible only if that order never changes. Split into
modules, the order would become an implicit contract between them. The parts without RNG state are outside
already: geometry (``geometry.py``), detector physics (``xray.py``), case specifications (``cases.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from skimage.filters import gaussian

from hsg_workstation.synthetic.cases import SIDES, CaseSpec
from hsg_workstation.synthetic.geometry import (
    PixelGrid,
    TubeRaster,
    catmull_rom,
    ellipse_polygon,
    quadratic_bezier,
    rasterise_polygon,
    rasterise_tube,
    resample_by_arclength,
    ribbon_polygon,
    rotation,
)

IODINE_MU_PER_MM = 0.35  # effective attenuation of 300 mgI/ml contrast per mm, ~70 keV
TUBE_FRONT_VISIBLE_MM = 2.0  # a tube counts as "filled" once this length is opacified


@dataclass(slots=True)
class Defect:
    kind: str  # polyp / submucous_myoma / adhesion
    polygon_local: np.ndarray  # (N, 2) mm in uterine local coordinates
    centre_local: np.ndarray
    size_mm: float
    reduction: float  # fraction of the cavity's contrast thickness the defect displaces
    location: str


@dataclass(slots=True)
class Blob:
    """One spill cloud (free: spreading Gaussian; loculated: compact disc with a sharp margin)."""

    centre_mm: np.ndarray
    drift_mm_per_frame: np.ndarray
    sigma0_mm: float
    growth_mm_per_frame: float
    mass_per_frame: float
    loculated: bool
    radius_mm: float = 0.0


@dataclass(slots=True)
class TubeModel:
    side: str
    raster: TubeRaster
    start_pos: float  # frame position where contrast enters the tube
    speed_mm_per_frame: float
    stop_mm: float  # contrast front never passes this (occlusion); == length when patent
    hydro_from_mm: float | None = None  # arc length where the hydrosalpinx begins
    spill_onset: int | None = None  # 0-based frame index of the first frame with spill
    blobs: list[Blob] = field(default_factory=list)

    def front_mm(self, pos: float) -> float:
        return float(np.clip((pos - self.start_pos) * self.speed_mm_per_frame, 0.0, self.stop_mm))


@dataclass(slots=True)
class VeinModel:
    raster: TubeRaster
    start_pos: float
    speed_mm_per_frame: float
    washout_start: float
    washout_frames: float

    def front_mm(self, pos: float) -> float:
        return float(np.clip((pos - self.start_pos) * self.speed_mm_per_frame, 0.0, self.raster.length_mm))

    def fade(self, pos: float) -> float:
        return float(np.clip(1.0 - (pos - self.washout_start) / self.washout_frames, 0.0, 1.0))


@dataclass(slots=True)
class Rendered:
    contrast_mm: np.ndarray  # float32 iodine-equivalent thickness
    device_atten: np.ndarray  # float32 extra attenuation of catheter + balloon wall
    cavity_mask: np.ndarray  # bool, contrast-filled cavity (defects and balloon excluded)


class Scene:
    """Anatomy + timeline for one case. Build once, render many frame positions."""

    def __init__(self, spec: CaseSpec, rng: np.random.Generator, grid: PixelGrid, frames: int) -> None:
        self.spec = spec
        self.rng = rng
        self.grid = grid
        self.frames = frames
        k = frames / 48.0  # timings are designed for a 48-frame loop and stretched to the requested length
        self.k = k
        size = grid.size
        # --- uterus placement -------------------------------------------------------------------------------
        self.angle_deg = float(rng.uniform(-18, 18))
        self.os_mm = np.array([rng.uniform(-12, 12), rng.uniform(18, 34)])
        self.width_mm = float(rng.uniform(34, 46))
        self.height_mm = float(rng.uniform(32, 44))
        self.depth_mm = float(rng.uniform(8, 12))
        self.polygons_local, self.cornua_local = self._cavity_shape()
        self.tip_local = np.array([0.0, -7.0])
        self.balloon_local = (np.array([0.0, -1.0]), (3.6, 5.2))
        self.defects = self._defects()
        # --- timeline (frame positions, 0-based) --------------------------------------------------------------
        # Recording starts a few frames before the injection (as operators do), so a loop always has >= 2
        # contrast-free frames for background estimation.
        self.cavity_start = float(max(2.0, round(rng.uniform(2.0, 4.0) * k)))
        self.cavity_full = self.cavity_start + rng.uniform(9.0, 13.0) * k
        self.max_distension = self.cavity_full + rng.uniform(2.0, 5.0) * k
        self.drain_start = frames * rng.uniform(0.82, 0.9)
        # --- static fields --------------------------------------------------------------------------------------
        xs, ys = grid.coordinates_mm()
        self._xs, self._ys = xs, ys
        tip_world = self.local_to_world(self.tip_local[None, :], 1.0)[0]
        self.tip_world = tip_world
        self.dist_tip_mm = np.hypot(xs - tip_world[0], ys - tip_world[1]).astype(np.float32)
        full = self._cavity_mask(1.0)
        self.cavity_reach_mm = float(self.dist_tip_mm[full].max()) + 3.0 if full.any() else 50.0
        self.static_atten = self._background(rng)
        self.shutter = self._shutter(rng)
        self.catheter = self._catheter(rng)
        self.balloon_mask = rasterise_polygon(
            grid.to_pixels(self.local_to_world(ellipse_polygon(*self.balloon_local), 1.0)), size
        )
        self.balloon_wall = (
            self.balloon_mask ^ ndimage.binary_erosion(self.balloon_mask, iterations=1)
        ).astype(np.float32)
        self.tubes = self._tubes(rng)
        self.veins = self._veins(rng) if spec.intravasation else []
        self.bowel = self._bowel_texture(rng)

    # ------------------------------------------------------------------------------------------------ geometry
    def local_to_world(self, pts_local: np.ndarray, scale: float) -> np.ndarray:
        """Uterine local mm (u lateral toward patient left, w toward feet; origin at the internal os) → world mm.

        ``scale`` < 1 is a less distended cavity; it shrinks toward the os, where the balloon holds it.
        """
        return (np.asarray(pts_local) * scale) @ rotation(self.angle_deg).T + self.os_mm

    def _cavity_shape(self) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        rng, w, h = self.rng, self.width_mm, self.height_mm
        cls = self.spec.cavity_class
        os_half = rng.uniform(3.0, 4.5)
        if cls in ("normal",):
            fundus_bulge = rng.uniform(-1.5, 4.0)
            bow = rng.uniform(1.5, 5.0)
            right_c, left_c = np.array([-w / 2, -h]), np.array([w / 2, -h])
            fundus = quadratic_bezier(right_c, np.array([0.0, -h - 2 * fundus_bulge]), left_c)
            left_wall = quadratic_bezier(
                left_c, np.array([(w / 2 + os_half) / 2 - bow, -h / 2]), [os_half, 2.0]
            )
            right_wall = quadratic_bezier(
                [-os_half, 2.0], np.array([-(w / 2 + os_half) / 2 + bow, -h / 2]), right_c
            )
            poly = np.vstack([fundus, left_wall, right_wall])
            return [poly], {"right": right_c, "left": left_c}
        if cls == "two_hemicavities":
            polys, cornua = [], {}
            spread = rng.uniform(0.35, 0.55)  # horn angle off the axis, rad
            for side, sgn in (("right", -1.0), ("left", 1.0)):
                length = h * rng.uniform(1.05, 1.2)
                tip = np.array([sgn * np.sin(spread) * length, -np.cos(spread) * length])
                base = np.array([sgn * 2.0, -4.0])
                centre = catmull_rom(np.vstack([base, (base + tip) / 2 + [sgn * 1.5, 0], tip]), 16)
                t = np.linspace(0, 1, len(centre))
                hw = rng.uniform(6.5, 8.5) * np.sin(np.pi * (0.15 + 0.8 * t)) + 0.8
                polys.append(ribbon_polygon(centre, hw))
                cornua[side] = tip
            polys.append(np.array([[-os_half, 2.0], [os_half, 2.0], [7.0, -9.0], [-7.0, -9.0]]))
            return polys, cornua
        if cls == "unicornuate":
            side = next(s for s, f in self.spec.sides.items() if f.tube_present)
            sgn = 1.0 if side == "left" else -1.0
            length = h * rng.uniform(1.0, 1.15)
            tip = np.array([sgn * length * 0.62, -length * 0.78])
            ctrl = np.array([-sgn * 4.0, -length * 0.55])
            centre = quadratic_bezier(np.array([0.0, 1.0]), ctrl, tip, 30)
            t = np.linspace(0, 1, len(centre))
            hw = rng.uniform(5.5, 7.5) * (1 - 0.75 * t) + 1.0
            return [ribbon_polygon(centre, hw)], {side: tip}
        if cls == "t_shaped":
            stem_h = h * rng.uniform(0.55, 0.7)
            waist = rng.uniform(3.5, 4.5)
            stem = np.array(
                [
                    [-os_half, 2.0],
                    [os_half, 2.0],
                    [waist + 1.5, -stem_h * 0.35],
                    [waist, -stem_h * 0.6],  # constriction ring
                    [waist + 1.8, -stem_h],
                    [-waist - 1.8, -stem_h],
                    [-waist, -stem_h * 0.6],
                    [-waist - 1.5, -stem_h * 0.35],
                ]
            )
            arm_w = rng.uniform(3.0, 4.2)
            arm_y = -stem_h - rng.uniform(3.0, 5.0)
            right_c, left_c = np.array([-w / 2, arm_y]), np.array([w / 2, arm_y])
            arms_c = catmull_rom(
                np.vstack([right_c, [-w / 4, arm_y - 1.0], [w / 4, arm_y - 1.0], left_c]), 20
            )
            t = np.linspace(0, 1, len(arms_c))
            hw = arm_w * (0.55 + 0.45 * np.sin(np.pi * t)) + 0.4
            return [stem, ribbon_polygon(arms_c, hw)], {"right": right_c, "left": left_c}
        raise ValueError(f"unknown cavity class {cls!r}")

    def _location(self, centre_local: np.ndarray) -> str:
        u, w = centre_local
        level = (
            "fundal" if w < -0.68 * self.height_mm else "corporal" if w < -0.3 * self.height_mm else "isthmic"
        )
        side = "left" if u > 0.15 * self.width_mm else "right" if u < -0.15 * self.width_mm else "central"
        return f"{level}-{side}"

    def _defects(self) -> list[Defect]:
        rng, w, h = self.rng, self.width_mm, self.height_mm
        out: list[Defect] = []
        for kind in self.spec.defects:
            if kind == "polyp":
                size = rng.uniform(6.0, 10.0)
                c = self._inside_point(rng, size, (0.45, 0.7))
                poly = ellipse_polygon(c, (size / 2, size / 2 * rng.uniform(0.7, 0.95)), rng.uniform(0, 180))
                out.append(Defect(kind, poly, c, size, 0.72, self._location(c)))
            elif kind == "submucous_myoma":
                size = rng.uniform(16.0, 22.0)
                r = size / 2
                wall = rng.choice(["fundus", "left", "right"])
                if wall == "fundus":
                    c = np.array([rng.uniform(-0.15, 0.15) * w, -h - 1.0 + 0.55 * r])
                else:
                    sgn = 1.0 if wall == "left" else -1.0
                    c = np.array([sgn * (w * 0.3 - 0.3 * r), -h * 0.62])
                poly = ellipse_polygon(c, (r, r * rng.uniform(0.88, 1.0)), rng.uniform(0, 180), 64)
                out.append(Defect(kind, poly, c, size, 0.93, self._location(c)))
            elif kind == "adhesion":
                for _ in range(int(rng.integers(2, 4))):
                    size = rng.uniform(5.0, 11.0)
                    c = self._inside_point(rng, size, (0.35, 0.8))
                    n = int(rng.integers(4, 7))
                    # Jittered but evenly spread angles keep the centre inside the angular outline.
                    ang = (
                        np.linspace(0, 2 * np.pi, n, endpoint=False)
                        + rng.uniform(-0.35, 0.35, n) * 2 * np.pi / n
                    )
                    rad = size / 2 * rng.uniform(0.5, 1.0, n)
                    poly = c + np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
                    out.append(Defect("adhesion", poly, c, size, 0.9, self._location(c)))
        return out

    def _inside_point(self, rng: np.random.Generator, size: float, levels: tuple[float, float]) -> np.ndarray:
        """A defect centre well inside a triangular cavity: the cavity narrows toward the os, so the lateral
        range is taken from the half-width at the chosen level (a defect drawn outside the contrast would be
        invisible while the truth claims it)."""
        frac = rng.uniform(*levels)
        half_width = 4.0 + (self.width_mm / 2 - 4.0) * frac - 3.0  # straight walls minus the inward bow
        u_max = max(0.0, 0.6 * (half_width - size / 2))
        return np.array([rng.uniform(-u_max, u_max), -self.height_mm * frac])

    def _cavity_mask(self, scale: float) -> np.ndarray:
        mask = np.zeros((self.grid.size, self.grid.size), dtype=bool)
        for poly in self.polygons_local:
            rasterise_polygon(self.grid.to_pixels(self.local_to_world(poly, scale)), self.grid.size, mask)
        return mask

    # ---------------------------------------------------------------------------------------------- background
    def _background(self, rng: np.random.Generator) -> np.ndarray:
        """Soft tissue + pelvic bones + bowel gas, as attenuation (dimensionless line integral)."""
        g, size = self.grid, self.grid.size
        xs, ys = self._xs, self._ys
        body = 2.2 + 0.9 * np.clip(1 - (xs / 190.0) ** 2 - ((ys + 10) / 260.0) ** 2, 0, 1)
        bone = np.zeros((size, size), dtype=np.float32)

        def add(poly_mm: np.ndarray, value: float) -> None:
            m = rasterise_polygon(g.to_pixels(poly_mm), size)
            bone[m] += value

        # Pelvic inlet (linea terminalis): a ring of cortical bone.
        c_pel = np.array([rng.uniform(-6, 6), rng.uniform(-12, 0)])
        ax = (rng.uniform(58, 68), rng.uniform(44, 52))
        outer = rasterise_polygon(g.to_pixels(ellipse_polygon(c_pel, ax, 0, 96)), size)
        inner = rasterise_polygon(g.to_pixels(ellipse_polygon(c_pel, (ax[0] - 5, ax[1] - 4), 0, 96)), size)
        bone[outer & ~inner] += 0.45

        # Iliac wings with a denser crest, sacrum with foramina and sacro-iliac joints, femoral heads with
        # necks and greater trochanters, acetabular roofs, pubic and ischial rami around the obturator foramina.
        def ribbon(points: list[list[float]], half_width: float, value: float) -> None:
            centre = catmull_rom(np.array(points, dtype=float), 16)
            add(ribbon_polygon(centre, np.full(len(centre), half_width)), value)

        for sgn in (-1.0, 1.0):
            wing = catmull_rom(
                np.array(
                    [
                        [24, -95],
                        [45, -140],
                        [95, -150],
                        [140, -118],
                        [150, -70],
                        [120, -35],
                        [82, 25],
                        [52, -15],
                    ]
                )
                * [sgn, 1.0],
                16,
            )
            add(wing, 0.26)
            ribbon([[sgn * 45, -140], [sgn * 95, -150], [sgn * 140, -118], [sgn * 150, -70]], 4.0, 0.18)
            add(ellipse_polygon([sgn * 95, 66], (24, 24), 0, 64), 0.5)
            ribbon([[sgn * 100, 72], [sgn * 122, 92], [sgn * 138, 104]], 10.0, 0.35)
            add(ellipse_polygon([sgn * 142, 98], (14, 20), -sgn * 15, 48), 0.3)
            ribbon([[sgn * 68, 38], [sgn * 95, 36], [sgn * 118, 52]], 4.0, 0.3)  # acetabular roof
            ribbon([[sgn * 78, 58], [sgn * 45, 60], [sgn * 8, 66]], 6.0, 0.32)  # superior pubic ramus
            ribbon(
                [[sgn * 8, 82], [sgn * 35, 102], [sgn * 62, 100], [sgn * 74, 76]], 6.5, 0.32
            )  # ischiopubic
            ribbon([[sgn * 22, -100], [sgn * 26, -60], [sgn * 30, -20]], 1.5, -0.25)  # sacro-iliac joint
        sacrum = catmull_rom(
            np.array([[-50, -140], [-28, -60], [-12, -5], [12, -5], [28, -60], [50, -140]]), 16
        )
        add(sacrum, 0.34)
        for i in range(4):
            for sgn in (-1.0, 1.0):
                add(ellipse_polygon([sgn * (17 - 2.5 * i), -112 + 26 * i], (4.0, 3.0), 0, 24), -0.2)
        # Trabecular texture, then soften: bone is background here and must not compete with the contrast.
        texture = gaussian(rng.normal(0, 1, (size, size)).astype(np.float32), sigma=g.mm(0.8))
        texture /= max(float(texture.std()), 1e-6)
        bone *= 1.0 + 0.12 * texture
        bone = 0.6 * gaussian(bone, sigma=g.mm(2.5), preserve_range=True)
        # Bowel gas: lucent blobs mostly above and lateral to the uterus.
        gas = np.zeros((size, size), dtype=np.float32)
        for _ in range(int(rng.integers(6, 12))):
            c = np.array([rng.uniform(-110, 110), rng.uniform(-110, 10)])
            m = rasterise_polygon(
                g.to_pixels(
                    ellipse_polygon(c, (rng.uniform(6, 18), rng.uniform(5, 12)), rng.uniform(0, 180))
                ),
                size,
            )
            gas[m] -= rng.uniform(0.12, 0.3)
        gas = gaussian(gas, sigma=g.mm(3.0), preserve_range=True)
        # Uterine soft tissue is slightly denser than its surroundings.
        uterus = rasterise_polygon(
            g.to_pixels(
                self.local_to_world(
                    ellipse_polygon([0, -self.height_mm / 2], (self.width_mm * 0.75, self.height_mm * 0.8)),
                    1.0,
                )
            ),
            size,
        )
        soft = gaussian(uterus.astype(np.float32) * 0.08, sigma=g.mm(4.0), preserve_range=True)
        return (body + bone + gas + soft).astype(np.float32)

    def _shutter(self, rng: np.random.Generator) -> np.ndarray:
        """Transmission factor of the collimator blades: 1 inside the field, ~3 % outside, with penumbra."""
        size = self.grid.size
        m = rng.uniform(0.03, 0.08, 4)
        self.collimator_px = {  # unflipped pixel edges (first/last row and column inside the field)
            "top": int(m[0] * size),
            "bottom": int(size - 1 - m[1] * size),
            "left": int(m[2] * size),
            "right": int(size - 1 - m[3] * size),
        }
        field_ = np.full((size, size), 0.03, dtype=np.float32)
        c = self.collimator_px
        field_[c["top"] : c["bottom"] + 1, c["left"] : c["right"] + 1] = 1.0
        field_ = gaussian(field_, sigma=max(1.0, size / 400), preserve_range=True)
        # Anode heel effect: ~12 % less output toward one end of the tube axis (here the head), so the
        # background is not perfectly flat, as on a real unit.
        rows = np.linspace(-0.5, 0.5, size, dtype=np.float32)[:, None]
        return (field_ * (1.0 + 0.12 * rows)).astype(np.float32)

    def _catheter(self, rng: np.random.Generator) -> TubeRaster:
        tip = self.local_to_world(self.tip_local[None, :], 1.0)[0]
        below = self.local_to_world(np.array([[0.0, 14.0], [0.0, 30.0]]), 1.0)
        exit_ = np.array([rng.uniform(-20, 20), self.grid.size * self.grid.mm_per_pixel / 2 + 15])
        pts = catmull_rom(
            np.vstack([tip, below, (below[1] + exit_) / 2 + [rng.uniform(-8, 8), 0], exit_]), 24
        )
        pts, s = resample_by_arclength(pts, 0.5)
        return rasterise_tube(self.grid, pts, s, np.full(len(s), 1.0))

    # -------------------------------------------------------------------------------------------------- tubes
    def _tubes(self, rng: np.random.Generator) -> list[TubeModel]:
        tubes = []
        k = self.k
        for side in SIDES:
            finding = self.spec.sides[side]
            if not finding.tube_present or side not in self.cornua_local:
                continue
            sgn = 1.0 if side == "left" else -1.0
            cornu = self.local_to_world(self.cornua_local[side][None, :], 1.0)[0]
            j = lambda a: rng.uniform(-a, a)  # noqa: E731 - small jitter helper
            lat = rng.uniform(0.9, 1.1)
            way = np.array(
                [
                    cornu,
                    cornu + [sgn * 11 * lat, -2 + j(3)],
                    cornu + [sgn * 26 * lat, -3 + j(5)],
                    cornu + [sgn * 43 * lat, 1 + j(7)],
                    cornu + [sgn * 56 * lat, 13 + j(7)],
                    cornu + [sgn * 60 * lat, 29 + j(7)],
                    cornu + [sgn * 50 * lat, 40 + j(6)],
                ]
            )
            pts, s = resample_by_arclength(catmull_rom(way, 30), 0.5)
            length = float(s[-1])
            # Radius: interstitial/isthmic ~0.7 mm, ampulla widening to ~2.5 mm at the infundibulum.
            frac = s / length
            radius = 0.65 + 1.9 * np.clip((frac - 0.3) / 0.6, 0, 1) ** 1.3
            hydro_from = None
            if finding.hydrosalpinx:
                diameter = rng.uniform(15.0, 28.0)
                hydro_from = 0.55 * length
                grow = np.clip((s - hydro_from) / (0.3 * length), 0, 1)
                radius = np.maximum(radius, 0.65 + (diameter / 2 - 0.65) * np.sin(grow * np.pi / 2))
                # Clubbed end: round off the last few mm.
                end = np.clip((length - s) / (diameter / 2), 0, 1)
                radius = np.where(s > hydro_from, np.maximum(0.8, radius * np.sqrt(end * (2 - end))), radius)
            raster = rasterise_tube(self.grid, pts, s, radius)
            start = self.cavity_full + rng.uniform(0.0, 4.0) * k
            speed = rng.uniform(7.0, 11.0) / k
            stop = length
            lvl = finding.occlusion_level
            if lvl == "proximal":
                stop = 0.0
            elif lvl == "isthmic":
                stop = 0.25 * length
            elif lvl == "ampullary":
                stop = 0.6 * length
            tube = TubeModel(side, raster, start, speed, stop, hydro_from)
            if finding.hydrosalpinx:
                tube.speed_mm_per_frame *= 0.7
            if finding.spill in ("free", "loculated") and stop >= length:
                reach = start + length / speed
                tube.spill_onset = int(np.floor(reach)) + 1 + int(rng.integers(0, 2))
                latest = self.frames - 2  # 0-based: the spill must be visible on at least two loop frames
                if tube.spill_onset > latest:
                    # Short loops: the tube fills faster so a patent tube still spills inside the loop.
                    travel = max(latest - 1 - start, 0.5)
                    tube.speed_mm_per_frame = length / travel
                    tube.spill_onset = min(int(np.floor(start + travel)) + 1, latest)
                tube.blobs = self._spill_blobs(
                    rng, pts[-1], pts[-1] - pts[-12], sgn, finding.spill == "loculated"
                )
            tubes.append(tube)
        self.tube_by_side = {t.side: t for t in tubes}
        return tubes

    def _spill_blobs(
        self, rng: np.random.Generator, end_mm: np.ndarray, direction: np.ndarray, sgn: float, loculated: bool
    ) -> list[Blob]:
        """Spill clouds at a fimbrial end: free ones drift toward the pouch of Douglas and spread; loculated
        ones sit just beyond the end, along the tube's last direction, and stay compact."""
        k = self.k
        blobs = []
        if loculated:
            for i in range(int(rng.integers(1, 3))):
                off = direction / max(np.linalg.norm(direction), 1e-6) * (4 + 6 * i) + rng.uniform(-3, 3, 2)
                blobs.append(
                    Blob(end_mm + off, np.zeros(2), 1.5, 0.0, 1.0, True, radius_mm=rng.uniform(7.0, 12.0))
                )
            return blobs
        douglas = np.array([0.0, self.os_mm[1] - 5.0])
        for _ in range(int(rng.integers(3, 6))):
            toward = douglas - end_mm
            toward = toward / max(np.linalg.norm(toward), 1e-6)
            rnd = rng.normal(0, 1, 2)
            drift = (0.5 * toward + 0.5 * rnd / max(np.linalg.norm(rnd), 1e-6)) * rng.uniform(0.4, 1.0) / k
            blobs.append(
                Blob(
                    end_mm + rng.uniform(-3, 3, 2),
                    drift,
                    rng.uniform(2.0, 3.5),
                    rng.uniform(0.45, 0.8) / k,
                    rng.uniform(80.0, 140.0) / k,
                    False,
                )
            )
        return blobs

    def _veins(self, rng: np.random.Generator) -> list[VeinModel]:
        k = self.k
        veins = []
        start = self.max_distension - rng.uniform(1.0, 3.0) * k
        washout = min(self.frames - 1.0, start + rng.uniform(8.0, 14.0) * k)
        for sgn in (-1.0, 1.0):
            for _ in range(int(rng.integers(2, 4))):
                origin = np.array(
                    [sgn * self.width_mm * rng.uniform(0.2, 0.42), -self.height_mm * rng.uniform(0.2, 0.7)]
                )
                pts_local = [origin]
                direction = np.array([sgn * 1.0, 0.7])
                for _ in range(int(rng.integers(6, 10))):
                    direction = direction + rng.normal(0, 0.45, 2)
                    direction /= np.linalg.norm(direction)
                    pts_local.append(pts_local[-1] + direction * rng.uniform(5, 10))
                pts = self.local_to_world(np.array(pts_local), 1.0)
                pts, s = resample_by_arclength(catmull_rom(pts, 12), 0.5)
                raster = rasterise_tube(self.grid, pts, s, np.linspace(0.45, 0.9, len(s)))
                veins.append(
                    VeinModel(
                        raster, start + rng.uniform(0, 1.5) * k, rng.uniform(12, 20) / k, washout, 5.0 * k
                    )
                )
        return veins

    def _bowel_texture(self, rng: np.random.Generator) -> np.ndarray:
        """Contrast in the peritoneum outlines bowel loops: modulate spill clouds with a curvilinear texture."""
        size = self.grid.size
        noise = gaussian(rng.normal(0, 1, (size, size)).astype(np.float32), sigma=self.grid.mm(7.0))
        noise /= max(float(noise.std()), 1e-6)
        # |noise| is low along the zero-crossings: thin lucent lines, like loops of bowel outlined by contrast.
        return (0.7 + 0.3 * np.tanh(2.5 * np.abs(noise) - 0.5)).astype(np.float32)

    # -------------------------------------------------------------------------------------------- timeline
    def distension(self, pos: float) -> float:
        a = np.clip((pos - self.cavity_start) / max(self.max_distension - self.cavity_start, 1e-6), 0, 1)
        return float(0.86 + 0.14 * np.sin(a * np.pi / 2))

    def cavity_front_mm(self, pos: float) -> float:
        a = np.clip(
            (pos - self.cavity_start + 1.0) / max(self.cavity_full - self.cavity_start + 1.0, 1e-6), 0, 1
        )
        return float(self.cavity_reach_mm * a**0.8)

    def cavity_density(self, pos: float) -> float:
        ramp = np.clip((pos - self.cavity_start) / max(self.max_distension - self.cavity_start, 1e-6), 0, 1)
        rho = 0.55 + 0.45 * ramp
        if pos > self.drain_start:
            rho *= 1.0 - 0.25 * np.clip(
                (pos - self.drain_start) / max(self.frames - self.drain_start, 1.0), 0, 1.6
            )
        return float(rho)

    # -------------------------------------------------------------------------------------------- render
    def render(self, pos: float, *, catheter: bool = True) -> Rendered:
        g, size = self.grid, self.grid.size
        contrast = np.zeros((size, size), dtype=np.float32)
        cavity_mask = np.zeros((size, size), dtype=bool)
        front = self.cavity_front_mm(pos)
        if front > 0:
            scale = self.distension(pos)
            shape = self._cavity_mask(scale)
            rows, cols = np.nonzero(shape)
            if rows.size:
                pad = 4
                r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, size)
                c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, size)
                crop = shape[r0:r1, c0:c1]
                edt = ndimage.distance_transform_edt(crop) * g.mm_per_pixel
                depth = self.depth_mm * np.sqrt(np.clip(edt / 5.0, 0, 1))
                dist = self.dist_tip_mm[r0:r1, c0:c1]
                soft_front = np.clip((front - dist) / 3.0, 0, 1)
                thick = depth * soft_front
                displaced = np.zeros_like(thick)
                for d in self.defects:
                    dm = rasterise_polygon(g.to_pixels(self.local_to_world(d.polygon_local, scale)), size)
                    dm = dm[r0:r1, c0:c1]
                    blur = 0.4 if d.kind == "adhesion" else 0.9
                    displaced = np.maximum(
                        displaced,
                        d.reduction * gaussian(dm.astype(np.float32), sigma=g.mm(blur), preserve_range=True),
                    )
                balloon = self.balloon_mask[r0:r1, c0:c1]
                displaced = np.maximum(displaced, 0.92 * balloon)
                thick = thick * (1 - displaced) * self.cavity_density(pos)
                contrast[r0:r1, c0:c1] += thick.astype(np.float32)
                cavity_mask[r0:r1, c0:c1] = crop & (dist <= front - 1.5) & (displaced < 0.5)
        for tube in self.tubes:
            f = tube.front_mm(pos)
            if f <= 0:
                continue
            r = tube.raster
            filled = np.clip((f - r.arc_mm) / 2.0, 0, 1)
            conc = 1.0
            if tube.hydro_from_mm is not None:
                conc = np.where(r.arc_mm > tube.hydro_from_mm, 0.45, 1.0).astype(np.float32)
            contrast += (filled * r.radius_mm * 1.6 * conc).astype(np.float32)
            if tube.spill_onset is not None and pos >= tube.spill_onset:
                self._render_spill(contrast, tube, pos - tube.spill_onset + 1.0)
        for vein in self.veins:
            f = vein.front_mm(pos)
            fade = vein.fade(pos)
            if f <= 0 or fade <= 0:
                continue
            filled = np.clip((f - vein.raster.arc_mm) / 2.0, 0, 1)
            contrast += (filled * vein.raster.radius_mm * 1.4 * fade).astype(np.float32)
        device = np.zeros((size, size), dtype=np.float32)
        if catheter:
            cath = np.isfinite(self.catheter.arc_mm).astype(np.float32)
            device += 0.22 * cath + 0.35 * self.balloon_wall
            if pos >= self.cavity_start:
                contrast += 0.6 * cath
        contrast = gaussian(contrast, sigma=0.6, preserve_range=True).astype(np.float32)
        device = gaussian(device, sigma=0.6, preserve_range=True).astype(np.float32)
        return Rendered(contrast, device, cavity_mask)

    def _render_spill(self, contrast: np.ndarray, tube: TubeModel, age: float) -> None:
        g, size = self.grid, self.grid.size
        for b in tube.blobs:
            if b.loculated:
                radius = b.radius_mm * min(1.0, (age / (4.0 * self.k)) ** 0.5)
                sigma = radius
            else:
                sigma = b.sigma0_mm + b.growth_mm_per_frame * age
                radius = 3 * sigma
            centre = b.centre_mm + b.drift_mm_per_frame * age
            rc = g.to_pixels(centre[None, :])[0]
            half = int(np.ceil(g.mm(radius * (1.3 if b.loculated else 1.0)))) + 2
            r0, r1 = int(max(rc[0] - half, 0)), int(min(rc[0] + half + 1, size))
            c0, c1 = int(max(rc[1] - half, 0)), int(min(rc[1] + half + 1, size))
            if r0 >= r1 or c0 >= c1:
                continue
            yy = (np.arange(r0, r1, dtype=np.float32)[:, None] - rc[0]) * g.mm_per_pixel
            xx = (np.arange(c0, c1, dtype=np.float32)[None, :] - rc[1]) * g.mm_per_pixel
            d2 = xx**2 + yy**2
            if b.loculated:
                # Compact collection with a sharp margin and a slightly denser rim.
                d = np.sqrt(d2)
                core = np.clip((radius - d) / 1.2 + 0.5, 0, 1)
                rim = np.exp(-(((d - radius * 0.85) / 1.5) ** 2))
                val = 4.0 * core + 1.5 * rim * core
            else:
                mass = b.mass_per_frame * age
                val = mass / (2 * np.pi * sigma**2) * np.exp(-d2 / (2 * sigma**2))
                val = np.minimum(val, 3.0) * self.bowel[r0:r1, c0:c1]
            contrast[r0:r1, c0:c1] += val.astype(np.float32)

    # ---------------------------------------------------------------------------------------------- truth
    def first_frame_where(self, predicate: Callable[[float], bool]) -> int | None:
        """1-based number of the first loop frame for which ``predicate(pos)`` holds."""
        for i in range(self.frames):
            if predicate(float(i)):
                return i + 1
        return None

    def tube_first_fill_frame(self, side: str) -> int | None:
        tube = self.tube_by_side.get(side)
        if tube is None:
            return None
        return self.first_frame_where(lambda p: tube.front_mm(p) >= TUBE_FRONT_VISIBLE_MM)

    def defect_first_frame(self, d: Defect) -> int | None:
        centre = self.local_to_world(d.centre_local[None, :], 1.0)[0]
        need = min(float(np.hypot(*(centre - self.tip_world))) + d.size_mm / 4, self.cavity_reach_mm)
        return self.first_frame_where(lambda p: self.cavity_front_mm(p) >= need)

    def intravasation_frames(self) -> tuple[int, int] | None:
        if not self.veins:
            return None
        visible = [
            i
            for i in range(self.frames)
            if any(v.front_mm(i) >= TUBE_FRONT_VISIBLE_MM and v.fade(i) > 0.05 for v in self.veins)
        ]
        return (visible[0] + 1, visible[-1] + 1) if visible else None
