"""``hsg-workstation`` / ``python -m hsg_workstation``: the GUI without a sub-command, the CLI with one.

Sub-commands live one module each in :mod:`hsg_workstation.cli`; every module exposes
``register(subparsers) -> None`` and sets ``func`` on its parser. Discovery by module keeps each area's
command next to its own code and lets them be added without editing this file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from hsg_workstation import __version__, cli
from hsg_workstation.cli._failures import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    debug_requested,
    describe,
)
from hsg_workstation.config import settings

__all__ = ["EXIT_ERROR", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hsg-workstation",
        description="HSG reading workstation. Without a sub-command the desktop app opens.",
        epilog="exit codes: 0 ok, 1 error (input refused, file or database problem, out of memory), 2 usage, "
        "3 partial (pacs), 70 internal error (a bug), 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="local database, store and drafts folder (default: $HSG_WORKSTATION_DATA_DIR or the user data dir)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the Python traceback of an error (also: HSG_DEBUG=1)",
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
    """Let ``--data-dir`` (and ``--debug``) also follow a sub-command (``hsg-workstation list --data-dir X``), as users type it.

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
            if not any("--debug" in a.option_strings for a in sub._actions):  # noqa: SLF001
                sub.add_argument(
                    "--debug", action="store_true", default=argparse.SUPPRESS, help="show Python tracebacks"
                )
            _accept_data_dir_everywhere(sub)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI (or the GUI without a sub-command); every failure becomes one line on stderr and an exit code
    (see :mod:`hsg_workstation.cli._failures`), with the traceback only under ``--debug`` / ``HSG_DEBUG=1``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = debug_requested(arguments)
    parser = build_parser()
    args = parser.parse_args(arguments)
    try:
        settings.check()  # a bad environment variable stops here, with its name, before any work starts
        if args.command is None:
            from hsg_workstation.ui.app import run_gui  # Qt only when the GUI is asked for

            return run_gui(data_dir=args.data_dir)
        return int(args.func(args) or EXIT_OK)
    except SystemExit:
        raise
    except BrokenPipeError:  # the reader closed the pipe early (``... | head``): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except BaseException as exc:  # noqa: BLE001 - the one place where every failure becomes a message
        if debug:
            traceback.print_exc()
        message, code = describe(exc, database=_database_of(args))
        print(message, file=sys.stderr)
        return code


def _database_of(args: argparse.Namespace) -> str:
    """The index file the command used, for a message about a damaged database (never raises)."""
    try:
        from hsg_workstation.config import DATA_DIR_ENV

        root = getattr(args, "data_dir", None) or os.environ.get(DATA_DIR_ENV) or ""
        return str(Path(root).expanduser() / "index.sqlite") if root else "index.sqlite in the data folder"
    except Exception:  # noqa: BLE001
        return ""


if __name__ == "__main__":
    sys.exit(main())
