"""The top-level CLI: sub-command discovery and the global --data-dir option in either position."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hsg_workstation.__main__ import build_parser, main


def test_help_lists_every_area_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "import",
        "list",
        "export-image",
        "sample-data",
        "pacs",
        "report",
        "analyze",
        "screenshot",
    ):
        assert command in out


@pytest.mark.parametrize("before", [True, False])
def test_data_dir_before_or_after_the_sub_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, before: bool
) -> None:
    monkeypatch.delenv("HSG_WORKSTATION_DATA_DIR", raising=False)
    target = tmp_path / "archive"
    argv = (
        ["--data-dir", str(target), "list", "--json"]
        if before
        else ["list", "--json", "--data-dir", str(target)]
    )
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert (target / "index.sqlite").exists()


def test_value_before_the_sub_command_is_not_reset_by_the_sub_parser(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--data-dir", str(tmp_path), "list"])
    assert args.data_dir == str(tmp_path)
    args = build_parser().parse_args(["list"])
    assert args.data_dir is None
