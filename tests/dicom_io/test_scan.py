"""The fast header scanner must agree with the pydicom path on every file it accepts, and defer on the rest."""

from __future__ import annotations

import os
from pathlib import Path

import pydicom.data
import pytest

from hsg_workstation.dicom_io import reader
from hsg_workstation.dicom_io.index import index_row
from hsg_workstation.errors import DicomReadError

from .dicomfactory import make_image


def _vendor_files() -> list[Path]:
    roots = {Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent}
    mlut = pydicom.data.get_testdata_file("mlut_18.dcm")
    if mlut:
        roots.add(Path(mlut).parent)
    files = []
    for root in roots:
        files += [p for p in sorted(root.rglob("*")) if p.is_file() and p.stat().st_size < 8 * 1024 * 1024]
    return files


def _outcome(fn, path: Path) -> tuple:
    try:
        header = fn(path)
    except DicomReadError as exc:
        return ("error", str(exc))
    if reader.is_dicomdir(header):
        return ("dicomdir",)
    inst = reader.instance_from_header(header, path)
    row = index_row(header, inst, "rel", "src")
    return ("ok", inst, row, header.hsg_pixel_framing)


def test_scanner_agrees_with_pydicom_on_vendor_files() -> None:
    files = _vendor_files()
    assert len(files) > 150
    fast = 0
    for path in files:
        expected = _outcome(reader.read_header, path)
        got = _outcome(reader.scan_header, path)
        assert got == expected, path
        if got[0] == "ok" and type(reader.scan_header(path)) is reader.ScannedHeader:
            fast += 1
    assert fast > 50  # the fast path is really taken for the common encodings


def test_fast_path_used_and_equal_for_synthetic_files(tmp_path: Path) -> None:
    path = make_image(
        tmp_path / "a.dcm",
        frames=3,
        patient_name="Alpha^Test^^Dr",
        acquisition_datetime="20260101120000",
        extra={"SpecificCharacterSet": "ISO_IR 100", "NumberOfFrames": "3"},
    )
    header = reader.scan_header(path)
    assert type(header) is reader.ScannedHeader
    assert _outcome(reader.scan_header, path) == _outcome(reader.read_header, path)
    assert reader.header_text(header, 0x00100010) == "Alpha^Test^^Dr"


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"PatientName": "Müller^Anna", "SpecificCharacterSet": "ISO_IR 100"}, "non-ASCII"),
        ({"SpecificCharacterSet": ["", "ISO 2022 IR 87"]}, "ISO 2022"),
    ],
)
def test_unusual_text_falls_back_to_pydicom(tmp_path: Path, extra: dict, why: str) -> None:
    path = make_image(tmp_path / "b.dcm", extra=extra)
    header = reader.scan_header(path)
    assert type(header) is not reader.ScannedHeader, why
    if "PatientName" in extra:
        assert reader.header_text(header, 0x00100010) == "Müller^Anna"


def test_bytes_and_errors_match(tmp_path: Path) -> None:
    data = make_image(tmp_path / "c.dcm", frames=2).read_bytes()
    assert type(reader.scan_header_bytes(data)) is reader.ScannedHeader
    for bad in (data[:-7], data[:400], b"x" * 200):
        with pytest.raises(DicomReadError) as a:
            reader.scan_header_bytes(bad, name="<n>")
        with pytest.raises(DicomReadError) as b:
            reader.read_header_bytes(bad, name="<n>")
        assert str(a.value) == str(b.value)


@pytest.mark.timeout(60)
def test_unreadable_and_special_files_word_errors_like_read_header(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p.dcm")
    for path in (tmp_path / "p.dcm", tmp_path / "missing.dcm", tmp_path):
        with pytest.raises(DicomReadError) as a:
            reader.scan_header(path)
        with pytest.raises(DicomReadError) as b:
            reader.read_header(path)
        assert str(a.value) == str(b.value)


def test_implicit_vr_files_take_the_fast_path(tmp_path: Path) -> None:
    path = make_image(tmp_path / "i.dcm", frames=2, instance_number=4)
    ds = pydicom.dcmread(path)
    from pydicom.sequence import Sequence

    item = pydicom.Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "T-D6000", "SRT", "Pelvis"
    ds.AnatomicRegionSequence = Sequence([item])  # a sequence to skip in implicit VR
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2"
    ds.save_as(path, enforce_file_format=True)
    header = reader.scan_header(path)
    assert type(header) is reader.ScannedHeader and header.original_encoding == (True, True)
    assert _outcome(reader.scan_header, path) == _outcome(reader.read_header, path)
