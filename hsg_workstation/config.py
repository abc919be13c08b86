"""The workstation's settings: ONE validated object (``config.settings``), pydicom's config pattern.

Every setting enters here and only here — the command line's ``--data-dir``, the environment variables and the
settings file ``config.json`` in the data directory — and is checked where it enters: a bad value raises
``ConfigError`` naming the variable / file and key and what is wrong, instead of being ignored (an
``HSG_ANALYSIS_THREADS=fuor`` that silently fell back to the default hid the typo).

Settings (first match wins):

- data directory: ``--data-dir``, ``$HSG_WORKSTATION_DATA_DIR``, the platform's user data dir. It holds the local
  study database (``index.sqlite``), the DICOM store (``store/``), report drafts (``drafts/``), ``nodes.json``
  and ``config.json``, so users with several archives, and tests, can point everything at another folder.
- analysis threads: a value set in code (benchmarks), ``$HSG_ANALYSIS_THREADS``, ``"analysis_threads"`` in
  ``config.json``, else the CPUs (at most 4; ``analysis/parallel.py``).
- decoded-image size cap: ``import --max-image-mb``, ``$HSG_WORKSTATION_MAX_IMAGE_MB``, else 4 GiB
  (``dicom_io/reader.py``).

The environment is read when a value is asked for (so a test's ``monkeypatch.setenv`` applies); ``config.json``
is read when the data directory is resolved (``resolve_data_dir``). ``settings.check()`` validates everything
at start-up so a typo stops the program with its message before any work starts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from hsg_workstation.errors import ConfigError

DATA_DIR_ENV = "HSG_WORKSTATION_DATA_DIR"
ANALYSIS_THREADS_ENV = "HSG_ANALYSIS_THREADS"
MAX_IMAGE_MB_ENV = "HSG_WORKSTATION_MAX_IMAGE_MB"
CONFIG_FILE = "config.json"
APP_NAME = "hsg-workstation"
MAX_ANALYSIS_THREADS = 256

# The keys ``config.json`` may hold.
_FILE_KEYS = ("analysis_threads",)


def image_cap_mib(value: Any, where: str) -> float:
    """A positive, finite number of MiB for the decoded-image size cap (``dicom_io.reader``)."""
    try:
        mib = float(value)
    except (TypeError, ValueError):
        mib = float("nan")
    if isinstance(value, bool) or not 0 < mib < float("inf"):
        raise ConfigError(f"{where}: the image size cap must be a positive number of MiB, got {value!r}")
    return mib


def _threads(value: Any, where: str) -> int:
    """A whole number of threads, 1..MAX_ANALYSIS_THREADS; ``where`` names the source in the message."""
    if isinstance(value, str):
        text = value.strip()
        number = int(text) if text.lstrip("+").isdigit() else None
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        number = None
    if number is None or not 1 <= number <= MAX_ANALYSIS_THREADS:
        raise ConfigError(
            f"{where}={value!r}: must be a whole number of threads from 1 to {MAX_ANALYSIS_THREADS} "
            "(leave it unset to use the CPUs)"
        )
    return number


class Settings:
    """The settings object. ``environ``: a mapping to read instead of ``os.environ`` (tests)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self._analysis_threads: int | None = None
        self._file: Path | None = None
        self._file_values: dict[str, Any] = {}

    @property
    def environ(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def _env(self, name: str) -> str | None:
        value = self.environ.get(name, "")
        return value if value.strip() else None

    # ----- data directory -----------------------------------------------------------------------------
    def data_dir(self, cli_value: str | os.PathLike[str] | None = None, *, create: bool = True) -> Path:
        """``--data-dir``, then ``$HSG_WORKSTATION_DATA_DIR``, then platformdirs; created if missing (``create``),
        and its ``config.json`` loaded. ConfigError when the path is a file or cannot be created."""
        env = self._env(DATA_DIR_ENV)
        if cli_value:
            path, where = Path(cli_value), "--data-dir"
        elif env is not None:
            path, where = Path(env), DATA_DIR_ENV
        else:
            path, where = (
                Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
                "the user data directory",
            )
        path = path.expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{where} {path}: is a file, not a folder")
        if create:
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"{where} {path}: cannot be created: {exc.strerror or exc}") from None
        self.load_file(path)
        return path

    def load_file(self, data_dir: str | os.PathLike[str]) -> None:
        """Read ``data_dir/config.json`` (absent: no file settings). Unknown keys and bad values are refused."""
        path = Path(data_dir) / CONFIG_FILE
        values: dict[str, Any] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ConfigError(f"{path}: cannot be read as JSON: {exc}") from None
            if not isinstance(data, dict):
                raise ConfigError(f"{path}: must hold a JSON object of settings")
            unknown = sorted(set(data) - set(_FILE_KEYS))
            if unknown:
                raise ConfigError(
                    f"{path}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(_FILE_KEYS)})"
                )
            if data.get("analysis_threads") is not None:
                values["analysis_threads"] = _threads(data["analysis_threads"], f"{path}: analysis_threads")
        self._file, self._file_values = path, values

    # ----- analysis threads ---------------------------------------------------------------------------
    @property
    def analysis_threads(self) -> int | None:
        """Threads for the analysis, or None for the default (the CPUs, at most 4)."""
        if self._analysis_threads is not None:
            return self._analysis_threads
        env = self._env(ANALYSIS_THREADS_ENV)
        if env is not None:
            return _threads(env, ANALYSIS_THREADS_ENV)
        return self._file_values.get("analysis_threads")

    # ----- decoded-image size cap ----------------------------------------------------------------------
    @property
    def max_image_mb(self) -> float | None:
        """``$HSG_WORKSTATION_MAX_IMAGE_MB`` (MiB), or None for the default cap of ``dicom_io.reader``. Not part
        of ``check()``: ``import --max-image-mb`` wins over a bad variable (the variable is read only without it)."""
        env = self._env(MAX_IMAGE_MB_ENV)
        return None if env is None else image_cap_mib(env.strip(), MAX_IMAGE_MB_ENV)

    @analysis_threads.setter
    def analysis_threads(self, value: int | None) -> None:
        self._analysis_threads = None if value is None else _threads(value, "analysis_threads")

    # ----- start-up ----------------------------------------------------------------------------------
    def check(self) -> None:
        """Validate every environment setting now (program start); ConfigError names the first bad one."""
        _ = self.analysis_threads
        env = self._env(DATA_DIR_ENV)
        if env is not None and Path(env).expanduser().is_file():
            raise ConfigError(f"{DATA_DIR_ENV} {env}: is a file, not a folder")


settings = Settings()


def resolve_data_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The data directory (created if missing) — ``settings.data_dir``."""
    return settings.data_dir(cli_value)
