"""Generator variants that are off by default: a non-conformant MONOCHROME1 RF loop (read end to end like the
MONOCHROME2 one) and patient/table motion between loop frames (recorded in truth, recoverable by registration)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from skimage.registration import phase_cross_correlation

from hsg_workstation.__main__ import main
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.model import DisplaySetKind
from hsg_workstation.dicom_io.pixels import FrameSource
from hsg_workstation.synthetic.study import generate_case

SIZE = 128
FRAMES = 16


@pytest.fixture(scope="module")
def loops() -> dict[str, object]:
    """The same case (noise-free) as the conformant MONOCHROME2 loop and as a vendor-style MONOCHROME1 loop."""
    kw = dict(size=SIZE, frames=FRAMES, noise=0.0)
    return {
        "m2": generate_case("normal", **kw),
        "m1": generate_case("normal", monochrome1_loop=True, **kw),
    }


def test_monochrome1_loop_header_and_pixels(loops) -> None:
    m2, m1 = loops["m2"], loops["m1"]
    loop1, loop2 = m1.datasets[1], m2.datasets[1]
    assert loop1.SOPClassUID == loop2.SOPClassUID == "1.2.840.10008.5.1.4.1.1.12.2"  # still RF
    assert (loop1.PhotometricInterpretation, loop2.PhotometricInterpretation) == (
        "MONOCHROME1",
        "MONOCHROME2",
    )
    assert "PresentationLUTShape" not in loop1  # what such vendor files look like: the RF IOD has no P-LUT
    assert np.array_equal(loop1.pixel_array.astype(np.int32), 4095 - loop2.pixel_array.astype(np.int32))
    assert float(loop1.WindowCenter[0]) == pytest.approx(4095 - float(loop2.WindowCenter[0]), abs=0.05)
    assert m1.truth["loop_photometric_interpretation"] == "MONOCHROME1"
    assert "loop_photometric_interpretation" not in m2.truth
    assert m1.datasets[0].PhotometricInterpretation == "MONOCHROME2"  # only the loop is affected
    assert loop1.SOPInstanceUID != loop2.SOPInstanceUID  # a different variant never reuses UIDs


@pytest.mark.timeout(120)
def test_monochrome1_loop_is_flagged_by_dciodvfy(loops, tmp_path: Path) -> None:
    """Proves the variant really breaks the RF rule (so the reader test below tests what vendors send)."""
    if shutil.which("dciodvfy") is None:
        pytest.fail("dciodvfy (Debian dicom3tools) is required for this test")
    folder = loops["m1"].write(tmp_path)
    proc = subprocess.run(
        ["dciodvfy", str(folder / "02_loop.dcm")], capture_output=True, text=True, timeout=60
    )
    errors = [x for x in (proc.stdout + proc.stderr).splitlines() if x.startswith("Error")]
    assert proc.returncode != 0 and any("Photometric" in e for e in errors), errors
    proc = subprocess.run(
        ["dciodvfy", str(folder / "01_scout.dcm")], capture_output=True, text=True, timeout=60
    )
    assert not [x for x in (proc.stdout + proc.stderr).splitlines() if x.startswith("Error")]


@pytest.mark.timeout(120)
def test_monochrome1_rf_loop_displays_inverted_end_to_end(
    loops, tmp_path: Path, data_dir: Path, capsys
) -> None:
    """Import → cine display set → FrameSource → export-image: the MONOCHROME1 loop looks exactly like the
    MONOCHROME2 one (iodine dark), i.e. the reader inverts it once, despite the file breaking the RF IOD."""
    m1_dir = loops["m1"].write(tmp_path / "m1")
    m2_dir = loops["m2"].write(tmp_path / "m2")
    with LocalDatabase(data_dir) as db:
        results = db.import_paths([m1_dir])
        assert [r.status for r in results if r.path.endswith(".dcm")] == ["imported"] * 5, results
        (study,) = db.studies()
        cines = [d for d in db.display_sets(study.study_instance_uid) if d.kind == DisplaySetKind.CINE]
        assert len(cines) == 1 and len(cines[0].frames) == FRAMES
        stored_loop = cines[0].frames[0].path
    m1 = FrameSource(stored_loop)
    m2 = FrameSource(m2_dir / "02_loop.dcm")
    assert m1.invert and not m2.invert
    distended = loops["m2"].truth["max_distension_frame"] - 1
    cavity = loops["m2"].cavity_masks[distended]
    for i in (0, distended, FRAMES - 1):
        a, b = m1.render_uint8(i).astype(int), m2.render_uint8(i).astype(int)
        assert np.abs(a - b).max() <= 1, i
    shown = m1.render_uint8(distended)
    c = loops["m2"].truth["collimator"]
    field = np.zeros_like(cavity)
    field[c["top"] : c["bottom"] + 1, c["left"] : c["right"] + 1] = True
    assert shown[cavity].mean() + 100 < shown[field & ~cavity].mean()  # iodine dark on light, not inverted

    pngs = {}
    for name, path in (("m1", stored_loop), ("m2", m2_dir / "02_loop.dcm")):
        out = tmp_path / f"{name}.png"
        assert main(["export-image", str(path), "--frame", str(distended + 1), str(out)]) == 0
        pngs[name] = np.asarray(Image.open(out)).astype(int)
    capsys.readouterr()
    assert np.abs(pngs["m1"] - pngs["m2"]).max() <= 1
    assert np.abs(pngs["m1"] - shown).max() == 0


@pytest.fixture(scope="module")
def moved() -> dict[str, object]:
    kw = dict(size=SIZE, frames=FRAMES, noise=0.0)
    return {
        case: (generate_case(case, **kw), generate_case(case, motion_px=5.0, **kw))
        for case in ("normal", "submucous_myoma")  # unflipped and flipped
    }


def test_motion_is_off_by_default_and_recorded_when_on(moved) -> None:
    still, moving = moved["normal"]
    assert "loop_motion" not in still.truth
    motion = moving.truth["loop_motion"]
    shifts = np.array(motion["frame_shifts_px"])
    assert motion["max_px"] == 5.0 and shifts.shape == (FRAMES, 2)
    assert shifts[0].tolist() == [0.0, 0.0]  # frame 1 is the reference the truth coordinates hold for
    lengths = np.linalg.norm(shifts, axis=1)
    assert lengths.max() == pytest.approx(5.0, abs=0.01)
    assert np.abs(np.diff(shifts, axis=0)).max() < 0.5 * 5.0  # smooth drift, not jitter
    # Only the loop moves: scout, spots and frame 1 are pixel-identical to the still variant.
    assert np.array_equal(moving.datasets[1].pixel_array[0], still.datasets[1].pixel_array[0])
    for a, b in zip(moving.datasets[2:], still.datasets[2:], strict=True):
        assert np.array_equal(a.pixel_array, b.pixel_array)
    assert moving.datasets[1].SOPInstanceUID != still.datasets[1].SOPInstanceUID
    again = generate_case("normal", size=SIZE, frames=FRAMES, noise=0.0, motion_px=5.0)
    assert again.truth["loop_motion"] == motion  # deterministic per seed
    other = generate_case("normal", size=SIZE, frames=FRAMES, noise=0.0, motion_px=5.0, seed=1)
    assert other.truth["loop_motion"] != motion


@pytest.mark.parametrize("case", ["normal", "submucous_myoma"])
def test_motion_shifts_match_pixels_and_masks(moved, case) -> None:
    """Registration of each moved frame to the still one recovers truth's shift (row, column in the stored,
    possibly mirrored image); the cavity masks move with the pixels."""
    still, moving = moved[case]
    assert moving.truth["image_flipped"] == (case == "submucous_myoma")
    shifts = moving.truth["loop_motion"]["frame_shifts_px"]
    c = moving.truth["collimator"]
    inner = (slice(c["top"] + 8, c["bottom"] - 7), slice(c["left"] + 8, c["right"] - 7))
    a_all, b_all = moving.datasets[1].pixel_array, still.datasets[1].pixel_array
    worst = max(range(FRAMES), key=lambda i: np.hypot(*shifts[i]))
    for i in sorted({worst, FRAMES // 2, FRAMES - 1}):
        a = a_all[i][inner].astype(float)
        b = b_all[i][inner].astype(float)
        found, _, _ = phase_cross_correlation(b, a, upsample_factor=10)
        assert np.allclose(-found, shifts[i], atol=0.35), (i, -found, shifts[i])
        ma, mb = moving.cavity_masks[i], still.cavity_masks[i]
        if mb.sum() > 50:
            centre_a = np.argwhere(ma).mean(axis=0)
            centre_b = np.argwhere(mb).mean(axis=0)
            assert np.allclose(centre_a - centre_b, shifts[i], atol=0.6), (i, centre_a - centre_b, shifts[i])


def test_collimator_does_not_move_with_the_patient(moved) -> None:
    """The blades belong to the tube: the shutter edge stays on the same column however the patient moves."""
    still, moving = moved["normal"]
    c = moving.truth["collimator"]
    shifts = np.array(moving.truth["loop_motion"]["frame_shifts_px"])
    i = int(np.argmax(np.abs(shifts[:, 1])))
    row = (c["top"] + c["bottom"]) // 2
    for ds in (moving.datasets[1], still.datasets[1]):
        profile = ds.pixel_array[i][row].astype(float)
        edge = int(np.argmax(np.diff(profile[: SIZE // 2])))  # dark blade → exposed field
        assert abs(edge - (c["left"] - 1)) <= 1, (edge, c["left"])


@pytest.mark.parametrize("kw, word", [({"motion_px": -1.0}, "motion_px"), ({"motion_px": 20.0}, "motion_px")])
def test_bad_motion_is_named(kw, word) -> None:
    with pytest.raises(ValueError, match=word):
        generate_case("normal", size=64, frames=8, **kw)


@pytest.mark.timeout(120)
def test_cli_writes_both_variants(tmp_path: Path, capsys) -> None:
    rc = main(["sample-data", str(tmp_path), "--case", "normal", "--size", "64", "--frames", "8",
               "--motion-px", "3", "--monochrome1-loop"])  # fmt: skip
    assert rc == 0
    capsys.readouterr()
    loop = pydicom.dcmread(tmp_path / "normal" / "02_loop.dcm", stop_before_pixels=True)
    assert loop.PhotometricInterpretation == "MONOCHROME1"
    import json

    truth = json.loads((tmp_path / "normal" / "truth.json").read_text())
    assert truth["loop_motion"]["max_px"] == 3.0 and truth["loop_photometric_interpretation"] == "MONOCHROME1"
