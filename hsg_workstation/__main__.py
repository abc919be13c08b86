"""``hsg-workstation`` / ``python -m hsg_workstation``: the GUI without a sub-command, the CLI with one.

Sub-commands live one module each in :mod:`hsg_workstation.cli`; every module exposes
``register(subparsers) -> None`` and sets ``func`` on its parser. Discovery by module keeps each area's
command next to its own code and lets them be added without editing this file.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from hsg_workstation import __version__, cli
from hsg_workstation.config import settings
from hsg_workstation.errors import HsgError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hsg-workstation",
        description="HSG reading workstation. Without a sub-command the desktop app opens.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="local database, store and drafts folder (default: $HSG_WORKSTATION_DATA_DIR or the user data dir)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(cli.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{cli.__name__}.{info.name}")
        module.register(subparsers)
    _accept_data_dir_everywhere(parser)
    return parser


def _accept_data_dir_everywhere(parser: argparse.ArgumentParser) -> None:
    """Let ``--data-dir`` also follow a sub-command (``hsg-workstation list --data-dir X``), as users type it.

    Added with ``SUPPRESS`` as default so a value given before the sub-command is not overwritten by ``None``.
    """
    for action in parser._actions:  # noqa: SLF001 - argparse has no public API to walk sub-parsers
        if not isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            continue
        for sub in {id(p): p for p in action.choices.values()}.values():
            if not any("--data-dir" in a.option_strings for a in sub._actions):  # noqa: SLF001
                sub.add_argument(
                    "--data-dir",
                    metavar="DIR",
                    default=argparse.SUPPRESS,
                    help="same as the global --data-dir",
                )
            _accept_data_dir_everywhere(sub)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings.check()  # a bad environment variable stops here, with its name, before any work starts
    except HsgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.command is None:
        from hsg_workstation.ui.app import run_gui  # Qt only when the GUI is asked for

        return run_gui(data_dir=args.data_dir)
    try:
        return int(args.func(args) or EXIT_OK)
    except HsgError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
