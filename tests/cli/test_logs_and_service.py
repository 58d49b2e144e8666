"""`musicbox logs` and `musicbox service` on a box where musicbox is not a systemd service."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from musicbox.service.logbook import LOG_FILE
from tests.fixtures.cli import run_musicbox


def musicbox(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "MUSICBOX_CONFIG": str(tmp_path / "config.toml"),
        "STATE_DIRECTORY": str(tmp_path / "state"),
    }
    return run_musicbox(*arguments, environment=environment)


def test_logs_reads_the_bots_own_file_filtered_by_level(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / LOG_FILE).write_text(
        "2026-11-24 16:00:00,001 INFO musicbox.bot: online as musicbox#0001\n"
        "2026-11-24 17:45:00,003 ERROR musicbox.playback: ffmpeg exited 1\n"
    )
    everything = musicbox(tmp_path, "logs")
    assert everything.returncode == 0, everything.stderr
    assert "online as musicbox#0001" in everything.stdout
    errors = musicbox(tmp_path, "logs", "--level", "error")
    assert "ffmpeg exited 1" in errors.stdout
    assert "online as" not in errors.stdout


def test_logs_with_nothing_logged_says_how_to_get_a_log(tmp_path: Path) -> None:
    ran = musicbox(tmp_path, "logs")
    assert ran.returncode == 1
    assert "no log yet" in ran.stderr and "musicbox run" in ran.stderr


def test_a_bad_since_or_level_is_bad_input(tmp_path: Path) -> None:
    assert musicbox(tmp_path, "logs", "--since", "fortnight").returncode == 2
    ran = musicbox(tmp_path, "logs", "--level", "loud")
    assert ran.returncode == 2 and "debug, info, warning, error" in ran.stderr


@pytest.mark.skipif(Path("/run/systemd/system").is_dir(), reason="this box runs systemd")
def test_service_verbs_without_systemd_point_at_musicbox_run(tmp_path: Path) -> None:
    ran = musicbox(tmp_path, "service", "start")
    assert ran.returncode == 1
    assert "systemd is not running" in ran.stderr and "musicbox run" in ran.stderr
