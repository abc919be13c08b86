"""Variation axes of the independent HSG phantom: every axis is categorical (numbers are binned).

An evaluation breaks its results down per axis value, so each axis is a named key with a small fixed set of
values. :func:`sample_axes` draws all of them from the seed; the exact numbers inside a bin (pixel size, frame
rate, ...) are drawn later by the renderer from the same seed, so ``axes`` alone fixes the categories and the
seed fixes everything.

The weights give a mix that is useful for evaluation: about half of the sides spill, ~20 % of studies have
venous intravasation, ~35 % have filling defects, ~15 % of sides are hydrosalpinges.
"""

from __future__ import annotations

import numpy as np

# name -> (values, weights). Order matters only for readability; the draw order is the dict order.
AXES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    # timing / loop structure
    "loop_start": (
        ("before_injection", "catheter_filled", "catheter_and_cervix", "mid_fill"),
        (0.3, 0.3, 0.2, 0.2),
    ),
    "runs": (("single", "multiple"), (0.65, 0.35)),
    "last_image_hold": (("none", "duplicates"), (0.7, 0.3)),
    "frame_time_header": (("frame_time", "frame_time_vector"), (0.4, 0.6)),
    "frame_rate": (("0.5-2", "2-6", "6-15"), (0.35, 0.4, 0.25)),
    "frame_count": (("30-60", "60-90", "90-120"), (0.45, 0.35, 0.2)),
    # geometry
    "pixel_size": (("0.15-0.25", "0.25-0.35", "0.35-0.45"), (0.3, 0.4, 0.3)),
    "matrix": (("512", "768", "1024"), (0.4, 0.3, 0.3)),
    "image_flipped": (("no", "yes"), (0.65, 0.35)),
    "patient_motion": (("none", "translation", "translation_rotation"), (0.6, 0.2, 0.2)),
    # devices / background
    "catheter": (("balloon_catheter", "metal_cannula"), (0.6, 0.4)),
    "tenaculum": (("no", "yes"), (0.5, 0.5)),
    "speculum": (("none", "metal", "plastic"), (0.5, 0.3, 0.2)),
    "device_motion": (("static", "traction"), (0.6, 0.4)),
    "bowel_gas": (("none", "static", "moving"), (0.25, 0.3, 0.45)),
    "soft_tissue": (("thin", "average", "obese"), (0.3, 0.45, 0.25)),
    "collimator": (("rectangular", "circular", "rotated", "octagonal"), (0.35, 0.25, 0.2, 0.2)),
    "collimator_motion": (("static", "moving"), (0.7, 0.3)),
    # display / detector
    "contrast_polarity": (("dark", "bright"), (0.6, 0.4)),
    "photometric": (("MONOCHROME2", "MONOCHROME1"), (0.6, 0.4)),
    "bits_stored": (("10", "12", "16"), (0.3, 0.4, 0.3)),  # the XRF IOD enumerates 8, 10, 12, 16
    "detector_response": (("linear", "log"), (0.5, 0.5)),
    "abc_steps": (("none", "steps"), (0.6, 0.4)),
    "dose": (("low", "normal", "high"), (0.3, 0.45, 0.25)),
    # anatomy / findings
    "cavity_class": (
        ("normal", "arcuate", "septate", "bicornuate", "unicornuate", "t_shaped"),
        (0.55, 0.1, 0.1, 0.08, 0.08, 0.09),
    ),
    "left_class": (
        ("patent_free", "loculated", "proximal_occlusion", "distal_occlusion", "hydrosalpinx"),
        (0.40, 0.12, 0.18, 0.15, 0.15),
    ),
    "right_class": (
        ("patent_free", "loculated", "proximal_occlusion", "distal_occlusion", "hydrosalpinx"),
        (0.40, 0.12, 0.18, 0.15, 0.15),
    ),
    "spill_visibility": (("dense", "faint"), (0.55, 0.45)),
    "spill_drift": (("none", "crosses_midline"), (0.75, 0.25)),
    "tube_course": (("lateral", "crossing_cavity"), (0.75, 0.25)),
    "defects": (("none", "polyp", "submucous_myoma", "synechia", "multiple"), (0.65, 0.12, 0.1, 0.07, 0.06)),
    "defect_size": (("small", "large", "mixed"), (0.35, 0.45, 0.2)),
    "intravasation": (("none", "present"), (0.8, 0.2)),
    "scout": (("none", "present"), (0.7, 0.3)),
}

SIDE_CLASSES = AXES["left_class"][0]
# values an axis takes only through :func:`normalise_axes` (never drawn directly)
DERIVED_VALUES: dict[str, tuple[str, ...]] = {
    "left_class": ("absent",),
    "right_class": ("absent",),
    "defect_size": ("none",),
}


def axis_values(name: str) -> tuple[str, ...]:
    """Every value one axis can take, drawn or derived (KeyError names the axis when unknown)."""
    return (*AXES[name][0], *DERIVED_VALUES.get(name, ()))


def sample_axes(seed: int) -> dict:
    """Draw every variation axis from ``seed`` (deterministic: same seed, same dict)."""
    rng = np.random.default_rng([int(seed), 0xA8E5])
    out: dict[str, str] = {}
    for name, (values, weights) in AXES.items():
        p = np.asarray(weights, dtype=float)
        out[name] = str(values[int(rng.choice(len(values), p=p / p.sum()))])
    # small pixels on a small matrix give a field too small for an HSG (< 13 cm): take a bigger matrix
    if out["pixel_size"] == "0.15-0.25" and out["matrix"] == "512":
        out["matrix"] = "1024" if rng.random() < 0.6 else "768"
    return normalise_axes(out)


def normalise_axes(axes: dict) -> dict:
    """Complete a partial ``axes`` dict and make combinations consistent (returns a new dict).

    Rules: a unicornuate uterus has one side absent (``*_class`` = ``absent``, drawn side kept deterministic);
    several runs need a Frame Time Vector; spill drift needs a spilling side (otherwise ``none``).
    """
    a = dict(axes)
    for name, (values, _w) in AXES.items():
        a.setdefault(name, values[0])
        allowed = (*values, *DERIVED_VALUES.get(name, ()))
        if a[name] not in allowed:
            raise ValueError(f"axis {name!r}: value {a[name]!r} is not one of {allowed}")
    if a["cavity_class"] == "unicornuate":
        if a["left_class"] != "absent" and a["right_class"] != "absent":
            # the absent side follows from the other values so that it stays deterministic
            absent = "left" if (len(a["right_class"]) + len(a["matrix"])) % 2 == 0 else "right"
            a[f"{absent}_class"] = "absent"
    else:
        for side in ("left", "right"):
            if a[f"{side}_class"] == "absent":
                raise ValueError(f"axis {side}_class: 'absent' needs cavity_class 'unicornuate'")
    if a["runs"] == "multiple":
        a["frame_time_header"] = "frame_time_vector"
    if a["spill_drift"] == "crosses_midline" and "patent_free" not in (a["left_class"], a["right_class"]):
        a["spill_drift"] = "none"
    if a["defects"] == "none":
        a["defect_size"] = "none"
    elif a["defect_size"] == "none":
        a["defect_size"] = "large"
    return a
