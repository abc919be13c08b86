"""Scoring of one analysed study against its truth, and the summary tables of issue 10.

Every figure of the issue's table, the same way for both renderers (see benchmarks/analysis_studies.py):

- per-side spill yes/no: over all sides ("indeterminate" counts as not correct), over the sides where a call is
  made, and the share indeterminate;
- spill class (free / loculated / none), all sides and called sides;
- spill onset within ±2 frames (sides that truly spill; a missed or indeterminate spill is a miss);
- venous intravasation yes/no (``null`` counts as not correct; also over called studies);
- first tubal filling within ±2 frames (sides whose tube truly fills);
- maximal distension within ±3 frames;
- defect candidates: recall for defects ≥ 5 mm, precision over all candidates (a candidate is right when it
  lies within max(size / 2, 5 mm) of any true defect);
- hydrosalpinx found per side and the diameter error;
- analysis time per loop.

Each row also keeps the side's raw spill score and yes/no correctness of the raw call, from which the confidence
calibration table (hsg_workstation/analysis/calibration.py) is fitted on the tuning split.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

DEFECT_MIN_MM = 5.0


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    s = int(a.sum()) + int(b.sum())
    return 1.0 if s == 0 else 2.0 * int((a & b).sum()) / s


def score_study(study: Any, result: Any, elapsed_s: float) -> dict[str, Any]:
    """One row: the study's axes and every per-side / per-study outcome (JSON-serialisable)."""
    from benchmarks.analysis_studies import split_of

    truth = study.truth
    row: dict[str, Any] = {
        "renderer": study.renderer,
        "seed": study.seed,
        "split": split_of(study.seed),
        "axes": {k: _axis_value(v) for k, v in study.axes.items()},
        "analyze_s": round(float(elapsed_s), 3),
        "sides": {},
    }
    for side in ("left", "right"):
        t, p = truth["sides"][side], result.sides[side]
        t_spill = t["spill"] != "none"
        called = p.spill != "indeterminate"
        raw = getattr(p, "raw_spill", None) or p.spill
        onset_ok = None
        if t_spill:
            onset_ok = bool(
                called
                and p.spill != "none"
                and p.spill_onset_frame is not None
                and t["spill_onset_frame"] is not None
                and abs(int(p.spill_onset_frame) - int(t["spill_onset_frame"])) <= 2
            )
        fill_ok = None
        if t["tube_filled"] and t["first_fill_frame"] is not None:
            fill_ok = bool(
                p.first_fill_frame is not None
                and abs(int(p.first_fill_frame) - int(t["first_fill_frame"])) <= 2
            )
        hydro_mm = getattr(p, "hydrosalpinx_mm", None)
        row["sides"][side] = {
            "truth_spill": t["spill"],
            "truth_visibility": t.get("spill_visibility"),
            "pred_spill": p.spill,
            "raw_spill": raw,
            "called": called,
            "yn_ok": bool(called and (p.spill != "none") == t_spill),
            "class_ok": bool(called and p.spill == t["spill"]),
            "raw_yn_ok": bool((raw != "none") == t_spill),
            "score": getattr(p, "score", None),
            "confidence": float(p.confidence),
            "onset_ok": onset_ok,
            "truth_onset": t["spill_onset_frame"],
            "pred_onset": p.spill_onset_frame,
            "fill_ok": fill_ok,
            # a tube that never fills (proximal occlusion) is right only when no filling is reported
            "fill_yn_ok": bool(bool(p.tube_filled) == bool(t["tube_filled"])),
            "truth_tube_filled": bool(t["tube_filled"]),
            "truth_fill": t["first_fill_frame"],
            "pred_fill": p.first_fill_frame,
            "truth_hydro_mm": t["hydrosalpinx_diameter_mm"] if t["hydrosalpinx"] else None,
            "pred_hydro_mm": hydro_mm,
        }
    md_t, md_p = truth["max_distension_frame"], result.max_distension_frame
    row["max_dist_truth"], row["max_dist_pred"] = md_t, md_p
    row["max_dist_ok"] = None if md_t is None else bool(md_p is not None and abs(md_p - md_t) <= 3)
    intrav = result.intravasation
    row["intrav_truth"] = bool(truth["intravasation"])
    row["intrav_pred"] = intrav
    row["intrav_ok"] = bool(intrav is not None and bool(intrav) == row["intrav_truth"])
    row["intrav_score"] = float(getattr(result, "intravasation_score", 0.0))
    row["intrav_raw_ok"] = bool(getattr(result, "intravasation_raw", False)) == row["intrav_truth"]
    row["intrav_confidence"] = float(result.intravasation_confidence)
    spacing = truth.get("spacing_mm")
    big_truth = [d for d in truth["defects"] if d["size_mm"] >= DEFECT_MIN_MM]
    found_big, matched = 0, 0
    if spacing:
        for d in big_truth:
            tol = max(d["size_mm"] / 2, 5.0) / spacing
            if any(np.hypot(c.row - d["row"], c.column - d["column"]) <= tol for c in result.defects):
                found_big += 1
        for c in result.defects:
            if any(
                np.hypot(c.row - d["row"], c.column - d["column"]) <= max(d["size_mm"] / 2, 5.0) / spacing
                for d in truth["defects"]
            ):
                matched += 1
    row["defects_truth_ge5"] = len(big_truth)
    row["defects_found_ge5"] = found_big
    row["defect_candidates"] = len(result.defects)
    row["defect_candidates_ok"] = matched
    if study.cavity_masks is not None and md_p is not None and result.max_distension_mask is not None:
        row["dice"] = round(_dice(result.max_distension_mask, study.cavity_masks[md_p - 1]), 4)
    return row


def _axis_value(v: Any) -> Any:
    if isinstance(v, bool | str) or v is None:
        return v
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v) if isinstance(v, float | np.floating) else int(v)
    return str(v)


def _pct(xs: list[bool]) -> float | None:
    return None if not xs else round(100.0 * sum(bool(x) for x in xs) / len(xs), 1)


def block(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's figures over ``rows``."""
    sides = [s for r in rows for s in r["sides"].values()]
    called = [s for s in sides if s["called"]]
    spilling = [s for s in sides if s["truth_spill"] != "none"]
    fills = [s["fill_ok"] for s in sides if s["fill_ok"] is not None]
    hydro_t = [s for s in sides if s["truth_hydro_mm"] is not None]
    hydro_err = [
        abs(s["pred_hydro_mm"] - s["truth_hydro_mm"]) for s in hydro_t if s["pred_hydro_mm"] is not None
    ]
    d_t = sum(r["defects_truth_ge5"] for r in rows)
    d_c = sum(r["defect_candidates"] for r in rows)
    times = [r["analyze_s"] for r in rows]
    intrav_called = [r for r in rows if r["intrav_pred"] is not None]
    out = {
        "studies": len(rows),
        "sides": len(sides),
        "spill_yn_pct": _pct([s["yn_ok"] for s in sides]),
        "spill_yn_called_pct": _pct([s["yn_ok"] for s in called]),
        "indeterminate_pct": _pct([not s["called"] for s in sides]),
        "spill_class_pct": _pct([s["class_ok"] for s in sides]),
        "spill_class_called_pct": _pct([s["class_ok"] for s in called]),
        "onset_2_pct": _pct([bool(s["onset_ok"]) for s in spilling]),
        "first_fill_2_pct": _pct(fills),
        "tube_filled_yn_pct": _pct([s["fill_yn_ok"] for s in sides if "fill_yn_ok" in s]),
        "unfilled_tube_sides": sum(1 for s in sides if s.get("truth_tube_filled") is False),
        "unfilled_tube_right_pct": _pct(
            [s["fill_yn_ok"] for s in sides if s.get("truth_tube_filled") is False]
        ),
        "max_dist_3_pct": _pct([r["max_dist_ok"] for r in rows if r["max_dist_ok"] is not None]),
        "intrav_pct": _pct([r["intrav_ok"] for r in rows]),
        "intrav_called_pct": _pct([r["intrav_ok"] for r in intrav_called]),
        "intrav_null_pct": _pct([r["intrav_pred"] is None for r in rows]),
        "defect_recall_ge5_pct": None
        if d_t == 0
        else round(100.0 * sum(r["defects_found_ge5"] for r in rows) / d_t, 1),
        "defect_precision_pct": None
        if d_c == 0
        else round(100.0 * sum(r["defect_candidates_ok"] for r in rows) / d_c, 1),
        "defects_ge5": d_t,
        "defect_candidates": d_c,
        "hydrosalpinx_sides": len(hydro_t),
        "hydrosalpinx_sized_pct": _pct([s["pred_hydro_mm"] is not None for s in hydro_t]),
        "hydrosalpinx_err_mm_median": None if not hydro_err else round(float(np.median(hydro_err)), 1),
        "time_s_median": None if not times else round(float(np.median(times)), 2),
        "time_s_max": None if not times else round(float(np.max(times)), 2),
    }
    dices = [r["dice"] for r in rows if "dice" in r]
    if dices:
        out["dice_median"] = round(float(np.median(dices)), 3)
    return out


def _axis_groups(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Rows grouped per axis and axis value; numeric axes with many values in three quantile bins."""
    keys = sorted({k for r in rows for k in r["axes"]})
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for key in keys:
        vals = [r["axes"].get(key) for r in rows]
        numeric = [v for v in vals if isinstance(v, int | float) and not isinstance(v, bool)]
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if len(numeric) == len(vals) and len(set(numeric)) > 6:
            edges = np.quantile(numeric, [0, 1 / 3, 2 / 3, 1])
            for r, v in zip(rows, vals, strict=True):
                k = min(2, int(np.searchsorted(edges[1:-1], v, side="right")))
                groups[f"{edges[k]:.3g}–{edges[k + 1]:.3g}"].append(r)
        else:
            for r, v in zip(rows, vals, strict=True):
                groups[str(v)].append(r)
        out[key] = dict(sorted(groups.items()))
    return out


def failures(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        tag = f"{r['renderer']} {r['seed']}"
        for side, s in r["sides"].items():
            if not s["class_ok"] or s["onset_ok"] is False:
                out.append(
                    f"{tag} {side}: spill {s['pred_spill']} (truth {s['truth_spill']}), onset {s['pred_onset']} "
                    f"(truth {s['truth_onset']}), score {s['score']}"
                )
        if not r["intrav_ok"]:
            out.append(f"{tag}: intravasation {r['intrav_pred']} (truth {r['intrav_truth']})")
    return out


def summarise(rows: list[dict[str, Any]], with_axes: bool = True) -> dict[str, Any]:
    """Per renderer and split: the figures overall and per axis value."""
    out: dict[str, Any] = {}
    by_rs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_rs[(r["renderer"], r["split"])].append(r)
    for (renderer, split), sel in sorted(by_rs.items()):
        entry: dict[str, Any] = {"all": block(sel)}
        if with_axes:
            entry["by_axis"] = {
                key: {v: block(g) for v, g in groups.items()} for key, groups in _axis_groups(sel).items()
            }
        entry["failures"] = failures(sel)
        out[f"{renderer}/{split}"] = entry
    return out


def reliability(
    rows: list[dict[str, Any]], bins: tuple[float, ...] = (0.0, 0.6, 0.8, 0.9, 0.95, 1.01)
) -> list[dict]:
    """Calibrated confidence against the observed share of correct spill yes/no calls (called sides)."""
    sides = [s for r in rows for s in r["sides"].values() if s["called"]]
    out = []
    for lo, hi in zip(bins[:-1], bins[1:], strict=True):
        sel = [s for s in sides if lo <= s["confidence"] < hi]
        if sel:
            out.append(
                {
                    "confidence": f"{lo:.2f}–{min(hi, 1.0):.2f}",
                    "sides": len(sel),
                    "mean_confidence": round(float(np.mean([s["confidence"] for s in sel])), 3),
                    "observed_yn_pct": _pct([s["yn_ok"] for s in sel]),
                    "observed_class_pct": _pct([s["class_ok"] for s in sel]),
                }
            )
    return out


def calibration_points(rows: list[dict[str, Any]]) -> list[tuple[float, bool]]:
    """(raw score, raw call correct) of every side with a score: the data of the isotonic fit."""
    return [
        (float(s["score"]), bool(s["raw_yn_ok"]))
        for r in rows
        for s in r["sides"].values()
        if s["score"] is not None
    ]
