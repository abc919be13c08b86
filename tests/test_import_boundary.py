"""Only ``ui/`` may pull in Qt; ``reporting/pdf.py`` may use QtGui's PDF engine (architecture guide)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import hsg_workstation

ALLOWED_QT = {"hsg_workstation.reporting.pdf"}
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6")


def _non_ui_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(hsg_workstation.__path__, prefix="hsg_workstation."):
        if info.name.startswith("hsg_workstation.ui") or info.name in ALLOWED_QT:
            continue
        names.append(info.name)
    return names


def test_there_are_modules_to_check() -> None:
    names = _non_ui_modules()
    assert "hsg_workstation.config" in names
    assert "hsg_workstation.__main__" in names


def test_no_module_outside_ui_imports_qt() -> None:
    names = _non_ui_modules()
    code = (
        "import importlib, sys\n"
        f"names = {names!r}\n"
        "bad = []\n"
        "for n in names:\n"
        "    importlib.import_module(n)\n"
        f"    qt = [m for m in sys.modules if m.split('.')[0] in {QT_MODULES!r}]\n"
        "    if qt:\n"
        "        bad.append((n, sorted(qt)[:3]))\n"
        "        break\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"Qt pulled in outside ui/: {out.stdout}"


def test_checker_detects_qt_import() -> None:
    """The check above would see a Qt import (guards against a test that cannot fail)."""
    code = "import sys, hsg_workstation.ui\nimport PySide6.QtCore\nprint('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "True"


def test_nothing_outside_tests_imports_tests() -> None:
    root = hsg_workstation.__path__[0]
    import pathlib

    offenders = [
        str(p)
        for p in pathlib.Path(root).rglob("*.py")
        if "from tests" in p.read_text(encoding="utf-8") or "import tests" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
