"""Binary morphology with the 3×3 cross by array shifts.

Why: the analysis runs a few of these per frame on ~256² bool frames, where ``scipy.ndimage.binary_*`` (with
``iterations``) costs ~0.5–1 ms per call in set-up and per-iteration passes; shifted ``&`` / ``|`` on the whole
frame give identical results (outside of the image counted as background, as scipy's default ``border_value=0``)
several times faster. Equality with scipy is tested in tests/analysis/test_morph.py.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def _dilate1(m: np.ndarray) -> np.ndarray:
    d = m.copy()
    d[1:, :] |= m[:-1, :]
    d[:-1, :] |= m[1:, :]
    d[:, 1:] |= m[:, :-1]
    d[:, :-1] |= m[:, 1:]
    return d


def _erode1(m: np.ndarray) -> np.ndarray:
    e = m.copy()
    e[1:, :] &= m[:-1, :]
    e[:-1, :] &= m[1:, :]
    e[:, 1:] &= m[:, :-1]
    e[:, :-1] &= m[:, 1:]
    e[0, :] = e[-1, :] = False
    e[:, 0] = e[:, -1] = False
    return e


def dilate_cross(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """== ``ndi.binary_dilation(mask, iterations=n)`` (default cross structure) for a 2-D mask."""
    d = np.asarray(mask, bool)
    if iterations < 1:
        return d.copy()
    for _ in range(iterations):
        d = _dilate1(d)
    return d


def open_cross(mask: np.ndarray) -> np.ndarray:
    """== ``ndi.binary_opening(mask, structure=disk(1))`` for a 2-D mask."""
    return _dilate1(_erode1(np.asarray(mask, bool)))


def hysteresis(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """== ``skimage.filters.apply_hysteresis_threshold`` (components of ``> low`` that hold a ``> high``
    pixel), with a bincount-free lookup instead of ``ndi.sum`` over every label."""
    low = min(low, high)
    mask_low = image > low
    lab, n = ndi.label(mask_low)
    keep = np.zeros(n + 1, bool)
    keep[lab[image > high]] = True
    keep[0] = False
    return keep[lab]


def label_means(values: np.ndarray, lab: np.ndarray, n: int) -> np.ndarray:
    """Mean of ``values`` per label 1..n (== ``ndi.mean(values, lab, index=arange(1, n + 1))``)."""
    sel = lab > 0
    ls = lab[sel]
    counts = np.bincount(ls, minlength=n + 1)[1:]
    sums = np.bincount(ls, weights=values[sel].astype(np.float64), minlength=n + 1)[1:]
    return sums / np.maximum(counts, 1)


def label_sizes(lab: np.ndarray, n: int) -> np.ndarray:
    """Pixel count per label 1..n."""
    return np.bincount(lab.ravel(), minlength=n + 1)[1:]
