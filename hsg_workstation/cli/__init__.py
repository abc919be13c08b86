"""CLI sub-commands, one module each; see :func:`hsg_workstation.__main__.build_parser`.

A module here must not import Qt at import time (``screenshot`` imports the GUI inside its handler).
"""
