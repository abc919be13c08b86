"""Shared, cached generated studies for the analysis tests (small: 256², ≤ 40 frames)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hsg_workstation.analysis import FillAnalysis, analyze_dataset
from hsg_workstation.synthetic.study import GeneratedCase, generate_case


@lru_cache(maxsize=16)
def generated(
    case: str, seed: int, frames: int = 32, flip: bool | None = None, noise: float = 1.0
) -> GeneratedCase:
    return generate_case(case, seed=seed, size=256, frames=frames, flip=flip, noise=noise, spot_images=2)


@lru_cache(maxsize=16)
def analysed(
    case: str, seed: int, frames: int = 32, flip: bool | None = None, noise: float = 1.0
) -> FillAnalysis:
    g = generated(case, seed, frames, flip, noise)
    return analyze_dataset(g.datasets[1], scout=g.datasets[0])


def dice(a: np.ndarray, b: np.ndarray) -> float:
    s = int(a.sum()) + int(b.sum())
    return 1.0 if s == 0 else 2.0 * int((a & b).sum()) / s
