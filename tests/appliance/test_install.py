"""install.sh run for real into a throwaway root: the user, the config directory, the venv with
musicbox in it (pip installs the lock, then this checkout), the units and the command link, then the
demo for a newcomer with no token; a second run upgrades in place keeping config and data; a token
(in the environment, then on standard input with a Spotify secret in a file) is handed to setup
without ever being in a process's arguments or below install.sh in an environment (/proc is watched
meanwhile), and the config is left root:musicbox 0640; --uninstall keeps the data; --purge removes
it and the user.

What runs for real: the platform check (this machine's os-release), the package check (dpkg-query
on this machine, which the venv's Python and ffmpeg come from; apt-get itself runs only for a
missing package, and none is missing where the suite runs), useradd/userdel on the root's account
files, the venv made by /usr/bin/python3 with pip installing this checkout and its dependencies from
the package registry, the demo on the simulator, and `musicbox update` in that venv meeting a broken
yt-dlp release and rolling back. What does not: systemctl (no systemd as PID 1 in a container)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import shutil
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


async def install(
    root: Path, *arguments: str, stdin: str | None = None, watch: ProcessWatch | None = None, **extra: str
) -> Ran:
    command = ["bash", str(CHECKOUT / "install.sh"), "--root", str(root), *arguments]
    started = time.monotonic()
    ran = await run(command, clean_environment(**extra), stdin, watch)
    print(f"install.sh {' '.join(arguments)}: {time.monotonic() - started:.1f} s")
    return ran


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A root with just what an installer reads: os-release and the account databases."""
    made = tmp_path_factory.mktemp("root")
    (made / "etc").mkdir()
    shutil.copy("/etc/os-release", made / "etc" / "os-release")
    (made / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (made / "etc" / "group").write_text("root:x:0:\n")
    (made / "etc" / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    (made / "etc" / "gshadow").write_text("root:*::\n")
    yield made


async def installed_version(root: Path, name: str) -> str:
    python = root / "opt/musicbox/venv/bin/python"
    code = f"from importlib.metadata import version; print(version({name!r}))"
    return (await run([str(python), "-c", code], clean_environment())).stdout.strip()


async def upgrade_to_a_broken_ytdlp(root: Path, wheels: Path) -> Ran:
    """`musicbox update` as the timer runs it, with a newer yt-dlp on offer whose import fails."""
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
    environment = clean_environment(PIP_FIND_LINKS=str(wheels))
    return await run([str(root / "opt/musicbox/venv/bin/musicbox"), "update", "--json"], environment)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Eight runs of install.sh for real, the first making a venv and installing the lock (about 75 s of
# the 2 min this takes on a busy 2-core box).
@pytest.mark.timeout(300)
async def test_install_upgrade_set_up_uninstall_purge(
    root: Path, tmp_path_factory: pytest.TempPathFactory, discord_sim: DiscordSim
) -> None:
    # A newcomer with no token yet and no terminal: installed, then shown the demo.
    first = await install(root)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "no bot token yet: showing musicbox at work" in first.stdout
    assert "That is musicbox." in first.stdout
    assert "install finished" in first.stdout
    assert "checking ffmpeg libopus0 python3-venv\n    already installed" in first.stdout

    venv_musicbox = root / "opt/musicbox/venv/bin/musicbox"
    version = await run([str(venv_musicbox), "--version"], clean_environment())
    assert version.stdout.startswith("musicbox ")
    assert (root / "opt/musicbox/VERSION").read_text() == version.stdout
    ytdlp_before = await installed_version(root, "yt-dlp")
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
    rolled = await upgrade_to_a_broken_ytdlp(root, tmp_path_factory.mktemp("wheels"))
    assert rolled.returncode == 1, rolled.stdout + rolled.stderr
    outcome = json.loads(rolled.stdout)
    assert outcome["rolled_back"] is True and "yt_dlp" in outcome["problem"]
    assert outcome["installed"]["yt-dlp"] == ytdlp_before
    assert "went back to yt-dlp " + ytdlp_before in rolled.stderr
    ytdlp = await run([str(venv_musicbox.parent / "yt-dlp"), "--version"], clean_environment())
    assert ytdlp.stdout.strip() == ytdlp_before

    # The owner's data from the first life of the box.
    (config_dir / "config.toml").write_text("# mine\n[playback]\ndefault_volume = 80\n")
    (root / "var/lib/musicbox").mkdir(parents=True)
    (root / "var/lib/musicbox/musicbox.sqlite3").write_bytes(b"queues")
    kept = {
        path: digest(path)
        for path in (config_dir / "config.toml", root / "var/lib/musicbox/musicbox.sqlite3")
    }
    accounts = (root / "etc/passwd").read_text(), (root / "etc/group").read_text()
    unit_digests = {name: digest(path) for name, path in units.items()}

    again = await install(root, "--unattended")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already there" in again.stdout
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
        refused = await install(root, "--unattended", watch=watch, MUSICBOX_TOKEN=wrong, **discord)
    assert refused.returncode == 1
    assert 'the step "setting up with the given token" failed' in refused.stderr, refused.stderr
    assert refused.stderr.count("error:") == 2, refused.stderr  # setup's reason, then install.sh's step
    assert watch.saw("pip install") and watch.saw("setup --unattended"), watch.seen
    assert watch.leaks == set(), watch.leaks
    assert {path: digest(path) for path in kept} == kept

    # A token on the command line is refused before anything is done, saying how to give it instead.
    on_command_line = await install(root, "--token", discord_sim.bot_token)
    assert on_command_line.returncode == 2
    assert "--token-file -" in on_command_line.stderr and discord_sim.bot_token not in on_command_line.stderr
    assert (await install(root, "--volume")).returncode == 2  # an option without its value: bad input

    # The token on standard input and the Spotify secret in a file: neither in any process's
    # arguments nor in the environment of install.sh or anything below it, setup included.
    spotify_secret = secrets.token_urlsafe(24)
    secret_file = tmp_path_factory.mktemp("secret") / "spotify-secret"
    secret_file.write_text(spotify_secret + "\n")
    async with SpotifyFake.start(client_secret=spotify_secret) as spotify:
        with ProcessWatch([discord_sim.bot_token, spotify_secret]) as watch:
            configured = await install(
                root,
                "--token-file",
                "-",
                "--spotify-id",
                spotify.client_id,
                "--spotify-secret-file",
                str(secret_file),
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
    config_file = config_dir / "config.toml"
    config = load_config({"MUSICBOX_CONFIG": str(config_file)})
    assert (config.discord.token, config.playback.default_volume) == (discord_sim.bot_token, 90)
    assert config.spotify.client_secret == spotify_secret
    assert config_file.read_text().startswith("# mine")
    # root's, readable by the service's group, writable by no one else: the bot cannot redirect it.
    gid = int(account.split(":")[3])
    owner = config_file.stat()
    assert (owner.st_uid, owner.st_gid, stat.S_IMODE(owner.st_mode)) == (0, gid, 0o640)
    kept[config_file] = digest(config_file)

    removed = await install(root, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not (root / "opt/musicbox").exists() and not (root / "usr/local/bin/musicbox").is_symlink()
    assert not any(path.exists() for path in units.values())
    assert {path: digest(path) for path in kept} == kept

    purged = await install(root, "--purge")
    assert purged.returncode == 0, purged.stderr
    assert not config_dir.exists() and not (root / "var/lib/musicbox").exists()
    assert "musicbox:" not in (root / "etc/passwd").read_text()


@pytest.mark.parametrize(
    ("os_release", "arch", "says"),
    [
        ('ID=fedora\nVERSION_ID="41"\n', "x86_64", "fedora is not supported"),
        ('ID=debian\nVERSION_ID="11"\n', "x86_64", "Debian 11 is too old"),
        ('ID=raspbian\nVERSION_ID="12"\n', "armv7l", "32-bit ARM (armv7l) is not supported"),
    ],
)
def test_an_unsupported_system_is_refused_with_what_to_do(
    tmp_path: Path, os_release: str, arch: str, says: str
) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text(os_release)
    ran = subprocess.run(
        ["bash", str(CHECKOUT / "install.sh"), "--root", str(tmp_path), "--skip-apt", "--unattended"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "MUSICBOX_ARCH": arch},
    )
    assert ran.returncode == 1
    assert says in ran.stderr
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
