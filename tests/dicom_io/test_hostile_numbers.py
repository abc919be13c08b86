"""Numbering values out of every sane range (the fuzz campaign, issue 16): an Instance / Series Number of 20
digits was passed to SQLite ("Python int too large to convert to SQLite INTEGER") and ended the whole import as an
internal error; ``inf`` raised OverflowError. Such a number only orders images: it is dropped like a missing one
and the file imports."""

from __future__ import annotations

import re
from pathlib import Path

import pydicom
import pytest
from pydicom import config
from pydicom.dataelem import RawDataElement
from pydicom.tag import BaseTag

from hsg_workstation.dicom_io import pixels, reader
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import DicomReadError
from tests.dicom_io.dicomfactory import COMPREHENSIVE_SR, make_document, make_image


@pytest.mark.parametrize(
    "value", ["11111111111111111111", "-9999999999999999999", "1e308", "inf", "2147483648"]
)
def test_an_absurd_instance_or_series_number_is_dropped_and_the_file_imports(
    db: LocalDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setattr(config.settings, "reading_validation_mode", config.IGNORE)
    good = make_image(tmp_path / "src" / "good.dcm", instance_number=7, series_number=3)
    bad = tmp_path / "src" / "bad.dcm"
    ds = pydicom.dcmread(good)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    raw = value.encode() + b" " * (len(value) % 2)
    for tag in (0x00200013, 0x00200011):  # Instance Number, Series Number: the bytes as they are
        ds[tag] = RawDataElement(BaseTag(tag), "IS", len(raw), raw, 0, False, True)
    ds.save_as(bad, enforce_file_format=True)
    assert value.encode() in bad.read_bytes()

    # pydicom's header path (the viewer, the SCP) and the fast scanner (import) agree
    assert reader.instance_from_header(reader.read_header(bad), bad).instance_number is None
    results = {Path(r.path).name: r for r in db.import_paths([tmp_path / "src"])}
    assert {name: r.status for name, r in results.items()} == {"good.dcm": "imported", "bad.dcm": "imported"}
    (study,) = db.studies()
    numbers = sorted(
        (inst.instance_number is None, inst.instance_number)
        for series in db.series(study.study_instance_uid)
        for inst in db.instances(series.series_instance_uid)
    )
    assert numbers == [(False, 7), (True, None)]
    assert {s.series_number for s in db.series(study.study_instance_uid)} <= {3, None}


def test_the_largest_is_value_is_kept(tmp_path: Path) -> None:
    path = make_image(tmp_path / "max.dcm", instance_number=2**31 - 1)
    assert reader.instance_from_header(reader.read_header(path), path).instance_number == 2**31 - 1


@pytest.mark.parametrize("keyword_tag", [0x00280008, 0x00280010, 0x00280011])
@pytest.mark.parametrize("value", ["11111111111111111111", "1e308"])
def test_a_document_with_absurd_frames_rows_or_columns_imports(
    db: LocalDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyword_tag: int, value: str
) -> None:
    """On an SR / PDF these image attributes mean nothing; a damaged one ended the import in SQLite."""
    monkeypatch.setattr(config.settings, "reading_validation_mode", config.IGNORE)
    path = make_document(tmp_path / "src" / "sr.dcm", COMPREHENSIVE_SR)
    ds = pydicom.dcmread(path)
    raw = value.encode() + b" " * (len(value) % 2)
    ds[keyword_tag] = RawDataElement(BaseTag(keyword_tag), "IS", len(raw), raw, 0, False, True)
    ds.save_as(path, enforce_file_format=True)
    (result,) = db.import_paths([tmp_path / "src"])
    assert result.status == "imported"
    (study,) = db.studies()
    (series,) = db.series(study.study_instance_uid)
    (inst,) = db.instances(series.series_instance_uid)
    assert inst.number_of_frames == 1 and inst.rows is None and inst.columns is None


@pytest.mark.parametrize("value", ["inf", "NaN", "abc"])
def test_a_loop_whose_number_of_frames_is_not_a_number_is_refused_naming_it(
    db: LocalDatabase, tmp_path: Path, value: str
) -> None:
    """Found by the long fuzz run (seed 24): ``inf`` frames was read as one frame by the header checks, then
    pydicom's own conversion of the value raised OverflowError in the frame timing (a traceback in the viewer's
    pixel path). A damaged frame count is a damaged image: refused at open and at import, naming the field."""
    path = make_image(tmp_path / "src" / "loop.dcm", frames=2)
    ds = pydicom.dcmread(path)
    raw = value.encode() + b" " * (len(value) % 2)
    ds[0x00280008] = RawDataElement(BaseTag(0x00280008), "IS", len(raw), raw, 0, False, True)
    ds.save_as(path, enforce_file_format=True)
    message = rf"loop\.dcm: Number of Frames \(0028,0008\) '{value}' is not a number"
    with pytest.raises(DicomReadError, match=message):
        pixels.FrameSource(path)
    (result,) = db.import_paths([tmp_path / "src"])
    assert result.status == "skipped" and re.search(message, result.reason)
