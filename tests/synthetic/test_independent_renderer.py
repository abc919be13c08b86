"""The independent HSG phantom renderer: determinism, axis coverage, DICOM validity (dciodvfy), app loading,
and truth that agrees with the rendered pixels."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from hsg_workstation.dicom_io import pixels, reader
from hsg_workstation.synthetic.independent import AXES, axis_values, render_study, sample_axes, write_study
from hsg_workstation.synthetic.independent.__main__ import main as cli_main
from hsg_workstation.synthetic.independent.truth import rle_decode

DCIODVFY = "/usr/bin/dciodvfy"
SMALL = {"matrix": "512", "pixel_size": "0.35-0.45", "frame_count": "30-60"}
# a study whose events are easy to check against the pixels: both tubes patent, no motion, no gain steps
CLEAN = {
    **SMALL,
    "patient_motion": "none",
    "abc_steps": "none",
    "dose": "high",
    "device_motion": "static",
    "bowel_gas": "none",
    "collimator_motion": "static",
    "tube_course": "lateral",
    "last_image_hold": "none",
    "runs": "single",
    "cavity_class": "normal",
    "spill_visibility": "dense",
    "spill_drift": "none",
    "loop_start": "catheter_filled",
    "defects": "none",
    "intravasation": "none",
    "image_flipped": "no",
}


def _axes(seed: int, *layers: dict, **over: str) -> dict:
    """The seed's axes with category overrides applied in order (later wins)."""
    out = sample_axes(seed)
    for layer in (*layers, over):
        out.update(layer)
    return out


def _frames(ds: pydicom.Dataset) -> np.ndarray:
    n = int(ds.get("NumberOfFrames", 1))
    return np.frombuffer(ds.PixelData, dtype="<u2").reshape(n, ds.Rows, ds.Columns).astype(np.float32)


def _contrast_signal(ds: pydicom.Dataset, truth: dict) -> np.ndarray:
    """Stored frames turned so that MORE contrast = HIGHER value, from the header and the truth's polarity."""
    f = _frames(ds)
    display = f if ds.PhotometricInterpretation == "MONOCHROME2" else -f  # brightness on a display
    return display if truth["contrast_appears"] == "bright" else -display


def _disk_mean(img: np.ndarray, rc: list[float], radius: float) -> float:
    r0, c0 = rc
    rr, cc = np.ogrid[: img.shape[0], : img.shape[1]]
    m = (rr - r0) ** 2 + (cc - c0) ** 2 <= radius**2
    return float(img[m].mean())


def _local(img: np.ndarray, rc: list[float]) -> float:
    """Contrast of a small disk against the ring around it (removes scatter/glare, which are smooth)."""
    r0, c0 = rc
    rr, cc = np.ogrid[: img.shape[0], : img.shape[1]]
    d2 = (rr - r0) ** 2 + (cc - c0) ** 2
    return float(img[d2 <= 1.5**2].mean() - img[(d2 >= 5**2) & (d2 <= 8**2)].mean())


@pytest.fixture(scope="module")
def clean_study():
    return render_study(3, _axes(3, **CLEAN, left_class="patent_free", right_class="hydrosalpinx"))


def test_sample_axes_is_deterministic_and_complete() -> None:
    a, b = sample_axes(11), sample_axes(11)
    assert a == b
    assert set(AXES) <= set(a)
    assert sample_axes(12) != a


def test_every_axis_value_is_reachable_over_a_seed_range() -> None:
    seen: dict[str, set[str]] = {k: set() for k in AXES}
    for seed in range(1500):
        for k, v in sample_axes(seed).items():
            seen[k].add(v)
    for name in AXES:
        assert set(axis_values(name)) <= seen[name], (name, set(axis_values(name)) - seen[name])


def test_class_mix_is_useful_for_evaluation() -> None:
    sides = [sample_axes(s)[f"{side}_class"] for s in range(1500) for side in ("left", "right")]
    spill = np.mean([c in ("patent_free", "loculated") for c in sides])
    hydro = np.mean([c == "hydrosalpinx" for c in sides])
    studies = [sample_axes(s) for s in range(1500)]
    iv = np.mean([a["intravasation"] == "present" for a in studies])
    defects = np.mean([a["defects"] != "none" for a in studies])
    assert 0.4 <= spill <= 0.6 and 0.1 <= hydro <= 0.2 and 0.15 <= iv <= 0.25 and 0.28 <= defects <= 0.42


def test_render_is_deterministic_per_seed() -> None:
    ax = _axes(5, **SMALL)
    a, b = render_study(5, ax), render_study(5, ax)
    assert a.loop.PixelData == b.loop.PixelData
    assert json.dumps(a.truth, sort_keys=True) == json.dumps(b.truth, sort_keys=True)
    assert a.loop.SOPInstanceUID == b.loop.SOPInstanceUID
    c = render_study(6, _axes(6, **SMALL))
    assert c.loop.SOPInstanceUID != a.loop.SOPInstanceUID


@pytest.mark.parametrize(
    "seed,over",
    [
        (
            21,
            {
                "photometric": "MONOCHROME2",
                "bits_stored": "10",
                "detector_response": "log",
                "collimator": "circular",
                "runs": "multiple",
                "scout": "present",
                "catheter": "balloon_catheter",
            },
        ),
        (
            22,
            {
                "photometric": "MONOCHROME2",
                "bits_stored": "16",
                "detector_response": "linear",
                "collimator": "octagonal",
                "runs": "single",
                "frame_time_header": "frame_time",
                "scout": "none",
                "catheter": "metal_cannula",
                "tenaculum": "yes",
                "speculum": "metal",
            },
        ),
        (
            23,
            {
                "photometric": "MONOCHROME2",
                "bits_stored": "12",
                "collimator": "rotated",
                "collimator_motion": "moving",
                "last_image_hold": "duplicates",
                "cavity_class": "unicornuate",
                "intravasation": "present",
            },
        ),
        (
            24,
            {
                "photometric": "MONOCHROME1",
                "bits_stored": "12",
                "collimator": "rectangular",
                "scout": "present",
                "contrast_polarity": "bright",
                "image_flipped": "yes",
            },
        ),
    ],
)
def test_dciodvfy_reports_no_errors(tmp_path: Path, seed: int, over: dict) -> None:
    study = render_study(seed, _axes(seed, **SMALL, **over))
    paths = [p for p in write_study(study, tmp_path) if p.suffix == ".dcm"]
    assert (study.scout is not None) == (over.get("scout") == "present")
    for p in paths:
        out = subprocess.run([DCIODVFY, str(p)], capture_output=True, text=True, timeout=120)
        errors = [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]
        if over["photometric"] == "MONOCHROME1":
            # the XRF IOD enumerates MONOCHROME2 only; MONOCHROME1 loops (as some real systems export) carry
            # exactly this one deviation and nothing else
            assert errors == [
                "Error - Unrecognized enumerated value <MONOCHROME1> for value 1 of attribute "
                "<Photometric Interpretation>"
            ], errors
        else:
            assert errors == [], errors


def test_header_agrees_with_truth_and_app_reader_decodes(tmp_path: Path) -> None:
    study = render_study(
        31, _axes(31, **SMALL, runs="multiple", image_flipped="yes", photometric="MONOCHROME1")
    )
    paths = write_study(study, tmp_path)
    loop = next(p for p in paths if p.name == "02_loop.dcm")
    truth = json.loads((tmp_path / "truth.json").read_text())
    hdr = reader.read_header(loop)
    ds = pydicom.dcmread(loop)
    assert int(ds.NumberOfFrames) == truth["frames"] and ds.Rows == truth["rows"]
    assert list(ds.PatientOrientation) == truth["patient_orientation"] == ["R", "F"]
    assert ds.PhotometricInterpretation == truth["photometric_interpretation"] == "MONOCHROME1"
    assert int(ds.BitsStored) == truth["bits_stored"] and int(ds.HighBit) == truth["bits_stored"] - 1
    px = float(ds.ImagerPixelSpacing[0]) / float(ds.EstimatedRadiographicMagnificationFactor)
    assert abs(px - truth["pixel_spacing_at_patient_mm"]) < 1e-3
    assert 0.15 <= px <= 0.45
    ftv = [float(v) for v in ds.FrameTimeVector]
    assert ftv == truth["frame_time_ms"] and ds.FrameIncrementPointer == 0x00181065
    assert max(ftv) > 2 * sorted(ftv)[len(ftv) // 2]  # the gaps between runs are in the vector
    src = pixels.FrameSource(loop, hdr)
    assert src.invert  # the app's display honours MONOCHROME1
    full = ds.pixel_array
    for k in (0, src.number_of_frames // 2, src.number_of_frames - 1):
        assert np.array_equal(src.decode(k), full[k])
    assert int(full.max()) < 2 ** truth["bits_stored"]


def test_tube_contrast_appears_at_first_fill_and_not_before(clean_study) -> None:
    truth, sig = clean_study.truth, _contrast_signal(clean_study.loop, clean_study.truth)
    noise = float(np.std(sig[0][:40, :40]) + np.std(np.diff(sig[:3], axis=0)) + 1e-6)
    for side in ("left", "right"):
        s = truth["sides"][side]
        k = s["first_fill_frame"]
        assert k is not None and k >= 2
        pts = s["tube_path"][2:5]  # 4-10 mm beyond the cornu
        before = np.mean([_local(sig[k - 2], p) - _local(sig[0], p) for p in pts])
        after = np.mean([_local(sig[min(k + 3, truth["frames"] - 1)], p) - _local(sig[0], p) for p in pts])
        assert after > 4 * max(abs(before), noise * 0.2), (side, before, after, noise)


def _cavity_centre_col(truth: dict) -> float:
    m = truth["cavity_mask_max_distension"]
    return float(np.nonzero(rle_decode(m["rle"], m["shape"]))[1].mean())


def test_left_tube_is_on_the_image_right_unless_flipped(clean_study) -> None:
    truth = clean_study.truth
    assert not truth["image_flipped"] and truth["patient_orientation"] == ["L", "F"]
    assert truth["sides"]["left"]["fimbrial_end"][1] > _cavity_centre_col(truth)
    assert truth["sides"]["right"]["fimbrial_end"][1] < _cavity_centre_col(truth)
    flipped = render_study(3, {**clean_study.axes, "image_flipped": "yes"})
    ft = flipped.truth
    assert ft["image_flipped"] and ft["patient_orientation"] == ["R", "F"]
    assert ft["sides"]["left"]["fimbrial_end"][1] < _cavity_centre_col(ft)
    # and the left tube's contrast is really there, on the image's left
    sig = _contrast_signal(flipped.loop, ft)
    p = ft["sides"]["left"]["tube_path"][3]
    assert p[1] < _cavity_centre_col(ft)
    assert _disk_mean(sig[-1], p, 1.5) > _disk_mean(sig[0], p, 1.5)


def test_spill_appears_after_onset_and_hydrosalpinx_is_wider_than_the_tube(clean_study) -> None:
    truth, sig = clean_study.truth, _contrast_signal(clean_study.loop, clean_study.truth)
    n = truth["frames"]
    left = truth["sides"]["left"]
    assert left["spill"] == "free" and left["spill_onset_frame"] is not None
    on = left["spill_onset_frame"]
    fe = left["fimbrial_end"]
    r = 12.0 / truth["pixel_spacing_at_patient_mm"]
    pre = _disk_mean(sig[max(on - 2, 0)], fe, r) - _disk_mean(sig[0], fe, r)
    late = _disk_mean(sig[n - 1], fe, r) - _disk_mean(sig[0], fe, r)
    assert late > pre + abs(pre) + 1e-3, (pre, late)
    right = truth["sides"]["right"]
    assert right["hydrosalpinx"] and right["spill"] == "none" and right["spill_onset_frame"] is None
    assert right["patency"] == "distal_occlusion" and 10.0 <= right["hydrosalpinx_diameter_mm"] <= 40.0
    # the sac's contrast covers a blob about as wide as the stated diameter; the isthmus is a thin line
    diff = sig[n - 1] - sig[0]
    near_cornu = np.mean([_disk_mean(diff, p, 1.0) for p in right["tube_path"][2:5]])
    wide = right["hydrosalpinx_diameter_mm"] / truth["pixel_spacing_at_patient_mm"] / 4
    sac = max(_disk_mean(diff, p, wide) for p in right["tube_path"][len(right["tube_path"]) // 2 :])
    isthmus = max(_disk_mean(diff, p, wide) for p in right["tube_path"][2:6])
    assert near_cornu > 0 and sac > 2 * isthmus, (sac, isthmus)


def test_max_distension_mask_matches_the_cavity_contrast(clean_study) -> None:
    truth, sig = clean_study.truth, _contrast_signal(clean_study.loop, clean_study.truth)
    mask = rle_decode(
        truth["cavity_mask_max_distension"]["rle"], truth["cavity_mask_max_distension"]["shape"]
    )
    k = truth["max_distension_frame"] - 1
    area_mm2 = mask.sum() * truth["pixel_spacing_at_patient_mm"] ** 2
    assert 300 < area_mm2 < 3000
    diff = sig[k] - sig[0]
    ring = np.zeros_like(mask)
    rows, cols = np.nonzero(mask)
    ring[max(rows.min() - 30, 0) : rows.max() + 30, max(cols.min() - 30, 0) : cols.max() + 30] = True
    ring &= ~mask
    assert diff[mask].mean() > 3 * abs(diff[ring].mean()) + 1.0


def test_cli_writes_a_seed_range(tmp_path: Path, capsys) -> None:
    rc = cli_main(
        [
            str(tmp_path),
            "--seeds",
            "40:42",
            "--axis",
            "matrix=512",
            "--axis",
            "frame_count=30-60",
            "--axis",
            "pixel_size=0.35-0.45",
        ]
    )
    assert rc == 0
    for seed in (40, 41):
        d = tmp_path / f"seed_{seed:05d}"
        truth = json.loads((d / "truth.json").read_text())
        assert truth["seed"] == seed and truth["renderer"] == "independent" and truth["rows"] == 512
        assert (d / "02_loop.dcm").exists()
    with pytest.raises(SystemExit):
        cli_main([str(tmp_path), "--axis", "matrix=999"])
    assert "matrix takes" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # 'absent' needs a unicornuate uterus: a message, not a traceback
        cli_main(
            [str(tmp_path), "--seeds", "1", "--axis", "left_class=absent", "--axis", "cavity_class=normal"]
        )
    assert "left_class" in capsys.readouterr().err


def test_loop_start_controls_the_first_frame() -> None:
    """Same anatomy (separate random streams), different loop start: contrast-free vs mid-fill frame 1."""
    over = {
        **CLEAN,
        "catheter": "metal_cannula",
        "left_class": "proximal_occlusion",
        "right_class": "proximal_occlusion",
    }
    before = render_study(51, _axes(51, over, loop_start="before_injection"))
    mid = render_study(51, _axes(51, over, loop_start="mid_fill"))
    tb, tm = before.truth, mid.truth
    assert tb["cavity_fill_start_frame"] is not None and tb["cavity_fill_start_frame"] >= 3
    assert tm["cavity_fill_start_frame"] is None
    m = tm["cavity_mask_max_distension"]
    mask = rle_decode(m["rle"], m["shape"])
    sb, sm = _contrast_signal(before.loop, tb), _contrast_signal(mid.loop, tm)
    # frame 1: the mid-fill loop already has contrast in the cavity, the other has none yet
    assert sm[0][mask].mean() - sb[0][mask].mean() > 5 * abs(sb[1][mask].mean() - sb[0][mask].mean()) + 1.0
    # at maximal distension both show the filled cavity
    kb = tb["max_distension_frame"] - 1
    assert sb[kb][mask].mean() - sb[0][mask].mean() > 0
    for t in (tb, tm):
        assert all(
            s["first_fill_frame"] is None and s["patency"] == "proximal_occlusion"
            for s in t["sides"].values()
        )


def test_runs_gaps_and_last_image_hold_duplicates() -> None:
    study = render_study(61, _axes(61, **SMALL, runs="multiple", last_image_hold="duplicates"))
    t, f = study.truth, _frames(study.loop)
    dups = t["distractors"]["last_image_hold_frames"]
    starts = t["distractors"]["run_start_frames"]
    assert dups and len(starts) >= 2
    for k in range(1, t["frames"]):  # 0-based k is frame k + 1
        same = np.array_equal(f[k], f[k - 1])
        assert same == ((k + 1) in dups), k + 1
    ftv = t["frame_time_ms"]
    nominal = float(np.median(ftv[1:]))
    for s in starts[1:]:
        assert ftv[s - 1] > 2 * nominal  # the gap before each new run is in the vector
    assert [float(v) for v in study.loop.FrameTimeVector] == ftv


def test_intravasation_lace_appears_and_washes_out() -> None:
    over = {
        **CLEAN,
        "intravasation": "present",
        "left_class": "proximal_occlusion",
        "right_class": "proximal_occlusion",
        "catheter": "metal_cannula",
        "tenaculum": "no",
        "speculum": "none",
    }
    study = render_study(71, _axes(71, **over))
    t = study.truth
    assert t["intravasation"] and t["intravasation_frames"] is not None
    first, last = t["intravasation_frames"]
    sig = _contrast_signal(study.loop, t)
    m = t["cavity_mask_max_distension"]
    cav = rle_decode(m["rle"], m["shape"])
    from scipy import ndimage as ndi

    px = t["pixel_spacing_at_patient_mm"]
    near = ndi.binary_dilation(cav, iterations=int(15 / px)) & ~ndi.binary_dilation(
        cav, iterations=int(3 / px)
    )

    def lace(k: int) -> float:  # local (fine-structure) contrast: a lace is thin lines, not a haze
        d = sig[k] - sig[max(first - 2, 0)]
        return float(np.mean(np.abs(d - ndi.uniform_filter(d, 7))[near]))

    peak = max(range(first - 1, last), key=lace)
    assert lace(peak) > 1.3 * lace(max(first - 2, 1) - 1)
    assert first >= 2


def test_defect_truth_is_inside_the_cavity_and_sized() -> None:
    study = render_study(81, _axes(81, CLEAN, defects="multiple", defect_size="mixed"))
    t = study.truth
    assert t["defects"]
    m = t["cavity_mask_max_distension"]
    mask = rle_decode(m["rle"], m["shape"])
    for d in t["defects"]:
        assert d["type"] in ("polyp", "submucous_myoma", "synechia")
        assert 3.0 <= d["size_mm"] <= 30.0 and 1 <= d["first_frame"] <= d["last_frame"] == t["frames"]
        r, c = int(round(d["row"])), int(round(d["column"]))
        rad = int(d["size_mm"] / t["pixel_spacing_at_patient_mm"])
        # the defect sits in the cavity: cavity pixels within its size around its centre
        assert mask[max(r - rad, 0) : r + rad + 1, max(c - rad, 0) : c + rad + 1].any()
    sizes = [d["size_mm"] for d in t["defects"]]
    assert min(sizes) < 5.0 <= max(sizes) or len(sizes) == 1


def _segments_cross(p: np.ndarray) -> int:
    """Number of crossing pairs of non-adjacent edges of a closed polygon."""

    def ccw(a, b, c) -> bool:
        return (c[1] - a[1]) * (b[0] - a[0]) > (b[1] - a[1]) * (c[0] - a[0])

    n, count = len(p), 0
    for i in range(n):
        a, b = p[i], p[(i + 1) % n]
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue
            c, d = p[j], p[(j + 1) % n]
            count += ccw(a, c, d) != ccw(b, c, d) and ccw(a, b, c) != ccw(a, b, d)
    return count


@pytest.mark.parametrize("kind", ["normal", "arcuate", "septate", "bicornuate", "unicornuate", "t_shaped"])
def test_cavity_outlines_are_simple_polygons(kind: str) -> None:
    from hsg_workstation.synthetic.independent.anatomy import make_cavity

    for seed in range(4):
        cav = make_cavity(kind, np.random.default_rng(seed), "right" if kind == "unicornuate" else None)
        assert _segments_cross(cav.polygon) == 0
        assert (cav.cornua["right"] is None) == (kind == "unicornuate")


@pytest.mark.parametrize("seed", [101, 102, 103, 104, 105, 106])
def test_truth_invariants_on_sampled_studies(seed: int) -> None:
    """Whatever the seed draws: events ordered, classes coherent, numbers in their stated ranges."""
    study = render_study(seed, _axes(seed, SMALL))
    t, ax = study.truth, study.axes
    n = t["frames"]
    assert len(t["frame_time_ms"]) == n and t["frame_time_ms"][0] == 0.0
    assert 0.15 <= t["pixel_spacing_at_patient_mm"] <= 0.45 and 30 <= n <= 60
    assert 1 <= t["max_distension_frame"] <= n
    if t["cavity_fill_start_frame"] is not None:
        assert 2 <= t["cavity_fill_start_frame"] <= t["max_distension_frame"]
    for side, s in t["sides"].items():
        cls = ax[f"{side}_class"]
        if cls == "absent":
            assert not s["tube_present"] and s["patency"] == "absent" and s["tube_path"] == []
            continue
        assert s["tube_present"] and len(s["tube_path"]) > 10
        if s["first_fill_frame"] is not None:
            assert 2 <= s["first_fill_frame"] <= n
        if s["spill"] != "none":
            assert s["patency"] == "patent" and s["first_fill_frame"] < s["spill_onset_frame"] <= n
            assert s["spill_visibility"] in ("dense", "faint")
        if cls == "hydrosalpinx":
            assert (
                s["hydrosalpinx"] and s["spill"] == "none" and 10.0 <= s["hydrosalpinx_diameter_mm"] <= 40.0
            )
        if cls == "proximal_occlusion":
            assert not s["tube_filled"] and s["spill"] == "none"
        r, c = s["fimbrial_end"]
        assert 0 <= r < t["rows"] and 0 <= c < t["columns"]
    if t["intravasation"]:
        a, b = t["intravasation_frames"]
        assert 2 <= a <= b <= n
    assert t["patient_orientation"] == (["R", "F"] if t["image_flipped"] else ["L", "F"])
    assert (
        t["contrast_appears"] == ax["contrast_polarity"]
        and t["photometric_interpretation"] == ax["photometric"]
    )
    json.dumps(t)  # serialisable as is


@pytest.mark.parametrize("polarity", ["dark", "bright"])
@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_contrast_appears_as_the_truth_says_on_an_honest_display(polarity: str, photometric: str) -> None:
    """Displayed brightness (stored value, inverted for MONOCHROME1) goes down where contrast arrives when the
    truth says "dark", up when it says "bright"."""
    ax = _axes(91, CLEAN, loop_start="before_injection", contrast_polarity=polarity, photometric=photometric)
    study = render_study(91, ax, frames=30)
    t = study.truth
    assert t["contrast_appears"] == polarity and study.loop.PhotometricInterpretation == photometric
    f = _frames(study.loop)
    display = f if photometric == "MONOCHROME2" else float(2 ** t["bits_stored"] - 1) - f
    m = t["cavity_mask_max_distension"]
    mask = rle_decode(m["rle"], m["shape"])
    change = display[t["max_distension_frame"] - 1][mask].mean() - display[0][mask].mean()
    assert (change > 0) == (polarity == "bright") and abs(change) > 0.05 * 2 ** t["bits_stored"]


def test_run_structure_is_always_feasible() -> None:
    """Every run has >= 6 frames for every frame count (a rejection loop once dead-ended here)."""
    from hsg_workstation.synthetic.independent.dynamics import draw_timing

    counts = set()
    for seed in range(2000):
        n = (20, 30, 31, 45, 60, 90, 120)[seed % 7]
        t = draw_timing({**sample_axes(seed), "runs": "multiple"}, np.random.default_rng(seed), n)
        starts = [*t.run_starts, n]
        assert starts[0] == 0 and all(b - a >= 6 for a, b in zip(starts, starts[1:], strict=False))
        counts.add(len(t.run_starts))
    assert counts == {2, 3, 4}
