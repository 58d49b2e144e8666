"""A Raspberry Pi owner whose power supply is too weak, or whose board runs hot, is told so by
`musicbox doctor` and `musicbox status` (and their --json), read the way a Pi reports it: a fake
`vcgencmd` on PATH and a fake firmware sysfs file stand in for the board. A box that is not a Pi
gets no line about it at all."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from musicbox.cli.console import out
from musicbox.cli.status import _show_power
from musicbox.core.throttling import decode
from musicbox.service.throttling import PLATFORM_DEVICES, SYSFS_PATTERN, read_throttling
from tests.fixtures.cli import run_musicbox

A_PI = any(PLATFORM_DEVICES.glob(SYSFS_PATTERN)) or os.path.exists("/usr/bin/vcgencmd")


def fake_vcgencmd(directory: Path, stdout: str, code: int = 0) -> Path:
    directory.mkdir(exist_ok=True)
    script = directory / "vcgencmd"
    script.write_text(
        f'#!/bin/sh\n[ "$1" = get_throttled ] || exit 2\nprintf %s {shlex.quote(stdout)}\nexit {code}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def musicbox(tmp_path: Path, path_first: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": f"{path_first}:{os.environ['PATH']}",
        "CONFIGURATION_DIRECTORY": str(tmp_path / "etc"),
        "RUNTIME_DIRECTORY": str(tmp_path / "run"),
        "CACHE_DIRECTORY": str(tmp_path / "cache"),
        "STATE_DIRECTORY": str(tmp_path / "state"),
    }
    return run_musicbox(*arguments, environment=environment, timeout_s=90)


def test_vcgencmd_is_asked_first_and_the_sysfs_file_read_when_it_cannot_answer(tmp_path: Path) -> None:
    sysfs = tmp_path / "get_throttled"
    sysfs.write_text("e0000\n")
    answering = fake_vcgencmd(tmp_path / "answering", "throttled=0x50005\n")
    reading = read_throttling(str(answering), [sysfs])
    assert reading is not None and reading.raw == 0x50005
    # A user outside the video group: vcgencmd cannot open /dev/vcio; the sysfs file is world-readable.
    refused = fake_vcgencmd(tmp_path / "refused", "VCHI initialization failed\n", code=255)
    reading = read_throttling(str(refused), [sysfs])
    assert reading is not None and reading.raw == 0xE0000
    # No vcgencmd at all, and a file that is not there (a newer kernel dropped it): nothing to say.
    assert read_throttling(str(tmp_path / "missing"), [tmp_path / "absent"]) is None
    garbled = tmp_path / "garbled"
    garbled.write_text("not hex\n")
    assert read_throttling(str(refused), [garbled]) is None


def test_an_under_powered_pi_is_warned_by_doctor_and_status(tmp_path: Path) -> None:
    fake_vcgencmd(tmp_path / "bin", "throttled=0x50005\n")
    doctor = musicbox(tmp_path, tmp_path / "bin", "doctor", "--json")
    found = {finding["check"]: finding for finding in json.loads(doctor.stdout)}
    assert found["power"]["verdict"] == "warn"
    assert found["power"]["detail"] == "under-voltage now, throttled now (get_throttled 0x50005)"
    assert "power supply" in found["power"]["fix"]

    report = json.loads(musicbox(tmp_path, tmp_path / "bin", "status", "--json").stdout)
    assert report["power"] == {
        "get_throttled": "0x50005",
        "now": ["under-voltage", "throttled"],
        "since_boot": ["under-voltage", "throttled"],
    }
    status = musicbox(tmp_path, tmp_path / "bin", "status")
    assert status.returncode == 1  # no bot runs here; the warning comes all the same
    assert "power: under-voltage now, throttled now (get_throttled 0x50005)" in status.stdout
    assert "Use the board's own power supply" in status.stdout


def test_a_healthy_pi_passes_doctor_and_status_says_nothing(tmp_path: Path) -> None:
    fake_vcgencmd(tmp_path / "bin", "throttled=0x0\n")
    found = json.loads(musicbox(tmp_path, tmp_path / "bin", "doctor", "--json").stdout)
    assert [finding["verdict"] for finding in found if finding["check"] == "power"] == ["ok"]
    with out.capture() as healthy:
        _show_power(decode(0))
    with out.capture() as weak:
        _show_power(decode(0x10000))
    assert healthy.get() == ""
    assert "power: under-voltage since boot (get_throttled 0x10000)" in weak.get()


@pytest.mark.skipif(A_PI, reason="this box is a Raspberry Pi: its firmware does report its power")
def test_a_box_that_is_not_a_pi_hears_nothing_about_power(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    found = json.loads(musicbox(tmp_path, tmp_path / "empty", "doctor", "--json").stdout)
    assert "power" not in {finding["check"] for finding in found}
    report = json.loads(musicbox(tmp_path, tmp_path / "empty", "status", "--json").stdout)
    assert report["power"] is None
