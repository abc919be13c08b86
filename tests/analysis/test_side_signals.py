"""The fast side signals (per-frame boxes, runs of frames as stacks, shifted-array morphology, thread pool) give
exactly what the plain whole-frame version in reference_side_signals.py gives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from hsg_workstation.analysis.cavity import track_cavity
from hsg_workstation.analysis.morph import (
    hysteresis,
    label_frames,
    label_frames_and_boxes,
    near_local_max,
    square_max,
)
from hsg_workstation.analysis.opacity import compute_opacity
from hsg_workstation.analysis.tubes import CORE_FRACTION, raw_contrast, side_signals
from hsg_workstation.synthetic.study import generate_case
from tests.analysis.reference_side_signals import reference_side_signals


def _inputs(case: str, seed: int) -> dict:
    g = generate_case(case, seed=seed, size=256, frames=40, spot_images=2)
    op = compute_opacity(g.datasets[1].pixel_array)
    mm_px = float(g.truth["pixel_spacing_mm"])
    valid = ~op.shutter
    track = track_cavity(op.opacity, op.level, valid, mm_px)
    assert track.max_index is not None
    return {
        "opacity": op.opacity,
        "masks": track.masks,
        "ref_mask": track.masks[track.max_index],
        "valid": valid,
        "level": op.level,
        "noise": op.noise,
        "mm_per_px": mm_px,
        "first_index": track.first_index or 0,
        "onset_index": op.onset_index,
    }


def _compare(kw: dict, noise_map: np.ndarray | None) -> None:
    sides, extra_all, cath, labels = side_signals(**kw, noise_map=noise_map)
    h, w = kw["opacity"].shape[1:]
    nm = np.full((h, w), kw["noise"], np.float32) if noise_map is None else noise_map
    ref_counts, ref_sharp, ref_extra, ref_labels = reference_side_signals(
        kw["opacity"], kw["masks"], kw["ref_mask"], kw["valid"], kw["level"], nm, kw["mm_per_px"],
        kw["first_index"], cath,
    )  # fmt: skip
    assert np.array_equal(extra_all, ref_extra)
    assert np.array_equal(labels, ref_labels)
    for name in ("left", "right"):
        s = sides[name]
        got = np.stack([s.connected_px, s.faint_px, s.collection_px, s.dense_collection_px], axis=1)
        assert np.array_equal(got, ref_counts[name]), name
        assert s.end_sharpness == ref_sharp[name]
    # the spill counted per side by origin (attribute_spill) is every spill pixel of the reference labels, once,
    # on every frame that is readable (no field-wide step) — the reference's counts split by the axis instead
    readable = sides["left"].readable
    assert readable is not None and readable.all()  # a still generated loop has no field-wide step
    owned = sides["left"].spill_px + sides["right"].spill_px
    assert np.array_equal(owned[kw["first_index"] :], (ref_labels == 2).sum(axis=(1, 2))[kw["first_index"] :])
    # not vacuous: there is spill / tube contrast to compare
    assert (labels == 2).any() and extra_all.any()


@pytest.mark.parametrize(
    ("case", "seed"), [("normal", 1), ("bilateral_distal_hydrosalpinx", 2), ("loculated_spill", 3)]
)
def test_fast_side_signals_equal_the_whole_frame_reference(case: str, seed: int) -> None:
    _compare(_inputs(case, seed), None)


def test_equal_when_the_rim_must_be_labelled_on_the_whole_frame() -> None:
    kw = _inputs("normal", 4)
    h, w = kw["opacity"].shape[1:]
    noise_map = np.full((h, w), kw["noise"], np.float32)
    noise_map[0, 0] = 1e6 * kw["noise"]  # one far, noisy pixel: the rim may no longer lie inside the mask box
    _compare(kw, noise_map)


def test_raw_contrast_in_frame_groups_equals_the_whole_stack_hysteresis() -> None:
    kw = _inputs("normal", 5)
    o, noise = kw["opacity"], kw["noise"]
    h, w = o.shape[1:]
    whole = hysteresis(o / np.full((h, w), noise, np.float32), 2.5, 5.0)
    assert whole[-1].any() and not whole[0].any()  # contrast comes during the loop
    assert np.array_equal(raw_contrast(o, noise), whole)
    out = np.zeros(o.shape, bool)
    for sl in (slice(0, 13), slice(13, 29), slice(29, None)):
        raw_contrast(o, noise, sl, out=out)
        assert np.array_equal(raw_contrast(o, noise, sl), whole[sl])
    assert np.array_equal(out, whole)
    assert np.array_equal(raw_contrast(o, noise, slice(1, None, 3)), whole[1::3])


def test_near_local_max_and_label_frames_and_boxes_equal_their_whole_stack_forms() -> None:
    kw = _inputs("loculated_spill", 6)
    o = kw["opacity"][-12:]
    snr = o / kw["noise"]
    extra = hysteresis(snr, 2.5, 5.0) & ~kw["masks"][-12:]
    extra[3] = False  # a frame without contrast
    for reach in (2, 4, 7):
        want = extra & (o >= CORE_FRACTION * square_max(o, reach)) & (snr > 5.0)
        assert np.array_equal(near_local_max(o, extra & (snr > 5.0), reach, CORE_FRACTION), want)
    assert not near_local_max(o, np.zeros_like(extra), 3, CORE_FRACTION).any()
    lab, n = label_frames(extra)
    assert n > 20
    sel = lab > 0
    frame_of = np.zeros(n + 1, np.intp)
    frame_of[lab[sel]] = np.nonzero(sel)[0]
    objects = ndi.find_objects(lab)
    ids = np.array([1, 5, n // 2, n - 1])
    got_frames, boxes = label_frames_and_boxes(lab, ids)
    assert np.array_equal(got_frames, frame_of[1:])
    assert boxes == {int(k): objects[k][1:] for k in ids}
    assert label_frames_and_boxes(lab, np.array([], int))[1] == {}


def test_deferred_spill_attribution_and_given_regions_give_the_same_signals(monkeypatch) -> None:
    """Session 8 (speed): the pipeline hands in the catheter mask and the two regions it computed, and takes the
    spill attribution at the end as a job on the pool (``deferred``) while it runs the cornual stage. Once the
    job is done, every signal and the labels are those of the plain call, with one and with two threads."""
    from hsg_workstation.analysis.tubes import catheter_mask, cavity_region, tube_search_region

    kw = _inputs("loculated_spill", 7)
    sides, extra_all, cath, labels = side_signals(**kw)
    h, w = kw["opacity"].shape[1:]
    regions = (
        tube_search_region(kw["ref_mask"], kw["mm_per_px"]),
        cavity_region(kw["ref_mask"], max(1, int(round(2.0 / kw["mm_per_px"])))),
    )
    given_cath = catheter_mask(
        kw["opacity"], kw["masks"], kw["first_index"], kw["onset_index"],
        np.full((h, w), kw["noise"], np.float32), kw["mm_per_px"],
    )  # fmt: skip
    assert (labels == 2).any()  # not vacuous: there is spill to attribute
    for threads in ("1", "2"):
        monkeypatch.setenv("HSG_ANALYSIS_THREADS", threads)
        jobs: list = []
        got, got_extra, got_cath, got_labels = side_signals(
            **kw, catheter=given_cath, deferred=jobs, regions=regions
        )
        assert len(jobs) == 1
        jobs[0].result()
        assert np.array_equal(got_extra, extra_all) and np.array_equal(got_cath, cath)
        assert np.array_equal(got_labels, labels)
        for name in ("left", "right"):
            for field in ("connected_px", "faint_px", "collection_px", "dense_collection_px", "spill_px",
                          "readable", "cavity_px"):  # fmt: skip
                assert np.array_equal(getattr(got[name], field), getattr(sides[name], field)), (name, field)
            assert got[name].end_spill_sharpness == sides[name].end_spill_sharpness
            assert got[name].end_sharpness == sides[name].end_sharpness
