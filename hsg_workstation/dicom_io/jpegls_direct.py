"""JPEG-LS frames decoded straight from their stored bytes with CharLS (pyjpegls), skipping pydicom's wrapper.

Why: ``pydicom.pixels.pixel_array(path, index=i)`` opens and parses the file again and walks the fragments to
frame ``i`` on every call, then runs its decoder framework around the same ``jpeg_ls`` call. On a 1024² 12-bit
loop that is 4–5 ms of a 37–45 ms frame (measured with ``benchmarks/viewer.py``'s test loop, DCMTK ``dcmcjpls``),
and the viewer pays it on the first frame of every JPEG-LS loop and on every frame it decodes ahead. The
viewer's header (``reader.read_header``) already knows where the Pixel Data fragments are, so the frame's bytes
are one read (``pixels._encapsulated_frame``).

Only the cases where pydicom's result is exactly CharLS's little-endian output are taken here: one sample,
unsigned, 8 or 16 bits allocated, a codestream whose size and sample precision agree with the header. Anything
else (colour, signed data — pydicom sign-extends those —, a codestream that disagrees with the header) returns
None and goes through pydicom as before. ``tests/dicom_io/test_jpegls_direct.py`` compares every frame with
pydicom's on pydicom's own JPEG-LS test files and on a DCMTK-encoded loop.
"""

from __future__ import annotations

import numpy as np

try:  # pyjpegls is a runtime dependency; without it pydicom reports the missing decoder as before
    from jpeg_ls import decode_buffer as _charls_decode
except ImportError:  # pragma: no cover - the project's own environment always has it
    _charls_decode = None

JPEG_LS_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"})


def available() -> bool:
    return _charls_decode is not None


def takes(samples: int, bits_allocated: int, signed: bool) -> bool:
    """Is this header's pixel layout one the direct path reproduces exactly (see the module docstring)?"""
    return available() and samples == 1 and bits_allocated in (8, 16) and not signed


def decode(data: bytes, rows: int, columns: int, bits_allocated: int) -> np.ndarray | None:
    """The frame as ``(rows, columns)`` uint8 / uint16, or None when the codestream's own header disagrees with
    the DICOM header (pydicom then decides what to do with it). CharLS errors propagate to the caller, which
    names the file and frame."""
    assert _charls_decode is not None
    decoded, meta = _charls_decode(data)
    if (
        meta.get("width") != columns
        or meta.get("height") != rows
        or meta.get("components") != 1
        or not 1 < int(meta.get("bits_per_sample", 0)) <= bits_allocated
    ):
        return None
    dtype = np.dtype("<u2") if bits_allocated == 16 else np.dtype("u1")
    if len(decoded) != rows * columns * dtype.itemsize:
        return None
    return np.frombuffer(decoded, dtype=dtype).reshape(rows, columns)
