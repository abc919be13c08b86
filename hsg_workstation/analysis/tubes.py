"""Tubes, spill and venous intravasation, per side of the cavity axis (image sides; the pipeline maps them to the
patient's sides from Patient Orientation).

- Tubal filling: contrast outside the cavity, connected to it, on that side.
- Spill: a *blob* (survives an opening that removes tube-calibre structures) away from the cavity on that side, that
  appears and then **stays** to the end of the loop. Free spill keeps spreading; loculated spill stays compact.
- Venous intravasation: extra-cavitary contrast that is thin and branching (lace) and that **washes out** — it is
  excluded from spill by the persistence test and reported on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import apply_hysteresis_threshold
from skimage.morphology import disk


@dataclass(slots=True)
class SideSignals:
    tube_px: np.ndarray  # (T,) extra-cavitary contrast connected to the cavity on this side
    blob_px: np.ndarray  # (T,) blob-like contrast away from the cavity on this side
    blob_masks: list[np.ndarray | None] = field(default_factory=list)


@dataclass(slots=True)
class SideCall:
    tube_filled: bool
    first_fill_index: int | None
    spill: str
    spill_onset_index: int | None
    confidence: float


@dataclass(slots=True)
class Intravasation:
    present: bool
    confidence: float
    peak_index: int | None


def _axis(mask: np.ndarray) -> tuple[float, float, float]:
    """Cavity axis as (row0, col0, slope dcol/drow) from its principal direction, clipped to +-30 deg from vertical."""
    rows, cols = np.nonzero(mask)
    r0, c0 = rows.mean(), cols.mean()
    if rows.size < 10:
        return float(r0), float(c0), 0.0
    # the cavity is wide at the fundus and narrow at the cervix: use the midpoints of its row extents
    r_lo, r_hi = np.percentile(rows, [10, 90])
    sel = (rows >= r_lo) & (rows <= r_hi)
    rr = rows[sel]
    mids = {}
    for r in np.unique(rr):
        cc = cols[rows == r]
        mids[r] = (cc.min() + cc.max()) / 2
    if len(mids) < 4:
        return float(r0), float(c0), 0.0
    y = np.array(list(mids.keys()), float)
    x = np.array(list(mids.values()), float)
    slope = float(np.polyfit(y, x, 1)[0])
    slope = float(np.clip(slope, -0.58, 0.58))
    return float(r0), float(c0), slope


def side_signals(
    opacity: np.ndarray,
    cavity_masks: np.ndarray,
    ref_mask: np.ndarray,
    valid: np.ndarray,
    level: float,
    noise: float,
    radius: int,
) -> tuple[dict[str, SideSignals], np.ndarray, np.ndarray]:
    """Per image side ("left"/"right"): tube and blob areas per frame. Also returns the lateral-coordinate map
    and a per-frame transient (lace) area array for intravasation."""
    t, h, w = opacity.shape
    r0, c0, slope = _axis(ref_mask)
    rr, cc = np.mgrid[0:h, 0:w]
    lateral = (cc - (c0 + slope * (rr - r0))).astype(np.float32)
    rows = np.flatnonzero(ref_mask.any(axis=1))
    cols = np.flatnonzero(ref_mask.any(axis=0))
    half_width = (cols[-1] - cols[0]) / 2 if cols.size else 10
    bottom = rows[-1] if rows.size else h
    # catheter / cervical canal: a midline band below the cavity
    catheter = (rr > bottom - radius) & (np.abs(lateral) < max(0.35 * half_width, 3 * radius))
    low = max(4.0 * noise, 0.12 * level)
    high = max(7.0 * noise, 0.25 * level)
    blob_struct = disk(radius)
    sides = {s: SideSignals(np.zeros(t), np.zeros(t), [None] * t) for s in ("left", "right")}
    extra_all = np.zeros((t, h, w), bool)
    for i in range(t):
        cav = cavity_masks[i]
        if not cav.any():
            continue
        anyc = apply_hysteresis_threshold(opacity[i], low, high) & valid & ~catheter
        cav_d = ndi.binary_dilation(cav, structure=disk(radius + 1))
        joined = anyc | cav_d
        lab, _ = ndi.label(ndi.binary_dilation(joined, iterations=1))
        ids = np.unique(lab[cav])
        ids = ids[ids > 0]
        connected = np.isin(lab, ids) & anyc & ~cav_d
        extra = anyc & ~cav_d
        extra_all[i] = extra
        blobs = ndi.binary_opening(extra, structure=blob_struct)
        far = ~ndi.binary_dilation(cav, structure=disk(3 * radius))
        blobs &= far
        for name, side in (("left", lateral < 0), ("right", lateral >= 0)):
            sides[name].tube_px[i] = float((connected & side).sum())
            b = blobs & side
            sides[name].blob_px[i] = float(b.sum())
            sides[name].blob_masks[i] = b if b.any() else None
    return sides, lateral, extra_all


def _first_persistent(series: np.ndarray, thr: float, run: int = 2) -> int | None:
    ok = series >= thr
    for i in range(len(series) - run + 1):
        if ok[i : i + run].all():
            return i
    return None


def call_side(sig: SideSignals, cavity_area: float, radius: int) -> SideCall:
    t = len(sig.tube_px)
    tube_thr = max(8.0 * radius, 0.02 * cavity_area)
    fill = _first_persistent(sig.tube_px + sig.blob_px, tube_thr)
    spill_thr = max(np.pi * radius**2 * 1.5, 0.01 * cavity_area)
    onset = None
    for i in range(t):
        if sig.blob_px[i] < spill_thr:
            continue
        rest = sig.blob_px[i:]
        if (rest >= 0.5 * spill_thr).mean() >= 0.8 and rest[-min(3, rest.size) :].min() >= 0.5 * spill_thr:
            onset = i
            break
    tube_filled = fill is not None or onset is not None
    if fill is None and onset is not None:
        fill = onset
    if onset is None:
        margin = (sig.blob_px.max() / spill_thr) if spill_thr else 0
        conf = float(np.clip(1.0 - 0.5 * margin, 0.3, 0.95))
        return SideCall(tube_filled, fill, "none", None, conf)
    after = sig.blob_px[onset:]
    early = float(np.mean(after[: min(2, after.size)]))
    final = float(np.median(after[-min(3, after.size) :]))
    growth = final / max(early, 1.0)
    spread = final / max(cavity_area, 1.0)
    free = growth >= 2.5 or spread >= 0.35
    kind = "free" if free else "loculated"
    strength = float(np.clip(final / spill_thr / 4.0, 0.0, 1.0))
    if free:
        sep = max(growth / 2.5, spread / 0.35)
    else:
        sep = min(2.5 / max(growth, 1e-6), 0.35 / max(spread, 1e-6))
    conf = float(np.clip(0.5 + 0.25 * strength + 0.2 * np.tanh(np.log(max(sep, 1e-6))), 0.3, 0.99))
    return SideCall(True, fill, kind, onset, conf)


def detect_intravasation(extra_all: np.ndarray, radius: int, cavity_area: float) -> Intravasation:
    """Lace-like extra-cavitary contrast that fades before the end of the loop."""
    t = extra_all.shape[0]
    if t < 4 or not extra_all.any():
        return Intravasation(False, 0.8, None)
    tail = extra_all[-max(2, t // 10) :].any(axis=0)
    tail = ndi.binary_dilation(tail, iterations=radius + 1)
    transient = extra_all & ~tail[None]
    areas = transient.sum(axis=(1, 2)).astype(float)
    peak = int(np.argmax(areas))
    if areas[peak] <= 0:
        return Intravasation(False, 0.85, None)
    m = transient[peak]
    opened = ndi.binary_opening(m, structure=disk(radius))
    thin_fraction = 1.0 - opened.sum() / max(m.sum(), 1)
    thr = max(10.0 * radius, 0.03 * cavity_area)
    persistent_frames = int((areas >= 0.5 * thr).sum())
    present = areas[peak] >= thr and thin_fraction >= 0.5 and persistent_frames >= 2
    margin = areas[peak] / thr
    conf = float(
        np.clip(0.5 + 0.3 * np.tanh(np.log(max(margin, 1e-6))) + 0.2 * (thin_fraction - 0.5), 0.3, 0.97)
    )
    if not present:
        conf = float(np.clip(1.0 - 0.5 * min(margin, 1.0), 0.3, 0.95))
    return Intravasation(bool(present), conf, peak if present else None)
