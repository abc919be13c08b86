"""Independent synthetic HSG fluoroscopy phantom (issue 10): a second renderer, designed apart from the first.

Public API:
- :func:`sample_axes` (seed) -> dict of categorical variation axes (see ``axes.AXES``);
- :func:`render_study` (seed, axes=None) -> :class:`IndependentStudy` with ``.loop`` (multi-frame X-Ray
  Radiofluoroscopic Image Storage dataset), ``.scout`` (single-frame preliminary image or None), ``.truth``,
  ``.axes``;
- :func:`write_study` (study, outdir) -> written paths (loop, scout, truth.json);
- ``python -m hsg_workstation.synthetic.independent OUTDIR --seeds A:B``.

Truth events, defined physically (frames 1-based; t = the frame's acquisition time; a last-image-hold duplicate
carries the state of the frame it copies):
- ``cavity_fill_start_frame``: first frame in which >= 25 mm^2 of the uterine cavity body (above the internal
  os) holds >= 0.5 mm of contrast; null when that is already so on frame 1 (filling began before the loop).
- ``max_distension_frame``: first frame at which that cavity area reaches >= 98 % of its maximum over the loop.
- ``sides.*.first_fill_frame``: first frame in which the tube's iodine column reaches >= 3 mm of arc length
  beyond the cornu. A proximal occlusion leaves at most a 1.5 mm cornual stump (never "filled").
- ``sides.*.spill_onset_frame``: first frame in which the contrast that has left the fimbrial end (free into the
  peritoneum, or into a loculated pocket) is >= 4 mm^3 of full-strength contrast (e.g. 4 mm^2 x 1 mm).
- ``sides.*.hydrosalpinx_diameter_mm``: the sac's largest width (2 x largest lumen radius), mm at the patient.
- ``intravasation_frames``: [first, last] frame in which the venous lace holds >= 150 mm^3 of contrast
  (concentration x vessel volume inside the image; about a quarter of a filled lace, below which the lace is at
  the noise level); ``intravasation`` is true iff such a frame exists.
- ``defects``: filling defects in the cavity; ``first_frame`` = first frame in which the cavity fill front has
  passed the defect's far edge (or filled the cavity, if that edge lies beyond it); ``last_frame`` = the
  last frame (contrast stays in the cavity).
- ``contrast_appears``: how contrast looks on a display that honours the Photometric Interpretation.
Coordinates are stored-image [row, column] at the reference (frame 1) pose; sides are the patient's.
"""

from __future__ import annotations

import json
from pathlib import Path

from .axes import AXES, axis_values, sample_axes
from .render import IndependentStudy, render_study

__all__ = ["AXES", "IndependentStudy", "axis_values", "render_study", "sample_axes", "write_study"]


def write_study(study: IndependentStudy, outdir: str | Path) -> list[Path]:
    """Write the loop (and scout) as DICOM Part 10 files plus truth.json into ``outdir``; returns the paths."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    if study.scout is not None:
        p = out / "01_scout.dcm"
        study.scout.save_as(p, enforce_file_format=True)
        paths.append(p)
    p = out / "02_loop.dcm"
    study.loop.save_as(p, enforce_file_format=True)
    paths.append(p)
    t = out / "truth.json"
    t.write_text(json.dumps(study.truth, indent=1) + "\n", encoding="utf-8")
    paths.append(t)
    return paths
