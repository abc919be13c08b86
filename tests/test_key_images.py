"""session/reading.py KeyImages: the key images of a study have one owner — the bound draft report's list is the
viewer's list (no copy), a signed report is never changed, and without a report the marks are kept there."""

from __future__ import annotations

from hsg_workstation.reporting.model import HsgReport, KeyImage, ReportStatus
from hsg_workstation.session.measurements import MeasurementStore
from hsg_workstation.session.reading import KeyFrame, KeyImages

STUDY = "1.2.3"
A, B, OTHER = "1.2.3.1", "1.2.3.2", "9.9.9.9"


def _bound(report: HsgReport) -> tuple[KeyImages, list[str]]:
    keys = KeyImages()
    events: list[str] = []
    keys.changed.connect(events.append)
    keys.bind(
        STUDY, report, known={A, B}, label_of=lambda uid: f"series of {uid[-1]}", sop_class_of=lambda _u: "RF"
    )
    return keys, events


def test_a_mark_in_the_viewer_is_written_to_the_report_itself() -> None:
    report = HsgReport()
    keys, events = _bound(report)
    assert keys.toggle(STUDY, KeyFrame(A, 3)) is True
    assert report.key_images == [KeyImage(A, "RF", 3)]  # the record, not a copy
    assert keys.key_frames(STUDY) == [KeyFrame(A, 3, "series of 1")]
    assert keys.toggle(STUDY, KeyFrame(A, 3)) is False
    assert report.key_images == [] and keys.key_frames(STUDY) == []
    assert events.count(STUDY) >= 3  # bind, mark, unmark


def test_a_change_made_in_the_report_is_what_the_viewer_reads() -> None:
    report = HsgReport()
    report.add_key_image(KeyImage(B, "RF", 1))
    report.add_key_image(KeyImage(OTHER, "RF", 1))  # not an instance of the open study: not in the viewer
    keys, events = _bound(report)
    assert keys.key_frames(STUDY) == [KeyFrame(B, 1, "series of 2")]
    events.clear()
    report.set_value("key_images", [])  # e.g. removed in the form's key image panel
    assert events == [STUDY] and keys.key_frames(STUDY) == []


def test_a_signed_report_is_never_changed_and_the_refusal_is_said() -> None:
    report = HsgReport()
    report.add_key_image(KeyImage(A, "RF", 2))
    keys, _ = _bound(report)
    report.status = ReportStatus.SIGNED  # (sign() needs a complete report; the lock is what matters here)
    report._lock()
    refused: list[tuple[str, str]] = []
    keys.refused.connect(lambda uid, msg: refused.append((uid, msg)))
    assert keys.toggle(STUDY, KeyFrame(B, 5)) is True  # kept in the viewer only
    assert report.key_images == [KeyImage(A, "RF", 2)]
    assert {(k.sop_instance_uid, k.frame_number) for k in keys.key_frames(STUDY)} == {(A, 2), (B, 5)}
    assert refused and "signed" in refused[0][1]


def test_without_a_report_the_store_keeps_the_marks_and_signals() -> None:
    store = MeasurementStore()
    seen: list[str] = []
    store.key_frames_changed.connect(seen.append)
    assert store.toggle_key_frame(STUDY, KeyFrame(A, 1, "loop")) is True
    store.set_key_frames(STUDY, [KeyFrame(B, 2, "spot"), KeyFrame(A, 1, "loop"), KeyFrame(A, 1, "loop")])
    assert [(k.sop_instance_uid, k.frame_number) for k in store.key_frames(STUDY)] == [(A, 1), (B, 2)]
    assert seen == [STUDY, STUDY]
    store.clear(STUDY)
    assert store.key_frames(STUDY) == []
