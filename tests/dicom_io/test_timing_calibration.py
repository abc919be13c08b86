"""Frame timing and calibration rules, one test per rule and per fallback."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from hsg_workstation.dicom_io.calibration import calibration_from_dataset
from hsg_workstation.dicom_io.timing import DEFAULT_FPS, TimingOrigin, frame_timing
from hsg_workstation.measurements import CalibrationBasis


def loop(frames: int = 4, **attrs: object) -> Dataset:
    ds = Dataset()
    ds.NumberOfFrames = frames
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


def test_frame_time_via_pointer() -> None:
    t = frame_timing(loop(FrameIncrementPointer=Tag("FrameTime"), FrameTime=133.3, CineRate=30))
    assert t.frame_durations_ms == (133.3,) * 4 and "Frame Increment Pointer" in t.source
    assert t.mean_fps == pytest.approx(7.5, abs=0.01)


def test_frame_time_vector_via_pointer() -> None:
    t = frame_timing(
        loop(FrameIncrementPointer=Tag("FrameTimeVector"), FrameTimeVector=[0, 100, 200, 100], FrameTime=50)
    )
    assert t.frame_durations_ms == (100.0, 200.0, 100.0, 100.0)  # last frame repeats the last interval
    assert t.start_times_ms() == (0.0, 100.0, 300.0, 400.0)
    assert "Frame Time Vector" in t.source


def test_multi_valued_pointer_and_invalid_values_fall_through() -> None:
    ds = loop(
        FrameIncrementPointer=[Tag("FrameTimeVector"), Tag("FrameTime")],
        FrameTimeVector=[0, 100],  # wrong length: ignored
        FrameTime=80,
    )
    assert frame_timing(ds).frame_durations_ms == (80.0,) * 4
    assert frame_timing(loop(FrameTime=0, CineRate=15)).source.startswith("CineRate")


def test_frame_time_without_pointer() -> None:
    t = frame_timing(loop(FrameTime=66.7))
    assert t.frame_durations_ms == (66.7,) * 4 and t.source == "Frame Time (0018,1063)"
    assert t.origin is TimingOrigin.FRAME_TIME and not t.is_default


def test_recommended_rate_then_cine_rate_then_default() -> None:
    t = frame_timing(loop(RecommendedDisplayFrameRate=10, CineRate=30))
    assert t.frame_durations_ms == (100.0,) * 4 and "RecommendedDisplayFrameRate" in t.source
    t = frame_timing(loop(CineRate=4))
    assert t.frame_durations_ms == (250.0,) * 4 and "CineRate" in t.source
    assert t.origin is TimingOrigin.FRAME_RATE
    t = frame_timing(loop(3))
    assert t.frame_durations_ms == (1000.0 / DEFAULT_FPS,) * 3 and "default" in t.source
    assert t.is_default and t.origin is TimingOrigin.DEFAULT
    assert DEFAULT_FPS == 7.5


def test_single_frame() -> None:
    t = frame_timing(Dataset())
    assert t.frame_count == 1 and t.source == "single frame" and t.origin is TimingOrigin.SINGLE_FRAME


def _image(**attrs: object) -> Dataset:
    ds = Dataset()
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


def test_calibration_corrected_for_magnification() -> None:
    c = calibration_from_dataset(
        _image(
            ImagerPixelSpacing=[0.3, 0.2], EstimatedRadiographicMagnificationFactor=1.2, PixelSpacing=[9, 9]
        )
    )
    assert c.basis is CalibrationBasis.MAGNIFICATION_CORRECTED
    assert (c.row_spacing_mm, c.column_spacing_mm) == pytest.approx((0.25, 0.2 / 1.2))
    assert c.length((0, 0), (0, 4)) == pytest.approx(1.0)  # 4 rows at 0.25 mm


def test_calibration_at_detector_when_no_or_bad_magnification() -> None:
    for ermf in (None, 0, -1, "x"):
        attrs = {"ImagerPixelSpacing": [0.15, 0.15]}
        if ermf is not None:
            attrs["EstimatedRadiographicMagnificationFactor"] = ermf
        try:
            ds = _image(**attrs)
        except (ValueError, TypeError):
            continue  # pydicom refuses to even store an invalid DS
        c = calibration_from_dataset(ds)
        assert c.basis is CalibrationBasis.DETECTOR and c.row_spacing_mm == 0.15


def test_calibration_pixel_spacing_and_functional_groups() -> None:
    assert calibration_from_dataset(_image(PixelSpacing=[0.5, 0.4])).basis is CalibrationBasis.PIXEL_SPACING
    from pydicom.sequence import Sequence

    measures = _image(PixelSpacing=[0.7, 0.7])
    ds = _image(SharedFunctionalGroupsSequence=Sequence([_image(PixelMeasuresSequence=Sequence([measures]))]))
    c = calibration_from_dataset(ds)
    assert c.basis is CalibrationBasis.PIXEL_SPACING and c.column_spacing_mm == 0.7


def test_uncalibrated() -> None:
    for ds in (_image(), _image(ImagerPixelSpacing=[0, 0.1]), _image(PixelSpacing=[0.1])):
        c = calibration_from_dataset(ds)
        assert c.basis is CalibrationBasis.UNCALIBRATED and not c.is_calibrated and c.unit == "{pixel}"
