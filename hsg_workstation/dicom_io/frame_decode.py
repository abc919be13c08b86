"""Decoding one frame for the decode-ahead pool (:mod:`~hsg_workstation.dicom_io.frame_cache`): module-level
functions, because they run in the worker processes too (a worker imports this module, not the pool).

Split from ``frame_cache.py`` (session 7, which had grown past 600 lines with the shared frame arena): the
pool's scheduling and cache on one side, what a frame *is* on the other — the per-file header cache, the
Modality LUT the viewer paints through, and the routing rule (which frames may be decoded in the viewer process,
which go to a worker). ``frame_cache`` re-exports every name, so callers keep using ``frame_cache.needs_process``.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from hsg_workstation.dicom_io import pixels

_sources: dict[str, tuple[tuple[int, int], pixels.FrameSource]] = {}
_sources_lock = threading.Lock()


def file_signature(path: str) -> tuple[int, int]:
    """(modification time ns, size): a file changed on disk gets its header read again, not a stale one."""
    try:
        st = os.stat(path)
    except OSError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


def frame_source(path: str) -> pixels.FrameSource:
    """One :class:`~hsg_workstation.dicom_io.pixels.FrameSource` per file and process (header read once)."""
    sig = file_signature(path)
    with _sources_lock:
        entry = _sources.get(path)
    if entry is None or entry[0] != sig:
        entry = (sig, pixels.FrameSource(path))
        with _sources_lock:
            if len(_sources) > 64:
                _sources.clear()
            _sources[path] = entry
    return entry[1]


def decode_for_display(path: str, index: int) -> np.ndarray:
    """One frame through the Modality LUT, C-contiguous, as the viewer paints it (float64 rescales → float32)."""
    arr = frame_source(path).modality_frame(index)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    return np.ascontiguousarray(arr)


def modality_is_identity(source: pixels.FrameSource) -> bool:
    """True when a greyscale frame's modality values equal its stored values (no Modality LUT, rescale 1/0):
    then the viewer's cached frames are exactly what the analysis decodes and may be handed to it."""
    if source.is_color or source.header.get("ModalityLUTSequence"):
        return False
    rescale = source._rescale(0)
    return rescale is None or rescale == (1.0, 0.0)


_RLE_LOSSLESS = "1.2.840.10008.1.2.5"
_MEMORY_SAFE_RLE = frozenset({"pylibjpeg", "pydicom"})  # pylibjpeg-rle is Rust; pydicom's own is Python


def cheap_in_process(header: object) -> bool:
    """May one frame of this file be decoded right on the caller's thread? Native frames (a read) and RLE by a
    memory-safe decoder (5–15 ms for 1024², cannot crash the process) — the viewer does so for the first frame,
    where a hop to a worker and back would cost more than the decode."""
    uid = pixels.reader._transfer_syntax(header)  # type: ignore[arg-type]
    if pixels.frames_decode_independently(header):  # type: ignore[arg-type]
        return True
    if uid == _RLE_LOSSLESS:
        return pixels._preferred_plugin(uid).get("decoding_plugin") in _MEMORY_SAFE_RLE
    return False


def needs_process(path: str) -> bool:
    """Decode this file's frames in a worker process? Yes for every encapsulated (compressed) syntax: their
    decoders hold the GIL (RLE's too) or could crash the process (see the module docstring). Only native frames
    (a memory copy) stay on the pool's threads; a first frame that is :func:`cheap_in_process` is decoded inline
    by the viewer before any of this."""
    return decodes_in_worker(frame_source(path).header)


def decodes_in_worker(header: object) -> bool:
    """:func:`needs_process` on a header already read (the viewer's loader keeps its own)."""
    return not pixels.frames_decode_independently(header)  # type: ignore[arg-type]
