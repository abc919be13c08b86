"""The pixel pipeline against pydicom's reference functions on real vendor files and on synthetic edge cases."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi, apply_windowing

from hsg_workstation.dicom_io import reader
from hsg_workstation.dicom_io.pixels import (
    LINEAR,
    LINEAR_EXACT,
    LUT,
    SIGMOID,
    FrameSource,
    VoiPreset,
    apply_levels,
    decode_frame,
    render_uint8,
    window_levels,
)
from hsg_workstation.errors import DicomReadError, UnsupportedTransferSyntax

from .dicomfactory import make_image


def _reference_frame(path: str, index: int = 0) -> tuple[Dataset, np.ndarray]:
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    return ds, arr[index] if int(ds.get("NumberOfFrames") or 1) > 1 else arr


def _normalised_windowing(arr: np.ndarray, ds: Dataset, index: int) -> np.ndarray:
    """pydicom's windowing output rescaled to 0..255 (its output range depends on Bits Stored and rescale)."""
    with np.errstate(over="ignore"):  # pydicom's SIGMOID overflows exp() far from the centre (harmless: → 0)
        out = apply_windowing(arr, ds, index)
    bits = int(ds.BitsStored)
    lo, hi = (
        (0, 2**bits - 1) if int(ds.PixelRepresentation) == 0 else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    )
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        lo, hi = (
            lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept),
            hi * float(ds.RescaleSlope) + float(ds.RescaleIntercept),
        )
    return (out - lo) * (255.0 / (hi - lo))


@pytest.mark.parametrize(
    "name", ["CT_small.dcm", "MR_small.dcm", "mlut_18.dcm", "RG1_UNCI.dcm", "JPEG2000.dcm", "emri_small.dcm"]
)
def test_modality_lut_matches_pydicom(name: str) -> None:
    path = get_testdata_file(name)
    ds, stored = _reference_frame(path)
    ours = FrameSource(path).modality_frame(0)
    np.testing.assert_allclose(ours, apply_modality_lut(stored, ds))


@pytest.mark.parametrize("name", ["MR_small.dcm", "RG1_UNCI.dcm", "RG3_UNCI.dcm"])
def test_window_levels_match_pydicom_windowing(name: str) -> None:
    path = get_testdata_file(name)
    ds, stored = _reference_frame(path)
    source = FrameSource(path)
    frame = source.modality_frame(0)
    presets = [p for p in source.voi_presets() if p.function != LUT]
    assert presets, "vendor file has windows"
    for i, preset in enumerate(presets):
        image, levels = source.display_image(frame, preset)
        assert image is frame and levels is not None  # fast path: no pixel work, just levels
        ours = apply_levels(image, levels).astype(np.float64)
        ref = _normalised_windowing(apply_modality_lut(stored, ds), ds, i)
        assert np.abs(ours - ref).max() <= 1.0


def test_voi_lut_sequence_matches_pydicom() -> None:
    path = get_testdata_file("vlut_04.dcm")
    ds, stored = _reference_frame(path)
    source = FrameSource(path)
    (preset,) = [p for p in source.voi_presets() if p.function == LUT]
    assert source.default_voi().function == LUT  # no window in the file: the VOI LUT is the default
    image, levels = source.display_image(source.modality_frame(0), preset)
    assert levels is None and image.dtype == np.uint8
    ref = apply_voi(stored, ds).astype(np.float64)
    bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
    ref_scaled = ref * 255.0 / max(2**bits - 1, ref.max())
    assert np.abs(image.astype(np.float64) - ref_scaled).max() <= 1.0


def _synthetic(tmp_path: Path, function: str, signed_rescale: bool = False) -> Path:
    values = np.arange(0, 4096, dtype=np.uint16).reshape(64, 64)
    extra = {"VOILUTFunction": function}
    if signed_rescale:
        extra |= {"RescaleSlope": 0.5, "RescaleIntercept": -100}
    return make_image(
        tmp_path / f"{function}.dcm",
        rows=64,
        columns=64,
        pixels=values[None],
        windows=[(2048, 1024, "SOFT"), (1000, 300, "NARROW"), (3000, 1, "THRESHOLD")],
        extra=extra,
    )


@pytest.mark.parametrize("function", [LINEAR, LINEAR_EXACT, SIGMOID])
@pytest.mark.parametrize("rescale", [False, True])
def test_every_window_and_function_matches_pydicom(tmp_path: Path, function: str, rescale: bool) -> None:
    path = _synthetic(tmp_path, function, rescale)
    ds, stored = _reference_frame(str(path))
    source = FrameSource(path)
    presets = source.voi_presets()
    expected_names = ["SOFT", "NARROW"] + ([] if function == LINEAR else ["THRESHOLD"])
    if function == LINEAR:
        expected_names.append("THRESHOLD")  # width 1 is valid for LINEAR (a threshold)
    assert [p.name for p in presets] == expected_names
    assert all(p.function == function and p.explanation == p.name for p in presets)
    frame = source.modality_frame(0)
    for i, preset in enumerate(presets):
        image, levels = source.display_image(frame, preset)
        ours = (apply_levels(image, levels) if levels is not None else image).astype(np.float64)
        ref = _normalised_windowing(apply_modality_lut(stored, ds), ds, i)
        assert np.abs(ours - ref).max() <= 1.0, (function, preset.name)


def test_levels_for_linear_follow_the_standard() -> None:
    assert window_levels(100, 21, LINEAR) == (89.5, 109.5)  # c - 0.5 ± (w - 1) / 2
    assert window_levels(100, 20, LINEAR_EXACT) == (90, 110)


def test_monochrome1_renders_inverted_once(tmp_path: Path) -> None:
    values = np.array([[0, 4095]], dtype=np.uint16).repeat(2, axis=0)
    m1 = FrameSource(
        make_image(tmp_path / "m1.dcm", rows=2, columns=2, pixels=values[None], photometric="MONOCHROME1")
    )
    m2 = FrameSource(make_image(tmp_path / "m2.dcm", rows=2, columns=2, pixels=values[None]))
    m1_inverse = FrameSource(
        make_image(
            tmp_path / "m1i.dcm",
            rows=2,
            columns=2,
            pixels=values[None],
            photometric="MONOCHROME1",
            extra={"PresentationLUTShape": "INVERSE"},
        )
    )
    m2_inverse = FrameSource(
        make_image(
            tmp_path / "m2i.dcm",
            rows=2,
            columns=2,
            pixels=values[None],
            extra={"PresentationLUTShape": "INVERSE"},
        )
    )
    assert (m1.invert, m2.invert, m1_inverse.invert, m2_inverse.invert) == (True, False, True, True)
    assert m2.render_uint8(0)[0].tolist() == [0, 255]
    assert m1.render_uint8(0)[0].tolist() == [255, 0]  # high stored value = dark for MONOCHROME1
    assert m1_inverse.render_uint8(0)[0].tolist() == [255, 0]  # not inverted twice


def test_real_monochrome1_cr_is_inverted() -> None:
    path = get_testdata_file("RG1_UNCI.dcm")
    source = FrameSource(path)
    assert source.photometric == "MONOCHROME1" and source.invert
    frame = source.modality_frame(0)
    image, levels = source.display_image(frame, source.default_voi(frame))
    assert np.array_equal(source.render_uint8(0), 255 - apply_levels(image, levels))


def test_default_voi_order(tmp_path: Path) -> None:
    with_window = FrameSource(make_image(tmp_path / "w.dcm", windows=[(10, 20, "A"), (30, 40, "B")]))
    assert with_window.default_voi().name == "A"
    values = np.full((1, 8, 8), 500, dtype=np.uint16)
    values[0, 0, 0] = 1500
    plain = FrameSource(make_image(tmp_path / "p.dcm", rows=8, columns=8, pixels=values))
    frame = plain.modality_frame(0)
    full = plain.default_voi(frame)
    assert full.function == LINEAR_EXACT and (full.center, full.width) == (1000, 1000)
    out = plain.render_uint8(0)
    assert out[0, 0] == 255 and out[0, 1] == 0


def test_user_window_keeps_file_function(tmp_path: Path) -> None:
    path = _synthetic(tmp_path, SIGMOID)
    out = render_uint8(path, 0, window=(2048, 400))
    assert out.dtype == np.uint8 and 120 <= out[32, 0] <= 135  # value 2048 sits mid-sigmoid


# -- decoding ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "JPEG2000.dcm",  # JPEG 2000 (pylibjpeg-openjpeg)
        "MR_small_RLE.dcm",  # RLE
        "MR_small_jpeg_ls_lossless.dcm",  # JPEG-LS (pyjpegls)
        "SC_rgb_jpeg_dcmtk.dcm",  # JPEG baseline colour (Pillow)
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "image_dfl.dcm",  # deflated
        "emri_small_jpeg_2k_lossless.dcm",  # multi-frame J2K
        "emri_small_RLE.dcm",  # multi-frame RLE
        "JPEG-LL.dcm",  # JPEG Lossless SV1 (python-gdcm)
    ],
)
def test_compressed_and_odd_syntaxes_decode_like_pydicom(name: str) -> None:
    path = get_testdata_file(name)
    ds = pydicom.dcmread(path)
    full = ds.pixel_array
    n = int(ds.get("NumberOfFrames") or 1)
    for index in sorted({0, n - 1}):
        ours = decode_frame(path, index, header=pydicom.dcmread(path, stop_before_pixels=True))
        np.testing.assert_array_equal(ours, full[index] if n > 1 else full)


@pytest.mark.parametrize(
    ("name", "uid", "package"),
    [
        ("JPEG-lossy.dcm", "1.2.840.10008.1.2.4.51", "pylibjpeg-libjpeg"),
        ("JPGExtended.dcm", "1.2.840.10008.1.2.4.51", "hsg-workstation[gpl-codecs]"),
    ],
)
def test_undecodable_syntax_names_syntax_and_package(name: str, uid: str, package: str) -> None:
    path = get_testdata_file(name)
    for header in (None, pydicom.dcmread(path, stop_before_pixels=True)):  # with and without the pre-check
        with pytest.raises(UnsupportedTransferSyntax) as info:
            decode_frame(path, 0, header=header)
        msg = str(info.value)
        assert uid in msg and package in msg and path in msg
        assert isinstance(info.value, DicomReadError)


def test_decode_reads_one_frame_only(tmp_path: Path) -> None:
    frames = 24
    path = make_image(tmp_path / "loop.dcm", rows=128, columns=128, frames=frames)
    header = pydicom.dcmread(path, stop_before_pixels=True)
    full = pydicom.dcmread(path).pixel_array
    frame_bytes = 128 * 128 * 2
    tracemalloc.start()
    try:
        for i in (0, 11, frames - 1):
            tracemalloc.reset_peak()
            arr = decode_frame(path, i, header=header)
            _, peak = tracemalloc.get_traced_memory()
            np.testing.assert_array_equal(arr, full[i])
            assert peak < 4 * frame_bytes, (
                f"decoding frame {i} allocated {peak} bytes (all frames: {frames * frame_bytes})"
            )
            del arr
    finally:
        tracemalloc.stop()
    with pytest.raises(IndexError, match="out of range"):
        decode_frame(path, frames, header=header)


def test_uint16_sigmoid_table_equals_direct_formula(tmp_path: Path) -> None:
    source = FrameSource(_synthetic(tmp_path, SIGMOID))
    frame = source.modality_frame(0)
    voi = VoiPreset("x", 1500.0, 700.0, SIGMOID)
    via_table, _ = source.display_image(frame, voi)
    direct, _ = source.display_image(frame.astype(np.float64), voi)
    assert np.array_equal(via_table, direct)


def test_colour_images_skip_voi() -> None:
    rgb = FrameSource(get_testdata_file("SC_rgb_jpeg_dcmtk.dcm"))
    assert rgb.is_color and rgb.voi_presets() == [] and rgb.default_voi() is None
    image, levels = rgb.display_image(rgb.modality_frame(0), None)
    assert image.shape == (100, 100, 3) and image.dtype == np.uint8 and levels is None
    palette_path = get_testdata_file("OBXXXX1A.dcm")
    palette = FrameSource(palette_path)
    ds = pydicom.dcmread(palette_path)
    np.testing.assert_array_equal(palette.modality_frame(0), apply_color_lut(ds.pixel_array, ds))
    assert palette.render_uint8(0).shape == (600, 800, 3)


def test_enhanced_functional_groups(tmp_path: Path) -> None:
    """Enhanced XA/XRF keep rescale and windows in functional groups; per-frame values beat shared ones."""
    from pydicom.sequence import Sequence

    def group(**kw: object) -> Dataset:
        d = Dataset()
        for k, v in kw.items():
            setattr(d, k, v)
        return d

    shared = group(
        PixelValueTransformationSequence=Sequence(
            [group(RescaleSlope=2, RescaleIntercept=10, RescaleType="US")]
        ),
        FrameVOILUTSequence=Sequence(
            [group(WindowCenter=100, WindowWidth=50, WindowCenterWidthExplanation="FG")]
        ),
    )
    per_frame = [
        group(),
        group(PixelValueTransformationSequence=Sequence([group(RescaleSlope=1, RescaleIntercept=0)])),
    ]
    values = np.full((2, 4, 4), 7, dtype=np.uint16)
    path = make_image(
        tmp_path / "enh.dcm",
        rows=4,
        columns=4,
        frames=2,
        pixels=values,
        extra={
            "SharedFunctionalGroupsSequence": Sequence([shared]),
            "PerFrameFunctionalGroupsSequence": Sequence(per_frame),
        },
    )
    source = FrameSource(path)
    assert int(source.modality_frame(0)[0, 0]) == 24 and int(source.modality_frame(1)[0, 0]) == 7
    (preset,) = source.voi_presets(0)
    assert (preset.name, preset.center, preset.width) == ("FG", 100.0, 50.0)


@pytest.mark.parametrize(
    ("signed", "bits_stored", "syntax"),
    [
        (False, 12, "1.2.840.10008.1.2.1"),
        (True, 12, "1.2.840.10008.1.2.1"),
        (False, 16, "1.2.840.10008.1.2"),
        (True, 10, "1.2.840.10008.1.2"),
    ],
)
def test_native_fast_path_equals_pydicom(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signed: bool, bits_stored: int, syntax: str
) -> None:
    """Frames read at their byte offset must equal pydicom's, including garbage above Bits Stored."""
    rng = np.random.default_rng(7)
    values = rng.integers(0, 2**16, size=(3, 16, 16), dtype=np.uint16)  # high bits deliberately set
    path = make_image(
        tmp_path / "n.dcm",
        rows=16,
        columns=16,
        frames=3,
        pixels=values,
        bits_stored=bits_stored,
        extra={"PixelRepresentation": int(signed)},
    )
    if syntax != "1.2.840.10008.1.2.1":
        ds = pydicom.dcmread(path)
        ds.file_meta.TransferSyntaxUID = syntax
        ds.save_as(path, enforce_file_format=True)
    expected = pydicom.dcmread(path).pixel_array
    header = reader.read_header(path)

    def no_pydicom(*args: object, **kwargs: object) -> None:
        raise AssertionError("the native fast path should not call pixel_array")

    monkeypatch.setattr(pydicom.pixels, "pixel_array", no_pydicom)
    for i in range(3):
        got = decode_frame(path, i, header=header)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected[i])
