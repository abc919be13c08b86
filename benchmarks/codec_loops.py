"""Compressed copies of the viewer benchmark's test loop, one per transfer syntax (benchmark helper, not shipped).

Encoders are ones this project did not write: DCMTK ``dcmcjpeg`` (JPEG Lossless SV1 — pydicom cannot encode it),
``dcmcjpls`` (JPEG-LS lossless), ``dcmcrle`` (RLE), and pydicom with pylibjpeg-openjpeg for JPEG 2000 lossless
(DCMTK 3.6.7 has no JPEG 2000 codec). Each file is checked to decode back to the native frames' values.

``python benchmarks/codec_loops.py`` prints a decoder survey as one JSON object: per syntax and installed plugin,
the one-thread decode time of a frame and how two threads scale (≈2× → the plugin releases the GIL).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import JPEG2000Lossless

#: benchmark key → (transfer syntax UID, how the file is made)
SYNTAXES: dict[str, str] = {
    "jpegll": "1.2.840.10008.1.2.4.70",
    "jpegls": "1.2.840.10008.1.2.4.80",
    "j2k": "1.2.840.10008.1.2.4.90",
    "rle": "1.2.840.10008.1.2.5",
}
_DCMTK = {
    "jpegll": ["/usr/bin/dcmcjpeg", "+e1"],
    "jpegls": ["/usr/bin/dcmcjpls", "+el"],
    "rle": ["/usr/bin/dcmcrle"],
}


def encode_loop(native: Path, syntax: str, out: Path) -> Path:
    """``native`` (explicit VR little endian) re-encoded in ``syntax`` (a key of :data:`SYNTAXES`) at ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if syntax in _DCMTK:
        subprocess.run([*_DCMTK[syntax], str(native), str(out)], check=True, capture_output=True)
    elif syntax == "j2k":
        ds = pydicom.dcmread(native)
        ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
        ds.save_as(out, enforce_file_format=True)
    else:
        raise ValueError(syntax)
    got = str(pydicom.dcmread(out, stop_before_pixels=True).file_meta.TransferSyntaxUID)
    if got != SYNTAXES[syntax]:
        raise RuntimeError(f"{out}: encoder wrote {got}, wanted {SYNTAXES[syntax]}")
    for index in (0, pydicom.dcmread(native, stop_before_pixels=True).NumberOfFrames - 1):
        a = pydicom.pixels.pixel_array(str(native), index=index)
        b = pydicom.pixels.pixel_array(str(out), index=index)
        if not np.array_equal(a, b):
            raise RuntimeError(f"{out}: frame {index} does not decode to the original values (not lossless)")
    return out


def _plugins(uid: str) -> list[str]:
    from pydicom.pixels import get_decoder

    return sorted(get_decoder(pydicom.uid.UID(uid)).available_plugins)


def survey(loops: dict[str, Path], frames: int = 8) -> dict[str, dict[str, dict[str, float]]]:
    """Per syntax and plugin: median one-thread ms per frame and the speed-up of two threads on two frames."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, path in loops.items():
        uid = SYNTAXES[key]
        out[key] = {}
        for plugin in _plugins(uid):

            def dec(i: int, plugin: str = plugin, path: Path = path) -> None:
                pydicom.pixels.pixel_array(str(path), index=i, decoding_plugin=plugin)

            dec(0)
            times = []
            for i in range(frames):
                t0 = time.perf_counter()
                dec(i)
                times.append(time.perf_counter() - t0)
            one = statistics.median(times)
            t0 = time.perf_counter()
            for i in range(4):
                dec(i)
            serial = time.perf_counter() - t0
            t0 = time.perf_counter()
            ths = [threading.Thread(target=lambda j=j: [dec(2 * j), dec(2 * j + 1)]) for j in range(2)]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            threaded = time.perf_counter() - t0
            out[key][plugin] = {
                "ms_per_frame": round(one * 1000, 2),
                "two_thread_speedup": round(serial / threaded, 2),
            }
    return out


def main() -> int:
    sys.path.insert(0, str(Path(__file__).parent))
    from viewer import write_loop  # noqa: PLC0415 - benchmark helper shares the test pattern

    tmp = Path(tempfile.mkdtemp(prefix="hsg-codec-"))
    try:
        native = tmp / "native.dcm"
        write_loop(native, 12, pydicom.uid.generate_uid())
        loops = {k: encode_loop(native, k, tmp / f"{k}.dcm") for k in SYNTAXES}
        result = {
            "survey": survey(loops),
            "load_avg": os.getloadavg(),
            "nproc": os.cpu_count(),
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
