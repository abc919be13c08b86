"""Cost of decoding compressed frames in a child process (issue 16, "a crash-proof decode path").

Prints ONE JSON object. For 1024² 12-bit frames in RLE Lossless, JPEG-LS Lossless and JPEG 2000 Lossless (encoded
here from a synthetic fluoroscopy-like image), the median time per frame of

* ``in_process_ms`` — ``pixels.decode_frame(path, i, header=header)`` in this process (the baseline), and
* ``isolated_ms`` — ``isolated.decode_frame_isolated(path, i)`` through a warm one-worker pool (the worker reads
  and caches the header, decodes, and the frame comes back pickled through a pipe),

with ``overhead_ms`` (the difference) and ``ratio``. Also ``pool_start_ms``: the first frame through a new
pool (forkserver start + imports). Sides are interleaved frame by frame; the machine is shared.

    .venv/bin/python benchmarks/decode_isolation.py [--frames 8] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from hsg_workstation.dicom_io import isolated, pixels, reader

SYNTAXES = {"rle": RLELossless, "jpeg_ls": JPEGLSLossless, "j2k": JPEG2000Lossless}


def _image(size: int, frames: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    base = 1800 + 900 * np.exp(-(((xx - size / 2) / (size / 5)) ** 2 + ((yy - size / 2) / (size / 4)) ** 2))
    rng = np.random.default_rng(7)
    return np.stack([np.clip(base + rng.normal(0, 40, base.shape), 0, 4095) for _ in range(frames)]).astype(
        np.uint16
    )


def _write(path: Path, arr: np.ndarray, syntax: str) -> Path:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.12.2"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Modality = "RF"
    ds.Rows, ds.Columns = arr.shape[1:]
    ds.NumberOfFrames = arr.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = arr.tobytes()
    ds.compress(syntax, encoding_plugin="pylibjpeg" if syntax == JPEG2000Lossless else "")
    ds.save_as(path, enforce_file_format=True)
    return path


def _tiny(path: str, index: int) -> np.ndarray:
    """Worker target for the bare round trip (request, 1×1 answer): process wake-ups only."""
    return np.zeros((1, 1), np.uint16)


def _shared_blank(path: str, index: int) -> object:
    """Worker target returning a 1024² uint16 frame through the shared buffer without decoding: the transport."""
    return isolated.put_shared(np.full((1024, 1024), index, np.uint16))


def _median_ms(fn, n: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()
    arr = _image(args.size, args.frames)
    out: dict[str, object] = {"size": args.size, "frames": args.frames, "rounds": args.rounds}
    with tempfile.TemporaryDirectory() as tmp:
        files = {name: _write(Path(tmp) / f"{name}.dcm", arr, uid) for name, uid in SYNTAXES.items()}
        t0 = time.perf_counter()
        isolated.decode_frame_isolated(files["rle"], 0)
        out["pool_start_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        for name, path in files.items():
            header = reader.read_header(path)
            isolated.decode_frame_isolated(path, 0)  # header cached in the worker, like a playing loop
            inproc: list[float] = []
            iso: list[float] = []
            for _ in range(args.rounds):
                for i in range(args.frames):
                    t = time.perf_counter()
                    a = pixels.decode_frame(path, i, header=header)
                    inproc.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    b = isolated.decode_frame_isolated(path, i)
                    iso.append(time.perf_counter() - t)
                    assert np.array_equal(a, b)
            base, ours = statistics.median(inproc) * 1000, statistics.median(iso) * 1000
            out[name] = {
                "compressed_kb": round(path.stat().st_size / 1024 / args.frames, 1),
                "in_process_ms": round(base, 2),
                "isolated_ms": round(ours, 2),
                "overhead_ms": round(ours - base, 2),
                "ratio": round(ours / base, 2),
            }
        for name, target in (("roundtrip_ms", _tiny), ("transport_1024_ms", _shared_blank)):
            d = isolated.IsolatedDecoder(target=target)
            d.decode("x", 0)
            out[name] = _median_ms(lambda i, d=d: d.decode("x", i), 20 * args.rounds)
            d.close()
    out["load_average_1min"] = os.getloadavg()[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
