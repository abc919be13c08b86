"""The one calling convention of the analysis: a validated, immutable :class:`AnalysisRequest` (issue 14, point 6).

A wrong request is refused where it is built, naming the field, instead of failing deep inside the pipeline.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hsg_workstation.analysis import AnalysisRequest, analyze_frames
from hsg_workstation.measurements import Calibration, CalibrationBasis
from tests.analysis.phantom import make_phantom

pytestmark = pytest.mark.timeout(120)


def _getter(_i: int) -> np.ndarray:
    return np.zeros((64, 64), np.uint16)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_frames", 0, "n_frames"),
        ("n_frames", 2.5, "n_frames"),
        ("frame_shape", (64,), "frame_shape"),
        ("frame_shape", (64, 0), "frame_shape"),
        ("working_size", 4, "working_size"),
        ("stored_max", 0, "stored_max"),
        ("scout", np.zeros((2, 64, 64)), "scout"),
    ],
)
def test_a_wrong_field_is_refused_by_name(field: str, value: object, message: str) -> None:
    fields = {"get_frame": _getter, "n_frames": 3, "frame_shape": (64, 64), field: value}
    with pytest.raises(ValueError, match=message):
        AnalysisRequest(**fields)


def test_a_frame_getter_that_is_not_callable_and_a_wrong_calibration_are_type_errors() -> None:
    with pytest.raises(TypeError, match="get_frame"):
        AnalysisRequest(get_frame=np.zeros((3, 64, 64)), n_frames=3, frame_shape=(64, 64))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="calibration"):
        AnalysisRequest(get_frame=_getter, n_frames=3, frame_shape=(64, 64), calibration=0.3)  # type: ignore[arg-type]


def test_the_request_is_immutable_and_holds_its_own_copies() -> None:
    orientation = ["L", "F"]
    times = [0.0, 0.5, 1.0]
    req = AnalysisRequest(
        get_frame=_getter,
        n_frames=3,
        frame_shape=(64, 64),
        patient_orientation=orientation,
        frame_times_s=times,
    )
    orientation[0] = "R"  # the caller's list changes afterwards: the request does not
    times.append(9.0)
    assert req.patient_orientation == ("L", "F") and req.frame_times_s == (0.0, 0.5, 1.0)
    assert not req.calibration.is_calibrated  # None means uncalibrated
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.n_frames = 5  # type: ignore[misc]
    with pytest.raises(ValueError, match="n_frames"):
        dataclasses.replace(req, n_frames=-1)  # a variant is validated again


def test_an_array_and_a_frame_getter_give_the_same_analysis() -> None:
    """from_frames (arrays, read from any thread) and a plain getter decoded in order are one code path."""
    ph = make_phantom(spill=("free", "none"))
    cal = Calibration(1.0, 1.0, CalibrationBasis.PIXEL_SPACING)
    a = analyze_frames(
        AnalysisRequest.from_frames(ph.frames, calibration=cal, patient_orientation=["L", "F"])
    )
    frames = np.asarray(ph.frames)
    b = analyze_frames(
        AnalysisRequest(
            get_frame=lambda i: frames[i],
            n_frames=frames.shape[0],
            frame_shape=frames.shape[1:],
            calibration=cal,
            patient_orientation=("L", "F"),
        )
    )
    assert a.to_dict() == b.to_dict()
    assert a.sides["right"].spill != "none" or a.sides["left"].spill != "none"


def test_frame_times_of_the_wrong_length_are_a_warning_not_an_error() -> None:
    frames = make_phantom().frames
    r = analyze_frames(AnalysisRequest.from_frames(frames, frame_times_s=[0.0, 1.0]))
    assert r.frame_times_s == [None] * frames.shape[0]
    assert any("frame times for" in w for w in r.warnings)
