"""`musicbox status` as an owner reads it on a box without systemd (a container, a development box):
a bot that is not running is told apart from one that runs but does not answer, and neither is
sent to `musicbox service`, which needs systemd."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from musicbox.service.control import socket_path
from tests.fixtures.cli import run_musicbox


def status(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "CONFIGURATION_DIRECTORY": str(tmp_path / "etc"),
        "RUNTIME_DIRECTORY": str(tmp_path / "run"),
    }
    return run_musicbox("status", *arguments, environment=environment)


def test_a_bot_that_is_not_running_is_started_with_run_where_there_is_no_systemd(tmp_path: Path) -> None:
    shown = status(tmp_path)
    assert shown.returncode == 1
    assert "musicbox is not running (no bot is listening on" in shown.stdout
    assert f"config {tmp_path / 'etc' / 'config.toml'}" in shown.stdout
    assert "start it with `musicbox run`" in shown.stdout
    assert "service start" not in shown.stdout


def test_a_bot_that_listens_but_does_not_answer_is_running_not_stopped(tmp_path: Path) -> None:
    # A socket that accepts connections and never answers: a bot whose loop is stuck or starved.
    path = socket_path(tmp_path / "run")
    path.parent.mkdir()
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(path))
        listening.listen()
        shown = status(tmp_path)
    assert shown.returncode == 1
    assert f"musicbox is running but not answering (it did not answer on {path} within 15 s)" in shown.stdout
    assert "not running" not in shown.stdout
    assert "restarting `musicbox run` or its container" in shown.stdout
    assert "service" not in shown.stdout
