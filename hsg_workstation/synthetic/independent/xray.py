"""X-ray imaging chain: attenuation -> quanta -> scatter, noise, blur, glare -> detector response -> stored value.

- Attenuation (Beer-Lambert): A = mu_water * W + mu_iodine * I, W in water-equivalent mm (tissue, bone excess,
  metal, negative gas), I in mm of full-strength contrast (~300 mg I/ml). The effective mu's fall with kVp
  (iodine faster than water, above its K-edge). Beam hardening: A_eff = A / (1 + h A), a polychromatic beam
  attenuates less per mm behind thick objects.
- Primary quanta per pixel P = N0 * g_k * T_collimator * exp(-A_eff); g_k is the automatic-brightness-control
  gain of frame k (steps of 6-20 % between frames when the axis asks for it).
- Scatter: S = SPR * lowpass(P) with a 25-45 mm kernel (grid or no grid sets SPR).
- Quantum noise: Poisson (Gaussian approximation with variance = mean) on P + S, then detector blur (a 3-tap
  kernel: the noise is correlated like a real scintillator's), then veiling glare (a 2-8 % 8-15 mm halo),
  then electronic noise.
- Response: linear (value ~ signal) or logarithmic (value ~ ln signal), then scaled/clipped to Bits Stored, and
  inverted when the displayed polarity and the Photometric Interpretation require it (see ``stored_inverted``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .raster import Upsampler

DOSE_QUANTA = {"low": (120.0, 250.0), "normal": (300.0, 700.0), "high": (900.0, 2000.0)}


def stored_inverted(contrast_appears: str, photometric: str) -> bool:
    """Whether stored values must be inverted relative to the detector signal.

    The detector signal is LOW where contrast absorbs. Displayed "dark" contrast on MONOCHROME2 (low = black)
    keeps the signal; MONOCHROME1 displays low values white, so dark contrast needs inverted values there;
    "bright" contrast is the opposite in each case.
    """
    return (contrast_appears == "bright") != (photometric == "MONOCHROME1")


@dataclass
class XrayChain:
    n: int
    px: float
    kvp: float
    mu_water: float
    mu_iodine: float
    hardening: float
    n0: float  # unattenuated quanta per pixel per frame at gain 1
    spr: float
    scatter_sigma_mm: float
    glare: float
    glare_sigma_mm: float
    blur_w: float
    e_noise: float  # electronic noise, quanta-equivalent
    response: str  # linear | log
    bits: int
    invert: bool
    scale: float = 1.0
    offset: float = 0.0

    @classmethod
    def draw(cls, axes: dict, n: int, px: float, rng: np.random.Generator) -> XrayChain:
        kvp = float(rng.uniform(68, 95))
        lo, hi = DOSE_QUANTA[axes["dose"]]
        contrast_appears = axes["contrast_polarity"]
        return cls(
            n=n,
            px=px,
            kvp=round(kvp, 1),
            mu_water=0.0215 * (80.0 / kvp) ** 0.35,
            mu_iodine=0.3 * (80.0 / kvp) ** 1.2,  # ~9 cm^2/g x 0.3 g/ml behind a hardened beam
            hardening=float(rng.uniform(0.02, 0.05)),
            n0=float(rng.uniform(lo, hi)) * (px / 0.3) ** 2,  # a target; see normalise_dose
            spr=float(rng.uniform(0.3, 1.3)),
            scatter_sigma_mm=float(rng.uniform(25, 45)),
            glare=float(rng.uniform(0.02, 0.08)),
            glare_sigma_mm=float(rng.uniform(8, 15)),
            blur_w=float(rng.uniform(0.1, 0.24)),
            e_noise=float(rng.uniform(0.5, 3.0)),
            response=axes["detector_response"],
            bits=int(axes["bits_stored"]),
            invert=stored_inverted(contrast_appears, axes["photometric"]),
        )

    # -- low-pass via a coarse grid (scatter and glare are smooth) ------------------------------------------------
    def _lowpass_setup(self) -> None:
        if getattr(self, "_U", None) is not None:
            return
        f = max(self.n // 64, 1)
        self._f = f
        self._m = self.n // f
        self._U = Upsampler((self.n, self.n), (self._m, self._m))

    def block_mean(self, img: np.ndarray) -> np.ndarray:
        self._lowpass_setup()
        f, m = self._f, self._m
        n = m * f
        return img[:n, :n].reshape(m, f, n).sum(axis=1).reshape(m, m, f).sum(axis=2) * np.float32(
            1.0 / (f * f)
        )

    def smooth(self, small: np.ndarray, sigma_mm: float) -> np.ndarray:
        return ndi.gaussian_filter(small, sigma_mm / (self.px * self._f), mode="nearest", truncate=3.0)

    def blur(self, img: np.ndarray) -> np.ndarray:
        """3-tap separable detector blur [w, 1-2w, w], edges repeated; the w-weighted copy is shared by both
        neighbours (4 full-frame passes per axis)."""
        w = np.float32(self.blur_w)
        c = np.float32(1 - 2 * self.blur_w)
        out = img * c
        tmp = img * w
        out[1:] += tmp[:-1]
        out[:-1] += tmp[1:]
        out[0] += tmp[0]
        out[-1] += tmp[-1]
        res = out * c
        np.multiply(out, w, out=tmp)
        res[:, 1:] += tmp[:, :-1]
        res[:, :-1] += tmp[:, 1:]
        res[:, 0] += tmp[:, 0]
        res[:, -1] += tmp[:, -1]
        return res

    def attenuation(self, water: np.ndarray, iodine: np.ndarray) -> np.ndarray:
        """Line integral mu*t of one frame (before beam hardening)."""
        A = water * np.float32(self.mu_water)
        A += iodine * np.float32(self.mu_iodine)
        return A

    def expose(
        self, A: np.ndarray, collimator: np.ndarray, gain: float | None, rng: np.random.Generator | None
    ) -> np.ndarray:
        """Detected signal (quanta-equivalent, before the response curve) of one frame from its line integral.

        final = (1 - g) * blur(P + S + noise) + g * glare(P + S), with the smooth parts (scatter S, glare) done
        once on the coarse grid: blur(S) = S and the glare of the noise is negligible, so
        final = (1 - g) * blur(P + noise) + [ (1 - g) * S + g * glare(P + S) ].
        """
        P = A * np.float32(self.hardening)
        P += 1.0
        np.divide(A, P, out=P)  # beam hardening: A / (1 + h A)
        np.negative(P, out=P)
        np.exp(P, out=P)
        P *= collimator  # the caller's collimator map already carries N0 * gain when it passes gain=None
        if gain is not None:
            P *= np.float32(self.n0 * gain)
        small = self.block_mean(P)
        s_small = np.float32(self.spr) * self.smooth(small, self.scatter_sigma_mm)
        g_small = self.smooth(small + s_small, self.glare_sigma_mm)
        g = np.float32(self.glare)
        smooth = self._U(((1 - g) * s_small + g * g_small).astype(np.float32))
        if rng is not None:
            # quantum noise (variance = mean quanta P + S) and electronic noise in one draw: the electronic part
            # is added before the blur with its variance raised by the blur's noise-power loss, so that after
            # the blur it has the stated level (one normal draw per pixel instead of two)
            w = self.blur_w
            loss = ((1 - 2 * w) ** 2 + 2 * w * w) ** 2
            var = P + smooth
            var += np.float32(self.e_noise**2 / loss)
            np.sqrt(var, out=var)
            var *= rng.standard_normal(P.shape, dtype=np.float32)
            P += var
            np.maximum(P, 0.0, out=P)  # no negative quanta
        out = self.blur(P)
        out *= 1 - g
        out += smooth
        return out

    def normalise_dose(self, water: np.ndarray, open_field: np.ndarray) -> None:
        """Turn the drawn target (quanta per pixel behind the patient) into N0: the ABC's operating point."""
        A = np.float32(self.mu_water) * water[open_field]
        A = A / (1.0 + np.float32(self.hardening) * A)
        self.n0 = self.n0 / max(float(np.median(np.exp(-A))), 1e-6) if A.size else self.n0

    def response_curve(self, q: np.ndarray) -> np.ndarray:
        if self.response == "log":
            return np.log1p(np.maximum(q, 0.0))
        return q

    def calibrate(self, signal: np.ndarray, open_field: np.ndarray) -> None:
        """Fix the value mapping from a reference frame: its open field spans ~5 %..80 % of the stored range
        (headroom for ABC steps and for later, brighter frames)."""
        v = self.response_curve(signal[open_field] if open_field.any() else signal)
        lo, hi = np.percentile(v, [0.5, 99.5])
        top = float(2**self.bits - 1)
        self.scale = 0.75 * top / max(float(hi - lo), 1e-6)
        self.offset = 0.05 * top - lo * self.scale

    def to_stored(self, signal: np.ndarray) -> np.ndarray:
        """Stored values of one frame; ``signal`` is consumed (overwritten) to save full-frame passes."""
        top = float(2**self.bits - 1)
        v = np.maximum(signal, 0.0, out=signal)
        if self.response == "log":
            np.log1p(v, out=v)
        scale, offset = (-self.scale, top - self.offset) if self.invert else (self.scale, self.offset)
        v *= np.float32(scale)
        v += np.float32(offset + 0.5)  # + 0.5 then truncation = rounding (values are >= 0 after the clip)
        np.clip(v, 0.0, top + 0.49, out=v)
        return v.astype(np.uint16)
