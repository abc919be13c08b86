"""Turn any failure that reaches the top of the CLI into one clear line on stderr and a documented exit code.

Why one place: every sub-command reads and writes files, opens the local database and may run out of memory; a
Python traceback tells a radiologist nothing. ``describe`` names the path and what is wrong; the traceback is
shown only with ``--debug`` (or ``HSG_DEBUG=1``), for the developer a user forwards the message to.

Exit codes (the same for every sub-command; ``pacs`` adds 3 = partial):

====  ======================================================================================================
0     success
1     error: input refused (not DICOM, malformed report, ...), a file or folder that cannot be read or
      written, the local database cannot be opened, out of memory
2     usage error (bad or missing arguments) — argparse's own code
3     partial (``pacs``: some instances retrieved / sent, others failed)
70    internal error: a bug in this program (the message says so and asks for ``--debug`` output)
130   interrupted (Ctrl-C)
====  ======================================================================================================
"""

from __future__ import annotations

import errno
import os
import re
import sqlite3

from hsg_workstation.errors import HsgError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

DEBUG_ENV = "HSG_DEBUG"

# pydicom's advice to programmers ("Use force=True to force reading.") means nothing to a user of this program.
_PYDICOM_ADVICE = re.compile(r"\s*Use force=True to force reading\.?", re.IGNORECASE)


def debug_requested(argv: list[str]) -> bool:
    """``--debug`` anywhere before a ``--`` on the command line, or ``HSG_DEBUG=1`` in the environment."""
    head = argv[: argv.index("--")] if "--" in argv else argv
    return "--debug" in head or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def clean(message: str) -> str:
    """A library message made fit for users: pydicom's API advice removed."""
    return _PYDICOM_ADVICE.sub("", message).strip()


def _os_error(exc: OSError) -> str:
    path = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, FileExistsError) or exc.errno == errno.EEXIST:
        reason = "exists and is not a folder" if os.path.exists(path) and not os.path.isdir(path) else reason
    elif isinstance(exc, IsADirectoryError):
        reason = "is a folder, a file name is needed"
    elif isinstance(exc, NotADirectoryError):
        reason = "a part of this path is a file, not a folder"
    elif exc.errno == errno.ENOSPC:
        reason = "no space left on the device"
    where = f"{path}" + (f" -> {exc.filename2}" if exc.filename2 else "")
    return f"{where}: {reason}" if where else reason


def describe(exc: BaseException, database: str = "") -> tuple[str, int]:
    """``(one line for stderr, exit code)`` for an exception that reached the top of the CLI.

    ``database``: the index file the command was using, named when SQLite says the file is damaged.
    """
    if isinstance(exc, KeyboardInterrupt):
        return "cancelled", EXIT_INTERRUPTED
    if isinstance(exc, HsgError):
        return f"error: {clean(str(exc))}", EXIT_ERROR
    if isinstance(exc, OSError):
        return f"error: {clean(_os_error(exc))}", EXIT_ERROR
    if isinstance(exc, sqlite3.DatabaseError):
        where = f"the local database {database}" if database else "the local database"
        return (
            f"error: {where} cannot be used ({exc}); move it aside (the DICOM files in store/ are kept) "
            "and import the store again, or point --data-dir at another folder",
            EXIT_ERROR,
        )
    if isinstance(exc, MemoryError):
        return "error: out of memory (the input is too large for this machine)", EXIT_ERROR
    name = type(exc).__name__
    return (
        f"internal error: {name}: {clean(str(exc))} — this is a bug; run again with --debug and report the output",
        EXIT_INTERNAL,
    )
