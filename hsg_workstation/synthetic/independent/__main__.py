"""``python -m hsg_workstation.synthetic.independent OUTDIR --seeds A:B``: write one folder per seed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import AXES, axis_values, render_study, sample_axes, write_study


def _seeds(text: str) -> range:
    try:
        if ":" in text:
            a, b = text.split(":", 1)
            return range(int(a), int(b))
        return range(int(text), int(text) + 1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--seeds: expected A:B (end exclusive) or one integer, got {text!r}"
        ) from exc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hsg_workstation.synthetic.independent", description=__doc__)
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--seeds", type=_seeds, default=range(0, 1), help="A:B (end exclusive) or N")
    ap.add_argument(
        "--axis",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="force one axis for every seed (repeatable), e.g. --axis matrix=512",
    )
    args = ap.parse_args(argv)
    forced = {}
    for item in args.axis:
        name, sep, value = item.partition("=")
        if not sep or name not in AXES:
            ap.error(f"--axis {item!r}: expected NAME=VALUE with NAME one of {', '.join(AXES)}")
        if value not in axis_values(name):
            ap.error(f"--axis {item!r}: {name} takes {', '.join(axis_values(name))}")
        forced[name] = value
    for seed in args.seeds:
        try:
            study = render_study(seed, {**sample_axes(seed), **forced} if forced else None)
        except ValueError as exc:  # an impossible combination of forced axes, named by the message
            ap.error(f"seed {seed}: {exc}")
        try:
            paths = write_study(study, args.outdir / f"seed_{seed:05d}")
        except OSError as exc:
            print(f"cannot write {args.outdir / f'seed_{seed:05d}'}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"seed {seed}: {', '.join(p.name for p in paths)} -> {paths[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
