"""Fixtures for the reading-core tests."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from hsg_workstation.dicom_io.database import LocalDatabase


@pytest.fixture(autouse=True)
def _quiet_pydicom() -> Iterator[None]:
    # pydicom's own bad test files trigger UserWarnings by design; the results under test carry the reasons.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


@pytest.fixture
def db(data_dir: Path) -> Iterator[LocalDatabase]:
    database = LocalDatabase(data_dir)
    yield database
    database.close()
