"""Key Object Selection: valid IOD, in the source study, frame numbers of multi-frame key images kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.reporting.kos import build_kos, key_frames_from_kos

from .conftest import dciodvfy_errors, dsrdump_check


@pytest.mark.timeout(60)
def test_kos_valid_with_frames(tmp_path: Path, source_datasets) -> None:
    rf, dx = source_datasets
    keys = [(rf.SOPInstanceUID, 2), (rf.SOPInstanceUID, 4), (dx.SOPInstanceUID, 1)]
    kos = build_kos(source_datasets, keys, observer_name="Reader^Test")
    out = tmp_path / "kos.dcm"
    kos.save_as(out, enforce_file_format=True)
    assert dciodvfy_errors(out) == []
    rc, bad = dsrdump_check(out)
    assert rc == 0 and bad == []
    back = dcmread(out)
    assert back.Modality == "KO"
    assert back.StudyInstanceUID == rf.StudyInstanceUID
    assert sorted(key_frames_from_kos(back)) == sorted(keys)


def test_kos_rejects_unknown_instance_and_bad_frame(source_datasets) -> None:
    rf, _ = source_datasets
    with pytest.raises(ValueError, match="not found"):
        build_kos(source_datasets, [("1.2.3.4", 1)])
    with pytest.raises(ValueError, match="outside 1..4"):
        build_kos(source_datasets, [(rf.SOPInstanceUID, 5)])
