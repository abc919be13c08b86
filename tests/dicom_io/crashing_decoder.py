"""A decode function for worker-process tests: a real segmentation fault on frame index 3 (module level so a
``spawn`` worker can import it), the pipeline's own decode otherwise."""

from __future__ import annotations

import ctypes

import numpy as np

from hsg_workstation.dicom_io import frame_cache

CRASH_INDEX = 3


def decode(path: str, index: int) -> np.ndarray:
    if index == CRASH_INDEX:
        ctypes.string_at(0)  # reads address 0: SIGSEGV in the worker process, as a broken C decoder would
    return frame_cache.decode_for_display(path, index)
