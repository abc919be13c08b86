"""Block means and row medians: the array helpers every stage of the analysis shares.

Split out of ``opacity.py`` (which had grown past 700 lines with issue 10) so that the registration
(``registration.py``) and the opacity stack can both use them without importing each other.
"""

from __future__ import annotations

import sys

import numpy as np

#: ``factor`` -> (word holding ``factor`` 16-bit lanes, the multiplier that sums them into the top lane, its shift)
_SWAR_WORD = {
    2: (np.uint32, np.uint32(0x00010001), np.uint32(16)),
    4: (np.uint64, np.uint64(0x0001000100010001), np.uint64(48)),
}
_LITTLE_ENDIAN = sys.byteorder == "little"


def downsample(img: np.ndarray, factor: int, max_value: int | None = None) -> np.ndarray:
    """Block mean by an integer factor (crops the ragged edge); float32.

    Strided additions rather than reshape-mean: ten times faster on a 1024² uint16 frame (0.6 vs 6 ms), which
    matters because every frame of the loop passes through here. ``max_value`` (e.g. 4095 for 12 bits stored,
    when the decoder guarantees it) lets unsigned block sums that stay below 65536 accumulate in 16 bits: half
    the memory traffic, the same integers.
    """
    if factor <= 1:
        return np.asarray(img, dtype=np.float32)
    r, c = (img.shape[0] // factor) * factor, (img.shape[1] // factor) * factor
    img = img[:r, :c]
    if img.dtype in (np.uint8, np.uint16, np.int8, np.int16) and factor * factor * 65536 <= 2**24:
        # stored values straight from the decoder: sum in 32-bit integers (exact, and the float32 sums below are
        # exact integers too at these sizes, so the result is identical), one conversion at the end
        # Rows first (whole contiguous rows, with the widening in the first add), then columns: 0.3 ms instead of
        # 0.5 ms per 1024² frame. Integer sums are exact in any order, so the values are the same.
        acc = np.int32 if img.dtype.kind == "i" else np.uint32
        if img.dtype.kind == "u" and max_value is not None and 0 <= max_value * factor * factor <= 65535:
            acc = np.uint16
        rows_in = img.reshape(r // factor, factor, c)
        rsum = np.add(rows_in[:, 0], rows_in[:, 1], dtype=acc)
        for k in range(2, factor):
            rsum += rows_in[:, k]
        if acc is np.uint16 and factor in _SWAR_WORD and _LITTLE_ENDIAN:
            # The ``factor`` adjacent 16-bit column sums of a block lie in one machine word: multiplying the word
            # by 0x0001...0001 accumulates the lanes into its top lane, which holds their exact sum because no
            # partial sum exceeds 65535 (``max_value`` guarantees it), so no carry crosses a lane (session 8:
            # 0.20 -> 0.16 ms a 1024² frame; the same integers).
            word, ones, top = _SWAR_WORD[factor]
            isum = (rsum.view(word) * ones) >> top
            out = isum.astype(np.float32)
            out *= 1.0 / (factor * factor)
            return out
        cols_in = rsum.reshape(r // factor, c // factor, factor)
        isum = np.add(cols_in[..., 0], cols_in[..., 1])
        for k in range(2, factor):
            isum += cols_in[..., k]
        out = isum.astype(np.float32)
        out *= 1.0 / (factor * factor)
        return out
    return downsample_frames(img[None], factor)[0]


def downsample_frames(stack: np.ndarray, factor: int) -> np.ndarray:
    """:func:`downsample` of each frame of a float (frames, rows, columns) stack: the same float32 additions in
    the same order per pixel, so each frame equals ``downsample(frame, factor)``."""
    if factor <= 1:
        return np.asarray(stack, dtype=np.float32)
    r, c = (stack.shape[1] // factor) * factor, (stack.shape[2] // factor) * factor
    img = stack[:, :r, :c]
    cols = img[..., 0::factor].astype(np.float32)
    for k in range(1, factor):
        cols += img[..., k::factor]
    out = cols[:, 0::factor].copy()
    for k in range(1, factor):
        out += cols[:, k::factor]
    out *= 1.0 / (factor * factor)
    return out


def working_factor(rows: int, columns: int, target: int = 256) -> int:
    """Integer block size that brings the long side near ``target`` working pixels."""
    return max(1, int(round(max(rows, columns) / target)))


def row_medians_inplace(x: np.ndarray) -> np.ndarray:
    """== ``np.median(x, axis=1)`` for a finite 2-D float array, partitioning ``x`` in place around the upper
    middle only (the lower middle of an even row is then the maximum of the part below it): one selection per
    row instead of numpy's two, no copy."""
    n = x.shape[1]
    k = n // 2
    x.partition(k, axis=1)
    upper = x[:, k]
    if n % 2:
        return upper.copy()
    lower = x[:, :k].max(axis=1)
    return np.mean(np.stack([lower, upper]), axis=0)  # numpy's own mean of the two middle values


def median_below(values: np.ndarray, threshold: float | np.floating) -> bool:
    """``np.median(values) < threshold`` for a finite 1-D array, mostly by counting instead of selecting.

    Why: the registration's screens ask only whether a frame's residual median is under a bar, once per frame;
    a count of the values under it answers that in one pass (a fifth of a selection's cost). Exact: for an
    odd count the median is the middle order statistic, under the bar iff more than half the values are; for
    an even count it is the mean of the two middle ones, which lies between them — only when the bar falls
    between the two (exactly half the values under it) are they selected, as ``np.median`` does. Comparisons
    are the same as on the median (numpy 2 compares a float32 array with a Python float in float32, as it does
    a float32 scalar).
    """
    v = np.asarray(values)
    n = v.size
    if n == 0 or v.dtype.kind != "f":
        return bool(np.median(v) < threshold)
    below = int(np.count_nonzero(v < threshold))
    k = n // 2
    if n % 2:
        return below >= k + 1
    if below >= k + 1:
        return True
    if below <= k - 1:
        return False
    return bool(np.median(v) < threshold)
