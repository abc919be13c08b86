"""A small, self-contained HSG loop phantom for the analysis tests.

Independent of the sample generator in ``dicom_io.sample`` on purpose: the analysis must not be tuned to one
generator's look, so the tests exercise it on a second, differently drawn model too (other shapes, densities,
polarity, catheter and shutters).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from skimage.draw import disk, line_aa, polygon


@dataclass
class Phantom:
    frames: np.ndarray  # (T, rows, cols) float32, display values (MONOCHROME2 unless inverted)
    cavity_masks: np.ndarray  # (T, rows, cols) bool
    truth: dict = field(default_factory=dict)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(img, sigma)


def make_phantom(
    *,
    size: int = 192,
    frames: int = 36,
    seed: int = 0,
    noise: float = 4.0,
    spill: tuple[str, str] = ("free", "free"),  # image-left side, image-right side
    intravasation: bool = False,
    contrast_dark: bool = True,
    shift_px: float = 0.0,
    defect: bool = False,
) -> Phantom:
    """Image-left/right truth is given in ``truth['image_sides']``; the caller maps to patient sides."""
    rng = np.random.default_rng(seed)
    n = size
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    base = 600 + 150 * (xx / n) + 80 * np.sin(yy / n * 3.0)
    for _ in range(5):  # bone-like soft blobs
        r, c = rng.uniform(0.1, 0.9, 2) * n
        base += 120 * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * (n * 0.08) ** 2))
    cy, cx = n * 0.45, n * 0.5 + rng.uniform(-0.04, 0.04) * n
    w, h = n * 0.14, n * 0.18
    tri = np.array(
        [
            [cy - h / 2, cx - w],
            [cy - h / 2 + n * 0.03, cx],
            [cy - h / 2, cx + w],
            [cy + h / 2, cx + w * 0.15],
            [cy + h / 2, cx - w * 0.15],
        ]
    )
    full_cavity = np.zeros((n, n), bool)
    rr, cc = polygon(tri[:, 0], tri[:, 1], (n, n))
    full_cavity[rr, cc] = True
    if defect:
        rr, cc = disk((cy, cx), n * 0.025, shape=(n, n))
        full_cavity[rr, cc] = False
    t0 = 3  # pre-contrast frames
    fill_end = t0 + frames // 4
    tube_start = fill_end - 2
    tube_len_frames = frames // 5
    contrast = np.zeros((frames, n, n), np.float32)
    masks = np.zeros((frames, n, n), bool)
    sides = {}
    for k, (sgn, kind) in enumerate(((-1, spill[0]), (1, spill[1]))):
        cornu = (tri[0] if sgn < 0 else tri[2]).copy()
        end = cornu + np.array([-n * 0.02, sgn * n * 0.28])
        delay = k * 2
        onset = tube_start + tube_len_frames + delay if kind != "none" else None
        sides["left" if sgn < 0 else "right"] = {
            "spill": kind,
            "spill_onset_frame": None if onset is None else onset + 1,
        }
        for t in range(frames):
            lay = np.zeros((n, n), np.float32)
            prog = np.clip((t - tube_start - delay) / tube_len_frames, 0, 1)
            if prog > 0:
                tip = cornu + (end - cornu) * prog
                rr, cc, val = line_aa(int(cornu[0]), int(cornu[1]), int(tip[0]), int(tip[1]))
                ok = (rr >= 0) & (rr < n) & (cc >= 0) & (cc < n)
                lay[rr[ok], cc[ok]] = np.maximum(lay[rr[ok], cc[ok]], val[ok])
            if onset is not None and t >= onset:
                age = t - onset + 1
                if kind == "free":
                    rad = min(n * 0.02 + age * n * 0.012, n * 0.14)
                    dens = 0.6
                else:
                    rad = min(n * 0.02 + age * n * 0.008, n * 0.045)
                    dens = 0.9
                blob = np.exp(
                    -((yy - end[0] - (age * 0.6 if kind == "free" else 0)) ** 2 + (xx - end[1]) ** 2)
                    / (2 * rad**2)
                )
                lay = np.maximum(lay, dens * blob)
            contrast[t] += lay
    for t in range(frames):
        f = np.clip((t - t0 + 1) / (fill_end - t0), 0, 1)
        if f > 0:
            grow = full_cavity & (yy > cy + h / 2 - f * (h + n * 0.04))
            masks[t] = grow
            contrast[t] = np.maximum(contrast[t], grow.astype(np.float32))
        if intravasation:
            start = fill_end
            amp = np.clip(1 - abs(t - start - 4) / 5, 0, 1)
            if amp > 0:
                lace = np.zeros((n, n), np.float32)
                r2 = np.random.default_rng(seed + 99)
                for _ in range(14):
                    r0, c0 = cy + h / 2 + r2.uniform(0, n * 0.2), cx + r2.uniform(-n * 0.2, n * 0.2)
                    r1, c1 = r0 + r2.uniform(-n * 0.1, n * 0.1), c0 + r2.uniform(-n * 0.1, n * 0.1)
                    rr, cc, v = line_aa(
                        int(r0), int(c0), int(np.clip(r1, 0, n - 1)), int(np.clip(c1, 0, n - 1))
                    )
                    ok = (rr < n) & (cc < n)
                    lace[rr[ok], cc[ok]] = v[ok]
                contrast[t] = np.maximum(contrast[t], 0.5 * amp * lace)
    out = np.empty((frames, n, n), np.float32)
    from scipy.ndimage import shift as nd_shift

    for t in range(frames):
        c = _blur(contrast[t], 0.8)
        img = base - 300 * c if contrast_dark else base + 300 * c
        if shift_px and t > frames // 2:
            img = nd_shift(img, (shift_px, -shift_px), mode="nearest")
        img = img + rng.normal(0, noise, img.shape)
        img[:, : n // 16] = 50.0  # collimator shutters
        img[:, -n // 16 :] = 50.0
        out[t] = img
    truth = {"image_sides": sides, "max_distension_frame": fill_end + 1}
    return Phantom(out, masks, truth)
