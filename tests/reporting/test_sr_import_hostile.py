"""``report import`` on hostile files the fuzz campaign (benchmarks/fuzz.py, issue 16) found: a few-KB file that
declares a 4 GB value, a deflated SR whose compressed stream is damaged. Each must be one message naming the file
(:class:`SrImportError`), not a MemoryError or a zlib traceback."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian

from hsg_workstation.dicom_io import limits
from hsg_workstation.reporting.sr import build_sr
from hsg_workstation.reporting.sr_import import SrImportError, read_sr

from .conftest import full_report

ROOT = Path(__file__).resolve().parents[2]


def _sr_file(tmp_path: Path, source_datasets, name: str = "sr.dcm", **save) -> Path:
    rf, dx = source_datasets
    sr = build_sr(full_report(rf, dx), source_datasets)
    path = tmp_path / name
    if save.get("deflate"):
        sr.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    sr.save_as(path, enforce_file_format=True)
    return path


def test_a_small_file_declaring_a_4_gb_value_is_refused_without_allocating_it(
    tmp_path: Path, source_datasets
) -> None:
    path = _sr_file(tmp_path, source_datasets)
    # An OB element at the end of the dataset whose length field says 0xFFFFFFF0 bytes; 8 bytes follow.
    path.write_bytes(
        path.read_bytes() + struct.pack("<HH", 0x7FE1, 0x1010) + b"OB\0\0" + b"\xf0\xff\xff\xff" + b"x" * 8
    )
    assert path.stat().st_size < 100_000
    # Under a 2 GiB address-space limit (the campaign's children run under 3 GiB): pydicom reading the file
    # object asked Python for the declared 4 GB in one read() → MemoryError.
    code = textwrap.dedent(
        f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
        from hsg_workstation.reporting.sr_import import SrImportError, read_sr
        try:
            read_sr({str(path)!r})
            print("READ")  # the report content is whole; the cut-short trailing element is not part of it
        except SrImportError as exc:
            print("REFUSED", exc)
        """
    )
    env = {
        "PYTHONPATH": str(ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith(("READ", "REFUSED")), proc.stdout
    assert "MemoryError" not in proc.stdout


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_damaged_deflated_sr_is_a_message_naming_the_file(
    tmp_path: Path, source_datasets, cut: float
) -> None:
    path = _sr_file(tmp_path, source_datasets, "deflated.dcm", deflate=True)
    read_sr(path)  # the intact deflated SR reads
    data = bytearray(path.read_bytes())
    damaged = tmp_path / "damaged.dcm"
    damaged.write_bytes(bytes(data[: int(len(data) * cut)]))  # the deflate stream ends mid-block
    with pytest.raises(SrImportError, match=r"damaged\.dcm: cannot read as DICOM"):
        read_sr(damaged)
    start = 400  # past the file meta; flip bytes inside the compressed stream
    for i in range(start, start + 40):
        data[i] ^= 0x5A
    damaged.write_bytes(bytes(data))
    with pytest.raises(SrImportError, match=r"damaged\.dcm"):
        read_sr(damaged)


def test_a_file_too_large_for_a_report_sr_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source_datasets
) -> None:
    path = _sr_file(tmp_path, source_datasets)
    monkeypatch.setattr(limits, "MAX_SR_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(SrImportError, match=r"sr\.dcm: [\d,]+ bytes is above the limit of [\d,]+ bytes"):
        read_sr(path)
