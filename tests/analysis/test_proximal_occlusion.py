"""A proximally occluded tube never fills: the analysis must not report it filling (issue 10, bundled sample).

The bundled sample is in test_sample_failures.py. Here the same question on generated loops of BOTH renderers,
tuning seeds only (benchmarks/analysis_studies.py): the first generator's unilateral proximal occlusion, flipped
and not, and the independent renderer's proximal-occlusion sides among its first tuning seeds. On the independent
renderer the analysis still reports most occluded tubes as filling (bowel gas, devices and contrast already on
frame 1 read as a tube; docs/analysis.md): its part is a floor at the measured figure less one side (session 5: 5 sides), so that a
change which loses one fails, and it names the side fixed by the cervical-zone rule (seed 20, left: reflux below
the internal os was its "filling").
"""

from __future__ import annotations

import pytest

from benchmarks.analysis_studies import make_study, split_of
from hsg_workstation.analysis import analyze_dataset
from hsg_workstation.synthetic.study import generate_case

pytestmark = pytest.mark.timeout(600)

INDEPENDENT_SEEDS = (9, 13, 16, 20, 25, 26, 27, 30, 36)  # tuning seeds with a proximal-occlusion side
INDEPENDENT_FLOOR = 4  # occluded sides not reported as filling (session 4: 3 — 16 right, 20 left, 27 right;
# session 5, first filling from the cornual ridge: 5 — 9 left, 16 right, 20 left, 20 right, 30 right; 27 right lost)


@pytest.mark.parametrize(("seed", "flip"), [(3, False), (5, True), (8, False)])
def test_first_generator_occluded_tube_does_not_fill(seed: int, flip: bool) -> None:
    g = generate_case(
        "unilateral_proximal_occlusion", seed=seed, size=256, frames=40, flip=flip, spot_images=2
    )
    r = analyze_dataset(g.datasets[1], scout=g.datasets[0])
    sides = g.truth["sides"]
    occluded = [s for s in ("left", "right") if not sides[s]["tube_filled"]]
    assert len(occluded) == 1
    for side in ("left", "right"):
        got = r.sides[side]
        if side in occluded:
            assert not got.tube_filled and got.first_fill_frame is None, (side, got)
        else:
            assert got.tube_filled and abs(got.first_fill_frame - sides[side]["first_fill_frame"]) <= 2, (
                side,
                got,
            )


def test_independent_renderer_occluded_tubes_floor() -> None:
    right_sides: list[tuple[int, str]] = []
    for seed in INDEPENDENT_SEEDS:
        assert split_of(seed) == "tuning"
        study = make_study("independent", seed, 512)
        r = analyze_dataset(study.loop, scout=study.scout)
        for side in ("left", "right"):
            if study.axes[f"{side}_class"] != "proximal_occlusion":
                continue
            assert not study.truth["sides"][side]["tube_filled"]
            if not r.sides[side].tube_filled:
                right_sides.append((seed, side))
    assert (20, "left") in right_sides
    assert len(right_sides) >= INDEPENDENT_FLOOR, right_sides
