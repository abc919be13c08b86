"""Where the workstation keeps its data, and the typed user settings.

The data directory holds the local study database (``index.sqlite``), the DICOM store (``store/``), report drafts
(``drafts/``) and the settings file (``config.json``). It is resolved, first match wins, from the ``--data-dir``
option, the ``HSG_WORKSTATION_DATA_DIR`` environment variable, and the platform's user data dir — so users with
several archives, and tests, can point everything at another folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DATA_DIR_ENV = "HSG_WORKSTATION_DATA_DIR"
APP_NAME = "hsg-workstation"


def resolve_data_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory (created if missing): ``--data-dir``, then the env var, then platformdirs."""
    if cli_value:
        path = Path(cli_value)
    elif os.environ.get(DATA_DIR_ENV):
        path = Path(os.environ[DATA_DIR_ENV])
    else:
        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path = path.expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path
