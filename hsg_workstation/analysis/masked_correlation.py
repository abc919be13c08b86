"""Masked translation registration (Padfield's masked normalised cross-correlation) on real FFTs.

Why not ``skimage.registration.phase_cross_correlation(..., reference_mask=, moving_mask=)`` itself: it is the
same algorithm (Padfield 2012, DOI 10.1109/TIP.2011.2181402), but computes its twelve transforms as complex FFTs of
real images. On a loop with patient motion the masked correlation was most of the analysis (independent held-out
seed 10270: 80 correlations, 4.7 of 9.5 s, 2.9 s of it in complex FFTs). Real transforms (``rfftn`` /
``irfftn``) carry the same information in half the numbers, so every transform and every spectrum product costs
about half. The arithmetic is otherwise step by step skimage 0.26's ``cross_correlate_masked`` and
``_masked_phase_cross_correlation`` (same overlap ratio, same tolerance, same tie rule), so a shift can differ
only where two correlation peaks tie within float32 rounding — and there this module recomputes the map in
float64 (independent tuning seed 48, frame 29 at half resolution: peaks 1.3e-5 apart, the real-FFT float32 map
picked the other one and moved that loop's maximal distension by ten frames).
``tests/analysis/test_masked_correlation.py`` compares the two; the evaluation's rows were compared on every
tuning loop (docs/analysis.md).
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft

OVERLAP_RATIO = 0.3  # skimage's default, as the registration used it


#: float32 transforms of a ~500² frame are accurate to ~1e-5 in the correlation (skimage's complex64 ones too):
#: when another place comes this close to the peak, the two are a tie within rounding and the map is computed
#: again in float64, which decides it by the data rather than by rounding.
NEAR_TIE = 5e-5


def masked_shift(reference: np.ndarray, moving: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The (row, column) shift that registers ``moving`` onto ``reference``, both masked by ``mask`` — what
    ``phase_cross_correlation(reference, moving, reference_mask=mask, moving_mask=mask)[0]`` returns, except
    that a peak tied within float32 rounding is decided in float64 (see :data:`NEAR_TIE`)."""
    if reference.shape != moving.shape or mask.shape != reference.shape or reference.ndim != 2:
        raise ValueError("masked_shift: reference, moving image and mask must be 2-D and of one shape")
    xcorr = _cross_correlate_masked(moving, reference, mask, mask)
    peak = xcorr.max()
    if xcorr.dtype == np.float32 and np.count_nonzero(xcorr >= peak - NEAR_TIE) > 1:
        xcorr = _cross_correlate_masked(moving.astype(np.float64), reference.astype(np.float64), mask, mask)
        peak = xcorr.max()
    maxima = np.stack(np.nonzero(xcorr == peak), axis=1)
    center = np.mean(maxima, axis=0)
    shifts = center - np.array(reference.shape) + 1
    return -shifts  # no size mismatch: the images have one shape


def _float_type(*arrays: np.ndarray) -> np.dtype:
    """skimage's ``_supported_float_type``: float32 stays float32 (half-precision is raised to it), the rest is
    float64."""
    if all(a.dtype in (np.float16, np.float32) for a in arrays):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _cross_correlate_masked(arr1: np.ndarray, arr2: np.ndarray, m1: np.ndarray, m2: np.ndarray) -> np.ndarray:
    """``skimage.registration._masked_phase_cross_correlation.cross_correlate_masked`` (mode "full", both axes)
    with real transforms."""
    float_dtype = _float_type(arr1, arr2)
    fixed_image = arr1.astype(float_dtype)
    moving_image = arr2.astype(float_dtype)
    fixed_mask = np.asarray(m1, dtype=bool)
    moving_mask = np.asarray(m2, dtype=bool)
    eps = np.finfo(float_dtype).eps

    final_shape = tuple(fixed_image.shape[ax] + moving_image.shape[ax] - 1 for ax in (0, 1))
    final_slice = tuple(slice(0, sz) for sz in final_shape)
    fast_shape = tuple(sfft.next_fast_len(sz, real=True) for sz in final_shape)

    def fft(x: np.ndarray) -> np.ndarray:
        return sfft.rfftn(x, s=fast_shape, axes=(0, 1))

    def ifft(x: np.ndarray) -> np.ndarray:
        return sfft.irfftn(x, s=fast_shape, axes=(0, 1))

    fixed_image[~fixed_mask] = 0.0
    moving_image[~moving_mask] = 0.0
    rotated_moving_image = moving_image[::-1, ::-1]
    rotated_moving_mask = moving_mask[::-1, ::-1]

    fixed_fft = fft(fixed_image)
    rotated_moving_fft = fft(rotated_moving_image)
    fixed_mask_fft = fft(fixed_mask.astype(float_dtype))
    rotated_moving_mask_fft = fft(rotated_moving_mask.astype(float_dtype))

    number_overlap_masked_px = ifft(rotated_moving_mask_fft * fixed_mask_fft)
    number_overlap_masked_px[:] = np.round(number_overlap_masked_px)
    number_overlap_masked_px[:] = np.fmax(number_overlap_masked_px, eps)
    masked_correlated_fixed_fft = ifft(rotated_moving_mask_fft * fixed_fft)
    masked_correlated_rotated_moving_fft = ifft(fixed_mask_fft * rotated_moving_fft)

    numerator = ifft(rotated_moving_fft * fixed_fft)
    numerator -= masked_correlated_fixed_fft * masked_correlated_rotated_moving_fft / number_overlap_masked_px

    fixed_squared_fft = fft(np.square(fixed_image))
    fixed_denom = ifft(rotated_moving_mask_fft * fixed_squared_fft)
    fixed_denom -= np.square(masked_correlated_fixed_fft) / number_overlap_masked_px
    fixed_denom[:] = np.fmax(fixed_denom, 0.0)

    rotated_moving_squared_fft = fft(np.square(rotated_moving_image))
    moving_denom = ifft(fixed_mask_fft * rotated_moving_squared_fft)
    moving_denom -= np.square(masked_correlated_rotated_moving_fft) / number_overlap_masked_px
    moving_denom[:] = np.fmax(moving_denom, 0.0)

    denom = np.sqrt(fixed_denom * moving_denom)

    numerator = numerator[final_slice]
    denom = denom[final_slice]
    number_overlap_masked_px = number_overlap_masked_px[final_slice]

    tol = 1e3 * eps * np.max(np.abs(denom), keepdims=True)
    nonzero_indices = denom > tol
    out = np.zeros_like(denom, dtype=float_dtype)
    out[nonzero_indices] = numerator[nonzero_indices] / denom[nonzero_indices]
    np.clip(out, a_min=-1, a_max=1, out=out)
    number_px_threshold = OVERLAP_RATIO * np.max(number_overlap_masked_px, keepdims=True)
    out[number_overlap_masked_px < number_px_threshold] = 0.0
    return out
