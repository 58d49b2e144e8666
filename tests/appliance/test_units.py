"""The systemd units as systemd itself judges them: verify is clean and the bot's exposure score
(`systemd-analyze security`) is at most 1.1 (the update service's, which runs pip as root, 1.6).
Read as systemd reads them: nothing the bot's unit makes writable covers its config, and the
address ranges nothing legitimate lives in are denied."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from musicbox.core.tuning import Probe, tune
from musicbox.service.unit import write_music_drop_in
from musicbox.store.config_file import FILE_NAME

CHECKOUT = Path(__file__).resolve().parents[2]
UNITS = ("musicbox.service", "musicbox-update.service", "musicbox-update.timer")


@pytest.fixture(autouse=True)
def systemd_analyze() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: tests/run.sh installs it (apt-get install systemd)")


@pytest.mark.parametrize(("service", "bound"), [("musicbox.service", 1.1), ("musicbox-update.service", 1.6)])
def test_the_exposure_stays_within_its_bound(service: str, bound: float) -> None:
    ran = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(CHECKOUT / "systemd" / service)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(rf"Overall exposure level for {re.escape(service)}: ([0-9.]+)", ran.stdout)
    assert found is not None, ran.stdout + ran.stderr
    print(f"\nsystemd-analyze security {service}: exposure {found[1]}")
    assert float(found[1]) <= bound


def settings(unit: str) -> list[tuple[str, str]]:
    text = (CHECKOUT / "systemd" / unit).read_text()
    return re.findall(r"^(\w+)=(.*)$", text, re.MULTILINE)


def test_the_bot_cannot_write_its_config() -> None:
    # Under ProtectSystem=strict the bot writes only where these say; each *Directory= is a
    # writable bind mount (ConfigurationDirectory= too, which is why the unit does not use it).
    roots = {
        "ConfigurationDirectory": "/etc",
        "StateDirectory": "/var/lib",
        "CacheDirectory": "/var/cache",
        "LogsDirectory": "/var/log",
        "RuntimeDirectory": "/run",
    }
    found = settings("musicbox.service")
    assert ("ProtectSystem", "strict") in found and ("User", "musicbox") in found
    writable = [Path(value) for key, value in found if key == "ReadWritePaths"]
    writable += [Path(roots[key]) / value for key, value in found if key in roots]
    assert writable, "the bot needs its state and cache directories"
    config = Path("/etc/musicbox") / FILE_NAME
    assert not any(config.is_relative_to(path) for path in writable), writable
    assert ("Environment", "CONFIGURATION_DIRECTORY=/etc/musicbox") in found


def test_the_unit_lets_every_voice_session_the_tuner_allows_a_home_server_start_its_threads() -> None:
    """TasksMax counts threads, and discord.py runs two for each voice connection (its heartbeat, its
    UDP reader): at 512 a 2-core x86 box, tuned to 250 voice sessions, could not open the last few."""
    big_box = Probe(cores=4, ram_mb=16_384, free_disk_mb=100_000, cpu_model="x86", machine="x86_64")
    tuning = tune(big_box)
    [tasks_max] = [int(value) for key, value in settings("musicbox.service") if key == "TasksMax"]
    room_for_the_rest = 256  # the event loop's own, resolver workers, every ffmpeg and its threads
    assert tasks_max >= 2 * tuning.max_guilds + room_for_the_rest, tuning.max_guilds


@pytest.mark.parametrize("service", ["musicbox.service", "musicbox-update.service"])
def test_link_local_and_carrier_grade_nat_addresses_are_denied(service: str) -> None:
    denied = {
        network for key, value in settings(service) if key == "IPAddressDeny" for network in value.split()
    }
    assert {"169.254.0.0/16", "fe80::/10", "100.64.0.0/10"} <= denied


def test_the_units_verify_clean(tmp_path: Path) -> None:
    # verify insists ExecStart exists; point it at a stand-in executable at a path of our own.
    program = tmp_path / "opt/musicbox/venv/bin/musicbox"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    for unit in UNITS:
        text = (CHECKOUT / "systemd" / unit).read_text()
        (tmp_path / unit).write_text(text.replace("/opt/musicbox/venv/bin/musicbox", str(program)))
    ran = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / unit) for unit in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0 and ran.stderr.strip() == "", ran.stderr


def test_install_sh_is_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.fail("shellcheck is missing: tests/run.sh installs it")
    ran = subprocess.run(["shellcheck", str(CHECKOUT / "install.sh")], capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout


def test_setups_music_drop_in_lets_the_bot_read_its_folders_and_keeps_the_exposure(tmp_path: Path) -> None:
    program = tmp_path / "opt/musicbox/venv/bin/musicbox"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    text = (CHECKOUT / "systemd" / "musicbox.service").read_text()
    unit = tmp_path / "musicbox.service"
    unit.write_text(text.replace("/opt/musicbox/venv/bin/musicbox", str(program)))
    drop_in = write_music_drop_in(tmp_path, ("/home/pi/My Music", "/srv/music"))
    assert drop_in == tmp_path / "musicbox.service.d" / "music-folders.conf"
    found = re.findall(r"^(\w+)=(.*)$", drop_in.read_text(), re.MULTILINE)
    # /home is hidden by ProtectHome: emptied instead, so the folder can be bound in, read-only.
    assert found == [
        ("ProtectHome", "tmpfs"),
        ("BindReadOnlyPaths", '"-/home/pi/My Music"'),
        ("BindReadOnlyPaths", '"-/srv/music"'),
    ]
    verified = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    assert verified.returncode == 0 and verified.stderr.strip() == "", verified.stderr
    scored = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "fake empty home directories" in scored.stdout  # systemd read the drop-in
    exposure = re.search(r"Overall exposure level for musicbox.service: ([0-9.]+)", scored.stdout)
    assert exposure is not None and float(exposure[1]) <= 1.1, scored.stdout
    write_music_drop_in(tmp_path, ())  # setup with no folders takes the drop-in away
    assert not drop_in.exists()
