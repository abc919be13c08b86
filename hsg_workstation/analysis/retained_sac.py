"""A retained sac (hydrosalpinx) against a loculated pocket or a free cloud at the tube's end (issue 10, session 6;
docs/analysis-s6-spill.md).

All three are wide, dense, sharp-walled bodies at the end of a tube on some frames. What tells them apart here is
what lies *around* the body:

- a **hydrosalpinx** is a closed, distended tube: all its contrast came in through the tube and none leaves it.
  Outside its wall there is only the thin tube that leads in — whose opacity is a small fraction of the sac's,
  because the sac is many times thicker — and the scatter / veiling-glare glow of the sac, fainter still;
- a **loculated pocket** is spilled contrast held between adhesions and bowel: it is moulded by them into lobes,
  more contrast keeps arriving and escaping around it, and the denser contrast beside it is of the same order
  as the pocket's own;
- a **free cloud** is surrounded by more of itself, fading gradually.

So the measure is the width of contrast at least a fifth as dense as the body (``NECK_FRACTION``) that crosses a
band 2.5-5.5 mm outside the body's half-density outline (past its own blurred margin): at most one tube's
calibre (``SAC_NECK_MM``) for a sac; more for a pocket or a cloud. Why not the thin-tube-per-body ratio used
before (tubes.HYDRO_TUBE_PER_BODY): the scatter halo around a large diluted sac is extra-cavitary contrast too,
and it made that ratio 0.9-5.0 for the independent renderer's sacs (tuning seeds 0-39), i.e. "spill". Why not a
calibre that widens into the body (the idea left by session 5): on neither renderer's tuning loops does the tube
widen into the sac — both show a normal-calibre tube ending in the sac (the band holds 0-2 mm of dense contrast
around their sacs). Known limit: a sac that its tube widens into gradually (a "retort") puts the widening tube
into the band and is read as a pocket, i.e. spill; no tuning loop shows one, so it is not handled.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from hsg_workstation.analysis.morph import dilate_cross

NECK_FRACTION = (
    0.2  # of the body's own density: contrast next to it that is of its order, not glow or a thin tube
)
SAC_BAND_MM = (2.5, 5.5)  # the band outside the body's half-density outline where the neck is measured
SAC_NECK_MM = 3.0  # one tube's calibre: at most this much dense contrast crosses the band around a closed sac


def half_density_region(o: np.ndarray, comp: np.ndarray, grow: int) -> np.ndarray:
    """The body at half its own (90th-percentile) density, within ``grow`` of ``comp`` (the opening that found
    the body shaved its margin off; this puts it back), the parts of it that overlap ``comp``."""
    peak = float(np.percentile(o[comp], 90))
    region = (o >= 0.5 * peak) & dilate_cross(comp, grow)
    lab, _ = ndi.label(region)
    ids = np.unique(lab[comp & region])
    return np.isin(lab, ids[ids > 0])


def neck_width_mm(
    o: np.ndarray, comp: np.ndarray, contrast: np.ndarray, grow: int, mm_per_px: float
) -> tuple[float, float]:
    """Width (mm) of the contrast at least ``NECK_FRACTION`` of the body's density crossing the band
    ``SAC_BAND_MM`` outside the body ``comp`` (its half-density outline): band area over band depth, i.e. the
    summed width of everything that leaves the body; and the body's density (90th percentile). ``o``, ``comp``,
    ``contrast``: one frame's opacity, the body and the extra-cavitary contrast mask, cut to a box that holds the
    band (or the whole frame)."""
    if not comp.any():
        return 0.0, 0.0
    peak = float(np.percentile(o[comp], 90))
    body = half_density_region(o, comp, grow) | comp
    dist_mm = ndi.distance_transform_edt(~body) * mm_per_px
    inner, outer = SAC_BAND_MM
    band = (dist_mm > inner) & (dist_mm <= outer)
    dense = band & contrast & (o >= NECK_FRACTION * peak)
    return float(np.count_nonzero(dense)) * mm_per_px * mm_per_px / (outer - inner), peak


def closed_sac_peak(
    o: np.ndarray, comp: np.ndarray, contrast: np.ndarray, grow: int, mm_per_px: float
) -> float:
    """The body's density when no more than one tube's calibre of comparably dense contrast leaves it (a
    retained sac), else 0."""
    width, peak = neck_width_mm(o, comp, contrast, grow, mm_per_px)
    return peak if width <= SAC_NECK_MM else 0.0


def sac_glow(o: np.ndarray, comp: np.ndarray, contrast: np.ndarray, peak: float) -> np.ndarray:
    """The glow of a closed sac: the extra-cavitary contrast fainter than ``NECK_FRACTION`` of its density, in
    the contrast joined to it (8-connected). X-ray scatter and the detector's veiling glare spread a fraction of a
    dense body's signal over centimetres around it, falling off continuously; beside a large sac that glow is
    extra-cavitary "contrast" wide enough to pass for a diluted spill cloud (independent renderer, tuning seed 9:
    a cloud three times the sac's area, reaching ~30 mm), yet by the closed-sac test nothing of the sac's order
    lies there. The faint tube leading in is part of it too (tube contrast, not spill, either way). What this
    gives up: a faint cloud of the other side's spill that drifts into the glow is not counted on those frames."""
    lab, _n = ndi.label(contrast | comp, structure=np.ones((3, 3), bool))
    ids = np.unique(lab[comp])
    return np.isin(lab, ids[ids > 0]) & contrast & ~comp & (o < NECK_FRACTION * peak)
