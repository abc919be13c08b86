"""Damaged files: cut at any byte, bytes flipped in the header, impossible bit depths, corrupt LUTs and
compressed streams. Every one must end as a DicomReadError naming the file (or be read), never another
exception — the import goes on and the viewer shows a message instead of dying.

Seeded and exhaustive where cheap (every cut offset of a small header), so a failure is reproducible.
"""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from hsg_workstation.dicom_io import reader
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.pixels import FrameSource
from hsg_workstation.errors import DicomReadError

from .dicomfactory import make_image, tree_hashes


def _exercise(path: Path) -> str:
    """Everything the import and the viewer do with a file; returns 'ok' or the DicomReadError text."""
    try:
        ds = reader.read_header(path)
        reader.instance_from_header(ds, path)
        scanned = reader.scan_header(path)
        reader.instance_from_header(scanned, path)
        source = FrameSource(path, ds)
        source.voi_presets(0)
        source.render_uint8(0)
    except DicomReadError as exc:
        assert str(path) in str(exc), exc  # names the file
        return str(exc)
    return "ok"


@pytest.fixture(scope="module")
def rf_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rf")
    return make_image(
        root / "rf.dcm",
        rows=16,
        columns=16,
        frames=3,
        windows=[(2048, 4096, "FULL")],
        patient_name="Doe^Jane",
    )


@pytest.mark.timeout(120)
def test_cut_at_every_byte_of_the_header(rf_file: Path, tmp_path: Path) -> None:
    data = rf_file.read_bytes()
    pixel_tag = data.rfind(b"\xe0\x7f\x10\x00")
    assert pixel_tag > 0
    cut = tmp_path / "cut.dcm"
    reasons = []
    for n in range(0, pixel_tag + 24):
        cut.write_bytes(data[:n])
        reasons.append(_exercise(cut))
    assert "ok" not in reasons  # every cut file is refused ...
    truncated = [r for r in reasons if "truncated" in r]
    assert len(truncated) > len(reasons) // 2  # ... and mostly recognised as truncated, not as "missing X"


@pytest.mark.timeout(120)
def test_cut_files_in_one_folder_import_goes_on(rf_file: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    data = rf_file.read_bytes()
    for n in range(140, len(data), 37):
        (src / f"cut_{n:05d}.dcm").write_bytes(data[:n])
    shutil.copy(rf_file, src / "zz_good.dcm")
    before = tree_hashes(src)
    with LocalDatabase(tmp_path / "db") as db:
        results = db.import_paths([src])
    assert len(results) == len(list(src.iterdir()))
    statuses = {Path(r.path).name: r.status for r in results}
    assert statuses.pop("zz_good.dcm") == "imported"
    assert set(statuses.values()) == {"skipped"}
    assert tree_hashes(src) == before


@pytest.mark.timeout(180)
@pytest.mark.parametrize("source", ["rf", "MR_small.dcm", "mlut_18.dcm", "vlut_04.dcm", "MR_small_RLE.dcm"])
def test_flipped_header_bytes_never_escape_as_other_errors(
    rf_file: Path, tmp_path: Path, source: str
) -> None:
    """1–3 random bytes changed in the first 4 KB (header, LUTs, and for small files the pixel stream).

    Includes the RLE decoder, whose Rust code *panics* on a corrupt stream (a BaseException): it must come
    back as a DicomReadError too. JPEG Lossless is left out on purpose: its only decoder here (python-gdcm)
    can abort the process on a corrupt stream — see docs/dicom-io.md.
    """
    data = (rf_file if source == "rf" else Path(get_testdata_file(source))).read_bytes()
    rng = np.random.default_rng(zlib.crc32(source.encode()))
    path = tmp_path / "mutated.dcm"
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(150):
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(128, min(len(b), 4096)))] = int(rng.integers(0, 256))
        path.write_bytes(bytes(b))
        outcomes["ok" if _exercise(path) == "ok" else "refused"] += 1
    assert (
        outcomes["ok"] > 0 and outcomes["refused"] > 0
    )  # the mutations are neither all harmless nor all fatal


@pytest.mark.parametrize(
    "change, words",
    [
        ({"BitsStored": 89}, "invalid Bits Stored (0028,0101) 89"),
        ({"BitsAllocated": 12}, "invalid Bits Allocated (0028,0100) 12"),
        ({"SamplesPerPixel": 9}, "invalid Samples per Pixel (0028,0002) 9"),
    ],
)
def test_impossible_pixel_description_is_refused(tmp_path: Path, change: dict, words: str) -> None:
    """Refused at the header, before a decoder sees it (gdcm crashed the process on Bits Stored 89)."""
    ds = pydicom.dcmread(make_image(tmp_path / "a.dcm"))
    for keyword, value in change.items():
        setattr(ds, keyword, value)
    ds.save_as(tmp_path / "a.dcm", enforce_file_format=True)
    with pytest.raises(DicomReadError, match=words.replace("(", r"\(").replace(")", r"\)")):
        reader.read_header(tmp_path / "a.dcm")
    with LocalDatabase(tmp_path / "db") as db:
        (r,) = db.import_paths([tmp_path / "a.dcm"])
    assert r.status == "skipped" and words in r.reason


def test_non_ascii_bytes_in_a_uid_are_named(tmp_path: Path) -> None:
    path = make_image(tmp_path / "a.dcm", series_uid="1.2.3.4")
    data = path.read_bytes().replace(b"1.2.3.4\x00", b"1.2.\xe93.4")
    path.write_bytes(data)
    reason = _exercise(path)
    assert "malformed SeriesInstanceUID (0020,000E)" in reason


def test_corrupt_modality_lut_is_a_read_error(tmp_path: Path) -> None:
    ds = pydicom.dcmread(get_testdata_file("mlut_18.dcm"))
    del ds.ModalityLUTSequence[0].LUTData
    ds.save_as(tmp_path / "m.dcm", enforce_file_format=True)
    with pytest.raises(DicomReadError, match="Modality LUT"):
        FrameSource(tmp_path / "m.dcm").render_uint8(0)


@pytest.mark.parametrize("name", ["JPEG-LL.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm"])
def test_jpeg_lossless_check_accepts_valid_streams(name: str) -> None:
    path = get_testdata_file(name)
    expected = pydicom.dcmread(path).pixel_array
    np.testing.assert_array_equal(FrameSource(path).decode(0), expected)


_LOSSLESS_FUZZ = """
import sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
import numpy as np
from pydicom.data import get_testdata_file
from hsg_workstation.dicom_io.pixels import FrameSource
from hsg_workstation.errors import DicomReadError
data = Path(get_testdata_file("JPEG-LL.dcm")).read_bytes()
start = data.find(b"\\xe0\\x7f\\x10\\x00") + 12  # the encapsulated value: offset table item, then the frame
out = Path(sys.argv[1])
rng = np.random.default_rng(0)
cases = [[(start + 43, 0x00)]]  # Huffman table length byte: made python-gdcm abort the interpreter
cases += [[(start + int(rng.integers(16, 140)), int(rng.integers(0, 256))) for _ in range(2)] for _ in range(150)]
refused = 0
for changes in cases:
    b = bytearray(data)
    for i, v in changes:
        b[i] = v
    out.write_bytes(bytes(b))
    try:
        FrameSource(out).render_uint8(0)
    except DicomReadError:
        refused += 1
print("survived", len(cases), "refused", refused)
"""


@pytest.mark.timeout(180)
def test_corrupt_jpeg_lossless_stream_is_an_error_not_an_abort(tmp_path: Path) -> None:
    """Run in a child interpreter: what is tested is that the process survives (gdcm aborted it before)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", _LOSSLESS_FUZZ, str(tmp_path / "ll.dcm")],
        capture_output=True,
        text=True,
        timeout=170,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    survived, refused = proc.stdout.split()[1::2]
    assert int(survived) == 151 and int(refused) > 0
