"""Detector model for the synthetic HSG: attenuation → photon counts with Poisson noise → 12-bit log pixel values.

Why log: fluoroscopy chains store (approximately) the logarithm of the detected dose, so a pixel value is linear
in the attenuation along the ray — contrast thickness is then proportional to darkening, which the analysis can
rely on. Why this polarity: on a fluoroscopy monitor iodine is black on a light background; with MONOCHROME2
that means *low* stored values for contrast, so the file's default window shows it the way radiologists expect.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.filters import gaussian

from hsg_workstation.synthetic.scene import IODINE_MU_PER_MM, Rendered, Scene

BITS_STORED = 12
MAX_VALUE = (1 << BITS_STORED) - 1
# Photons per pixel reaching an unattenuated detector element, before the body (A = 0).
FLUORO_PHOTONS = 1500.0  # low-dose pulsed fluoroscopy: visibly grainy, like a real loop
SPOT_PHOTONS = 30000.0  # spot exposures use ~10x the dose per frame
LOG_LOW = 8.0  # attenuation mapped to 0
LOG_HIGH = 1.0  # attenuation mapped to MAX_VALUE


def shift_image(image: np.ndarray, shift_rc: tuple[float, float], *, order: int = 1) -> np.ndarray:
    """Translate ``image`` by ``(rows, columns)`` pixels (sub-pixel, bilinear for ``order=1``); the edges that
    come into view repeat the nearest border pixel, like tissue continuing outside the drawn field."""
    if not any(shift_rc):
        return image
    return ndimage.shift(image, shift_rc, order=order, mode="nearest", prefilter=False)


def to_pixels(
    scene: Scene,
    rendered: Rendered,
    rng: np.random.Generator,
    *,
    photons: float,
    noise: float,
    shift_rc: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Return a uint16 frame (unflipped) with values in 0..4095; contrast is dark, background bright.

    ``shift_rc`` moves the *patient* (anatomy, contrast, catheter) by that many pixels before detection, as
    patient or table motion does; the collimator blades and the heel gradient belong to the tube and the
    detector and stay put — so a registration that locks onto the shutter edges is visibly wrong.
    """
    atten = scene.static_atten + rendered.device_atten + IODINE_MU_PER_MM * rendered.contrast_mm
    atten = shift_image(atten, shift_rc)
    expected = photons * np.exp(-atten) * scene.shutter
    if noise > 0:
        # noise scales the quantum noise: noise=2 → a quarter of the photons.
        n_eff = photons / (noise * noise)
        counts = rng.poisson(expected * (n_eff / photons)).astype(np.float32) * (photons / n_eff)
        # Scintillator blur correlates the noise a little, as on a real detector.
        counts = gaussian(counts, sigma=0.5, preserve_range=True)
    else:
        counts = expected.astype(np.float32)
    log_i = np.log(np.maximum(counts, 0.5) / photons)  # = -attenuation (+ noise)
    value = (log_i + LOG_LOW) / (LOG_LOW - LOG_HIGH) * MAX_VALUE
    return np.clip(np.rint(value), 0, MAX_VALUE).astype(np.uint16)
