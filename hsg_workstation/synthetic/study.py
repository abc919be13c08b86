"""Synthetic HSG studies with exact ground truth — the public entry point of the generator.

Real HSG data cannot ship, so the viewer, the report and the fill-sequence analysis are developed and *measured*
on these studies. Each case is one fluoroscopy exam as a real unit would store it: a scout image, a multi-frame
X-Ray Radiofluoroscopic fill-sequence loop and 2–4 spot images, plus ``truth.json`` describing what was drawn.

Public contract (used by the analysis, viewer, PACS and report helpers)::

    CASES                                  # tuple of case names
    generate_case(case, *, seed=0, size=512, frames=48, ...) -> GeneratedCase    # in memory, deterministic
    GeneratedCase.datasets / .truth / .cavity_masks / .write(outdir) -> Path
    write_case(case, outdir, **kw) -> Path

See docs/sample-data.md for the meaning of every truth.json key.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from hsg_workstation.synthetic import dicom as sd
from hsg_workstation.synthetic.cases import (
    CASES,
    FLIPPED_BY_DEFAULT,
    MONOCHROME1_SPOTS_BY_DEFAULT,
    SIDES,
    VARIABLE_FRAME_TIME_BY_DEFAULT,
    CaseSpec,
    case_spec,
)
from hsg_workstation.synthetic.geometry import PixelGrid
from hsg_workstation.synthetic.scene import Scene
from hsg_workstation.synthetic.xray import FLUORO_PHOTONS, SPOT_PHOTONS, shift_image, to_pixels

__all__ = ["CASES", "GeneratedCase", "generate_case", "write_case", "SPOT_PHASES"]

SPOT_PHASES: dict[int, tuple[str, ...]] = {
    2: ("full_distension", "delayed"),
    3: ("early_filling", "full_distension", "delayed"),
    4: ("early_filling", "full_distension", "tubal_filling", "delayed"),
}
DETECTOR_FIELD_MM = 300.0  # detector field edge (flat panel ~30 cm); pixel spacing = field / matrix size
MAX_FRAMES = 2000
MAX_SIZE = 4096
MAX_MOTION_FRACTION = 0.1  # motion_px at most this fraction of the matrix: HSG motion is small, not a pan


@dataclass(slots=True)
class GeneratedCase:
    """One synthetic study in memory: datasets (scout, loop, spots), truth and per-frame cavity masks."""

    case: str
    datasets: list[Dataset]
    truth: dict
    cavity_masks: np.ndarray  # bool (frames, rows, cols): contrast-filled cavity as drawn, per loop frame
    file_names: list[str] = field(default_factory=list)

    def write(self, outdir: Path | str) -> Path:
        """Write ``outdir/<case>/`` with one DICOM file per dataset and ``truth.json``; returns that folder."""
        case_dir = Path(outdir) / self.case
        case_dir.mkdir(parents=True, exist_ok=True)
        # A re-run with fewer spot images must not leave the old ones behind (they would join the study).
        # Only files named like the generator's own are removed; anything else in the folder is left alone.
        for old in case_dir.glob("03_spot_*.dcm"):
            if old.name not in self.file_names:
                old.unlink()
        for ds, name in zip(self.datasets, self.file_names, strict=True):
            sd.save(ds, case_dir / name)
        (case_dir / "truth.json").write_text(json.dumps(self.truth, indent=2) + "\n", encoding="utf-8")
        return case_dir


def write_case(case: str, outdir: Path | str, **kw) -> Path:
    """Generate ``case`` with ``generate_case(case, **kw)`` and write it; returns ``outdir/<case>``."""
    return generate_case(case, **kw).write(outdir)


def _frame_times(
    rng: np.random.Generator, frames: int, frame_time_ms: float | None, variable: bool
) -> list[float]:
    """Per-frame increments in ms with Frame Time Vector semantics (first value 0)."""
    base = float(frame_time_ms) if frame_time_ms else float(rng.choice([500.0, 333.3, 250.0]))
    if not variable:
        return [0.0] + [base] * (frames - 1)
    # The operator doubles the pulse rate once the tubes start to fill (a common real pattern).
    switch = frames // 3
    return [0.0] + [base if i < switch else round(base / 2, 1) for i in range(1, frames)]


def _motion_path(rng: np.random.Generator, frames: int, motion_px: float) -> np.ndarray:
    """Per-frame ``[row, column]`` displacement in pixels: smooth, random, ``[0, 0]`` on frame 1, and at most
    ``motion_px`` long (Euclidean), reached on some frame.

    Why this shape: a patient on the table drifts and shifts slowly (breathing, discomfort when the cavity
    distends) rather than jittering, so each axis is a sum of three low-frequency sinusoids (0.3–1.5 cycles per
    loop) with random phases. Frame 1 is the reference, so every coordinate in truth.json holds for it.
    """
    if motion_px <= 0 or frames < 2:
        return np.zeros((frames, 2))
    t = np.arange(frames, dtype=np.float64) / frames
    path = np.zeros((frames, 2))
    for axis in range(2):
        for _ in range(3):
            freq, phase, amp = rng.uniform(0.3, 1.5), rng.uniform(0, 2 * np.pi), rng.uniform(0.3, 1.0)
            path[:, axis] += amp * np.sin(2 * np.pi * freq * t + phase)
    path -= path[0]
    longest = float(np.linalg.norm(path, axis=1).max())
    return path * (motion_px / longest) if longest > 0 else path


def generate_case(
    case: str,
    *,
    seed: int = 0,
    size: int = 512,
    frames: int = 48,
    noise: float = 1.0,
    frame_time_ms: float | None = None,
    flip: bool | None = None,
    monochrome1_spots: bool | None = None,
    spot_images: int = 3,
    variable_frame_time: bool | None = None,
    study_uid: str | None = None,
    motion_px: float = 0.0,
    monochrome1_loop: bool = False,
) -> GeneratedCase:
    """Generate one synthetic HSG study in memory, deterministic for (case, seed, options).

    The seed varies the anatomy (size, angle and position of the cavity, tube courses, defect placement),
    contrast timing and spill, so that analysis is not tuned to one look. ``flip`` mirrors the image left-right
    (Patient Orientation says so); ``None`` keeps the per-case default.

    ``motion_px`` > 0 moves the patient between loop frames by a smooth random translation of at most that many
    pixels (frame 1 is the reference; the shifts are in truth ``loop_motion``) so that the analysis's frame
    registration has something to correct. ``monochrome1_loop`` stores the loop as MONOCHROME1 (values
    ``4095 − v``) — **not conformant** (the RF IOD allows only MONOCHROME2) but what some vendors write, so
    the reader can be tested against it. Both are off by default: the committed samples do not use them.
    """
    if case not in CASES:
        raise ValueError(f"unknown sample case {case!r}; known cases: {', '.join(CASES)}")
    if not 64 <= size <= MAX_SIZE:
        raise ValueError(f"size must be between 64 and {MAX_SIZE} pixels, got {size}")
    if not 8 <= frames <= MAX_FRAMES:
        raise ValueError(f"frames must be between 8 and {MAX_FRAMES}, got {frames}")
    if spot_images not in SPOT_PHASES:
        raise ValueError(f"spot_images must be 2, 3 or 4, got {spot_images}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    if not 0 <= motion_px <= MAX_MOTION_FRACTION * size:
        raise ValueError(
            f"motion_px must be between 0 and {MAX_MOTION_FRACTION * size:g} (10 % of size), got {motion_px}"
        )
    flip = case in FLIPPED_BY_DEFAULT if flip is None else bool(flip)
    mono1 = case in MONOCHROME1_SPOTS_BY_DEFAULT if monochrome1_spots is None else bool(monochrome1_spots)
    variable = (
        case in VARIABLE_FRAME_TIME_BY_DEFAULT if variable_frame_time is None else bool(variable_frame_time)
    )

    # Separate streams: anatomy/timing must not change when only the noise level or frame timing is changed.
    # spawn(4)'s first three children are those spawn(3) gave, so adding the motion stream changed nothing else.
    anatomy_ss, noise_ss, timing_ss, motion_ss = np.random.SeedSequence(
        [int(seed), zlib.crc32(case.encode())]
    ).spawn(4)
    rng = np.random.default_rng(anatomy_ss)
    noise_rng = np.random.default_rng(noise_ss)
    timing_rng = np.random.default_rng(timing_ss)

    # Rounded to what the header can carry, so truth, header and drawing agree exactly.
    magnification = round(float(rng.uniform(1.12, 1.28)), 4)
    detector_spacing = float(f"{DETECTOR_FIELD_MM * float(rng.uniform(0.9, 1.0)) / size:.6g}")
    grid = PixelGrid(size, detector_spacing / magnification)
    affected = str(rng.choice(SIDES))
    spec = case_spec(case, affected)
    scene = Scene(spec, rng, grid, frames)
    frame_times = _frame_times(timing_rng, frames, frame_time_ms, variable)
    motion = _motion_path(np.random.default_rng(motion_ss), frames, float(motion_px))  # stored-image axes

    def finish(img: np.ndarray) -> np.ndarray:
        return img[..., ::-1] if flip else img

    def col(c: float) -> float:
        return (size - 1 - c) if flip else c

    # --- loop -------------------------------------------------------------------------------------------------
    loop = np.empty((frames, size, size), dtype=np.uint16)
    masks = np.empty((frames, size, size), dtype=bool)
    areas = np.empty(frames, dtype=np.int64)  # of the unshifted masks: motion must not move the spot timing
    for i in range(frames):
        r = scene.render(float(i))
        # Drawn unflipped: a shift toward higher stored columns is toward lower drawn columns when mirrored.
        shift = (float(motion[i, 0]), float(-motion[i, 1] if flip else motion[i, 1]))
        loop[i] = finish(to_pixels(scene, r, noise_rng, photons=FLUORO_PHOTONS, noise=noise, shift_rc=shift))
        mask = r.cavity_mask
        areas[i] = int(mask.sum())
        if any(shift):
            mask = shift_image(mask.astype(np.float32), shift) >= 0.5
        masks[i] = finish(mask)
    max_distension_frame = int(np.argmax(areas)) + 1

    # --- study context ----------------------------------------------------------------------------------------
    key: tuple = (case, seed, size, frames, noise, frame_time_ms, flip, mono1, spot_images, variable)
    if motion_px or monochrome1_loop:  # only then: the default variants keep their (committed) UIDs
        key += (float(motion_px), bool(monochrome1_loop))
    study_uid = study_uid or sd.derived_uid("study", *key)
    start = datetime(2026, 1, 5, 9, 0, 0) + timedelta(days=int(seed) % 365, minutes=int(rng.integers(0, 420)))
    c = scene.collimator_px
    collimator = dict(c)
    if flip:
        collimator["left"], collimator["right"] = size - 1 - c["right"], size - 1 - c["left"]
    orientation = ("R", "F") if flip else ("L", "F")
    ctx = sd.StudyContext(
        case=case,
        seed=seed,
        study_uid=study_uid,
        patient_name=f"HSG^{case.replace('_', ' ').title().replace(' ', '')}^^^SYNTHETIC",
        patient_id=f"SYN-{zlib.crc32(case.encode()) % 100000:05d}-{seed}",
        accession=f"SYN{zlib.crc32(repr(key).encode()) % 10**8:08d}",
        study_start=start,
        imager_pixel_spacing_mm=detector_spacing,
        magnification=magnification,
        patient_orientation=orientation,
        source_to_detector_mm=1150.0,
        kvp=float(rng.uniform(72, 82)),
        collimator=collimator,
        window=sd.study_window(loop, collimator),
    )
    loop_duration_s = sum(frame_times) / 1000.0
    fluoro_time_s = round(loop_duration_s + float(rng.uniform(15, 45)), 1)
    dap_rate = float(rng.uniform(0.08, 0.16))  # dGy·cm² per second of fluoroscopy
    loop_dap = round(dap_rate * loop_duration_s, 4)
    spot_dap = round(float(rng.uniform(0.25, 0.5)), 4)
    scout_dap = round(spot_dap * 0.9, 4)
    contrast_ml = round(float(rng.uniform(6, 14)), 1)

    datasets: list[Dataset] = []
    names: list[str] = []
    uids = {
        role: sd.derived_uid(role, *key)
        for role in ("scout_series", "loop_series", "spot_series", "scout", "loop")
    }
    scout_rendered = scene.render(-5.0)
    scout = finish(to_pixels(scene, scout_rendered, noise_rng, photons=SPOT_PHOTONS, noise=noise))
    datasets.append(
        sd.rf_image(
            ctx,
            scout,
            sop_uid=uids["scout"],
            series_uid=uids["scout_series"],
            series_number=1,
            instance_number=1,
            description="Scout",
            acquired=start + timedelta(seconds=30),
            dap_dgycm2=scout_dap,
            fluoro_time_s=0.0,
            frame_times_ms=None,
            contrast_ml=None,
        )
    )
    names.append("01_scout.dcm")
    loop_start = start + timedelta(seconds=60)
    datasets.append(
        sd.rf_image(
            ctx,
            loop,
            sop_uid=uids["loop"],
            series_uid=uids["loop_series"],
            series_number=2,
            instance_number=1,
            description="HSG fill sequence",
            acquired=loop_start,
            dap_dgycm2=loop_dap,
            fluoro_time_s=fluoro_time_s,
            frame_times_ms=frame_times,
            contrast_ml=contrast_ml,
            monochrome1=monochrome1_loop,
        )
    )
    names.append("02_loop.dcm")
    del loop  # the dataset holds the bytes now; keep peak memory near one copy for 1024² × 300 loops

    # --- spots -------------------------------------------------------------------------------------------------
    phases = SPOT_PHASES[spot_images]
    tube_done = [t.start_pos + t.stop_mm / t.speed_mm_per_frame for t in scene.tubes if t.stop_mm > 0]
    positions = {
        "early_filling": (scene.cavity_start + scene.cavity_full) / 2,
        "full_distension": float(max_distension_frame - 1),
        "tubal_filling": min(max(tube_done, default=scene.cavity_full + 6 * scene.k), frames - 1.0),
        "delayed": frames * 1.4,
    }
    spot_truth = []
    for n, phase in enumerate(phases, start=1):
        pos = positions[phase]
        rendered = scene.render(pos, catheter=phase != "delayed")
        img = finish(to_pixels(scene, rendered, noise_rng, photons=SPOT_PHOTONS, noise=noise))
        uid = sd.derived_uid("spot", n, *key)
        elapsed = loop_duration_s if phase == "delayed" else sum(frame_times[: int(pos) + 1]) / 1000.0
        acquired = loop_start + timedelta(seconds=elapsed + (300 if phase == "delayed" else 1) + n)
        common = dict(
            sop_uid=uid,
            series_uid=uids["spot_series"],
            series_number=3,
            instance_number=n,
            description="Spot images",
            acquired=acquired,
            dap_dgycm2=spot_dap,
        )
        if mono1:
            ds = sd.dx_spot(ctx, img, contrast_ml=contrast_ml, **common)
        else:
            ds = sd.rf_image(
                ctx, img, fluoro_time_s=fluoro_time_s, frame_times_ms=None, contrast_ml=contrast_ml, **common
            )
        datasets.append(ds)
        names.append(f"03_spot_{n}_{phase}.dcm")
        spot_truth.append(
            {
                "sop_instance_uid": uid,
                "sop_class_uid": ds.SOPClassUID,
                "photometric_interpretation": ds.PhotometricInterpretation,
                "phase": phase,
                "file": names[-1],
                "loop_frame_equivalent": None if phase == "delayed" else round(pos + 1, 2),
                "catheter_in_place": phase != "delayed",
            }
        )

    truth = _truth(
        scene,
        spec,
        ctx,
        uids,
        frames,
        frame_times,
        flip,
        orientation,
        detector_spacing,
        magnification,
        max_distension_frame,
        col,
        spot_truth,
        dose={
            "dap_dgycm2": round(
                scout_dap + loop_dap + spot_dap * len(phases) + dap_rate * (fluoro_time_s - loop_duration_s),
                3,
            ),
            "fluoro_time_s": fluoro_time_s,
            "loop_dap_dgycm2": loop_dap,
            "spot_dap_dgycm2": spot_dap,
            "scout_dap_dgycm2": scout_dap,
        },
        seed=seed,
        size=size,
        names=names,
    )
    # Keys of the optional variants appear only when used, so default truth (and the committed samples) stay
    # byte-identical to what earlier versions wrote.
    if monochrome1_loop:
        truth["loop_photometric_interpretation"] = "MONOCHROME1"
    if motion_px:
        truth["loop_motion"] = {
            "max_px": float(motion_px),
            "frame_shifts_px": [[round(float(r), 3), round(float(c), 3)] for r, c in motion],
        }
    return GeneratedCase(case, datasets, truth, masks, names)


def _rc(grid: PixelGrid, xy_mm: np.ndarray, col: Callable[[float], float]) -> list[list[float]]:
    """Patient-plane mm → ``[row, column]`` of the stored (possibly mirrored) image, 0.1 px precision."""
    rc = grid.to_pixels(np.asarray(xy_mm).reshape(-1, 2))
    return [[round(float(r), 1), round(float(col(c)), 1)] for r, c in rc]


def _truth(
    scene: Scene,
    spec: CaseSpec,
    ctx: sd.StudyContext,
    uids: dict[str, str],
    frames: int,
    frame_times: list[float],
    flip: bool,
    orientation: tuple[str, str],
    spacing: float,
    magnification: float,
    max_distension_frame: int,
    col: Callable[[float], float],
    spot_truth: list[dict],
    *,
    dose: dict[str, float],
    seed: int,
    size: int,
    names: list[str],
) -> dict:
    """The JSON-able ground truth (documented key by key in docs/sample-data.md)."""
    grid = scene.grid
    sides: dict[str, dict] = {}
    for side in SIDES:
        finding = spec.sides[side]
        tube = scene.tube_by_side.get(side)
        first_fill = scene.tube_first_fill_frame(side)
        spill_onset = tube.spill_onset + 1 if tube is not None and tube.spill_onset is not None else None
        if spill_onset is not None and spill_onset > frames:
            spill_onset = None
        entry = {
            "tube_present": finding.tube_present,
            "tube_filled": first_fill is not None,
            "first_fill_frame": first_fill,
            "patency": finding.patency,
            "occlusion_level": finding.occlusion_level,
            "spill": finding.spill if spill_onset is not None or finding.spill == "none" else "none",
            "spill_onset_frame": spill_onset,
            "hydrosalpinx": finding.hydrosalpinx,
            "hydrosalpinx_diameter_mm": None,
            "cornu": None,
            "fimbrial_end": None,
            "tube_path": [],
        }
        if tube is not None:
            pts = tube.raster.points_mm
            entry["cornu"] = _rc(grid, pts[0], col)[0]
            entry["fimbrial_end"] = _rc(grid, pts[-1], col)[0]
            idx = np.linspace(0, len(pts) - 1, 24).round().astype(int)
            entry["tube_path"] = _rc(grid, pts[idx], col)
            entry["tube_length_mm"] = round(tube.raster.length_mm, 1)
            if finding.hydrosalpinx:
                entry["hydrosalpinx_diameter_mm"] = round(float(tube.raster.radius_mm.max()) * 2, 1)
        sides[side] = entry
    defects = []
    for d in scene.defects:
        centre = scene.local_to_world(d.centre_local[None, :], 1.0)
        (row, column) = _rc(grid, centre, col)[0]
        defects.append(
            {
                "type": d.kind,
                "location": d.location,
                "size_mm": round(d.size_mm, 1),
                "row": row,
                "column": column,
                "first_frame": scene.defect_first_frame(d),
                "last_frame": frames,
            }
        )
    intra = scene.intravasation_frames()
    starts = np.cumsum(frame_times).tolist()
    return {
        "case": spec.name,
        "generator": {
            "module": "hsg_workstation.synthetic.study",
            "seed": seed,
            "size": size,
            "frames": frames,
        },
        "description": spec.notes,
        "study_instance_uid": ctx.study_uid,
        "loop_series_uid": uids["loop_series"],
        "loop_sop_instance_uid": uids["loop"],
        "scout_sop_instance_uid": uids["scout"],
        "files": names,
        "frames": frames,
        "frame_time_ms": frame_times,
        "frame_start_ms": [round(s, 1) for s in starts],
        "image_flipped": flip,
        "patient_orientation": list(orientation),
        "pixel_spacing_mm": round(spacing, 6),
        "magnification": round(magnification, 4),
        "pixel_spacing_at_patient_mm": round(spacing / magnification, 6),
        "collimator": ctx.collimator,
        "catheter_tip": _rc(grid, scene.tip_world, col)[0],
        "sides": sides,
        "cavity_class": spec.cavity_class,
        "cavity_fill_start_frame": int(np.ceil(scene.cavity_start)) + 1,
        "max_distension_frame": max_distension_frame,
        "intravasation": intra is not None,
        "intravasation_frames": list(intra) if intra else None,
        "intravasation_paths": [
            _rc(
                grid,
                v.raster.points_mm[np.linspace(0, len(v.raster.points_mm) - 1, 12).round().astype(int)],
                col,
            )
            for v in scene.veins
        ],
        "defects": defects,
        "dose": dose,
        "spot_images": spot_truth,
    }
