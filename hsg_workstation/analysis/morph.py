"""Morphology by array shifts: the 3×3 cross, and square (box) maxima / minima.

Why: the analysis runs a few of these per frame on ~256² frames, where ``scipy.ndimage.binary_*`` (with
``iterations``) costs ~0.5–1 ms per call in set-up and per-iteration passes, and ``maximum_filter`` /
``minimum_filter`` run a generic per-line algorithm (0.18 ms for a 7×7 square on a 160×220 bool crop, 0.57 ms for
a 9×9 maximum of float32); shifted ``&`` / ``|`` / ``np.maximum`` on whole arrays give identical results several
times faster. Equality with scipy is tested in tests/analysis/test_morph.py.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def _dilate1(m: np.ndarray) -> np.ndarray:
    d = m.copy()
    d[..., 1:, :] |= m[..., :-1, :]
    d[..., :-1, :] |= m[..., 1:, :]
    d[..., :, 1:] |= m[..., :, :-1]
    d[..., :, :-1] |= m[..., :, 1:]
    return d


def _erode1(m: np.ndarray) -> np.ndarray:
    e = m.copy()
    e[..., 1:, :] &= m[..., :-1, :]
    e[..., :-1, :] &= m[..., 1:, :]
    e[..., :, 1:] &= m[..., :, :-1]
    e[..., :, :-1] &= m[..., :, 1:]
    e[..., 0, :] = e[..., -1, :] = False
    e[..., :, 0] = e[..., :, -1] = False
    return e


def dilate_cross(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """== ``ndi.binary_dilation(mask, iterations=n)`` (default cross structure) for a 2-D mask; a 3-D mask is a
    stack of frames dilated each on its own."""
    return _iterate(_dilate1, mask, iterations)


def _iterate(step, mask: np.ndarray, iterations: int) -> np.ndarray:
    """``step`` applied ``iterations`` times to a bool copy of ``mask`` (a copy even for 0)."""
    out = np.asarray(mask, bool)
    if iterations < 1:
        return out.copy()
    for _ in range(iterations):
        out = step(out)
    return out


def open_cross(mask: np.ndarray) -> np.ndarray:
    """== ``ndi.binary_opening(mask, structure=disk(1))`` for a 2-D mask."""
    return _dilate1(_erode1(np.asarray(mask, bool)))


#: 4-connectivity inside each frame of a (frames, rows, columns) stack, none across frames
FRAME_CROSS = np.zeros((3, 3, 3), bool)
FRAME_CROSS[1] = ndi.generate_binary_structure(2, 1)


def label_frames(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """``ndi.label`` of each frame of a stack on its own (one C call; labels are unique across frames).

    == ``ndi.label(mask, structure=FRAME_CROSS)``, computed as one 2-D labelling of the frames stacked one
    under the other with an empty row between them (session 5): scipy's 2-D pass is ~10 % faster than its 3-D
    pass over a structure whose other planes are empty, and raster order over the stacked frames is the 3-D
    raster order, so the labels are the same numbers. The result is a view that skips the separating rows.
    """
    if mask.ndim == 2:
        return ndi.label(mask)
    if mask.ndim != 3 or mask.size == 0:
        return ndi.label(mask, structure=FRAME_CROSS)
    t, h, w = mask.shape
    gapped = np.zeros((t, h + 1, w), bool)
    gapped[:, :h] = mask
    lab, n = ndi.label(gapped.reshape(t * (h + 1), w))
    return lab.reshape(t, h + 1, w)[:, :h], n


def hysteresis(image: np.ndarray, low: float, high: float) -> np.ndarray:
    """== ``skimage.filters.apply_hysteresis_threshold`` (components of ``> low`` that hold a ``> high``
    pixel), with a bincount-free lookup instead of ``ndi.sum`` over every label."""
    low = min(low, high)
    mask_low = image > low
    lab, n = label_frames(mask_low)  # a 3-D stack: per frame
    keep = np.zeros(n + 1, bool)
    keep[lab[image > high]] = True
    keep[0] = False
    return np.take(keep, lab)  # == keep[lab]; take skips fancy indexing's set-up (1.7 vs 3.0 ms on 30×256²)


def hysteresis_near_seeds(image: np.ndarray, low: float, high: float, margin: int = 8) -> np.ndarray:
    """== :func:`hysteresis` (per frame for a stack), labelling only the box around the ``> high`` seeds.

    Why: the seeds are the contrast (noise seldom reaches the high threshold), while the ``> low`` mask has
    noise specks all over the frame; labelling the whole frame was most of the cost. Exact: a component that
    holds a seed lies inside the box unless its part in the box reaches a box side that is not the frame edge —
    then the whole frame is labelled instead.
    """
    low = min(low, high)
    seeds = image > high
    out = np.zeros(image.shape, bool)
    any_seed = seeds.any(axis=0) if image.ndim == 3 else seeds
    rows, cols = np.flatnonzero(any_seed.any(axis=1)), np.flatnonzero(any_seed.any(axis=0))
    if rows.size == 0:
        return out
    h, w = image.shape[-2:]
    r0, r1 = max(0, rows[0] - margin), min(h, rows[-1] + 1 + margin)
    c0, c1 = max(0, cols[0] - margin), min(w, cols[-1] + 1 + margin)
    found = hysteresis(image[..., r0:r1, c0:c1], low, high)
    escapes = (
        (r0 > 0 and found[..., 0, :].any())
        or (r1 < h and found[..., -1, :].any())
        or (c0 > 0 and found[..., :, 0].any())
        or (c1 < w and found[..., :, -1].any())
    )
    if escapes:
        return hysteresis(image, low, high)
    out[..., r0:r1, c0:c1] = found
    return out


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


def _window_reduce(x: np.ndarray, radius: int, axis: int, op: np.ufunc, fill: object) -> np.ndarray:
    """``op`` over the window ``[i - radius, i + radius]`` along ``axis``, positions outside the array ignored.

    For max / min (and or / and) that is exactly scipy's ``maximum_filter1d`` / ``minimum_filter1d`` in its
    default ``reflect`` mode: the mirrored values lie inside the window anyway. Doubling (windows of 1, 2, 4 …
    from two halves each) and one last overlap of two power-of-two windows: log2(2r + 1) + 1 passes.

    The doubling passes run on the padded array *flattened* (session 5): a shift by ``span`` along ``axis`` is a
    shift by ``span`` × the inner stride of the flat array, so each pass is one contiguous 1-D operation instead
    of one short operation per row (the row-wise passes along the last axis were most of the cost). Windows that
    run past a line's padding into the next line are computed too but never read: every output's window lies
    inside its own padded line. Same operations on the same values, so the same result.
    """
    length = 2 * radius + 1
    shape = x.shape
    axis %= x.ndim
    n = shape[axis]
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1 :], dtype=np.int64))
    width = n + 2 * radius
    p = np.full((outer, width, inner), fill, dtype=x.dtype)
    p[:, radius : radius + n, :] = x.reshape(outer, n, inner)
    total = p.size
    f, span = p.reshape(-1), 1
    while 2 * span <= length:
        g = np.empty(total, dtype=x.dtype)  # f[j] now covers [j, j + 2 span - 1] (in steps of ``inner``)
        cut = total - span * inner
        op(f[:cut], f[span * inner :], out=g[:cut])
        g[cut:] = fill  # the tail: windows past the last line, never read
        f = g
        span *= 2
    ff = f.reshape(outer, width, inner)
    out = op(ff[:, 0:n, :], ff[:, length - span : length - span + n, :])
    return out.reshape(shape)


def square_max(image: np.ndarray, radius: int) -> np.ndarray:
    """== ``ndi.maximum_filter(image, size=2 * radius + 1)`` for a 2-D float or bool array (bool: square dilation).

    A 3-D array is a stack of frames: each frame is filtered on its own (size ``(1, 2r + 1, 2r + 1)``).
    """
    if radius <= 0:
        return image.copy()
    if image.dtype == bool:
        op, fill = np.logical_or, False
    else:
        op, fill = np.maximum, -np.inf if image.dtype.kind == "f" else np.iinfo(image.dtype).min
    return _window_reduce(
        _window_reduce(image, radius, image.ndim - 2, op, fill), radius, image.ndim - 1, op, fill
    )


def square_min(image: np.ndarray, radius: int) -> np.ndarray:
    """== ``ndi.minimum_filter(image, size=2 * radius + 1)`` for a 2-D float or bool array (bool: square erosion,
    outside the array ignored — scipy's reflect mode, not binary_erosion's background border). 3-D: per frame."""
    if radius <= 0:
        return image.copy()
    if image.dtype == bool:
        op, fill = np.logical_and, True
    else:
        op, fill = np.minimum, np.inf if image.dtype.kind == "f" else np.iinfo(image.dtype).max
    return _window_reduce(
        _window_reduce(image, radius, image.ndim - 2, op, fill), radius, image.ndim - 1, op, fill
    )


def erode_cross(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """== ``ndi.binary_erosion(mask, iterations=n)`` (default cross structure, outside = background)."""
    return _iterate(_erode1, mask, iterations)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """== ``ndi.binary_fill_holes(mask)`` for a 2-D mask (a 3-D mask: each frame on its own): background not
    4-connected to the image border is filled.

    scipy grows the outside inwards by iterated dilation (~2 ms on a 256² frame); one labelling of the
    background and a lookup of the labels on the border give the same mask in a tenth of that.
    """
    m = np.asarray(mask, bool)
    if m.size == 0:
        return m.copy()
    lab, n = label_frames(~m)  # a 3-D stack: each frame on its own, its own border
    outside = np.zeros(n + 1, bool)
    for edge in (lab[..., 0, :], lab[..., -1, :], lab[..., :, 0], lab[..., :, -1]):
        outside[edge] = True
    outside[0] = False
    return ~np.take(outside, lab)  # == ~outside[lab], faster (see hysteresis)


def median3(image: np.ndarray) -> np.ndarray:
    """== ``ndi.median_filter(image, size=3)`` (reflect mode) for a finite 2-D array, by a 19-exchange
    median-of-9 network on shifted views (~1 ms instead of ~5 ms on a 256² frame)."""
    img = np.asarray(image)
    p = np.pad(img, 1, mode="symmetric")  # scipy's "reflect" repeats the edge pixel, as numpy's "symmetric"
    h, w = img.shape
    v = [p[r : r + h, c : c + w] for r in range(3) for c in range(3)]

    def sort2(a: int, b: int) -> None:
        lo = np.minimum(v[a], v[b])
        v[b] = np.maximum(v[a], v[b])
        v[a] = lo

    for a, b in (
        (1, 2), (4, 5), (7, 8), (0, 1), (3, 4), (6, 7), (1, 2), (4, 5), (7, 8), (0, 3),
        (5, 8), (4, 7), (3, 6), (1, 4), (2, 5), (4, 7), (4, 2), (6, 4), (4, 2),
    ):  # fmt: skip
        sort2(a, b)
    return np.array(v[4], dtype=img.dtype)


def mask_box(mask: np.ndarray, margin: int) -> tuple[slice, slice] | None:
    """Bounding box of a 2-D ``mask`` grown by ``margin`` (clipped to the frame), None when empty. Filtering only
    this box gives the whole-frame result exactly: outside it the mask is empty, and ``margin`` of zeros covers
    what a filter of radius < ``margin`` reads (at a frame edge the box edge is the frame edge, same boundary
    mode)."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (
        slice(max(0, rows[0] - margin), min(h, rows[-1] + 1 + margin)),
        slice(max(0, cols[0] - margin), min(w, cols[-1] + 1 + margin)),
    )


def near_local_max(values: np.ndarray, candidates: np.ndarray, reach: int, fraction: float) -> np.ndarray:
    """``candidates & (values >= fraction * square_max(values, reach))`` for a (frames, rows, columns) stack: the
    candidate pixels near their local peak, with the local maximum taken only in the box of the candidates grown
    by ``reach`` (all it reads there). The same values: a window of a candidate pixel lies inside that box, or is
    cut by the stack's edge exactly as on the whole frame (session 7: the costliest filter of the side signals)."""
    box = mask_box(candidates.any(axis=0), reach)
    out = np.zeros(candidates.shape, bool)
    if box is None:
        return out
    sl = (slice(None), box[0], box[1])
    v = values[sl]
    out[sl] = candidates[sl] & (v >= fraction * square_max(v, reach))
    return out


def label_frames_and_boxes(
    lab: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, dict[int, tuple[slice, slice]]]:
    """For a :func:`label_frames` stack ``lab``: the frame of every label (index ``k`` for label ``k + 1``), and the
    row / column box (``ndi.find_objects``) of the labels ``ids + 1``.

    Why: labels are numbered in raster order over the stacked frames, so a frame holds a contiguous range of
    them and the frame of each follows from the running maximum label per frame (one reduction instead of a
    lookup of every labelled pixel); the boxes are looked for only in the frames that hold the wanted labels.
    The same values as ``frame_of[lab[lab > 0]] = nonzero(lab > 0)[0]`` and ``ndi.find_objects(lab)`` for every
    label that occurs (a number that does not, in a labelling masked after the fact, gets a frame never asked for).
    """
    n_labels = int(lab.max()) if lab.size else 0
    top = np.maximum.accumulate(lab.max(axis=(1, 2))) if lab.size else np.zeros(0, int)
    frame_of = np.searchsorted(top, np.arange(1, n_labels + 1), side="left")
    boxes: dict[int, tuple[slice, slice]] = {}
    if ids.size:
        f0, f1 = int(frame_of[ids.min()]), int(frame_of[ids.max()])
        found = ndi.find_objects(lab[f0 : f1 + 1], max_label=int(ids.max()) + 1)
        for k in ids:
            box = found[k]
            assert (
                box is not None
            )  # a wanted label occurs (others may not: ``lab`` may be a masked labelling)
            boxes[int(k)] = (box[1], box[2])
    return frame_of, boxes
