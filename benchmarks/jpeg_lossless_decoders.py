"""Survey (issue 15, not shipped): do imagecodecs' JPEG Lossless decoders give gdcm's values?

JPEG Lossless (process 14) files encoded by DCMTK ``dcmcjpeg +el`` — every selection value 1-7, point transform 0
and 2, 8 / 12 / 16 bits stored, three 256² frames each — decoded by imagecodecs' ``ljpeg``, ``jpegsof3`` and
``jpeg8`` (libjpeg-turbo), compared with pydicom + python-gdcm (the decoder the viewer uses). Why: imagecodecs
decodes a 1024² 12-bit frame 3-5× faster than gdcm here, and a decoder that is fast but wrong on some predictor
or point transform would show wrong pixel values without an error. Needs ``pip install imagecodecs``.

``python benchmarks/jpeg_lossless_decoders.py`` prints one JSON object: per case, per decoder, equal or not.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import imagecodecs
import numpy as np
import pydicom
from pydicom.encaps import generate_frames
from pydicom.uid import generate_uid
from viewer import RF_IMAGE, new_file

SIZE, FRAMES = 256, 3
DECODERS = {
    "ljpeg": imagecodecs.ljpeg_decode,
    "jpegsof3": imagecodecs.jpegsof3_decode,
    "jpeg8": imagecodecs.jpeg8_decode,
}


def write_native(bits: int, path: Path) -> np.ndarray:
    """A 3-frame native RF file of ``bits`` stored: smooth ramps, noise growing frame by frame, both extremes."""
    ds = new_file(path, RF_IMAGE)
    ds.StudyInstanceUID = ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "RF"
    ds.PatientName = "LJ^TEST"
    ds.Rows = ds.Columns = SIZE
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    alloc = 8 if bits == 8 else 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = alloc, bits, bits - 1, 0
    ds.NumberOfFrames = FRAMES
    rng = np.random.default_rng(bits)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    smooth = (np.sin(xx / 17.0) + np.cos(yy / 23.0) + 2) / 4 * (2**bits - 1)
    frames = np.stack(
        [
            np.clip(smooth + rng.normal(0, 2 ** (bits - 6), smooth.shape) * k, 0, 2**bits - 1)
            for k in range(FRAMES)
        ]
    )
    frames[:, :8, :8] = 2**bits - 1
    frames[:, -8:, -8:] = 0  # extremes
    ds.PixelData = frames.astype(np.uint8 if alloc == 8 else np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return frames


def compare(path: Path, native: np.ndarray | None) -> dict[str, object]:
    """Each decoder's frames against gdcm's (and gdcm's against the native values when the coding is lossless)."""
    ds = pydicom.dcmread(path)
    ref = pydicom.pixels.pixel_array(ds, decoding_plugin="gdcm").astype(np.int64)
    frames = list(generate_frames(ds.PixelData, number_of_frames=FRAMES))
    row: dict[str, object] = {}
    for name, decode in DECODERS.items():
        try:
            got = np.stack([np.asarray(decode(f)).reshape(SIZE, SIZE) for f in frames]).astype(np.int64)
            row[name] = bool(np.array_equal(got, ref))
        except Exception as exc:  # noqa: BLE001 - a decoder's failure is a result of the survey
            row[name] = f"error: {str(exc)[:60]}"
    row["gdcm_equals_native"] = (
        bool(np.array_equal(ref, native.astype(np.int64))) if native is not None else "lossy (pt>0)"
    )
    return row


def main() -> dict[str, object]:
    out = Path(tempfile.mkdtemp(prefix="jpegll-survey-"))
    res: dict[str, object] = {}
    for bits in (8, 12, 16):
        src = out / f"native{bits}.dcm"
        native = write_native(bits, src)
        for sv in range(1, 8):
            for pt in (0, 2):
                dst = out / f"b{bits}_sv{sv}_pt{pt}.dcm"
                args = ["/usr/bin/dcmcjpeg", "+el", "+sv", str(sv), "+pt", str(pt), str(src), str(dst)]
                run = subprocess.run(args, capture_output=True, text=True)
                key = f"bits{bits}_sv{sv}_pt{pt}"
                if run.returncode:
                    res[key] = "encode failed: " + run.stderr.strip()[:80]
                    continue
                res[key] = compare(dst, native if pt == 0 else None)
    return res


if __name__ == "__main__":
    print(json.dumps(main()))
