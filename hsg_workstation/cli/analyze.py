"""``hsg-workstation analyze PATH [--json]``: fill-sequence analysis of a loop file or a study/series folder.

Prints suggestions only; nothing is written anywhere (source files are never modified).
"""

from __future__ import annotations

import argparse

from hsg_workstation.analysis import FillAnalysis, analyze_path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "analyze",
        help="analyse an HSG fill sequence (cavity, tubes, spill, key frames) and print suggestions",
        description="Analyse an HSG fill sequence. Left/right are the patient's (Patient Orientation 0020,0020).",
    )
    p.add_argument("path", help="a multi-frame DICOM loop, or a folder holding a study or series")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=handle)


def _frame(frame: int | None, time_s: float | None) -> str:
    if frame is None:
        return "-"
    return f"frame {frame}" + (f" ({time_s:.1f} s)" if time_s is not None else "")


def format_text(r: FillAnalysis) -> str:
    lines = [
        f"series {r.series_uid or '-'}: {r.frames} frames (suggestions only; accept or reject in the viewer)",
        f"maximal distension: {_frame(r.max_distension_frame, r.time_of(r.max_distension_frame))}",
    ]
    if r.shape is not None:
        s = r.shape

        def v(x: float | None, unit: str) -> str:
            return "-" if x is None else f"{x:.1f} {unit}"

        lines.append(
            f"cavity shape: intercornual {v(s.intercornual_distance, s.unit)}, fundal indentation "
            f"{v(s.fundal_indentation_depth, s.unit)}, apex angle {v(s.hemicavity_angle_deg, 'deg')} "
            f"({s.calibration_basis})"
        )
    for side in ("right", "left"):
        sr = r.sides[side]
        if sr.spill == "indeterminate":
            a, b = sr.frames_to_review or (1, r.frames)
            spill = f"spill not sure (look at frames {a}-{b})"
        else:
            spill = f"spill {sr.spill} {_frame(sr.spill_onset_frame, sr.spill_onset_time_s)}"
        hydro = "" if sr.hydrosalpinx_mm is None else f"; hydrosalpinx {sr.hydrosalpinx_mm:.0f} mm"
        lines.append(
            f"patient {side}: tube {'filled' if sr.tube_filled else 'not filled'} "
            f"{_frame(sr.first_fill_frame, sr.first_fill_time_s)}; {spill}{hydro}; confidence {sr.confidence:.2f}"
        )
    intrav = {True: "yes", False: "no", None: "can't tell from this loop"}[r.intravasation]
    lines.append(f"venous intravasation: {intrav} (confidence {r.intravasation_confidence:.2f})")
    for d in r.defects:
        size = f"{d.diameter_mm:.1f} mm" if d.diameter_mm is not None else f"{d.diameter_px:.0f} px"
        lines.append(
            f"filling defect candidate: frame {d.frame}, row {d.row:.0f}, column {d.column:.0f}, {size}"
        )
    for name, k in r.key_frames.items():
        lines.append(f"key frame {name}: {_frame(k.frame, k.time_s)}")
    lines.extend(f"warning: {w}" for w in r.warnings)
    return "\n".join(lines)


def handle(args: argparse.Namespace) -> int:
    result = analyze_path(args.path)
    print(result.to_json() if args.json else format_text(result))
    return 0
