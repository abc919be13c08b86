"""Issue 16 point 10, a newcomer's first hour: what the README promises matches what the Makefile and pyproject
do, `make run` installs only the runtime, the venv check names its Debian package, every imported third-party
package is declared, and DCMTK tools are DCMTK's whatever PATH says."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tests.integration.orthanc import dcmtk_tool, which

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _make_list(variable: str) -> list[str]:
    match = re.search(rf"^{variable} := (.*?)(?<!\\)$", MAKEFILE, re.MULTILINE | re.DOTALL)
    assert match, variable
    return match.group(1).replace("\\\n", " ").split()


def _declared() -> set[str]:
    return {_norm(re.split(r"[<>=!~ \[;]", d)[0]) for d in PYPROJECT["project"]["dependencies"]}


@pytest.mark.parametrize("variable", ["DEB_RUN", "DEB_TEST"])
def test_readme_names_every_debian_package_the_makefile_installs(variable: str) -> None:
    packages = _make_list(variable)
    assert "python3-venv" in packages
    section = README[README.index("## Prerequisites") : README.index("## Two commands")]
    missing = [p for p in packages if not re.search(rf"(?<![\w-]){re.escape(p)}(?![\w-])", section)]
    assert not missing, f"README prerequisites do not name {missing} ({variable})"
    assert "apt-get install -y make python3-venv" in section
    assert "systemctl disable --now orthanc" in section and "systemctl disable --now orthanc" in MAKEFILE


def test_readme_licences_cover_every_runtime_dependency() -> None:
    licences = README[README.index("## Licences") :]
    for dependency in _declared():
        assert dependency in _norm(licences) or dependency.replace("-", "_") in licences.lower(), dependency
    assert re.search(r"PySide6.*LGPL-3\.0", licences) and re.search(r"python-gdcm \| BSD", licences)


def test_readme_says_where_the_command_is() -> None:
    assert ".venv/bin/hsg-workstation" in README and "PATH" in README and "pipx install ." in README


def test_every_third_party_import_is_declared() -> None:
    """Pillow (export-image) and scipy (analysis) were imported but not declared: a pip install lacked them."""
    names: dict[str, set[str]] = {}
    for path in (ROOT / "hsg_workstation").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top != "hsg_workstation":
                    names.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    distributions = packages_distributions()
    declared = _declared()
    undeclared = {
        top: sorted(files)[:2]
        for top, files in names.items()
        if not {_norm(d) for d in distributions.get(top, [top])} & declared
    }
    assert not undeclared, f"imported but not in [project] dependencies: {undeclared}"


def _make(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "-C", str(ROOT), *argv], capture_output=True, text=True, timeout=60)


def test_make_run_installs_the_runtime_only_and_test_the_dev_extras(tmp_path: Path) -> None:
    venv = tmp_path / "venv"  # a venv that does not exist: make -n prints the whole recipe
    run = _make("-n", "run", f"VENV={venv}")
    assert run.returncode == 0, run.stderr
    assert "pip install --progress-bar on -e ." in run.stdout and ".[dev]" not in run.stdout
    assert "-q" not in re.findall(r"pip install[^\n]*", run.stdout)[0]  # progress is visible
    assert f"{venv}/bin/hsg-workstation" in run.stdout
    test = _make("-n", "test", f"VENV={venv}")
    assert "-e '.[dev]'" in test.stdout and "pytest" in test.stdout


def test_missing_venv_module_names_the_debian_package(tmp_path: Path) -> None:
    fake = tmp_path / "python3"
    fake.write_text("#!/bin/sh\necho 'No module named ensurepip' >&2\nexit 1\n")
    fake.chmod(0o755)
    proc = _make("python-venv", f"PYTHON3={fake}")
    assert proc.returncode != 0
    assert (
        "install the Debian package python3-venv" in proc.stdout
        and "apt-get install -y python3-venv" in proc.stdout
    )
    assert _make("python-venv").returncode == 0  # the real one works here


def test_dcmtk_tools_are_dcmtks_whatever_path_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    impostor = tmp_path / "storescu"
    impostor.write_text("#!/bin/sh\necho 'pynetdicom storescu'\n")
    impostor.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert which("storescu") == "/usr/bin/storescu"
    assert which("findscu") == "/usr/bin/findscu" and which("getscu") == "/usr/bin/getscu"
    with pytest.raises(RuntimeError, match="is not DCMTK's storescu"):
        dcmtk_tool("storescu", str(tmp_path))


def test_installed_copy_without_bundled_samples_still_opens_on_a_study(
    data_dir: Path, tmp_path: Path
) -> None:
    """A wheel has no sample_data/ beside the package: the first start generates one synthetic study instead."""
    from hsg_workstation.dicom_io.database import LocalDatabase
    from hsg_workstation.ui.app import import_samples_if_empty

    with LocalDatabase(data_dir) as db:
        imported = import_samples_if_empty(db, tmp_path / "not-installed")
        assert imported >= 2 and len(db.studies()) == 1
        assert (data_dir / "sample_data" / "normal" / "truth.json").exists()
        assert import_samples_if_empty(db, tmp_path / "not-installed") == 0  # only on an empty database
