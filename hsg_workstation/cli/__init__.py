"""CLI sub-commands, one module each; see :func:`hsg_workstation.__main__.build_parser`.

A module here must not import Qt at import time (``screenshot`` imports the GUI inside its handler).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable


def run_tolerating_broken_pipe(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """``run(args)``, except that a reader closing the pipe early (``... | head``) is not an error: exit 0."""
    try:
        return run(args)
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not raise a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
