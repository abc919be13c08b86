"""Header reading: classification, validation and every kind of bad input named with file and reason."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from hsg_workstation.dicom_io import reader
from hsg_workstation.dicom_io.model import SopKind
from hsg_workstation.errors import DicomReadError

from .dicomfactory import (
    COMPREHENSIVE_SR,
    DX_PRESENTATION,
    ENCAPSULATED_PDF,
    KEY_OBJECT_SELECTION,
    RF_STORAGE,
    base_dataset,
    make_document,
    make_image,
)


@pytest.mark.parametrize(
    ("uid", "kind"),
    [
        (RF_STORAGE, SopKind.IMAGE),
        ("1.2.840.10008.5.1.4.1.1.12.1", SopKind.IMAGE),  # XA
        ("1.2.840.10008.5.1.4.1.1.12.1.1", SopKind.IMAGE),  # Enhanced XA
        ("1.2.840.10008.5.1.4.1.1.12.2.1", SopKind.IMAGE),  # Enhanced XRF
        (DX_PRESENTATION, SopKind.IMAGE),
        ("1.2.840.10008.5.1.4.1.1.1", SopKind.IMAGE),  # CR
        ("1.2.840.10008.5.1.4.1.1.7", SopKind.IMAGE),  # Secondary Capture
        (COMPREHENSIVE_SR, SopKind.STRUCTURED_REPORT),
        ("1.2.840.10008.5.1.4.1.1.88.22", SopKind.STRUCTURED_REPORT),
        (ENCAPSULATED_PDF, SopKind.ENCAPSULATED_PDF),
        (KEY_OBJECT_SELECTION, SopKind.KEY_OBJECT_SELECTION),
        ("1.2.840.10008.5.1.4.1.1.11.1", SopKind.PRESENTATION_STATE),
        ("1.2.840.10008.5.1.4.1.1.481.2", SopKind.OTHER),  # RT Dose has pixels but is no image for HSG
        ("", SopKind.OTHER),
    ],
)
def test_classify_sop_class(uid: str, kind: SopKind) -> None:
    assert reader.classify_sop_class(uid) is kind


def test_read_header_does_not_load_pixels_and_builds_instance(tmp_path: Path) -> None:
    path = make_image(
        tmp_path / "loop.dcm", frames=5, instance_number=7, acquisition_datetime="20260115101501.25+0100"
    )
    ds = reader.read_header(path)
    assert "PixelData" not in ds
    framing = ds.hsg_pixel_framing
    assert framing.present and not framing.encapsulated and framing.value_length == 5 * 32 * 32 * 2
    inst = reader.instance_from_header(ds, path)
    assert inst.kind is SopKind.IMAGE
    assert (inst.number_of_frames, inst.rows, inst.columns, inst.instance_number) == (5, 32, 32, 7)
    assert inst.acquisition_datetime == "20260115101501.25"  # offset dropped, sortable
    assert inst.transfer_syntax_uid == "1.2.840.10008.1.2.1"


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"AcquisitionDate": "20260115", "AcquisitionTime": "1015"}, "20260115101500"),
        ({"ContentDate": "20260115", "ContentTime": "101502.5"}, "20260115101502.5"),
        ({}, None),
    ],
)
def test_acquisition_datetime_fallbacks(attrs: dict, expected: str | None) -> None:
    ds = base_dataset(RF_STORAGE)
    for k, v in attrs.items():
        setattr(ds, k, v)
    assert reader.acquisition_datetime(ds) == expected


def test_encapsulated_framing_is_walked(tmp_path: Path) -> None:
    ds = reader.read_header(get_testdata_file("JPEG2000.dcm"))
    assert ds.hsg_pixel_framing.encapsulated and ds.hsg_pixel_framing.fragment_count >= 1


def test_documents_need_no_pixels(tmp_path: Path) -> None:
    for uid in (COMPREHENSIVE_SR, ENCAPSULATED_PDF, KEY_OBJECT_SELECTION):
        ds = reader.read_header(make_document(tmp_path / f"{uid}.dcm", uid))
        assert reader.instance_from_header(ds, tmp_path).kind is not SopKind.IMAGE


# -- bad input: each is a DicomReadError naming the file and the reason ---------------------------------------


def _expect(path: Path | str, fragment: str, **kwargs: object) -> None:
    with pytest.raises(DicomReadError) as info:
        reader.read_header(path, **kwargs)  # type: ignore[arg-type]
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_not_dicom(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not an image\n" * 20)
    _expect(path, "not a DICOM Part 10 file")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    with pytest.raises(DicomReadError, match="empty.dcm"):
        reader.read_header(path)


def test_pydicom_no_meta_is_rejected() -> None:
    _expect(get_testdata_file("no_meta.dcm"), "not a DICOM Part 10 file")


def test_pydicom_mr_truncated() -> None:
    _expect(get_testdata_file("MR_truncated.dcm"), "truncated")


def test_pydicom_j2k_too_short() -> None:
    _expect(get_testdata_file("emri_small_jpeg_2k_lossless_too_short.dcm"), "truncated")


def test_truncated_header(tmp_path: Path) -> None:
    src = make_image(tmp_path / "ok.dcm")
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(src.read_bytes()[:300])
    with pytest.raises(DicomReadError, match="cut.dcm"):
        reader.read_header(cut)


def test_truncated_native_pixel_data(tmp_path: Path) -> None:
    src = make_image(tmp_path / "ok.dcm", frames=3)
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(src.read_bytes()[:-100])
    _expect(cut, "truncated")


def test_pixel_data_shorter_than_rows_columns_frames(tmp_path: Path) -> None:
    path = make_image(tmp_path / "short.dcm", frames=1, extra={"NumberOfFrames": 4})
    _expect(path, "Rows × Columns × Frames needs")


def test_missing_pixel_data(tmp_path: Path) -> None:
    ds = base_dataset(RF_STORAGE)
    ds.Rows, ds.Columns, ds.BitsAllocated, ds.SamplesPerPixel = 16, 16, 16, 1
    path = tmp_path / "nopixels.dcm"
    ds.save_as(path, enforce_file_format=True)
    _expect(path, "without Pixel Data")


@pytest.mark.parametrize("missing", ["Rows", "Columns"])
def test_missing_rows_or_columns(tmp_path: Path, missing: str) -> None:
    path = make_image(tmp_path / "img.dcm")
    import pydicom

    ds = pydicom.dcmread(path)
    del ds[missing]
    ds.save_as(path, enforce_file_format=True)
    _expect(path, f"image without {missing}")


def test_missing_sop_instance_uid(tmp_path: Path) -> None:
    ds = base_dataset(COMPREHENSIVE_SR)
    del ds.SOPInstanceUID
    ds.preamble = b"\0" * 128
    path = tmp_path / "nouid.dcm"
    ds.save_as(path, enforce_file_format=False)  # file meta kept, SOP Instance UID missing
    _expect(path, "no SOP Instance UID")


def test_absurd_size_beyond_cap(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img.dcm", rows=16, columns=16)
    import pydicom

    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns, ds.NumberOfFrames = 65535, 65535, 9999  # header claims ~80 TB, data is tiny
    ds.save_as(path, enforce_file_format=True)
    _expect(path, "too large")
    # The cap is configurable: a 16×16 image is refused under a 100-byte cap.
    small = make_image(tmp_path / "small.dcm", rows=16, columns=16)
    _expect(small, "too large", max_pixel_bytes=100)


@pytest.mark.timeout(60)
def test_directory_fifo_and_broken_symlink(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    _expect(fifo, "not a regular file")  # must not block on open
    link = tmp_path / "dangling.dcm"
    link.symlink_to(tmp_path / "gone.dcm")
    _expect(link, "cannot be read")
    _expect(tmp_path, "not a regular file")


def test_read_header_bytes_matches_file(tmp_path: Path) -> None:
    path = make_image(tmp_path / "img.dcm", frames=2)
    ds = reader.read_header_bytes(path.read_bytes())
    assert ds.SOPInstanceUID == reader.read_header(path).SOPInstanceUID
    with pytest.raises(DicomReadError, match="truncated"):
        reader.read_header_bytes(path.read_bytes()[:-10])


def test_big_endian_and_implicit_files_are_accepted(tmp_path: Path) -> None:
    for name in ("MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm", "image_dfl.dcm"):
        copy = tmp_path / name
        shutil.copy(get_testdata_file(name), copy)
        ds = reader.read_header(copy)
        assert ds.hsg_pixel_framing.present, name


@pytest.mark.parametrize("name", ["SC_rgb_jpeg.dcm", "SC_ybr_full_422_uncompressed.dcm"])
def test_files_pydicom_reads_are_not_refused(name: str) -> None:
    """Pixel Data written without a VR in an explicit-VR file, and native YBR_FULL_422 (2 values per pixel)."""
    import numpy as np
    import pydicom

    from hsg_workstation.dicom_io.pixels import decode_frame

    path = get_testdata_file(name)
    header = reader.read_header(path)
    assert header.hsg_pixel_framing.present
    np.testing.assert_array_equal(decode_frame(path, 0, header=header), pydicom.dcmread(path).pixel_array)
