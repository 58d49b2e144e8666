"""`musicbox update`'s safety nets seen from the dev venv: the smoke test names what is missing, and a
rollback with nothing recorded says so. The upgrade and its rollback run for real in test_install.py,
inside the venv install.sh made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from musicbox.cli.update import smoke_test


def test_the_smoke_test_names_a_missing_ffmpeg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert smoke_test() == "ffmpeg is not installed"


def test_a_rollback_with_nothing_recorded_is_one_clear_error(tmp_path: Path) -> None:
    # A fresh venv of our own: the record lives in the venv, and this one has never been upgraded.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # It borrows this venv's packages, so its sys.prefix (where the record would be) is its own.
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    ran = subprocess.run(
        [str(venv / "bin/python"), "-m", "musicbox", "update", "--rollback"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )
    assert ran.returncode == 1
    assert "no earlier versions are recorded" in ran.stderr
    assert "`musicbox update` records them before it upgrades." in ran.stderr
