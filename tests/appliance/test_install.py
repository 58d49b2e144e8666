"""install.sh run for real, the way an owner runs it: no --root, into `/` of a throwaway copy of
this machine (an overlay over its root filesystem, writes kept in memory and dropped at the end,
seen by install.sh through chroot in a private mount namespace), so nothing here touches the real
system. The user, the config directory, the venv with musicbox in it (pip installs the lock, then
this checkout), the units and the command link, then the demo for a newcomer with no token; a second
run upgrades in place keeping config and data (and moves a 0.1.0 config to its one name); a token
(in the environment, then on standard input with a Spotify secret in a file) is handed to setup
without ever being in a process's arguments or below install.sh in an environment (/proc is watched
meanwhile), and the config is left root:musicbox 0640; --uninstall keeps the data; --purge removes
it and the user.

What runs for real: the platform check (this machine's os-release), the package check (dpkg-query,
which the venv's Python and ffmpeg come from; apt-get itself runs only for a missing package, and
none is missing where the suite runs), useradd/userdel, the venv made by /usr/bin/python3 with pip
installing the lock and this checkout, the demo on the simulator, and `musicbox update` in that venv
meeting a broken yt-dlp release and rolling back. What does not: systemctl (the copy has no systemd
running, as in a container). --root, which only tests use, is exercised by the cheaper tests at the
end."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import signal
import stat
import subprocess
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from musicbox.sim.discord import DiscordSim
from musicbox.sim.spotify import SpotifyFake
from musicbox.store.config_file import load_config
from tests.appliance.process_watch import ProcessWatch

CHECKOUT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def run(
    command: list[str],
    environment: dict[str, str],
    stdin: str | None = None,
    watch: ProcessWatch | None = None,
) -> Ran:
    # Asynchronous, so the simulated Discord in this test's event loop keeps answering meanwhile.
    process = await asyncio.create_subprocess_exec(
        *command,
        # never a terminal, as when piped from a script or run by CI
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    if watch is not None:
        watch.below = process.pid
    given = None if stdin is None else stdin.encode()
    stdout, stderr = await asyncio.wait_for(process.communicate(given), timeout=600)
    assert process.returncode is not None
    return Ran(process.returncode, stdout.decode(), stderr.decode())


def clean_environment(**extra: str) -> dict[str, str]:
    # Wide enough that rich prints the invite link on one line.
    kept = {key: value for key, value in os.environ.items() if not key.startswith("MUSICBOX_")}
    return {**kept, "COLUMNS": "200", **extra}


@dataclass(frozen=True)
class ThrowawaySystem:
    """This machine's root filesystem under a writable overlay whose writes live in memory, with
    its own /run (no systemd) and the real /dev and /proc. `root` is how this test reads and
    writes inside it (through the holding process's root); `run` runs a command in it as root."""

    pid: int  # the chrooted process holding the namespace

    @property
    def root(self) -> Path:
        return Path(f"/proc/{self.pid}/root")

    async def run(
        self, command: list[str], *, stdin: str | None = None, watch: ProcessWatch | None = None, **extra: str
    ) -> Ran:
        # --wd without a path: the holder's, which chroot made the copy's /.
        enter = ["nsenter", f"--target={self.pid}", "--mount", "--root", "--wd"]
        return await run([*enter, *command], clean_environment(**extra), stdin, watch)

    async def install(
        self, *arguments: str, stdin: str | None = None, watch: ProcessWatch | None = None, **extra: str
    ) -> Ran:
        started = time.monotonic()
        ran = await self.run(
            ["bash", str(CHECKOUT / "install.sh"), *arguments], stdin=stdin, watch=watch, **extra
        )
        print(f"install.sh {' '.join(arguments)}: {time.monotonic() - started:.1f} s")
        return ran


THROWAWAY = """
set -e
mount -t tmpfs -o size=4g musicbox-throwaway "$1"
mkdir "$1/upper" "$1/work" "$1/merged"
mount -t overlay overlay -o "lowerdir=/,upperdir=$1/upper,workdir=$1/work" "$1/merged"
mount --rbind /dev "$1/merged/dev"
mount --rbind /proc "$1/merged/proc"
mount -t tmpfs tmpfs "$1/merged/run"
exec chroot "$1/merged" sh -c 'echo ready; exec sleep infinity'
"""


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawaySystem]:
    layers = tmp_path_factory.mktemp("throwaway")
    unshare = ["unshare", "--mount", "--propagation", "private", "--fork", "--kill-child"]  # dies with us
    holder = subprocess.Popen([*unshare, "sh", "-c", THROWAWAY, "sh", str(layers)], stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline() == b"ready\n", "no throwaway system"
    # unshare --fork: its only child, which said "ready" from inside the copy, holds the namespace.
    [sleeper] = Path(f"/proc/{holder.pid}/task/{holder.pid}/children").read_text().split()
    copy = ThrowawaySystem(int(sleeper))
    try:
        # Never the real root: the copy is an overlay, another filesystem than this machine's /.
        assert copy.root.stat().st_dev != Path("/").stat().st_dev
        yield copy
    finally:
        os.kill(copy.pid, signal.SIGTERM)  # unshare hands signals to it; the namespace goes with it
        holder.wait(timeout=30)


async def installed_version(system: ThrowawaySystem, name: str) -> str:
    code = f"from importlib.metadata import version; print(version({name!r}))"
    return (await system.run(["/opt/musicbox/venv/bin/python", "-c", code])).stdout.strip()


async def upgrade_to_a_broken_ytdlp(system: ThrowawaySystem) -> Ran:
    """`musicbox update` as the timer runs it, with a newer yt-dlp on offer whose import fails."""
    wheels = system.root / "tmp/wheels"
    wheels.mkdir()
    wheel = wheels / "yt_dlp-2099.1.1-py3-none-any.whl"
    info = "yt_dlp-2099.1.1.dist-info"
    files = {
        "yt_dlp/__init__.py": "raise ImportError('yt_dlp 2099.1.1 is a broken release')\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: yt-dlp\nVersion: 2099.1.1\n"
        "Provides-Extra: default\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{info}/RECORD", "".join(f"{name},,\n" for name in [*files, f"{info}/RECORD"]))
    # The registry stays in reach (the rollback reinstalls the old release from it); this only adds one.
    return await system.run(["musicbox", "update", "--json"], PIP_FIND_LINKS="/tmp/wheels")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Eight runs of install.sh for real, the first making a venv and installing the lock (about 75 s of
# the 2 min this takes on a busy 2-core box).
@pytest.mark.timeout(300)
async def test_install_upgrade_set_up_uninstall_purge(
    system: ThrowawaySystem, discord_sim: DiscordSim
) -> None:
    root = system.root
    real_accounts = digest(Path("/etc/passwd"))
    # A newcomer with no token yet and no terminal: installed, then shown the demo.
    first = await system.install()
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "no bot token yet: showing musicbox at work" in first.stdout
    assert "That is musicbox." in first.stdout
    assert "install finished" in first.stdout
    assert "checking ffmpeg libopus0 python3-venv\n    already installed" in first.stdout

    version = await system.run(["musicbox", "--version"])
    assert version.stdout.startswith("musicbox ")
    assert (root / "opt/musicbox/VERSION").read_text() == version.stdout
    ytdlp_before = await installed_version(system, "yt-dlp")
    assert (root / "usr/local/bin/musicbox").readlink() == Path("/opt/musicbox/venv/bin/musicbox")
    units = {name: root / "etc/systemd/system" / name for name in
             ("musicbox.service", "musicbox-update.service", "musicbox-update.timer")}  # fmt: skip
    assert all(
        path.read_bytes() == (CHECKOUT / "systemd" / name).read_bytes() for name, path in units.items()
    )
    [account] = [
        line for line in (root / "etc/passwd").read_text().splitlines() if line.startswith("musicbox:")
    ]
    assert account.endswith(":/var/lib/musicbox:/usr/sbin/nologin")
    config_dir = root / "etc/musicbox"
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o750

    # A week later the timer meets a broken yt-dlp release: the smoke test catches it, the venv goes back.
    rolled = await upgrade_to_a_broken_ytdlp(system)
    assert rolled.returncode == 1, rolled.stdout + rolled.stderr
    outcome = json.loads(rolled.stdout)
    assert outcome["rolled_back"] is True and "yt_dlp" in outcome["problem"]
    assert outcome["installed"]["yt-dlp"] == ytdlp_before
    assert "went back to yt-dlp " + ytdlp_before in rolled.stderr
    ytdlp = await system.run(["/opt/musicbox/venv/bin/yt-dlp", "--version"])
    assert ytdlp.stdout.strip() == ytdlp_before

    # The owner's data from the first life of the box, the config under the name musicbox 0.1.0's
    # setup gave it: the upgrade moves it to the one name the program, the unit and the docs use.
    (config_dir / "musicbox.toml").write_text("# mine\n[playback]\ndefault_volume = 80\n")
    config_file = config_dir / "config.toml"
    queues = root / "var/lib/musicbox/musicbox.sqlite3"
    queues.parent.mkdir(parents=True)
    queues.write_bytes(b"queues")
    kept = {config_file: digest(config_dir / "musicbox.toml"), queues: digest(queues)}
    accounts = (root / "etc/passwd").read_text(), (root / "etc/group").read_text()
    unit_digests = {name: digest(path) for name, path in units.items()}

    again = await system.install("--unattended")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already there" in again.stdout
    assert "moved /etc/musicbox/musicbox.toml to /etc/musicbox/config.toml" in again.stdout
    assert not (config_dir / "musicbox.toml").exists()
    assert {path: digest(path) for path in kept} == kept
    assert ((root / "etc/passwd").read_text(), (root / "etc/group").read_text()) == accounts
    assert {name: digest(path) for name, path in units.items()} == unit_digests
    assert (root / "opt/musicbox/VERSION").read_text() == version.stdout

    # The owner gets a token: install.sh hands it to `musicbox setup --unattended`, which checks it
    # with (the simulated) Discord. A wrong one stops at that step and leaves the config as it was.
    # Given in the environment, it is in no process's arguments and in none of install.sh's
    # children's environments (apt, pip, useradd, setup itself).
    discord = {"MUSICBOX_DISCORD_API_BASE": discord_sim.api_base}
    wrong = "TmV2ZXJUaGlzQm90.GAAAAA.not-the-token-of-this-bot-at-all"
    with ProcessWatch([wrong], including_itself=False) as watch:
        refused = await system.install("--unattended", watch=watch, MUSICBOX_TOKEN=wrong, **discord)
    assert refused.returncode == 1
    assert 'the step "setting up with the given token" failed' in refused.stderr, refused.stderr
    assert refused.stderr.count("error:") == 2, refused.stderr  # setup's reason, then install.sh's step
    assert watch.saw("pip install") and watch.saw("setup --unattended"), watch.seen
    assert watch.leaks == set(), watch.leaks
    assert {path: digest(path) for path in kept} == kept

    # A token on the command line is refused before anything is done, saying how to give it instead.
    on_command_line = await system.install("--token", discord_sim.bot_token)
    assert on_command_line.returncode == 2
    assert "--token-file -" in on_command_line.stderr and discord_sim.bot_token not in on_command_line.stderr
    assert (await system.install("--volume")).returncode == 2  # an option without its value: bad input

    # The token on standard input and the Spotify secret in a file: neither in any process's
    # arguments nor in the environment of install.sh or anything below it, setup included.
    spotify_secret = secrets.token_urlsafe(24)
    (root / "tmp/spotify-secret").write_text(spotify_secret + "\n")
    async with SpotifyFake.start(client_secret=spotify_secret) as spotify:
        with ProcessWatch([discord_sim.bot_token, spotify_secret]) as watch:
            configured = await system.install(
                "--token-file",
                "-",
                "--spotify-id",
                spotify.client_id,
                "--spotify-secret-file",
                "/tmp/spotify-secret",
                "--volume",
                "90",
                stdin=discord_sim.bot_token,
                watch=watch,
                MUSICBOX_SPOTIFY_ACCOUNTS_BASE=spotify.accounts_base,
                **discord,
            )
        assert spotify.requests("/api/token")  # setup checked the secret with (the fake) Spotify
    assert configured.returncode == 0, configured.stdout[-2000:] + configured.stderr[-2000:]
    assert watch.saw("setup --unattended --token-file -") and watch.saw("pip install"), watch.seen
    assert watch.leaks == set(), watch.leaks
    assert f"the token belongs to {discord_sim.bot_name}" in configured.stdout
    assert "Spotify accepted the client id and secret" in configured.stdout
    assert "scope=bot+applications.commands" in configured.stdout
    assert discord_sim.bot_token not in configured.stdout + configured.stderr
    # setup wrote the file the service reads, and it is the only one there.
    config = load_config({"MUSICBOX_CONFIG": str(config_file)})
    assert (config.discord.token, config.playback.default_volume) == (discord_sim.bot_token, 90)
    assert config.spotify.client_secret == spotify_secret
    assert config_file.read_text().startswith("# mine")
    # root's, readable by the service's group, writable by no one else: the bot cannot redirect it.
    gid = int(account.split(":")[3])
    owner = config_file.stat()
    assert (owner.st_uid, owner.st_gid, stat.S_IMODE(owner.st_mode)) == (0, gid, 0o640)
    assert sorted(path.name for path in config_dir.iterdir()) == ["config.toml"]
    kept[config_file] = digest(config_file)

    removed = await system.install("--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not (root / "opt/musicbox").exists() and not (root / "usr/local/bin/musicbox").is_symlink()
    assert not any(path.exists() for path in units.values())
    assert {path: digest(path) for path in kept} == kept

    (root / "var/cache/musicbox/audio").mkdir(parents=True)
    (root / "var/log/musicbox").mkdir(parents=True)
    purged = await system.install("--purge")
    assert purged.returncode == 0, purged.stderr
    assert "purge finished" in purged.stdout
    gone = ("etc/musicbox", "var/lib/musicbox", "var/cache/musicbox", "var/log/musicbox")
    assert [path for path in gone if (root / path).exists()] == []
    assert "musicbox:" not in (root / "etc/passwd").read_text()
    assert "musicbox:" not in (root / "etc/group").read_text()
    # And all of it happened in the copy.
    assert digest(Path("/etc/passwd")) == real_accounts


@pytest.mark.parametrize(
    ("os_release", "arch", "userland", "says"),
    [
        ('ID=fedora\nVERSION_ID="41"\n', "x86_64", "amd64", "fedora is not supported"),
        ('ID=debian\nVERSION_ID="11"\n', "x86_64", "amd64", "Debian 11 is too old"),
        ('ID=raspbian\nVERSION_ID="12"\n', "armv7l", "armhf", "32-bit ARM (armv7l) is not supported"),
        # The 32-bit Raspberry Pi OS on a Pi 4: a 64-bit kernel (uname says aarch64), 32-bit programs.
        (
            'ID=raspbian\nVERSION_ID="12"\n',
            "aarch64",
            "armhf",
            "this is a 32-bit ARM system (armhf programs on a 64-bit aarch64 kernel): not supported",
        ),
    ],
)
def test_an_unsupported_system_is_refused_with_what_to_do(
    tmp_path: Path, os_release: str, arch: str, userland: str, says: str
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text(os_release)
    # dpkg as that system's would answer for its programs' architecture.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/dpkg").write_text(f'#!/bin/sh\n[ "$1" = --print-architecture ] && echo {userland}\n')
    (tmp_path / "bin/dpkg").chmod(0o755)
    ran = subprocess.run(
        ["bash", str(CHECKOUT / "install.sh"), "--root", str(tmp_path), "--skip-apt", "--unattended"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin:/usr/sbin:/sbin", "MUSICBOX_ARCH": arch},
    )
    assert ran.returncode == 1
    assert says in ran.stderr
    if userland == "armhf":
        assert "Install the 64-bit Raspberry Pi OS" in ran.stderr
    assert not (tmp_path / "opt").exists()


def test_an_unknown_option_shows_the_usage() -> None:
    ran = subprocess.run(
        ["bash", str(CHECKOUT / "install.sh"), "--frobnicate"], capture_output=True, text=True, timeout=30
    )
    assert ran.returncode == 2
    assert "unknown option: --frobnicate" in ran.stderr and "--unattended" in ran.stdout
    assert "set -E" not in ran.stdout  # the comment block only, not the line of code after it


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--token"], "--token on the command line would show the secret"),
        (["--token", "MTA1.GzqH1a.Q1JYhU6nT"], "--token on the command line would show the secret"),
        (["--spotify-secret", "s3cret"], "--spotify-secret on the command line would show the secret"),
        (["--token-file"], "--token-file needs a value"),
        (["--volume"], "--volume needs a value"),
        (["--version", "0.2.0"], "installs the checkout it is in, never a package by name"),
        (["--token-file", "/nonexistent/token"], "cannot read /nonexistent/token"),
        (["--token-file", "-", "--spotify-secret-file", "-"], "standard input can carry only one secret"),
    ],
)
def test_bad_input_is_refused_with_exit_2_before_anything_is_done(
    tmp_path: Path, arguments: list[str], says: str
) -> None:
    ran = subprocess.run(
        ["bash", str(CHECKOUT / "install.sh"), "--root", str(tmp_path), *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 2, ran.stderr
    assert says in ran.stderr and "Traceback" not in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 2  # what is wrong, then what to do
    assert "MTA1.GzqH1a.Q1JYhU6nT" not in ran.stderr and "s3cret" not in ran.stderr
    assert list(tmp_path.iterdir()) == []


def test_purge_under_root_removes_the_program_the_data_and_the_user(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    for name, line in (("passwd", "root:x:0:0:root:/root:/bin/bash"), ("group", "root:x:0:"),
                       ("shadow", "root:*:19000:0:99999:7:::"), ("gshadow", "root:*::")):  # fmt: skip
        (tmp_path / "etc" / name).write_text(line + "\n")
    subprocess.run(
        ["useradd", "--prefix", str(tmp_path), "--system", "--user-group", "--no-create-home", "musicbox"],
        check=True,
    )
    made = [
        "etc/musicbox/config.toml",
        "var/lib/musicbox/musicbox.sqlite3",
        "var/cache/musicbox/audio/a.opus",
        "var/log/musicbox/musicbox.log",
        "opt/musicbox/VERSION",
        "etc/systemd/system/musicbox.service",
    ]
    for path in made:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    ran = subprocess.run(
        ["bash", str(CHECKOUT / "install.sh"), "--root", str(tmp_path), "--purge"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert [path for path in made if (tmp_path / path).exists()] == []
    assert "musicbox:" not in (tmp_path / "etc/passwd").read_text()
