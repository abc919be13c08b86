"""Tubes and spill, per side of the cavity axis (image sides; the pipeline maps them to the patient's sides from
Patient Orientation).

Why these features (all relative to the local contrast density and the noise, none to one generator's look):

- **Tubal filling**: extra-cavitary contrast near the cavity (40 mm) on that side, on two frames running.
- **Spill** is contrast that has left the tube: it is *diluted* by peritoneal fluid, so it is much fainter than
  the tube it came from and lies outside the tube's outline — or, when loculated, it is a compact, moderately
  dense collection. It appears after the tube has filled and **stays** to the end of the loop.
- **Hydrosalpinx** is contrast retained in a dilated tube: wide like a collection, but as dense as the tube /
  cavity (a full column of undiluted contrast) — so a wide *dense* body is not counted as spill.
- **Venous intravasation** (analysis/intravasation.py) washes out before the end of the loop: the persistence
  test keeps it out of spill.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import convex_hull_image

from hsg_workstation.analysis.cavity import CAVITY_THRESHOLD
from hsg_workstation.analysis.morph import (
    dilate_cross,
    hysteresis,
    hysteresis_near_seeds,
    label_frames,
    label_frames_and_boxes,
    label_means,
    mask_box,
    near_local_max,
    square_max,
    square_min,
)
from hsg_workstation.analysis.parallel import map_ordered, submit, thread_count
from hsg_workstation.analysis.retained_sac import (
    SAC_BAND_MM,
    closed_sac_peak,
    half_density_region,
    sac_glow,
)
from hsg_workstation.analysis.spill_confidence import cavity_held
from hsg_workstation.analysis.spill_origin import (
    HIDDEN_EDGE_MM,
    ORIGIN_REACH_MM,
    TUBE_END_MM2,
    HiddenZone,
    attribute_spill,
    readable_frames,
)

CORE_FRACTION = 0.35  # of the local maximum: the body of a structure, not its blurred margin
RETAINED_DENSITY = 0.3  # of the cavity level: a wide body this dense holds undiluted contrast
SPILL_MIN_MM2 = 20.0
TUBE_MIN_MM2 = 15.0  # extra-cavitary contrast near the cavity that counts as a filled tube segment
CORNUAL_FILL_MM2 = 10.0  # thin-line contrast leaving the cornu (analysis/tubal_fill.py): a few mm of tube
TUBE_SEARCH_MM = 40.0  # how far from the cavity the first tubal contrast is looked for
CAVITY_RIM = 0.15  # of the cavity level: above the tubal isthmus (~0.1), below the cavity margin
RIM_REACH_MM = 3.0  # the cavity's tapering margin reaches this far beyond its mask; a tube goes on
DIPOLE_MM = 3.0  # how close a negative lobe must be for a positive change to count as a moved structure
DIPOLE_SHARE = 0.25
NEGATIVE_SNR = 4.0
CERVIX_HALF_WIDTH_MM = 8.0  # the cervical canal / catheter below the internal os: half-width at the os ...
CERVIX_SPREAD = 0.5  # ... widening by this many mm per mm below it (reflux, balloon, vaginal contrast)
# frames labelled together by raw_contrast, in the box of their seeds: the contrast grows over the loop, so short
# groups have smaller boxes (and the frames before it none); per frame the result is the same (session 7)
CONTRAST_BOX_FRAMES = 6
LOCULATED_SHARPNESS = 0.5  # share of the spill area above half its density: pocket (high) vs cloud (low)


@dataclass(slots=True)
class SideSignals:
    connected_px: np.ndarray  # (T,) extra-cavitary contrast within 40 mm of the cavity on this side
    faint_px: np.ndarray  # (T,) diluted contrast outside any structure's outline
    collection_px: np.ndarray  # (T,) wide, moderately dense bodies (loculated spill)
    dense_collection_px: np.ndarray  # (T,) wide, undiluted bodies (hydrosalpinx)
    end_sharpness: float = 0.0
    growth: float = 0.0
    end_hydro_width_px: float = 0.0  # widest retained sac on the last frame (working px), 0 when none
    # spill pixels per frame attributed to the side whose spill they grew from (:func:`attribute_spill`), and
    # the sharpness of that spill on the last frame; None: the column split (faint + collection) is used
    spill_px: np.ndarray | None = None
    end_spill_sharpness: float | None = None
    readable: np.ndarray | None = None  # (T,) bool: False on frames after a field-wide step (field_steps)
    # (T,) thin-line contrast leaving the cornu (analysis/tubal_fill.py): decides the first tubal filling
    # when set (with its own threshold), instead of ``connected_px``
    cornual_px: np.ndarray | None = None
    # (T,) the cavity's area per frame (pixels of its mask; the same for both sides): whether the cavity held
    # contrast long enough for "this tube never filled" to mean anything (:func:`call_side`)
    cavity_px: np.ndarray | None = None
    # (T,) bool: frames whose cornual line stands on a lucent valley of the background and does not advance
    # (tubal_fill.cornual_tube_px, ``standing``): passed over as the first filling while a later frame holds
    cornual_standing: np.ndarray | None = None


def _sharpness(o: np.ndarray, region: np.ndarray) -> float:
    """Share of a spill region above half of its high density: about 0.8 for a sharply bounded pocket
    (loculated), about 0.3 or less for a Gaussian, spreading cloud outlining bowel loops (free)."""
    if region.sum() < 10:
        return 0.0
    vals = o[region]
    p90 = float(np.percentile(vals, 90))
    return float((vals >= 0.5 * p90).mean())


@dataclass(slots=True)
class SideCall:
    tube_filled: bool
    first_fill_index: int | None
    spill: str
    spill_onset_index: int | None
    score: float  # raw, 0-1: analysis/calibration.py maps it to the measured share of correct calls
    hydrosalpinx_like: bool = False
    hydrosalpinx_width_px: float = 0.0
    review: tuple[int, int] | None = None  # 0-based frames a-b that decide the call
    # the side's contrast is seen held back: its tube never left the cornu while the cavity held contrast.
    # This "no spill" rests on the tube, not on the field around it, so moving gas, blades or gain steps
    # elsewhere in the loop do not weaken it (spill_confidence.spill_score)
    held_back: bool = False


def _grow(mask: np.ndarray, radius: int) -> np.ndarray:
    """Dilation by a (2r+1)² square (separable running maxima; faster than iterated binary dilation)."""
    if radius <= 0:
        return mask
    mask = np.asarray(mask, bool)
    box = mask_box(mask, 2 * radius + 1)
    out = np.zeros(mask.shape, bool)
    if box is not None:
        out[box] = square_max(mask[box], radius)
    return out


def _square_opening(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary opening with a (2r+1)² square via separable min/max filters: an order of magnitude faster than a
    disk structuring element, and the shapes it must keep (pockets, clouds) are much larger than the square."""
    size = 2 * radius + 1
    mask = np.asarray(mask, bool)
    box = mask_box(mask, 2 * size)
    out = np.zeros(mask.shape, bool)
    if box is not None:
        out[box] = square_max(square_min(mask[box], radius), radius)
    return out


def _odd(n: float) -> int:
    k = max(3, int(round(n)))
    return k if k % 2 else k + 1


def spill_hull_gap(mm_per_px: float) -> int:
    """The 2 mm gap (working px) by which :func:`side_signals` grows the cavity's hull (:func:`cavity_region`)."""
    return max(1, int(round(2.0 * (1.0 / mm_per_px))))


def cavity_region(ref_mask: np.ndarray, gap: int) -> np.ndarray:
    """The convex hull of the cavity at maximal distension, grown by ``gap``: contrast inside it is the cavity's
    (a thin horn, the contrast around a myoma or polyp still below the cavity threshold, the cavity of an early
    frame), never a tube — tubes leave the cornua outwards. Without it, the faint contrast beside a submucous
    myoma read as the left tube filling at frame 8 (sample_data/submucous_myoma, truth 17)."""
    if ref_mask.sum() < 3:
        return np.asarray(ref_mask, bool)
    return square_max(convex_hull_image(ref_mask), gap)


def cervical_zone(ref_mask: np.ndarray, mm_per_px: float) -> np.ndarray:
    """Below the internal os: where the catheter, the cervical canal and contrast refluxing along them lie.

    Why: tubes leave the cavity at the cornua and fill outwards from there; nothing below the internal os is a
    tube starting to fill. Contrast that appears there later than the catheter mask looks (reflux into the
    cervix, a balloon, leakage into the vagina) persisted within the 40 mm tube search distance and read as
    the tube filling — on the bundled proximal occlusion the never-filling right tube "filled at frame 18".
    The os is the lowest part of the cavity at maximal distension (fundus up, as the shape metrics assume;
    a tilt of a few tens of degrees keeps it the lowest part); the zone is a downward cone from it,
    ``CERVIX_HALF_WIDTH_MM`` wide at the os and widening by ``CERVIX_SPREAD`` mm per mm below. Only the search
    for tubal filling leaves it out: spill pooling there (the pouch of Douglas) still counts as spill.
    """
    h, w = ref_mask.shape
    rows = np.flatnonzero(ref_mask.any(axis=1))
    if rows.size == 0:
        return np.zeros((h, w), bool)
    bottom = int(rows[-1])
    band = max(1, int(round(3.0 / mm_per_px)))  # the lowest 3 mm of the cavity
    os_col = float(np.nonzero(ref_mask[max(int(rows[0]), bottom - band + 1) : bottom + 1])[1].mean())
    below_mm = (np.arange(h)[:, None] - bottom) * mm_per_px
    lateral_mm = np.abs(np.arange(w)[None, :] - os_col) * mm_per_px
    return (below_mm > 0) & (lateral_mm <= CERVIX_HALF_WIDTH_MM + CERVIX_SPREAD * below_mm)


def tube_search_region(ref_mask: np.ndarray, mm_per_px: float) -> np.ndarray:
    """Where a filling tube is looked for: within ``TUBE_SEARCH_MM`` of the cavity, not below the internal os."""
    near = ndi.distance_transform_edt(~ref_mask) * mm_per_px <= TUBE_SEARCH_MM
    return near & ~cervical_zone(ref_mask, mm_per_px)  # tubes do not start below the internal os


def catheter_mask(
    opacity: np.ndarray,
    masks: np.ndarray,
    first_index: int,
    onset_index: int,
    noise_map: np.ndarray,
    mm_per_px: float,
    contrast: np.ndarray | None = None,
) -> np.ndarray:
    """Contrast in the catheter lumen: thin opacity already there when the cavity starts to fill (tubes fill
    only later), below the cavity's centre. Dilated by 2 mm. ``contrast``: :func:`raw_contrast` if at hand."""
    h, w = opacity.shape[1:]
    out = np.zeros((h, w), bool)
    ref = masks[first_index]
    if not ref.any():
        return out
    bottom_row = np.nonzero(ref)[0].max()
    for i in range(first_index, min(first_index + 3, opacity.shape[0])):
        e = hysteresis(opacity[i] / noise_map, 2.5, 5.0) if contrast is None else contrast[i].copy()
        e &= ~dilate_cross(masks[i], 2)
        lab, _n = ndi.label(e)
        for sl_id, sl in enumerate(ndi.find_objects(lab), start=1):
            if sl is not None and sl[0].stop > bottom_row + 2:
                out[sl] |= lab[sl] == sl_id
    return dilate_cross(out, max(1, int(round(2.0 / mm_per_px))))


def raw_contrast(
    opacity: np.ndarray, noise: float, frames: slice = slice(None), out: np.ndarray | None = None
) -> np.ndarray:
    """Contrast above the noise in each frame: hysteresis at 2.5 / 5 noise sigmas (components of > 2.5 that hold
    a > 5 pixel). Needs no cavity mask, so the pipeline computes it alongside the cavity tracking and hands it
    to :func:`side_signals` (``contrast``); the same values as computed there."""
    h, w = opacity.shape[1:]
    ids = range(opacity.shape[0])[frames]
    target = np.empty((len(ids), h, w), bool) if out is None else out
    for k in range(0, len(ids), CONTRAST_BOX_FRAMES):
        # a few frames at a time, each group in the box of its own seeds (none before the contrast comes)
        group = ids[k : k + CONTRAST_BOX_FRAMES]
        src = slice(group[0], group[-1] + 1) if group.step == 1 else list(group)
        dst = slice(k, k + len(group)) if out is None else src
        target[dst] = hysteresis_near_seeds(opacity[src] / np.full((h, w), noise, np.float32), 2.5, 5.0)
    return target


def side_signals(
    opacity: np.ndarray,
    masks: np.ndarray,
    ref_mask: np.ndarray,
    valid: np.ndarray,
    level: float,
    noise: float,
    mm_per_px: float,
    first_index: int,
    onset_index: int,
    noise_map: np.ndarray | None = None,
    contrast: np.ndarray | None = None,
    catheter: np.ndarray | None = None,
    deferred: list[Future[None]] | None = None,
    regions: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[dict[str, SideSignals], np.ndarray, np.ndarray, np.ndarray]:
    """Per image side ("left"/"right") signals per frame, the extra-cavitary masks (for intravasation), the
    catheter mask and per-frame overlay labels (uint8: 1 = extra-cavitary contrast, 2 = counted as spill).

    ``contrast``: :func:`raw_contrast` of every frame, when already computed (only with the default noise map).
    ``catheter``: :func:`catheter_mask` of the same arguments, when already computed (the pipeline computes it
    first, so that venous intravasation, which needs it, runs on the pool alongside this function).
    ``deferred``: when a list, the spill attribution at the end (the readable frames, each side's ``spill_px``,
    ``end_spill_sharpness``, ``readable``, ``cavity_px``, and the spill of the returned labels) is started on the
    pool and its future appended: the caller waits for it before reading those (the pipeline runs the cornual
    stage meanwhile). The same values either way.
    ``regions``: ``(tube_search_region(ref_mask, mm_per_px), cavity_region(ref_mask, gap))`` with the gap of
    2 mm used here, when already computed (the cornual stage reads the same two).
    """
    t, h, w = opacity.shape
    cx = float(np.nonzero(ref_mask)[1].mean())
    lateral = np.arange(w)[None, :] - cx
    noise_map = np.full((h, w), noise, np.float32) if noise_map is None else noise_map
    cath = (
        catheter_mask(opacity, masks, first_index, onset_index, noise_map, mm_per_px, contrast)
        if catheter is None
        else catheter
    )
    px = 1.0 / mm_per_px
    win = _odd(8.0 * px)
    halo_it = max(1, int(round(3.5 * px)))
    coll_r = max(2, int(round(3.0 * px)))
    cloud_r = max(coll_r + 1, int(round(4.5 * px)))  # wider than an ampulla: a cloud, not the tube's end
    thin_gap = max(1, int(round(2.0 * px)))
    min_faint = max(3, int(round(4.0 * px * px)))
    cav_gap = spill_hull_gap(mm_per_px)
    dipole_r = max(1, int(round(DIPOLE_MM * px)))
    rim_reach = max(1, int(round(RIM_REACH_MM * px)))
    # the band around a wide body where retained_sac.neck_width_mm looks, beyond its grown half-density outline
    sac_reach = coll_r + 2 + int(np.ceil(SAC_BAND_MM[1] * px))
    zeros = {k: np.zeros(t) for k in ("c", "f", "l", "d")}
    sides = {
        s: SideSignals(zeros["c"].copy(), zeros["f"].copy(), zeros["l"].copy(), zeros["d"].copy())
        for s in ("left", "right")
    }
    extra_all = np.zeros((t, h, w), bool)
    labels = np.zeros((t, h, w), np.uint8)
    sacs = np.zeros((t, h, w), bool)  # closed sacs per frame (retained_sac.py)
    if regions is None:
        regions = tube_search_region(ref_mask, mm_per_px), cavity_region(ref_mask, cav_gap)
    near_cavity, cavity_hull = regions
    # Every structure below is a subset of one frame's hysteresis mask ``e``, and every filter reads at most
    # ``margin`` pixels around it: so frames are processed in the box of ``e`` grown by ``margin`` (5-40 % of
    # the frame), which gives exactly the whole-frame values (tests/analysis/test_side_signals.py compares with
    # the plain whole-frame implementation). Frames go in short runs, each run as one stack in the union of its
    # frames' boxes: whole-stack C calls (per-frame connectivity and filters) instead of ~40 small calls per
    # frame, which also lets the runs share the thread pool without waiting on the GIL.
    margin = (
        max(
            cav_gap + halo_it,
            win,
            2 * (2 * cloud_r + 1),
            2 * thin_gap + 1,
            dipole_r + 1,
            sac_reach,
        )
        + 2
    )
    # The cavity's rim components (opacity > CAVITY_RIM * level touching the cavity) lie inside the raw
    # hysteresis mask whenever that threshold is above the hysteresis' low one in SNR units (and the cavity
    # above its high one): then they can be labelled in the box of that mask; otherwise on the whole frame.
    noise_max = float(noise_map.max())
    rim_inside = CAVITY_RIM * level > 2.5 * noise_max and CAVITY_THRESHOLD * level > 5.0 * noise_max
    frame_ids = [i for i in range(first_index, t) if masks[i].any()]

    def run(ids: list[int]) -> tuple[np.ndarray, list[float] | None]:
        """Frames ``ids``: fills their ``extra_all`` and ``labels`` slices; returns per-frame pixel counts
        (frames × [left, right] × [connected, faint, collection, dense collection]) and, when the run holds
        the last frame, its spill sharpness per side."""
        run_sl = slice(ids[0], ids[-1] + 1)
        contiguous = len(ids) == ids[-1] - ids[0] + 1
        o_full = opacity[run_sl] if contiguous else opacity[ids]  # a view when the run has no gap
        cav_full = masks[run_sl] if contiguous else masks[ids]
        if contrast is not None:
            e_raw = contrast[run_sl] if contiguous else contrast[ids]
        else:
            e_raw = hysteresis_near_seeds(o_full / noise_map, 2.5, 5.0)
        e_full = e_raw & valid & ~cath
        need = (e_full | cav_full).any(axis=0)
        box = mask_box(need, margin)
        assert box is not None  # every frame here has a cavity
        if rim_inside:
            rim_box = mask_box((e_raw | cav_full).any(axis=0), 1)
            assert rim_box is not None
            box = tuple(
                slice(min(a.start, b.start), max(a.stop, b.stop)) for a, b in zip(box, rim_box, strict=True)
            )
            rim_lab, rim_n = label_frames(o_full[:, box[0], box[1]] > CAVITY_RIM * level)
        else:
            rim_lab, rim_n = label_frames(o_full > CAVITY_RIM * level)
            rim_lab = rim_lab[:, box[0], box[1]]
        sl = (slice(None), box[0], box[1])
        o, cav, e = o_full[sl], cav_full[sl], e_full[sl]
        n, bh, bw = o.shape
        # the cavity's soft, tapering margin belongs to the cavity, not to the tubes
        rim_keep = np.zeros(rim_n + 1, bool)  # the components touching the cavity (a lookup: == np.isin)
        rim_keep[rim_lab[cav]] = True
        rim_keep[0] = False
        # ... only within RIM_REACH_MM of it: a dense tube touching the cavity is a rim component too, and must
        # not vanish into it (independent renderer: whole tubes were excluded)
        rim = np.take(rim_keep, rim_lab) & square_max(cav, rim_reach)
        cav_d = square_max(rim | cav, cav_gap) | cavity_hull[box][None]
        snr = o / noise_map[box]  # the same quotients as on the whole frame, only where they are read
        extra = _drop_dipoles(e & ~cav_d, snr, dipole_r, valid[box])
        # Everything below is a subset of ``extra`` and reads at most ``margin`` pixels around it: it is worked on
        # in the box of the run's extra-cavitary contrast grown by ``margin`` (inside the box above, which also
        # holds the cavity), with the same values (session 7).
        inner = mask_box(extra.any(axis=0), margin)
        if inner is None:  # no extra-cavitary contrast on these frames: no tube, spill or sac either
            last = [0.0, 0.0, 0.0, 0.0] if ids[-1] == t - 1 else None
            return np.zeros((n, 2, 4)), last
        box = tuple(slice(b.start + a.start, b.start + a.stop) for a, b in zip(inner, box, strict=True))
        o, snr, extra, cav_d = (a[:, inner[0], inner[1]] for a in (o, snr, extra, cav_d))
        n, bh, bw = o.shape
        # tubal contrast near the cavity: by proximity, not connectivity — at low dose the thin isthmus breaks up
        connected = extra & near_cavity[box][None]
        # the 8 mm local maximum: the body of a structure is what is near its local peak
        core = near_local_max(o, extra & (snr > 5.0), win // 2, CORE_FRACTION)
        halo = square_max(core | cav_d, halo_it)
        faint = extra & ~halo
        wide = square_max(square_min(core, coll_r), coll_r)  # opening with a (2 r + 1)² square
        # ``faint`` lies outside the halo of the cores and ``wide`` inside them (an opening shrinks), so no pixel of
        # one touches the other: one labelling of both gives each of them its own components (session 7: one
        # pass instead of two; the numbers interleave, and nothing below depends on them)
        jlab, jn = label_frames(faint | wide)
        if jn:
            # sizes by bincount, and "peak SNR >= 6" as "some pixel >= 6" (a lookup, no per-label maximum)
            sizes = np.bincount(jlab[faint], minlength=jn + 1)  # only faint pixels counted: wide never kept
            peaked = np.zeros(jn + 1, bool)
            peaked[jlab[faint & (snr >= 6.0)]] = True
            keep = (sizes >= min_faint) & peaked
            keep[0] = False
            faint = np.take(keep, jlab)  # == keep[jlab] (morph.hysteresis)
        dense_wide = np.zeros_like(wide)
        glow = np.zeros_like(wide)  # the scatter glow around closed sacs (retained_sac.sac_glow): not spill
        wlab, wn = (np.where(wide, jlab, 0), jn) if wide.any() else (jlab, 0)
        lat = lateral[:, box[1]]
        split = int(np.count_nonzero(lat < 0))  # lateral grows with the column: the left side is a prefix

        def per_side(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """Pixel counts per frame left and right of the cavity axis."""
            return np.count_nonzero(m[..., :split], axis=(1, 2)), np.count_nonzero(
                m[..., split:], axis=(1, 2)
            )

        if wn:
            dens = label_means(o, wlab, wn) / level
            # undiluted-looking contrast in a wide body: a hydrosalpinx candidate
            hydro_like = dens >= RETAINED_DENSITY
            candidates = np.flatnonzero(hydro_like)
            frame_of, objects = label_frames_and_boxes(wlab, candidates)
            for k in candidates:
                # ... with the sharp wall of a tube, not the Gaussian margin of a young spill cloud (looked at in
                # the component's box grown by the dilation: the same region as on the whole frame)
                f = frame_of[k]
                rs, cs = objects[k]
                sb = (
                    slice(max(0, rs.start - thin_gap - 1), rs.stop + thin_gap + 1),
                    slice(max(0, cs.start - thin_gap - 1), cs.stop + thin_gap + 1),
                )
                comp = wlab[f][sb] == k + 1
                region = comp | (extra[f][sb] & dilate_cross(comp, thin_gap))
                if _sharpness(o[f][sb], region) < LOCULATED_SHARPNESS:
                    hydro_like[k] = False
                    continue
                # ... and closed: no more than a tube's calibre of comparably dense contrast around it
                # (retained_sac.py; a pocket or a cloud has more of it around)
                nb = (
                    slice(max(0, rs.start - sac_reach), rs.stop + sac_reach),
                    slice(max(0, cs.start - sac_reach), cs.stop + sac_reach),
                )
                peak = closed_sac_peak(o[f][nb], wlab[f][nb] == k + 1, extra[f][nb], coll_r + 1, mm_per_px)
                hydro_like[k] = peak > 0.0
                if peak > 0.0:
                    # its glow reaches as far as it stays joined to it: the whole frame of the run (the run's box
                    # holds every extra-cavitary pixel, so this is the whole-frame result)
                    glow[f] |= sac_glow(o[f], wlab[f] == k + 1, extra[f], peak)
            if hydro_like.any():
                dense_wide = np.take(np.concatenate([[False], hydro_like]), wlab)  # == [...][wlab]
        collection = wide & ~dense_wide
        # a faint, diffuse cloud is noisy: its own speckle peaks make "cores" whose halo hides it from the
        # faint test, and too few survive the opening to make a collection. Its contrast mask is wide, though,
        # where tubes and veins are thin: what survives the opening of the extra-cavitary mask is spill too
        # (but not a retained sac and its margin)
        # Only frames with enough extra-cavitary contrast to hold a (2 r + 1)² square after the closing (which
        # adds at most the 1-px border of each component) can have a cloud: the rest skip the filters (same mask).
        grown = square_max(extra, 1)
        could = np.count_nonzero(grown, axis=(1, 2)) >= (2 * cloud_r + 1) ** 2
        if could.any():
            sub = extra[could]
            speckled = square_min(grown[could], 1)  # a closing fills the speckle holes of a noisy cloud
            cloud = np.zeros_like(extra)
            cloud[could] = square_max(square_min(speckled, cloud_r), cloud_r) & sub
            if dense_wide.any():
                cloud &= ~square_max(dense_wide, coll_r + thin_gap)
            faint = faint | (cloud & ~collection)
        spill = (faint | collection) & ~glow
        for k, i in enumerate(ids):
            extra_all[i][box] = extra[k]
            frame_labels = labels[i][box]
            frame_labels[extra[k]] = 1
            frame_labels[spill[k]] = 2
            sacs[i][box] = dense_wide[k]
        counts = np.empty((n, 2, 4))
        for m_idx, m in enumerate((connected, faint, collection, dense_wide)):
            counts[:, 0, m_idx], counts[:, 1, m_idx] = per_side(m)
        sharp = None
        if ids[-1] == t - 1:
            halves = (slice(0, split), slice(split, None))
            sharp = [_sharpness(o[-1][:, cols], spill[-1][:, cols]) for cols in halves]
            sharp += [_sac_width(o[-1][:, cols], dense_wide[-1][:, cols], coll_r + 1) for cols in halves]
        return counts, sharp

    # runs of consecutive frames; a few runs per thread so that the later, larger frames spread over the pool
    per_run = max(3, -(-len(frame_ids) // (4 * thread_count()))) if frame_ids else 1
    runs = [frame_ids[k : k + per_run] for k in range(0, len(frame_ids), per_run)]
    for ids, (counts, sharp) in zip(runs, map_ordered(run, runs), strict=True):
        for k, i in enumerate(ids):
            for s_idx, name in enumerate(("left", "right")):
                sg = sides[name]
                c = counts[k, s_idx]
                sg.connected_px[i], sg.faint_px[i], sg.collection_px[i], sg.dense_collection_px[i] = c
        if sharp is not None:
            for s_idx, name in enumerate(("left", "right")):
                sides[name].end_sharpness = sharp[s_idx]
                sides[name].end_hydro_width_px = sharp[2 + s_idx]

    def attribute() -> None:
        """The readable frames and each side's spill by origin (fills ``sides`` and the spill of ``labels``)."""
        _attribute_spill(sides, opacity, labels, sacs, masks, valid, cavity_hull, cx, first_index, px)

    if deferred is None:
        attribute()
    else:
        deferred.append(submit(attribute))
    return sides, extra_all, cath, labels


def _attribute_spill(
    sides: dict[str, SideSignals],
    opacity: np.ndarray,
    labels: np.ndarray,
    sacs: np.ndarray,
    masks: np.ndarray,
    valid: np.ndarray,
    cavity_hull: np.ndarray,
    cx: float,
    first_index: int,
    px: float,
) -> None:
    """The tail of :func:`side_signals`: the readable frames (on the valid field outside the cavity hull), sacs
    that spill later opened marked as spill in ``labels``, and each side's spill by origin — followed behind the
    cavity too (``spill_origin.HiddenZone``: the band around the hull where spill comes out from behind it)."""
    t = opacity.shape[0]
    readable = readable_frames(labels, valid & ~cavity_hull)
    cavity_px = np.count_nonzero(masks, axis=(1, 2)).astype(float)
    if readable.any():
        # a retained sac stays closed to the end of the loop; a body that looked closed on its first frames but
        # lies under spill on the last readable one was a young pocket that contrast later spread around: spill
        # from its first frame (independent renderer, tuning seeds 5 l, 22 l: onsets one frame late otherwise)
        if sacs.any():
            opened = labels[int(np.flatnonzero(readable)[-1])] == 2
            labels[sacs & opened[None]] = 2
    hidden = HiddenZone(
        _grow(cavity_hull, max(1, int(round(HIDDEN_EDGE_MM * px)))) & ~cavity_hull,
        max(1, int(round(TUBE_END_MM2 * px * px))),
    )
    reach = max(1, int(round(ORIGIN_REACH_MM * px)))
    owned = attribute_spill(labels, cx, first_index, reach, readable, hidden)
    last = int(np.flatnonzero(readable)[-1]) if readable.any() else t - 1
    for s_idx, name in enumerate(("left", "right")):
        sides[name].spill_px = owned.counts[:, s_idx].astype(float)
        sides[name].end_spill_sharpness = _sharpness(opacity[last], owned.masks[last] == s_idx + 1)
        sides[name].readable = readable
        sides[name].cavity_px = cavity_px


def _drop_dipoles(extra: np.ndarray, snr: np.ndarray, reach: int, valid: np.ndarray) -> np.ndarray:
    """``extra`` without the components that are one half of a +/- pair: a moved structure, not contrast.

    Contrast only ever adds opacity to the pre-contrast background; something that *moves* between the background
    and this frame (bowel gas, a cannula or speculum pulled, a collimator blade, uncorrected patient motion)
    leaves a positive lobe where it went (or left) and a negative lobe beside it. A component with a quarter of
    its pixels within ``reach`` of clearly negative opacity (below -4 sigma; a plain threshold, so that it reads
    the same in a frame's box as on the whole frame) is dropped — from the tubes, the spill and the venous-intravasation evidence alike.
    """
    neg = (snr < -NEGATIVE_SNR) & valid[None]
    if not neg.any() or not extra.any():
        return extra
    near_neg = square_max(neg, reach)
    if not (extra & near_neg).any():
        return extra  # no component touches a negative lobe: nothing to drop (same result, no labelling)
    lab, n = label_frames(extra)
    if n == 0:
        return extra
    sizes = np.bincount(lab[extra], minlength=n + 1)  # label 0 uncounted: never kept
    touching = np.bincount(lab[near_neg], minlength=n + 1)
    keep = touching < DIPOLE_SHARE * np.maximum(sizes, 1)
    keep[0] = False
    return keep[lab]


def _sac_width(o: np.ndarray, bodies: np.ndarray, grow: int) -> float:
    """Widest diameter (working px) of the retained sacs in ``bodies``: twice the largest inscribed radius of the
    sac at half its own density (the opening that found the body shaved its margin off; ``grow`` puts it back).
    The widest diameter across a dilated tube is what a hydrosalpinx is measured by."""
    if not bodies.any():
        return 0.0
    lab, n = ndi.label(bodies)
    best = 0.0
    for k in range(1, n + 1):
        region = half_density_region(o, lab == k, grow)
        if region.any():
            best = max(best, 2.0 * float(ndi.distance_transform_edt(region).max()) - 1.0)
    return best


def _first_fill(
    connected: np.ndarray, thr: float, until: int, standing: np.ndarray | None = None
) -> int | None:
    """First frame of tubal filling: tube contrast over ``thr`` on this frame, and over the next five frames (up to
    ``until``, the spill onset, but at least three) at least half of it (median).

    Why not "two frames running over the threshold": a thin tube at low dose breaks up in the noise and
    flickers around the threshold for many frames (first generator at 2x noise: 19, 15, 16, 2, 2, 8, ... mm²),
    while before the tube fills the same area reads 0-4 mm². A tube that has filled stays filled, so the
    median over the frames that follow tells it; a single spike of noise or catheter reflux does not last.

    ``standing`` (session 8, analysis/tubal_fill.py): a candidate on such a frame is taken only when no later
    candidate holds.
    """
    t = len(connected)
    first = None
    for i in np.flatnonzero(connected >= thr):
        stop = min(t, int(i) + 5, max(int(i) + 3, until))
        if float(np.median(connected[i:stop])) >= 0.5 * thr:
            if standing is None or not standing[i]:
                return int(i)
            if first is None:
                first = int(i)
    return first


def _first_persistent(series: np.ndarray, thr: float, run: int = 2) -> int | None:
    ok = series >= thr
    for i in range(len(series) - run + 1):
        if ok[i : i + run].all():
            return i
    return None


def call_side(sig: SideSignals, mm_per_px: float) -> SideCall:
    """Turn one side's signals into the suggestion (tube filled, first fill, spill type and onset) and a raw
    score: how far the deciding feature is from its threshold (spill area at the end of the loop against the
    minimum, how long it has lasted; for "no spill", how close any transient spill came to the minimum)."""
    t_all = len(sig.connected_px)
    px2 = 1.0 / (mm_per_px * mm_per_px)
    spill_px = sig.faint_px + sig.collection_px if sig.spill_px is None else sig.spill_px
    # frames after a field-wide step show the field's offset, not contrast (readable_frames): the spill is read
    # on the others, their last one being the end of the loop
    frames = np.arange(t_all) if sig.readable is None else np.flatnonzero(sig.readable)
    if len(frames) == 0:
        frames = np.arange(t_all)
    spill_px = spill_px[frames]
    dense_px = sig.dense_collection_px[frames]
    t = len(frames)
    thr = SPILL_MIN_MM2 * px2
    # onset: start of the run that lasts to the end of the loop (spill stays; transient contrast does not). A cloud
    # passing from "faint" to "wide" can drop out of both for a frame or two: short gaps are bridged.
    sm = ndi.median_filter(spill_px, size=3, mode="nearest") if len(spill_px) >= 3 else spill_px
    ok = np.asarray(spill_px >= thr) | np.asarray(sm >= thr)
    onset = None
    if len(ok) and ok[-1]:
        max_gap = max(2, int(round(0.05 * len(ok))))
        i, gap, onset = len(ok) - 1, 0, len(ok) - 1
        while i > 0:
            i -= 1
            if ok[i]:
                onset, gap = i, 0
            else:
                gap += 1
                if gap > max_gap:
                    break
    fill_series, fill_mm2 = (
        (sig.connected_px, TUBE_MIN_MM2) if sig.cornual_px is None else (sig.cornual_px, CORNUAL_FILL_MM2)
    )
    if onset is not None:
        onset = int(frames[onset])  # back to the loop's frame index
    standing = None if sig.cornual_px is None else sig.cornual_standing
    fill = _first_fill(fill_series, fill_mm2 * px2, t_all if onset is None else onset, standing)
    if fill is None and onset is not None and sig.cornual_px is not None:
        # the line leaves the cornu only after the (raw) spill onset: see below
        fill = _first_fill(fill_series, fill_mm2 * px2, t_all, standing)
    hydro = bool(dense_px[-min(3, len(spill_px)) :].min() >= thr) if len(spill_px) else False
    width = sig.end_hydro_width_px if hydro else 0.0
    tube_filled = fill is not None or onset is not None or hydro
    if onset is not None and (fill is None or (fill > onset and sig.cornual_px is None)):
        # contrast cannot spill from a tube before it has filled it: with no line seen leaving the cornu, the
        # spill onset is the latest the tube can have filled. A line that is seen, though, is not moved back to
        # a raw onset before it: on the independent renderer's tuning loops such onsets were early spill calls
        # (bowel gas, devices, a venous lace read as spill; seeds 1, 63, 74: onset 11, 18, 29, line and truth
        # 22, 38, 35), and on neither renderer (seeds 0-159) was a side's line late with its onset right
        # (session 7, docs/analysis-s7-fill.md).
        fill = onset
    if onset is None:
        # what could have been missed is spill at the end of the loop (spill stays): how close the last fifth
        # came to the minimum; transient contrast earlier (a sac filling, veins) does not make "no spill" unsure
        tail = spill_px[-max(2, t // 5) :]
        peak = float(tail.max()) / thr if thr and len(tail) else 0.0
        k = int(frames[t - len(tail) + int(np.argmax(tail))]) if len(tail) else 0
        review = (max(0, k - 3), min(t_all - 1, k + 3)) if peak > 0.25 else None
        score = float(np.clip(1.0 - 0.5 * peak + (0.1 if hydro else 0.0), 0.0, 1.0))
        unfilled = fill is None and sig.cornual_px is not None and cavity_held(sig.cavity_px)
        return SideCall(tube_filled, fill, "none", None, score, hydro, width, review, held_back=unfilled)
    on = int(np.searchsorted(frames, onset))  # the onset among the readable frames
    g = max(3, int(round(0.15 * len(spill_px))))
    growth = float(spill_px[-1]) / max(float(spill_px[max(on, len(spill_px) - 1 - g)]), 1.0)
    sharp = sig.end_sharpness if sig.end_spill_sharpness is None else sig.end_spill_sharpness
    loculated = sharp >= LOCULATED_SHARPNESS and growth < 1.6
    kind = "loculated" if loculated else "free"
    strength = float(np.clip(float(spill_px[-1]) / thr / 4.0, 0.0, 1.0))
    lasting = float(np.clip((t - on) / 6.0, 0.0, 1.0))
    score = float(np.clip(0.35 + 0.4 * strength + 0.25 * lasting, 0.0, 1.0))
    sig.growth = growth
    review = (max(0, onset - 2), min(t_all - 1, onset + 4))
    return SideCall(True, fill, kind, onset, score, hydro, width, review)
