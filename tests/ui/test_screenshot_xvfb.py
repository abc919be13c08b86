"""The real main window under a real X server (Xvfb + xcb): the screenshot CLI shows the study, not a blank."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pydicom.uid import generate_uid

from tests.ui.conftest import make_rf


def _free_display() -> int:
    for n in range(90, 190):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb():
    """Start ``Xvfb :N`` for this test and stop it afterwards (only the process we started)."""
    assert shutil.which("Xvfb"), "Xvfb is required (Debian package xvfb; `make test` installs it)"
    n = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while not Path(f"/tmp/.X11-unix/X{n}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb :{n} did not start (rc {proc.poll()})")
        time.sleep(0.05)
    yield f":{n}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.mark.timeout(120)
def test_screenshot_of_real_window_under_xvfb_contains_the_study(xvfb, tmp_path: Path) -> None:
    from PySide6.QtGui import QImage

    d = tmp_path / "study"
    d.mkdir()
    # A bright square on a dark background: easy to find in the screenshot, impossible to fake with a blank.
    ds = make_rf(d / "cine.dcm", frames=4, size=128, study_uid=generate_uid(), window=(2048.0, 4096.0))
    arr = np.full((4, 128, 128), 200, dtype=np.uint16)
    arr[:, 32:96, 32:96] = 3800
    ds.PixelData = arr.tobytes()
    ds.save_as(d / "cine.dcm", enforce_file_format=True)
    out = tmp_path / "shot.png"
    env = dict(
        os.environ, DISPLAY=xvfb, QT_QPA_PLATFORM="xcb", HSG_WORKSTATION_DATA_DIR=str(tmp_path / "data")
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hsg_workstation",
            "screenshot",
            str(d),
            str(out),
            "--size",
            "1200x800",
            "--frame",
            "2",
            "--viewer-only",  # the viewport in the middle of the window (the panels are checked elsewhere)
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert proc.returncode == 0, proc.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1200, 800)
    ptr = img.convertToFormat(QImage.Format.Format_Grayscale8)
    g = np.frombuffer(ptr.constBits(), dtype=np.uint8).reshape(ptr.height(), ptr.bytesPerLine())[
        :, : ptr.width()
    ]
    assert g.std() > 10  # not blank
    # the viewport (centre of the window) shows the bright square inside the dark frame
    centre = g[300:500, 500:700]
    assert (centre > 200).mean() > 0.5
    assert (g < 40).mean() > 0.05
