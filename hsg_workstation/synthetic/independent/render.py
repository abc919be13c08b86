"""One study end to end: axes -> anatomy, dynamics, devices -> per-frame maps -> x-ray chain -> DICOM + truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from scipy import ndimage as ndi

from . import contrast, devices, pelvis
from .anatomy import SIDE_SIGN, SIDES, make_cavity, make_defects, make_pocket, make_tube
from .axes import normalise_axes, sample_axes
from .dicom_writer import build_dataset
from .dynamics import draw_dynamics, draw_timing
from .geometry import Geometry, draw_geometry
from .truth import build_truth
from .xray import XrayChain


@dataclass
class IndependentStudy:
    """A rendered study: the loop (multi-frame RF), an optional scout, the truth dict and the axes used."""

    seed: int
    loop: Dataset
    scout: Dataset | None
    truth: dict
    axes: dict


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), 0x1D3B, stream])


def _fit_tube(tube, geom: Geometry, margin: float = 10.0):
    """Shrink a tube path towards its cornu until it (and its sac) lies inside the image with a margin.

    Only the course shrinks (a shorter, more coiled tube); the lumen and the sac keep their sizes."""
    half_w, half_h = geom.cols * geom.px / 2 - margin, geom.rows * geom.px / 2 - margin
    corn = tube.path[0]
    for _ in range(12):
        r = tube.radius[:, None]
        lo = tube.path - r - [geom.xc, geom.yc]
        hi = tube.path + r - [geom.xc, geom.yc]
        if (np.abs(lo) <= [half_w, half_h]).all() and (np.abs(hi) <= [half_w, half_h]).all():
            break
        tube.path = corn + (tube.path - corn) * 0.9
        tube.s = tube.s * 0.9
        if tube.sac_start is not None:
            tube.sac_start *= 0.9
    return tube


def _poses(axes: dict, n: int, rng: np.random.Generator, px: float) -> np.ndarray:
    """Per-frame patient pose (d_row px, d_col px, angle rad) relative to frame 1."""
    poses = np.zeros((n, 3))
    if axes["patient_motion"] == "none":
        return poses
    events = sorted(rng.choice(np.arange(3, n - 2), size=int(rng.integers(1, 4)), replace=False).tolist())
    cur = np.zeros(3)
    for k in range(1, n):
        if k in events:
            step = np.r_[rng.normal(0, 4.0, 2) / px, 0.0]
            if axes["patient_motion"] == "translation_rotation":
                step[2] = np.radians(rng.uniform(-3, 3))
            cur = cur + step
        poses[k] = cur
    # moves take 1-2 frames, not an instant
    return ndi.uniform_filter1d(poses, 2, axis=0, origin=0)


def _warp(img: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """The reference-pose image as seen after the patient moved by ``pose`` (rotation about the centre)."""
    if not pose.any():
        return img
    dr, dc, a = pose
    if a == 0.0:  # translation only: bilinear shift by slicing (4x cheaper than a general resampling)
        return _shift(img, float(dr), float(dc))
    c, s = np.cos(a), np.sin(a)
    m = np.array([[c, -s], [s, c]])
    centre = (np.array(img.shape) - 1) / 2
    # output pixel o samples input at m @ (o - centre - shift) + centre
    offset = centre - m @ (centre + [dr, dc])
    return ndi.affine_transform(img, m, offset=offset, order=1, mode="nearest")


def _shift(img: np.ndarray, dr: float, dc: float) -> np.ndarray:
    """``img`` moved by (dr, dc) pixels, bilinear, edges repeated (like mode='nearest')."""
    ir, ic = int(np.floor(dr)), int(np.floor(dc))
    fr, fc = np.float32(dr - ir), np.float32(dc - ic)
    n0, n1 = img.shape
    rows = np.clip(np.arange(n0) - ir, 0, n0 - 1)
    rows1 = np.clip(rows - 1, 0, n0 - 1)
    cols = np.clip(np.arange(n1) - ic, 0, n1 - 1)
    cols1 = np.clip(cols - 1, 0, n1 - 1)
    a = img[rows] * (1 - fr) + img[rows1] * fr
    return a[:, cols] * (1 - fc) + a[:, cols1] * fc


def _collimator_header(col: devices.Collimator, geom: Geometry) -> dict | None:
    if col.close is not None:
        return None  # a moving shutter has no single shape to state
    if col.shape == "circular":
        r, c = col.centre
        return {
            "CollimatorShape": "CIRCULAR",
            "CenterOfCircularCollimator": [int(round(r)) + 1, int(round(c)) + 1],
            "RadiusOfCircularCollimator": int(round(col.half[0])),
        }
    if col.shape == "rectangular":
        (r0, c0), (r1, c1) = col.vertices().min(axis=0), col.vertices().max(axis=0)
        return {
            "CollimatorShape": "RECTANGULAR",
            "CollimatorLeftVerticalEdge": int(np.clip(round(c0), 0, geom.cols - 1)) + 1,
            "CollimatorRightVerticalEdge": int(np.clip(round(c1), 0, geom.cols - 1)) + 1,
            "CollimatorUpperHorizontalEdge": int(np.clip(round(r0), 0, geom.rows - 1)) + 1,
            "CollimatorLowerHorizontalEdge": int(np.clip(round(r1), 0, geom.rows - 1)) + 1,
        }
    v = np.rint(col.vertices()).astype(int) + 1
    return {"CollimatorShape": "POLYGONAL", "VerticesOfThePolygonalCollimator": v.reshape(-1).tolist()}


def render_study(seed: int, axes: dict | None = None, *, frames: int | None = None) -> IndependentStudy:
    """Render one study deterministically from ``seed`` (and optional category overrides in ``axes``).

    ``frames`` forces an exact frame count (>= 20) instead of one drawn in the ``frame_count`` bin (benchmarks).
    """
    if frames is not None and frames < 20:
        raise ValueError(f"frames: at least 20 needed for the loop structure, got {frames}")
    axes = normalise_axes(axes if axes is not None else sample_axes(seed))
    geom = draw_geometry(axes, _rng(seed, 1))
    timing = draw_timing(axes, _rng(seed, 2), frames)
    span = float(timing.acq[-1] - timing.acq[0])
    ra = _rng(seed, 3)
    absent = next((s for s in SIDES if axes[f"{s}_class"] == "absent"), None)
    cavity = make_cavity(axes["cavity_class"], ra, absent)
    tubes = {}
    for side in SIDES:
        kind = axes[f"{side}_class"]
        if kind == "absent" or cavity.cornua[side] is None:
            continue
        sx = SIDE_SIGN[side]
        room = (geom.xc + sx * geom.fov_mm / 2) * sx - cavity.cornua[side][0] * sx - 12.0
        tube = make_tube(side, kind, cavity, axes["tube_course"], min(75.0, room), ra)
        tubes[side] = _fit_tube(tube, geom)
    defects = make_defects(axes, cavity, ra)
    dev = devices.make_devices(axes, geom, cavity, _rng(seed, 4))
    rc = _rng(seed, 5)
    pockets, capacity = {}, {}
    for side, tube in tubes.items():
        if tube.kind == "loculated":
            sp = contrast.pocket_raster(geom, make_pocket(tube, rc), tube.fimbria, rc)
            if sp is not None:
                pockets[side] = sp
                capacity[side] = float(sp.order.max())
    for side in list(tubes):
        if tubes[side].kind == "loculated" and side not in pockets:
            capacity[side] = 1e9
    dyn = draw_dynamics(axes, timing, tubes, capacity, _rng(seed, 6))
    # contrast scene
    cav_sp, body, e_os, e_max = contrast.cavity_raster(
        geom, cavity, defects, dev.balloon, dev.entry, below_entry=dev.balloon is not None
    )
    cath = contrast.raster.stroke(geom, dev.catheter_path, dev.catheter_lumen_radius)
    cath_sp = None
    if cath is not None:
        s = np.arange(len(dev.catheter_path), dtype=np.float32) * 0.25
        cath_sp = contrast.Sparse.from_window(geom, cath[0], cath[1], s[cath[2]])
    scene = contrast.ContrastScene(
        geom=geom,
        dyn=dyn,
        span=span,
        cavity=cav_sp,
        cavity_body=body,
        cavity_entry_to_os=e_os,
        cavity_order_max=e_max,
        catheter=cath_sp,
        tubes={
            s: (sp, t, contrast.sac_raster(geom, t))
            for s, t in tubes.items()
            if (sp := contrast.tube_raster(geom, t)) is not None
        },
        pockets=pockets,
    )
    loops = pelvis.bowel_loops(_rng(seed, 7))
    drift_side = next((s for s in SIDES if s in tubes and tubes[s].kind == "patent_free"), None)
    for side, tube in tubes.items():
        if tube.kind != "patent_free":
            continue
        puffs = contrast.make_puffs(side, tube, cavity, axes, span, rc, drift_side)
        sw = contrast.spill_window(geom, puffs, loops)
        if sw is not None:
            scene.puffs += puffs
            scene.puff_volume[side] = float(dyn.spill_volume(side, timing.acq[-1] + dyn.time_offset)) / len(
                puffs
            )
            scene.spill_win[side] = sw
    if axes["intravasation"] == "present":
        scene.veins = contrast.vein_network(geom, cavity, rc)
    # background
    rb = _rng(seed, 8)
    static_water = np.ascontiguousarray(pelvis.soft_tissue(geom, axes, rb) + pelvis.bony_pelvis(geom, rb))
    bubbles = pelvis.gas_bubbles(loops, axes, span, rb)
    # collimator around what matters
    keep = [cavity.polygon] + [t.path for t in tubes.values()]
    for t in tubes.values():  # the whole hydrosalpinx sac, not only its centre line
        if t.sac_start is not None:
            r = t.radius[:, None]
            keep += [t.path + r * [1, 0], t.path - r * [1, 0], t.path + r * [0, 1], t.path - r * [0, 1]]
    keep += [np.array([[p.start[0], p.start[1]] for p in scene.puffs]).reshape(-1, 2)]
    keep_px = np.column_stack(geom.to_pixel(*np.vstack(keep).T))
    col = devices.make_collimator(axes, geom, keep_px, _rng(seed, 9))
    poses = _poses(axes, timing.n, _rng(seed, 10), geom.px)[timing.source]  # a held frame keeps its pose
    # x-ray chain
    chain = XrayChain.draw(axes, geom.rows, geom.px, _rng(seed, 11))
    coll0 = col.transmission(geom.rows, geom.cols, 0.0, geom.px)
    open0 = coll0 > 0.5
    chain.normalise_dose(static_water, open0)
    gains = np.ones(timing.n)
    rg = _rng(seed, 12)
    if axes["abc_steps"] == "steps":
        for k in sorted(rg.choice(np.arange(2, timing.n), size=int(rg.integers(1, 4)), replace=False)):
            step = rg.choice([-1, 1]) * rg.uniform(0.06, 0.2) + 1.0
            if not 0.8 <= gains[k] * step <= 1.25:  # the ABC hunts around its set point, it does not run away
                step = 1.0 / step
            gains[k:] *= step
    noise = _rng(seed, 13)
    frames = np.empty((timing.n, geom.rows, geom.cols), dtype=np.uint16)
    measures: list[dict] = []
    calibrated = False
    coll_cache: dict[int, np.ndarray] = {}
    water = np.empty(static_water.shape, dtype=np.float32)  # C order: frame_iodine writes through a flat view
    for k in range(timing.n):
        if timing.source[k] != k:
            frames[k] = frames[timing.source[k]]
            measures.append(measures[timing.source[k]])
            continue
        u = (timing.acq[k] - timing.acq[0]) / max(span, 1e-9)
        t_rel = timing.acq[k] + dyn.time_offset
        np.copyto(water, static_water)
        devices.add_devices(geom, dev, devices.traction_shift_mm(dev, u), water)
        pelvis.gas_map(geom, bubbles, timing.acq[k] - timing.acq[0], span, water)
        # the attenuation map is built in place: water x mu_water, then the iodine added x mu_iodine
        water *= np.float32(chain.mu_water)
        measures.append(contrast.frame_iodine(scene, t_rel, water, chain.mu_iodine))
        A = _warp(water, poses[k])
        key = int(round(u * 40)) if col.close is not None else 0  # blades move in ~40 steps
        if key not in coll_cache:
            coll_cache = {key: col.transmission(geom.rows, geom.cols, u, geom.px)}
        if not calibrated:
            chain.calibrate(chain.expose(A, coll_cache[key], 1.0, None), open0)
            calibrated = True
        frames[k] = chain.to_stored(chain.expose(A, coll_cache[key], float(gains[k]), noise))
    # scout: same set-up, no contrast, before the injection, higher dose
    scout_ds = None
    scout_frame = None
    if axes["scout"] == "present":
        water = static_water.copy()
        devices.add_devices(geom, dev, np.zeros(2), water)
        pelvis.gas_map(geom, bubbles, -0.3 * span, span, water)
        A = chain.attenuation(water, np.zeros_like(water))
        scout_frame = chain.to_stored(chain.expose(A, coll0, 1.0, noise) * 1.0)[None]
    # header
    # the default window spans the open field over the loop (ABC steps included), contrast may clip
    o = frames[[0, timing.n // 2, timing.n - 1]][:, open0]
    lo, hi = np.percentile(o, [1, 99.5]) if o.size else (0, 2**chain.bits - 1)
    window = ((lo + hi) / 2, hi - lo)
    orientation = ("R", "F") if geom.flipped else ("L", "F")
    photometric = axes["photometric"]
    ma = float(_rng(seed, 14).uniform(1.5, 12))
    dose = {
        "ma": ma,
        "ms": float(_rng(seed, 15).uniform(4, 14)),
        "sid": float(_rng(seed, 16).uniform(1000, 1200)),
        "dap_dgycm2": 0.02 * timing.n * ma / 5 * (geom.fov_mm / 250) ** 2,
    }
    coll_hdr = _collimator_header(col, geom)
    loop = build_dataset(
        seed=seed,
        frames=frames,
        series_number=2,
        instance_number=1,
        label="loop",
        geom=geom,
        chain=chain,
        photometric=photometric,
        orientation=orientation,
        ftv_ms=timing.ftv_ms,
        use_vector=axes["frame_time_header"] == "frame_time_vector",
        fps=timing.fps,
        collimator=coll_hdr,
        window=window,
        dose=dose,
        contrast=True,
    )
    if scout_frame is not None:
        scout_ds = build_dataset(
            seed=seed,
            frames=scout_frame,
            series_number=1,
            instance_number=1,
            label="scout",
            geom=geom,
            chain=chain,
            photometric=photometric,
            orientation=orientation,
            ftv_ms=None,
            use_vector=False,
            fps=timing.fps,
            collimator=_collimator_header(col, geom) if col.close is None else None,
            window=window,
            dose=dose,
            contrast=False,
        )
    truth = build_truth(
        seed=seed,
        axes=axes,
        geom=geom,
        timing=timing,
        dyn=dyn,
        tubes=tubes,
        cavity=cavity,
        defects=defects,
        scene=scene,
        measures=measures,
        poses=poses,
        chain=chain,
        photometric=photometric,
        dev=dev,
    )
    return IndependentStudy(seed=seed, loop=loop, scout=scout_ds, truth=truth, axes=axes)
