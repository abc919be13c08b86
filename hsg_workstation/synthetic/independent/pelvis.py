"""Background anatomy: soft tissue, bony pelvis, bowel loops and bowel gas (water-equivalent millimetres).

Bone is given as EXTRA water-equivalent thickness (cortical bone attenuates ~2.5x water at fluoroscopy
energies), gas as NEGATIVE thickness (gas displaces tissue). The pelvis is placed relative to the cavity with
a random offset: the cervix projects a little above the pubic symphysis, the femoral heads ~9 cm lateral.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import raster
from .geometry import Geometry

BODY_THICKNESS = {"thin": (150.0, 180.0), "average": (185.0, 225.0), "obese": (235.0, 290.0)}


@dataclass
class BowelLoop:
    x: float
    y: float
    radius: float


@dataclass
class GasBubble:
    x: float
    y: float
    a: float
    b: float
    angle: float
    depth: float  # gas thickness (mm) at the centre
    vx: float  # drift, mm per second
    vy: float
    wobble: float  # relative size oscillation
    phase: float


def soft_tissue(geom: Geometry, axes: dict, rng: np.random.Generator) -> np.ndarray:
    """Body water-equivalent thickness over the whole image: elliptical cross-section, gradients, texture."""
    lo, hi = BODY_THICKNESS[axes["soft_tissue"]]
    t0 = rng.uniform(lo, hi)
    half_width = t0 * rng.uniform(0.8, 1.0)
    x, y = geom.grid((slice(0, geom.rows), slice(0, geom.cols)))
    bx = x - np.float32(rng.normal(0, 8))
    body = t0 * np.sqrt(np.clip(1.0 - (bx / half_width) ** 2, 0.0, None))
    body = body * (1.0 + np.float32(rng.uniform(-0.8, 0.8) * 1e-3) * y)  # cranio-caudal gradient
    # psoas and gluteal muscle bulk: broad soft bands
    for sx in (-1, 1):
        fade = np.clip((90.0 - y) / 60.0, 0.0, 1.0)  # the psoas leaves the pelvis over the pubic rami
        body = body + 12.0 * np.exp(-(((x - sx * (40 + 0.25 * (y + 120))) / 18.0) ** 2)) * fade
    tex = raster.smooth_noise((geom.rows, geom.cols), 12, rng)
    body = body * (1.0 + 0.025 * tex)
    return body.astype(np.float32)


def bony_pelvis(geom: Geometry, rng: np.random.Generator) -> np.ndarray:
    """Extra water-equivalent thickness of the bony pelvis, sacrum, coccyx and femoral heads."""
    out = np.zeros((geom.rows, geom.cols), dtype=np.float32)
    ox, oy = rng.normal(0, 6), rng.uniform(-10, 10)
    k = rng.uniform(0.8, 1.25)  # bone density
    add = raster.add
    for sx in (-1.0, 1.0):
        hx, hy = ox + sx * rng.uniform(86, 98), oy + rng.uniform(40, 55)
        rh = rng.uniform(21, 25)
        add(out, raster.ellipsoid(geom, hx, hy, rh, rh, 0, 0.9 * rh * k))  # femoral head (trabecular)
        add(out, raster.ring(geom, hx, hy, rh, rh, 0, 1.6, 9 * k))  # its cortex
        # femoral neck and shaft heading infero-laterally
        ang = np.arctan2(0.85, sx * 0.55)
        add(out, raster.ellipsoid(geom, hx + sx * 22, hy + 34, 16, 34, ang - np.pi / 2, 26 * k))
        add(out, raster.ring(geom, hx + sx * 4, hy + 2, rh + 6, rh + 4, 0, 2.0, 10 * k, (-np.pi + 0.5, -0.3)))
        # iliac wing: broad thin plate with a dense crest and the iliopectineal line
        add(out, raster.ellipsoid(geom, ox + sx * 100, oy - 70, 70, 62, sx * 0.3, 10 * k))
        add(out, raster.ring(geom, ox + sx * 100, oy - 70, 70, 62, sx * 0.3, 3.0, 12 * k, (-np.pi, 0)))
        # obturator foramen framed by the pubic and ischial rami
        add(out, raster.ring(geom, ox + sx * 44, oy + 92, 22, 15, sx * 0.3, 4.5, 16 * k))
        add(out, raster.ellipsoid(geom, ox + sx * 20, oy + 78, 14, 9, 0, 14 * k))  # body of the pubis
    # pelvic brim (linea terminalis)
    add(out, raster.ring(geom, ox, oy + 5, 64, 52, 0, 2.2, 11 * k, (-0.4, np.pi + 0.4)))
    # sacrum: tapered plate with foramina and a median crest; coccyx below
    sac = raster.ellipsoid(geom, ox, oy - 60, 50, 66, 0, 26 * k)
    if sac is not None:
        x, y = geom.grid(sac[0])
        taper = np.clip(1.0 - (y - np.float32(oy - 60)) / 140.0, 0.3, 1.0)
        vals = sac[1] * taper
        for j in range(4):
            for sx in (-1.0, 1.0):
                fy, fx = oy - 100 + j * 18, ox + sx * (24 - j * 2.5)
                vals -= 14 * k * np.exp(-(((x - fx) / 4.5) ** 2 + ((y - fy) / 4.0) ** 2))
        out[sac[0]] += np.clip(vals, 0, None)
    add(out, raster.ellipsoid(geom, ox, oy - 60, 4, 60, 0, 8 * k))
    for j in range(3):
        add(out, raster.ellipsoid(geom, ox, oy + 12 + j * 10, 7 - j * 1.5, 4.5, 0, 9 * k))
    return out


def bowel_loops(rng: np.random.Generator) -> list[BowelLoop]:
    """Small-bowel / sigmoid loops around the uterus (mostly above and lateral, some behind it)."""
    loops = []
    for _ in range(int(rng.integers(8, 15))):
        loops.append(BowelLoop(x=rng.uniform(-110, 110), y=rng.uniform(-95, 35), radius=rng.uniform(11, 21)))
    return loops


def gas_bubbles(
    loops: list[BowelLoop], axes: dict, span_s: float, rng: np.random.Generator
) -> list[GasBubble]:
    """Gas in some loops: clusters of small bubbles (mottled) and a few larger pockets."""
    if axes["bowel_gas"] == "none":
        return []
    moving = axes["bowel_gas"] == "moving"
    out = []
    for loop in rng.choice(
        np.array(loops, dtype=object), size=min(len(loops), int(rng.integers(3, 7))), replace=False
    ):
        # drift over the loop: 4-15 mm in total (peristalsis)
        speed = rng.uniform(4, 15) / max(span_s, 1e-3) if moving else 0.0
        ang = rng.uniform(0, 2 * np.pi)
        for _ in range(int(rng.integers(3, 9))):
            r = rng.uniform(2.5, 7.0)
            out.append(
                GasBubble(
                    x=loop.x + rng.normal(0, loop.radius * 0.45),
                    y=loop.y + rng.normal(0, loop.radius * 0.45),
                    a=r,
                    b=r * rng.uniform(0.6, 1.0),
                    angle=rng.uniform(0, np.pi),
                    depth=rng.uniform(1.2, 2.2) * r,
                    vx=speed * np.cos(ang) * rng.uniform(0.6, 1.4),
                    vy=speed * np.sin(ang) * rng.uniform(0.6, 1.4),
                    wobble=rng.uniform(0.1, 0.3) if moving else 0.0,
                    phase=rng.uniform(0, 2 * np.pi),
                )
            )
        if rng.random() < 0.5:
            out.append(
                GasBubble(
                    x=loop.x,
                    y=loop.y,
                    a=loop.radius * 0.8,
                    b=loop.radius * 0.45,
                    angle=rng.uniform(0, np.pi),
                    depth=loop.radius * 0.7,
                    vx=speed * np.cos(ang),
                    vy=speed * np.sin(ang),
                    wobble=0.15 if moving else 0.0,
                    phase=rng.uniform(0, 6),
                )
            )
    return out


def gas_map(geom: Geometry, bubbles: list[GasBubble], t: float, span_s: float, out: np.ndarray) -> None:
    """Subtract the gas (negative water thickness) at time ``t`` (s from frame 1) into ``out`` in place."""
    for b in bubbles:
        w = 1.0 + b.wobble * np.sin(b.phase + 7.0 * t / max(span_s, 1e-3))
        item = raster.ellipsoid(geom, b.x + b.vx * t, b.y + b.vy * t, b.a * w, b.b / w, b.angle, b.depth)
        raster.add(out, item, -1.0)


def loop_gap_pattern(x: np.ndarray, y: np.ndarray, loops: list[BowelLoop]) -> np.ndarray:
    """How free spill distributes among bowel loops: little inside a loop, most in the crevices at its wall.

    Returns a factor (mean ~1) that outlines the loops when it multiplies a diffuse spill cloud.
    """
    f = np.ones(np.broadcast_shapes(x.shape, y.shape), dtype=np.float32)
    for lp in loops:
        d = np.hypot(x - np.float32(lp.x), y - np.float32(lp.y)) - np.float32(lp.radius)
        inside = np.clip(-d / 3.0, 0.0, 1.0)
        rim = np.exp(-(((d - 1.5) / 2.5) ** 2))
        f = f * (1.0 - 0.85 * inside) + 1.3 * rim * (d > -1.0)
    return f
