"""Survey (issue 15, not shipped): do imagecodecs' JPEG Lossless decoders give gdcm's values?

JPEG Lossless (process 14) files encoded by DCMTK ``dcmcjpeg +el`` — every selection value 1-7, point transform 0
and 2, 8 / 12 / 16 bits stored, three 256² frames each — decoded by imagecodecs' ``ljpeg``, ``jpegsof3`` and
``jpeg8`` (libjpeg-turbo), compared with pydicom + python-gdcm (the decoder the viewer uses). Why: imagecodecs
decodes a 1024² 12-bit frame 3-5× faster than gdcm here, and a decoder that is fast but wrong on some predictor
or point transform would show wrong pixel values without an error. Needs ``pip install imagecodecs``.

``python benchmarks/jpeg_lossless_decoders.py`` prints one JSON object: per case, per decoder, equal or not.
"""

import json
import subprocess
import tempfile
from pathlib import Path

import imagecodecs
import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import generate_frames
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = Path(tempfile.mkdtemp(prefix="jpegll-survey-"))


def native(bits, path):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.12.2"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "RF"
    ds.PatientName = "LJ^TEST"
    ds.Rows = ds.Columns = 256
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    alloc = 8 if bits == 8 else 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = alloc, bits, bits - 1, 0
    ds.NumberOfFrames = 3
    rng = np.random.default_rng(bits)
    yy, xx = np.mgrid[:256, :256]
    smooth = (np.sin(xx / 17.0) + np.cos(yy / 23.0) + 2) / 4 * (2**bits - 1)
    frames = np.stack(
        [np.clip(smooth + rng.normal(0, 2 ** (bits - 6), smooth.shape) * k, 0, 2**bits - 1) for k in range(3)]
    )
    frames[:, :8, :8] = 2**bits - 1
    frames[:, -8:, -8:] = 0  # extremes
    ds.PixelData = frames.astype(np.uint8 if alloc == 8 else np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return frames


res = {}
for bits in (8, 12, 16):
    src = out / f"native{bits}.dcm"
    ref_native = native(bits, src)
    for sv in range(1, 8):
        for pt in (0, 2):
            dst = out / f"b{bits}_sv{sv}_pt{pt}.dcm"
            r = subprocess.run(
                ["/usr/bin/dcmcjpeg", "+el", "+sv", str(sv), "+pt", str(pt), str(src), str(dst)],
                capture_output=True,
                text=True,
            )
            key = f"bits{bits}_sv{sv}_pt{pt}"
            if r.returncode:
                res[key] = "encode failed: " + r.stderr.strip()[:80]
                continue
            ds = pydicom.dcmread(dst)
            ref = pydicom.pixels.pixel_array(ds, decoding_plugin="gdcm")
            frames = list(generate_frames(ds.PixelData, number_of_frames=3))
            row = {}
            for name, fn in (
                ("ljpeg", imagecodecs.ljpeg_decode),
                ("jpegsof3", imagecodecs.jpegsof3_decode),
                ("jpeg8", imagecodecs.jpeg8_decode),
            ):
                try:
                    got = np.stack([np.asarray(fn(f)).reshape(256, 256) for f in frames])
                    row[name] = bool(np.array_equal(got.astype(np.int64), ref.astype(np.int64)))
                except Exception as e:
                    row[name] = "error: " + str(e)[:60]
            row["gdcm_equals_native"] = (
                bool(np.array_equal(ref.astype(np.int64), ref_native.astype(np.int64)))
                if pt == 0
                else "lossy (pt>0)"
            )
            res[key] = row
print(json.dumps(res))
