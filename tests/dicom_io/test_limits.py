"""Issue 16 part A, point 1: limits as policy — checked at import, at network receive and at open."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from hsg_workstation.dicom_io import limits, pixels, reader
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.errors import DicomReadError
from tests.dicom_io import hostile
from tests.dicom_io.dicomfactory import make_image


def _skipped_reason(db: LocalDatabase, path: Path) -> str:
    (result,) = db.import_paths([path])
    assert result.status == "skipped", result
    return result.reason


def test_frames_bomb_is_refused_at_import_by_file_and_over_the_network(
    tmp_path: Path, db: LocalDatabase
) -> None:
    bomb = hostile.encapsulated_frames_bomb(tmp_path / "bomb.dcm", frames=100_000_000)
    assert bomb.stat().st_size < 6000
    reason = _skipped_reason(db, bomb)
    assert str(bomb) in reason and "Number of Frames (0028,0008) 100,000,000" in reason
    assert f"limit of {limits.MAX_FRAMES:,}" in reason
    received = db.add_encoded(bomb.read_bytes())
    assert received.status == "skipped" and "Number of Frames" in received.reason
    assert db.studies() == [] and not list(db.store.root.rglob("*.dcm"))


def test_frames_vs_fragments_below_the_frame_limit(tmp_path: Path, db: LocalDatabase) -> None:
    """Under the frame limit, the header still may not declare more frames than the data holds."""
    liar = hostile.encapsulated_frames_bomb(tmp_path / "liar.dcm", frames=500, fragments=3)
    reason = _skipped_reason(db, liar)
    assert (
        "Number of Frames (0028,0008) 500 but the encapsulated Pixel Data holds only 3 fragment(s)" in reason
    )
    with pytest.raises(DicomReadError, match="only 3 fragment"):
        reader.read_header(liar)
    honest = hostile.encapsulated_frames_bomb(tmp_path / "ok.dcm", frames=3, fragments=3)
    (result,) = db.import_paths([honest])
    assert result.status == "imported", result


def test_native_million_frame_loop_is_refused_fast(tmp_path: Path, db: LocalDatabase) -> None:
    loop = hostile.native_frames_loop(tmp_path / "loop.dcm", frames=1_000_000)
    reason = _skipped_reason(db, loop)
    assert "Number of Frames (0028,0008) 1,000,000 is above the limit" in reason
    with pytest.raises(DicomReadError, match="above the limit"):
        pixels.FrameSource(loop)


def test_frame_size_limit(tmp_path: Path) -> None:
    with pytest.raises(limits.LimitExceeded, match="Rows × Columns 20000 × 20000"):
        limits.check_image("x.dcm", limits.ImageGeometry(20000, 20000, 1))
    limits.check_image("x.dcm", limits.ImageGeometry(4300, 4300, limits.MAX_FRAMES))


def test_display_sets_never_expand_an_absurd_row(tmp_path: Path, db: LocalDatabase) -> None:
    """A row indexed by an older version (before the limits) must not make the study view build 10⁸ entries."""
    path = make_image(tmp_path / "a.dcm", frames=2)
    (result,) = db.import_paths([path])
    con = sqlite3.connect(db.data_dir / "index.sqlite")
    # Just past the limit (10⁸ frames reproduce the freeze: 250 s here before the fix, cheap after).
    con.execute("UPDATE instances SET number_of_frames = ?", (limits.MAX_FRAMES + 1,))
    con.commit()
    con.close()
    assert db.display_sets(result.study_instance_uid) == []


def test_deep_sequence_is_one_line_refusal(tmp_path: Path, db: LocalDatabase, caplog, capfd) -> None:
    deep = hostile.deep_sequence_file(tmp_path / "deep.dcm", depth=1000)
    with caplog.at_level(logging.DEBUG):
        reason = _skipped_reason(db, deep)
    assert reason == (
        f"{deep}: sequences nested more than {limits.MAX_SEQUENCE_DEPTH} levels deep (limit of the workstation)"
    )
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert "Traceback" not in capfd.readouterr().err
    with pytest.raises(limits.LimitExceeded, match="nested more than"):
        reader.read_header(deep)  # pydicom's path too


def test_moderate_nesting_still_imports(tmp_path: Path, db: LocalDatabase) -> None:
    ok = hostile.deep_sequence_file(tmp_path / "ok.dcm", depth=20)
    (result,) = db.import_paths([ok])
    assert result.status == "imported", result


def test_unexpected_import_error_is_one_line_no_traceback(
    tmp_path: Path, db: LocalDatabase, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    """The last-resort guard of import_paths printed a traceback per file (181 in the fuzz run)."""
    path = make_image(tmp_path / "a.dcm")

    def boom(*_a: object, **_k: object) -> None:
        raise ValueError("strange value")

    monkeypatch.setattr(reader, "instance_from_header", boom)
    reason = _skipped_reason(db, path)
    assert reason == f"{path}: unexpected error reading the file (ValueError: strange value)"
    assert "Traceback" not in capfd.readouterr().err


def test_rle_header_is_checked_against_the_data_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 2 KB RLE frame declaring 16 000 × 16 000 pixels: refused before any decoder allocates 256 MB."""
    frame = hostile.rle_frame(b"\x81\x00" * 1000)  # 1 000 runs of 128 zeros: 128 000 pixels at most
    path = hostile.rle_image(tmp_path / "rle.dcm", 16_000, 16_000, frame)
    calls: list[object] = []
    monkeypatch.setattr(pixels.pydicom.pixels, "pixel_array", lambda *a, **k: calls.append(a))
    with pytest.raises(
        DicomReadError, match=r"frame 1: corrupt RLE frame \(segment 1 has 2000 bytes, too few"
    ):
        pixels.FrameSource(path).decode(0)
    assert calls == []


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (
            hostile.rle_frame(b"\x00\x07", segments=2),
            "2 segments, Samples per Pixel 1 × Bits Allocated 8 needs 1",
        ),
        (hostile.rle_frame(b"\x00\x07", offsets=[80]), "first segment at byte 80, not 64"),
        (hostile.rle_frame(b"\x00\x07", offsets=[64])[:40], "shorter than the 64-byte RLE header"),
    ],
)
def test_rle_header_lies_are_named(tmp_path: Path, frame: bytes, why: str) -> None:
    path = hostile.rle_image(tmp_path / "rle.dcm", 1, 1, frame)
    with pytest.raises(DicomReadError, match="corrupt RLE frame") as info:
        pixels.FrameSource(path).decode(0)
    assert why in str(info.value)


def test_valid_rle_still_decodes_like_pydicom(tmp_path: Path) -> None:
    import numpy as np
    from pydicom.data import get_testdata_file

    for name in ("MR_small_RLE.dcm", "SC_rgb_rle_16bit_2frame.dcm", "emri_small_RLE.dcm"):
        path = get_testdata_file(name)
        source = pixels.FrameSource(path)
        for i in range(source.number_of_frames):
            expected = pixels.pydicom.pixels.pixel_array(path, index=i)
            np.testing.assert_array_equal(source.decode(i), expected)


def _with_bad_vr(path: Path, tag: bytes) -> Path:
    """The same file with the VR of element ``tag`` (4 little-endian bytes) replaced by an unknown 'QQ'."""
    data = path.read_bytes()
    at = data.index(tag)
    bad = path.with_name("bad-" + path.name)
    bad.write_bytes(data[: at + 4] + b"QQ" + data[at + 6 :])
    return bad


def test_corrupt_calibration_vr_never_raises_and_is_described(tmp_path: Path) -> None:
    from hsg_workstation.dicom_io.calibration import calibration_from_dataset, calibration_warnings

    good = make_image(
        tmp_path / "a.dcm", frames=2, extra={"ImagerPixelSpacing": [0.2, 0.2], "PixelSpacing": [0.15, 0.15]}
    )
    header = reader.read_header(_with_bad_vr(good, b"\x18\x00\x64\x11"))
    calibration = calibration_from_dataset(header)  # raised NotImplementedError (pydicom's raw message)
    assert (calibration.row_spacing_mm, calibration.basis.value) == (0.15, "pixel spacing")
    assert calibration_warnings(header) == [
        "Imager Pixel Spacing (0018,1164): unreadable value "
        "(Unknown Value Representation 'QQ' in tag (0018,1164)); ignored"
    ]


def test_absurd_pixel_spacing_is_ignored_with_a_warning(tmp_path: Path) -> None:
    from hsg_workstation.dicom_io.calibration import calibration_from_dataset, calibration_warnings

    header = reader.read_header(make_image(tmp_path / "a.dcm", extra={"PixelSpacing": [1e308, 1e308]}))
    assert not calibration_from_dataset(header).is_calibrated
    (warning,) = calibration_warnings(header)
    assert "Pixel Spacing (0028,0030): 1e+308" in warning and "outside the plausible" in warning


@pytest.mark.parametrize("width", [1, 2, 3])
def test_analysis_refuses_loops_too_narrow(tmp_path: Path, width: int) -> None:
    from hsg_workstation.analysis.source import AnalysisInputError, open_loop

    path = make_image(tmp_path / "n.dcm", rows=64, columns=width, frames=12)
    with pytest.raises(
        AnalysisInputError, match=f"frames of 64 × {width} pixels are too small for the analysis"
    ):
        open_loop(path)


@pytest.mark.parametrize(
    ("keyword", "tag"), [("FrameTime", b"\x18\x00\x63\x10"), ("PatientOrientation", b"\x20\x00\x20\x00")]
)
def test_analysis_names_a_corrupt_attribute(tmp_path: Path, keyword: str, tag: bytes) -> None:
    from hsg_workstation.analysis.source import AnalysisInputError, open_loop

    good = make_image(
        tmp_path / "a.dcm",
        rows=64,
        columns=64,
        frames=4,
        extra={"FrameTime": 100.0, "PatientOrientation": ["L", "F"]},
    )
    with pytest.raises(
        AnalysisInputError, match=f"malformed {keyword} .* value .*Unknown Value Representation 'QQ'"
    ):
        open_loop(_with_bad_vr(good, tag))


def test_analysis_of_a_pixel_spacing_1e308_loop_reports_the_ignored_value(tmp_path: Path) -> None:
    from hsg_workstation.analysis.source import open_loop

    loop = open_loop(
        make_image(tmp_path / "a.dcm", rows=64, columns=64, frames=4, extra={"PixelSpacing": [1e308, 1e308]})
    )
    assert not loop.calibration.is_calibrated
    assert any("outside the plausible" in w for w in loop.warnings)


def test_a_huge_text_value_is_refused_by_both_header_paths(tmp_path: Path, db: LocalDatabase) -> None:
    text = "x" * (limits.MAX_TEXT_BYTES + 2)
    path = make_image(tmp_path / "t.dcm", extra={"TextValue": text})  # UT (0040,A160): a 4-byte length
    reason = _skipped_reason(db, path)  # the fast scanner
    assert reason == (
        f"{path}: text element (0040,A160) of {len(text):,} bytes is above the limit of "
        f"{limits.MAX_TEXT_BYTES:,} bytes"
    )
    with pytest.raises(limits.LimitExceeded, match=r"text element \(0040,A160\)"):
        reader.read_header(path)  # pydicom's path
    ok = make_image(tmp_path / "ok.dcm", extra={"TextValue": "x" * 1000})
    assert db.import_paths([ok])[0].status == "imported"


def test_video_is_refused_as_undecodable_not_as_lying_about_frames(tmp_path: Path, db: LocalDatabase) -> None:
    """MPEG / HEVC carry all frames in one stream: fewer fragments than frames is normal there."""
    video = hostile.encapsulated_frames_bomb(tmp_path / "v.dcm", frames=100, fragments=1)
    from pydicom import dcmread

    ds = dcmread(video)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.102"  # MPEG-4 AVC/H.264
    ds.save_as(video)
    reason = _skipped_reason(db, video)
    assert "cannot decode pixel data in MPEG-4 AVC/H.264" in reason and "fragment" not in reason


def test_jpeg_lossless_with_bits_allocated_64_is_an_error_not_an_abort(tmp_path: Path) -> None:
    """Found by the fuzz campaign: python-gdcm aborted the process (std::terminate) on Bits Allocated 64."""
    import subprocess
    import sys

    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    ds = dcmread(get_testdata_file("JPEG-LL.dcm"))
    ds.BitsAllocated = 64
    path = tmp_path / "ll64.dcm"
    ds.save_as(path)
    code = (
        "import sys\nfrom hsg_workstation.dicom_io import pixels\nfrom hsg_workstation.errors import DicomReadError\n"
        "try:\n    pixels.FrameSource(sys.argv[1]).decode(0)\nexcept DicomReadError as e:\n    print(e)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-500:]  # an abort is -6
    assert proc.stdout.strip() == (
        f"{path}: frame 1: Bits Allocated (0028,0100) 64 is not possible with JPEG Lossless (8 or 16)"
    )
