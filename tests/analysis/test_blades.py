"""Collimator blades that close during the run: the strip they cover is no field (and no contrast).

Drawn from detector physics (quanta behind lead: 0.1 % of the open field, plus scatter), not from either renderer.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.opacity import closing_blades, compute_opacity

SIZE = 128
FRAMES = 30
TOP = 12  # rows behind the static top blade
CLOSE = 14  # rows the top blade moves in by the last frame


def _loop(*, moving: bool, dark_band: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(stored frames, iodine mm of the last frame): a static collimator on all four sides; with ``moving`` the
    top blade closes by ``CLOSE`` rows from mid-run on; with ``dark_band`` the anatomy along the top blade is
    dense (bone as dark as a blade's edge on every frame: must stay field)."""
    rng = np.random.default_rng(seed)
    rr, cc = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    water = 120.0 + 40.0 * cc / SIZE
    if dark_band:
        water += 350.0 * ((rr > TOP) & (rr < TOP + 10))
    frames = np.empty((FRAMES, SIZE, SIZE), np.float32)
    iodine = np.zeros((SIZE, SIZE), np.float32)
    for k in range(FRAMES):
        u = k / (FRAMES - 1)
        iodine = 3.0 * (((rr - 0.55 * SIZE) ** 2 + (cc - 0.5 * SIZE) ** 2) <= (4 + 14 * min(1.0, 2 * u)) ** 2)
        top = TOP + (int(round(CLOSE * max(0.0, (u - 0.5) / 0.5))) if moving else 0)
        lead = np.ones((SIZE, SIZE), np.float32)
        lead[:top] = lead[-10:] = lead[:, :10] = lead[:, -10:] = 1e-3
        primary = 2.0e5 * lead * np.exp(-(0.012 * water + 0.6 * iodine))
        q = primary + 0.5 * ndi.gaussian_filter(primary, 10.0)
        q = np.maximum(q + np.sqrt(q) * rng.standard_normal(q.shape).astype(np.float32), 1.0)
        frames[k] = 200.0 + 1.5 * q
    return frames, iodine


def _strip() -> np.ndarray:
    m = np.zeros((SIZE, SIZE), bool)
    m[TOP : TOP + CLOSE, 10:-10] = True
    return m


def test_strip_under_a_closing_blade_is_not_contrast() -> None:
    frames, iodine = _loop(moving=True)
    op = compute_opacity(frames)
    strip = _strip()
    inner = strip.copy()
    inner[:, :14] = inner[:, -14:] = False
    assert op.shutter[inner].mean() > 0.95  # the covered strip is left out ...
    assert not (op.opacity[-1][strip] > 4 * op.noise).any()  # ... and reads as no contrast
    assert any("blades moved" in w for w in op.warnings)
    # the cavity stays contrast, and the field below the strip stays field
    assert (op.opacity[-1][iodine > 2] > 8 * op.noise).mean() > 0.95
    assert not op.shutter[TOP + CLOSE + 4 : -14, 14:-14].any()


def test_still_blades_and_dark_anatomy_beside_them_stay_as_they_are() -> None:
    for dark in (False, True):
        frames, _ = _loop(moving=False, dark_band=dark)
        t = frames.shape[0]
        sample = ndi.uniform_filter(frames[np.linspace(0, t - 1, 12).round().astype(int)], (1, 5, 5))
        shutter = np.zeros((SIZE, SIZE), bool)
        shutter[:TOP] = shutter[-10:] = shutter[:, :10] = shutter[:, -10:] = True
        assert not closing_blades(sample, shutter).any()
