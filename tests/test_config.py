"""One validated settings object (``config.settings``): environment variables and config.json parsed in one place,
bad values refused with a message that names them — never silently replaced by a default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsg_workstation.__main__ import main
from hsg_workstation.config import ANALYSIS_THREADS_ENV, DATA_DIR_ENV, Settings
from hsg_workstation.errors import ConfigError


def test_analysis_threads_from_environment_file_and_code(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    s = Settings(env)
    assert s.analysis_threads is None  # default: the CPUs (analysis/parallel.py)
    (tmp_path / "config.json").write_text(json.dumps({"analysis_threads": 3}))
    assert s.data_dir(tmp_path) == tmp_path.resolve()  # resolving the data dir reads its config.json
    assert s.analysis_threads == 3
    env[ANALYSIS_THREADS_ENV] = " 2 "
    assert s.analysis_threads == 2  # the environment overrides the file
    s.analysis_threads = 1
    assert s.analysis_threads == 1  # a value set in code overrides both
    with pytest.raises(ConfigError, match="analysis_threads=0"):
        s.analysis_threads = 0


@pytest.mark.parametrize("bad", ["fuor", "0", "-1", "1.5", "999999"])
def test_a_bad_thread_count_is_refused_naming_the_variable(bad: str) -> None:
    s = Settings({ANALYSIS_THREADS_ENV: bad})
    with pytest.raises(ConfigError, match=f"{ANALYSIS_THREADS_ENV}={bad!r}: must be a whole number"):
        _ = s.analysis_threads
    with pytest.raises(ConfigError, match=ANALYSIS_THREADS_ENV):
        s.check()


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "cannot be read as JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"analysis_thread": 2}', "unknown setting(s) analysis_thread"),
        ('{"analysis_threads": "many"}', "analysis_threads='many'"),
        ('{"analysis_threads": true}', "analysis_threads=True"),
    ],
)
def test_a_bad_config_file_is_refused_naming_file_and_key(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(ConfigError) as info:
        Settings({}).data_dir(tmp_path)
    assert str(tmp_path / "config.json") in str(info.value) and message in str(info.value)


def test_data_dir_order_and_a_file_in_its_place(tmp_path: Path) -> None:
    env = {DATA_DIR_ENV: str(tmp_path / "from-env")}
    s = Settings(env)
    assert s.data_dir() == (tmp_path / "from-env").resolve() and (tmp_path / "from-env").is_dir()
    assert s.data_dir(tmp_path / "from-cli") == (tmp_path / "from-cli").resolve()
    (tmp_path / "a-file").write_text("x")
    env[DATA_DIR_ENV] = str(tmp_path / "a-file")
    with pytest.raises(ConfigError, match=f"{DATA_DIR_ENV} .*a-file: is a file, not a folder"):
        s.data_dir()
    with pytest.raises(ConfigError, match=DATA_DIR_ENV):
        s.check()


def test_the_command_line_stops_on_a_bad_variable_with_its_name(monkeypatch, capsys) -> None:
    monkeypatch.setenv(ANALYSIS_THREADS_ENV, "fuor")
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert f"{ANALYSIS_THREADS_ENV}='fuor'" in err and "Traceback" not in err


def test_the_image_size_cap_variable_is_parsed_here_too() -> None:
    from hsg_workstation.config import MAX_IMAGE_MB_ENV

    assert Settings({}).max_image_mb is None
    assert Settings({MAX_IMAGE_MB_ENV: " 0.5 "}).max_image_mb == 0.5
    with pytest.raises(
        ConfigError, match=f"{MAX_IMAGE_MB_ENV}: the image size cap must be a positive number"
    ):
        _ = Settings({MAX_IMAGE_MB_ENV: "lots"}).max_image_mb
