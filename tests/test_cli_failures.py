"""Issue 16 point 9: every failure that reaches the top of the CLI is one clear line naming the path, with the
documented exit code; a traceback only with ``--debug`` / ``HSG_DEBUG=1``.

The commands run as real subprocesses against real unwritable places (``/sys`` refuses new files even to root)
and real damaged files, as a user would meet them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hsg_workstation.__main__ import main
from hsg_workstation.cli._failures import EXIT_ERROR, EXIT_INTERNAL, EXIT_USAGE, clean

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "normal"
SCOUT = SAMPLE / "01_scout.dcm"
LOOP = SAMPLE / "02_loop.dcm"
REPORT = SAMPLE / "report.json"


def cli(
    *argv: str, env: dict[str, str] | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    environment.pop("HSG_DEBUG", None)
    for key, value in (env or {}).items():
        environment[key] = value
    return subprocess.run(
        [sys.executable, "-m", "hsg_workstation", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
    )


def one_line_error(proc: subprocess.CompletedProcess[str], code: int = EXIT_ERROR) -> str:
    """The process failed with ``code`` and said so in one line without a traceback; returns that line."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def writable_sys() -> None:
    if os.access("/sys", os.W_OK) and Path("/sys").is_dir():
        probe = Path("/sys/hsg-probe")
        try:
            probe.write_text("x")
        except OSError:
            return
        probe.unlink()
        pytest.fail("/sys accepts new files here; these tests need an unwritable /sys")


def test_export_image_into_sys(tmp_path: Path, data_dir: Path, writable_sys: None) -> None:
    line = one_line_error(cli("export-image", str(SCOUT), "/sys/x.png"))
    assert line.startswith("error: /sys/x.png: ")


def test_report_export_sr_into_sys_names_the_output(
    tmp_path: Path, data_dir: Path, writable_sys: None
) -> None:
    line = one_line_error(
        cli("report", "export", str(REPORT), "--study", str(SAMPLE), "--sr", "/sys/r.dcm", "--force")
    )
    assert "/sys/r.dcm: cannot be written" in line and "already written: nothing" in line
    assert ".tmp" not in line  # the user's path, not the temporary file's


def test_report_export_sr_to_a_folder_is_refused_before_any_work(tmp_path: Path, data_dir: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    line = one_line_error(cli("report", "export", str(REPORT), "--study", str(SAMPLE), "--sr", str(folder)))
    assert f"--sr {folder}: is a folder" in line
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob(".*tmp*"))


def test_same_output_twice_is_refused_and_nothing_written(tmp_path: Path, data_dir: Path) -> None:
    target = tmp_path / "a.dcm"
    proc = cli(
        "report", "export", str(REPORT), "--study", str(SAMPLE), "--sr", str(target), "--kos", str(target)
    )
    line = one_line_error(proc)
    assert f"--kos {target}: the same file as --sr {target}" in line
    assert not target.exists()
    line = one_line_error(cli("report", "export", str(REPORT), "--study", str(SAMPLE), "--sr", str(REPORT)))
    assert "refusing to overwrite" in line


def test_partial_export_says_what_was_written(tmp_path: Path, data_dir: Path, writable_sys: None) -> None:
    sr = tmp_path / "sr.dcm"
    proc = cli(
        "report",
        "export",
        str(REPORT),
        "--study",
        str(SAMPLE),
        "--force",
        "--sr",
        str(sr),
        "--kos",
        "/sys/k.dcm",
    )
    line = one_line_error(proc)
    assert "/sys/k.dcm: cannot be written" in line and f"already written: {sr}" in line
    assert sr.stat().st_size > 0


def test_sample_data_into_sys(writable_sys: None) -> None:
    line = one_line_error(cli("sample-data", "/sys/x", "--case", "normal", "--size", "64", "--frames", "8"))
    assert line.startswith("error: /sys/x")


def test_data_dir_that_cannot_be_created_or_is_a_file(tmp_path: Path, writable_sys: None) -> None:
    assert one_line_error(cli("--data-dir", "/sys/x", "list")).startswith("error: --data-dir /sys/x: ")
    a_file = tmp_path / "hostname"
    a_file.write_text("x\n")
    line = one_line_error(cli("--data-dir", str(a_file), "list"))
    assert line == f"error: --data-dir {a_file}: is a file, not a folder"
    line = one_line_error(cli("--data-dir", "/etc/hostname", "list"))
    assert line == "error: --data-dir /etc/hostname: is a file, not a folder"


def test_corrupt_index_names_the_database(tmp_path: Path) -> None:
    (tmp_path / "index.sqlite").write_bytes(b"this is not SQLite " * 200)
    before = (tmp_path / "index.sqlite").read_bytes()
    line = one_line_error(cli("--data-dir", str(tmp_path), "list"))
    assert f"the local database {tmp_path / 'index.sqlite'} cannot be used" in line
    assert (tmp_path / "index.sqlite").read_bytes() == before  # nothing "repaired" behind the user's back


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    a_file = tmp_path / "f"
    a_file.write_text("x")
    for proc in (
        cli("--debug", "--data-dir", str(a_file), "list"),
        cli("list", "--data-dir", str(a_file), "--debug"),
        cli("--data-dir", str(a_file), "list", env={"HSG_DEBUG": "1"}),
    ):
        assert proc.returncode == EXIT_ERROR
        assert "Traceback" in proc.stderr and proc.stderr.rstrip().endswith("is a file, not a folder")


def test_impossible_dates_are_usage_errors(data_dir: Path) -> None:
    for bad in ("2026-13-45", "20260230", "yesterday", "2026-1-5"):
        proc = cli("list", "--from", bad)
        assert proc.returncode == EXIT_USAGE and "is not a date" in proc.stderr, proc.stderr
        assert "no studies" not in proc.stdout
    assert cli("list", "--from", "2024-02-29", "--to", "20261231").returncode == 0


def test_help_texts_are_plain_and_present() -> None:
    pacs = cli("pacs", "--help")
    assert pacs.returncode == 0 and "====" not in pacs.stdout and "``" not in pacs.stdout
    assert "3    partial" in pacs.stdout
    shot = cli("screenshot", "--help")
    assert "Render the real main window" in shot.stdout
    top = cli("--help")
    assert "exit codes" in top.stdout and "--debug" in top.stdout


def test_singular_instance(tmp_path: Path, data_dir: Path) -> None:
    assert cli("import", str(SCOUT)).returncode == 0
    out = cli("list").stdout
    assert "1 series, 1 instance" in out and "1 instances" not in out


def test_pydicom_advice_does_not_reach_the_user(tmp_path: Path, data_dir: Path) -> None:
    bogus = tmp_path / "not-dicom.dcm"
    bogus.write_text("hello")
    for argv in (
        ("report", "import", str(bogus)),
        (
            "report",
            "export",
            str(REPORT),
            "--study",
            str(SAMPLE),
            "--sr",
            str(tmp_path / "o.dcm"),
            "--predecessor",
            str(bogus),
        ),
    ):
        line = one_line_error(cli(*argv))
        assert "force=True" not in line and str(bogus) in line
    assert (
        clean("File is missing ... header. Use force=True to force reading.") == "File is missing ... header."
    )


def test_bad_analysis_threads_is_refused(data_dir: Path) -> None:
    line = one_line_error(cli("analyze", str(LOOP), env={"HSG_ANALYSIS_THREADS": "abc"}))
    assert "HSG_ANALYSIS_THREADS='abc'" in line


def test_no_display_says_so_before_qt(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "hsg_workstation", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    line = one_line_error(proc)
    assert "no display" in line and "xvfb-run" in line and "xcb-cursor" not in proc.stderr
    assert not (tmp_path / "index.sqlite").exists()  # refused before anything was created


def test_screenshot_stderr_has_no_qt_noise(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "shot.png"
    proc = cli("screenshot", str(SCOUT), str(out), "--size", "800x600")
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0
    assert "propagateSizeHints" not in proc.stderr and "Traceback" not in proc.stderr


def test_unexpected_exception_is_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    from hsg_workstation.cli import list_

    def boom(_args: object) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(list_, "_handle", boom)
    monkeypatch.delenv("HSG_DEBUG", raising=False)
    assert main(["list"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("internal error: ZeroDivisionError") and "--debug" in err and "Traceback" not in err


def test_list_json_still_works(data_dir: Path) -> None:
    proc = cli("list", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout) == []


@pytest.mark.parametrize(
    ("environ", "refused"),
    [
        ({}, True),
        ({"QT_QPA_PLATFORM": "xcb"}, True),
        ({"DISPLAY": ":0"}, False),
        ({"WAYLAND_DISPLAY": "wayland-0"}, False),
        ({"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, True),
        ({"QT_QPA_PLATFORM": "offscreen"}, False),
        ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, False),
    ],
)
def test_display_problem(environ: dict[str, str], refused: bool) -> None:
    from hsg_workstation.ui.app import display_problem

    assert bool(display_problem(environ)) is refused


def test_reader_closing_the_pipe_early_is_not_an_error(data_dir: Path) -> None:
    """``hsg-workstation ... | head``: stdout is a pipe whose reader is gone (closed before the first write)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    for argv in (["list", "--json"], ["export-image", str(SCOUT), str(data_dir / "x.png")]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "hsg_workstation", *argv],
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
                env=env,
            )
        finally:
            os.close(write_end)
        assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr, proc.stderr
        assert proc.returncode == 0, (argv, proc.returncode, proc.stderr)
