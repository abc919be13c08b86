"""Issue 16 "install like software": a built wheel holds every module and the ``hsg-workstation`` entry point, and
installed into a fresh virtual environment *without* the dev tools it runs from any folder.

No network: the wheel is built with the shared venv's setuptools (``--no-build-isolation``), and the fresh venv
sees the runtime dependencies through a folder of links to the shared venv's packages minus the dev extras
(pytest, ruff, pydicom-data, cryptography, setuptools) and minus the editable install of the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import distribution
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEV_ONLY = ("pytest", "pytest-qt", "pytest-timeout", "ruff", "pydicom-data", "cryptography", "setuptools")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:  # noqa: ANN003
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, **kw)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the tracked sources (the build leaves nothing in the work tree)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "hsg_workstation", src / "hsg_workstation", ignore=shutil.ignore_patterns("__pycache__")
    )
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(src),
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp / "dist"),
        ],
        cwd=tmp,
    )
    (built,) = (tmp / "dist").glob("hsg_workstation-*.whl")
    return built


def test_wheel_holds_every_module_and_the_entry_point(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = z.read(f"{dist_info}/entry_points.txt").decode()
        metadata = z.read(f"{dist_info}/METADATA").decode()
    sources = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "hsg_workstation").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sources and sources <= names, sorted(sources - names)[:10]
    assert "[console_scripts]" in entry_points
    assert "hsg-workstation = hsg_workstation.__main__:main" in entry_points
    requires = [
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    ]
    runtime = [r for r in requires if "extra ==" not in r]
    for needed in (
        "pydicom",
        "numpy",
        "PySide6-Essentials",
        "pynetdicom",
        "highdicom",
        "python-gdcm",
        "Pillow",
    ):
        assert any(r.lower().startswith(needed.lower()) for r in runtime), (needed, runtime)
    for dev in DEV_ONLY[:5]:
        assert not any(r.lower().startswith(dev) for r in runtime), (dev, runtime)


def _site_without_dev_tools(target: Path) -> Path:
    """Links to the shared venv's packages, leaving out the dev-only distributions and the editable install."""
    site = Path(sysconfig.get_paths()["purelib"])
    excluded = {"__editable__.hsg_workstation-0.1.0.pth", "__editable___hsg_workstation_0_1_0_finder.py"}
    excluded |= {p.name for p in site.glob("hsg_workstation*")} | {p.name for p in site.glob("__editable__*")}
    for name in DEV_ONLY:
        try:
            files = distribution(name).files or []
        except Exception:  # noqa: BLE001 - not installed: nothing to leave out
            continue
        excluded |= {str(f).split("/")[0] for f in files if not str(f).startswith("..")}
    target.mkdir()
    for entry in site.iterdir():
        if entry.name not in excluded and entry.name != "__pycache__" and not entry.name.endswith(".pth"):
            (target / entry.name).symlink_to(entry)
    return target


def test_installed_wheel_runs_without_dev_tools(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    ).stdout.strip()
    deps = _site_without_dev_tools(tmp_path / "deps")
    (Path(purelib) / "shared_runtime_deps.pth").write_text(f"{deps}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--force-reinstall",
            str(wheel),
        ],
        env=env,  # without PYTHONPATH: the source tree (or its build metadata) must not count as installed
    )
    env.update(QT_QPA_PLATFORM="offscreen", HSG_WORKSTATION_DATA_DIR=str(tmp_path / "data"))
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run(
        [str(python), "-c", "import hsg_workstation; print(hsg_workstation.__file__)"], cwd=work, env=env
    )
    assert where.stdout.strip().startswith(str(venv)), where.stdout  # the installed copy, not the source tree
    dev_missing = _run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('pytest'), u.find_spec('ruff'))"],
        cwd=work,
        env=env,
    )
    assert dev_missing.stdout.split() == ["None", "None"]

    script = venv / "bin" / "hsg-workstation"
    assert "hsg-workstation" in _run([str(script), "--help"], cwd=work, env=env).stdout
    assert "usage" in _run([str(python), "-m", "hsg_workstation", "--help"], cwd=work, env=env).stdout
    _run(
        [str(script), "sample-data", "out", "--case", "normal", "--size", "64", "--frames", "8"],
        cwd=work,
        env=env,
    )
    _run([str(script), "import", "out"], cwd=work, env=env)
    listing = _run([str(script), "list"], cwd=work, env=env).stdout
    assert "series" in listing and "instance" in listing
    _run([str(script), "export-image", "out/normal/01_scout.dcm", "scout.png"], cwd=work, env=env)
    assert (work / "scout.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
