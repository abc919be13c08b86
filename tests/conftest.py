"""Fixtures shared across the suite. Area-specific fixtures live in each sub-folder's conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data directory (database + store + drafts) so no test touches the user's real one."""
    d = tmp_path / "hsg-data"
    d.mkdir()
    monkeypatch.setenv("HSG_WORKSTATION_DATA_DIR", str(d))
    return d
