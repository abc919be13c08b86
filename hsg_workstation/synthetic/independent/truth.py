"""Ground truth of a rendered study, every event defined physically (see the package docstring).

Frames are 1-based. Pixel coordinates are [row, column], 0-based, in the stored image at the reference pose
(frame 1; with patient motion, ``distractors.pose_per_frame`` gives each frame's shift/rotation). Sides are the
patient's.

Masks are run-length encoded as a flat list ``[start0, length0, start1, length1, ...]`` over the row-major
(C-order) flattened mask, starts 0-based: see :func:`rle_encode` / :func:`rle_decode`.
"""

from __future__ import annotations

import numpy as np

from .anatomy import SIDES
from .contrast import CAVITY_AREA_MIN_MM, VENOUS_MM3
from .dynamics import SPILL_ONSET_MM3, TUBE_FILL_MM

CAVITY_FILL_START_MM2 = 25.0  # the cavity "starts filling" when >= 25 mm^2 of it holds >= 0.5 mm of contrast
MAX_DISTENSION_FRACTION = 0.98

PATENCY = {
    "patent_free": "patent",
    "loculated": "patent",
    "proximal_occlusion": "proximal_occlusion",
    "distal_occlusion": "distal_occlusion",
    "hydrosalpinx": "distal_occlusion",
}


def rle_encode(mask: np.ndarray) -> list[int]:
    flat = np.asarray(mask, dtype=bool).reshape(-1)
    d = np.diff(np.r_[0, flat.astype(np.int8), 0])
    starts = np.nonzero(d == 1)[0]
    ends = np.nonzero(d == -1)[0]
    return np.column_stack([starts, ends - starts]).reshape(-1).astype(int).tolist()


def rle_decode(rle: list[int], shape: tuple[int, int]) -> np.ndarray:
    flat = np.zeros(shape[0] * shape[1], dtype=bool)
    for s, n in zip(rle[0::2], rle[1::2], strict=True):
        flat[s : s + n] = True
    return flat.reshape(shape)


def _first(flags: list[bool] | np.ndarray) -> int | None:
    idx = np.nonzero(np.asarray(flags))[0]
    return int(idx[0]) + 1 if len(idx) else None


def build_truth(
    *, seed, axes, geom, timing, dyn, tubes, cavity, defects, scene, measures, poses, chain, photometric, dev
) -> dict:
    n = timing.n
    t_rel = timing.acq + dyn.time_offset
    area = np.array([m["cavity_area_mm2"] for m in measures])
    fill_start = _first(area >= CAVITY_FILL_START_MM2)
    if fill_start == 1:
        fill_start = None  # filling began before the loop
    max_dist = int(np.nonzero(area >= MAX_DISTENSION_FRACTION * area.max())[0][0]) + 1
    # cavity mask at maximal distension, straight from the cavity raster at that frame's time
    sp = scene.cavity
    t_md = t_rel[max_dist - 1]
    front = scene.cavity_entry_to_os * float(dyn.canal_front(t_md)) + (
        scene.cavity_order_max - scene.cavity_entry_to_os
    ) * float(dyn.cavity_front(t_md))
    val = sp.thick * np.clip((front - sp.order) / 1.5 + 0.5, 0.0, 1.0)
    mask = np.zeros(geom.rows * geom.cols, dtype=bool)
    mask[sp.flat[(val >= CAVITY_AREA_MIN_MM) & scene.cavity_body]] = True
    sides = {}
    for side in SIDES:
        tube = tubes.get(side)
        if tube is None:
            sides[side] = {
                "tube_present": False,
                "tube_filled": False,
                "first_fill_frame": None,
                "patency": "absent",
                "spill": "none",
                "spill_onset_frame": None,
                "spill_visibility": None,
                "hydrosalpinx": False,
                "hydrosalpinx_diameter_mm": None,
                "tube_path": [],
                "fimbrial_end": None,
            }
            continue
        fronts = np.array([m.get(f"tube_front_{side}", 0.0) for m in measures])
        first_fill = _first(fronts >= TUBE_FILL_MM)
        spill = {"patent_free": "free", "loculated": "loculated"}.get(tube.kind, "none")
        onset = None
        if spill != "none":
            onset = _first(dyn.spill_volume(side, t_rel) >= SPILL_ONSET_MM3)
            if onset is None:
                spill = "none"  # the spill would come after the loop ends
        step = max(1, int(round(2.0 / 0.2)))
        rows, cols = geom.to_pixel(tube.path[::step, 0], tube.path[::step, 1])
        fr, fc = geom.to_pixel(*tube.fimbria)
        hydro = tube.kind == "hydrosalpinx"
        sides[side] = {
            "tube_present": True,
            "tube_filled": first_fill is not None,
            "first_fill_frame": first_fill,
            "patency": PATENCY[tube.kind],
            "spill": spill,
            "spill_onset_frame": onset,
            "spill_visibility": (axes["spill_visibility"] if spill == "free" else "dense")
            if spill != "none"
            else None,
            "hydrosalpinx": hydro,
            "hydrosalpinx_diameter_mm": round(float(2 * tube.radius.max()), 2) if hydro else None,
            "tube_path": [[round(float(r), 1), round(float(c), 1)] for r, c in zip(rows, cols, strict=True)],
            "fimbrial_end": [round(float(fr), 1), round(float(fc), 1)],
        }
    ven = np.array([m.get("venous_mm3", 0.0) for m in measures])
    iv = np.nonzero(ven >= VENOUS_MM3)[0]
    intravasation = bool(len(iv))
    dtruth = []
    for d in defects:
        r, c = geom.to_pixel(*d.center)
        # the front has passed the defect's far edge (or filled the whole cavity, if the edge lies beyond it)
        reach = min(float(np.hypot(*(d.center - dev.entry))) + d.size_mm / 2, scene.cavity_order_max)
        fronts = scene.cavity_entry_to_os * dyn.canal_front(t_rel) + (
            scene.cavity_order_max - scene.cavity_entry_to_os
        ) * dyn.cavity_front(t_rel)
        first = _first(fronts >= reach)
        if first is None:
            continue
        dtruth.append(
            {
                "type": d.kind,
                "size_mm": float(d.size_mm),
                "row": round(float(r), 1),
                "column": round(float(c), 1),
                "first_frame": first,
                "last_frame": n,
            }
        )
    # field motion at the cavity centre: translation plus the rotation's arc
    cr, cc = geom.to_pixel(0.0, 0.0)
    lever = np.hypot(cr - (geom.rows - 1) / 2, cc - (geom.cols - 1) / 2)
    motion = np.hypot(poses[:, 0], poses[:, 1]) + np.abs(poses[:, 2]) * lever
    dup = [k + 1 for k in range(n) if timing.source[k] != k]
    return {
        "renderer": "independent",
        "version": 1,
        "seed": int(seed),
        "axes": dict(axes),
        "rows": geom.rows,
        "columns": geom.cols,
        "frames": n,
        "frame_time_ms": [float(v) for v in timing.ftv_ms],
        "patient_orientation": ["R", "F"] if geom.flipped else ["L", "F"],
        "image_flipped": bool(geom.flipped),
        "pixel_spacing_at_patient_mm": float(geom.px),
        "photometric_interpretation": photometric,
        "bits_stored": int(chain.bits),
        "contrast_appears": axes["contrast_polarity"],
        "cavity_class": axes["cavity_class"],
        "cavity_fill_start_frame": fill_start,
        "max_distension_frame": max_dist,
        "cavity_mask_max_distension": {"shape": [geom.rows, geom.cols], "rle": rle_encode(mask)},
        "sides": sides,
        "intravasation": intravasation,
        "intravasation_frames": [int(iv[0]) + 1, int(iv[-1]) + 1] if intravasation else None,
        "defects": dtruth,
        "distractors": {
            "bowel_gas_moving": axes["bowel_gas"] == "moving",
            "device_motion": dev.traction is not None,
            "field_motion_px": round(float(motion.max()), 2),
            "collimator_moving": axes["collimator_motion"] == "moving",
            "balloon_filling_defect": dev.balloon is not None,
            "last_image_hold_frames": dup,
            "run_start_frames": [k + 1 for k in timing.run_starts],
            "pose_per_frame": [
                [round(float(a), 2), round(float(b), 2), round(float(np.degrees(c)), 3)] for a, b, c in poses
            ],
        },
    }
