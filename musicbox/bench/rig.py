"""Where the benchmarks run: the simulated Discord and the media world in this process, the bot in
its own, started as systemd would start it (`musicbox run`, configured by file and environment).

The separation matters: the simulator decrypts, decodes and analyses every voice packet, which is
Discord's work, not the bot's; sharing a process (and its GIL and event loop) would bill that to the
bot's acknowledgement latency and CPU."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from musicbox.service.control import ask, ask_status
from musicbox.sim.discord import DiscordSim, Member, SimTextChannel, SimVoiceChannel
from musicbox.sim.media import MediaWorld
from musicbox.sim.voice.recording import Recording
from musicbox.store.config_file import write_config

START_TIMEOUT_S = 60.0
# A process of several shards identifies them 5 s apart (discord.py's pacing): four take 15 s more.
FLEET_START_TIMEOUT_S = 120.0
REPLY_TIMEOUT_S = 30.0
HEAR_TIMEOUT_S = 30.0


@dataclass
class Rig:
    sim: DiscordSim
    media: MediaWorld
    bot: psutil.Process
    runtime_dir: Path

    async def status(self) -> dict[str, Any]:
        return await ask_status(self.runtime_dir)

    async def start_marks(self, guild_id: int, since: float) -> dict[str, float]:
        """The stages (`musicbox.start_times`) of the guild's first song start begun after `since`,
        as the bot marked them on the box's monotonic clock; empty when it kept none."""
        for start in await ask(self.runtime_dir, "starts"):
            marks: dict[str, float] = start["marks"]
            if start["guild_id"] == guild_id and marks.get("command", 0.0) > since:
                return marks
        return {}

    async def until_idle(self, guild_id: int) -> None:
        """Until the bot is done with its song too (a song still playing counts as queued)."""
        deadline = time.monotonic() + HEAR_TIMEOUT_S
        while True:
            sessions = (await self.status())["voice_sessions"]
            if not any(s["guild_id"] == guild_id and s.get("now_playing") for s in sessions):
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the song never ended")
            await asyncio.sleep(0.02)


@dataclass
class Room:
    """One guild with a member in its voice channel."""

    member: Member
    text: SimTextChannel
    voice: SimVoiceChannel

    @property
    def guild_id(self) -> int:
        return self.member.guild.id

    @property
    def heard(self) -> Recording:
        return self.voice.heard()

    async def play(self, query: str) -> float:
        """Run /play; returns the monotonic time the command left the member's client."""
        interaction = await self.member.run_command("play", self.text, query=query)
        await interaction.reply(timeout=REPLY_TIMEOUT_S)
        return interaction.sent_at


@contextlib.asynccontextmanager
async def rig(
    *,
    cache_mb: int = 256,
    max_guilds: int = 0,
    web_port: int = 0,
    config: dict[str, dict[str, Any]] | None = None,
    before_start: Callable[[], None] | None = None,
    **playback: Any,
) -> AsyncIterator[Rig]:
    """`web_port`: serve the web page there (on 127.0.0.1), as `[web] enabled` does; 0: off.
    `config`: sections laid over the bench's own; `before_start`: run in the bot's process before
    it starts (as systemd would put it in its slice)."""
    with tempfile.TemporaryDirectory(prefix="musicbox-bench-") as name:
        directory = Path(name)
        async with DiscordSim.start() as sim, MediaWorld.start() as media:
            sections = _sections(sim, media, cache_mb, max_guilds, web_port, playback)
            for section, values in (config or {}).items():
                sections[section] = {**sections.get(section, {}), **values}
            environment = _environment(sim, directory, sections)
            log = (directory / "bot.log").open("ab")
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "musicbox",
                "run",
                env=environment,
                stdout=log,
                stderr=log,
                preexec_fn=before_start,
            )
            failed = False
            try:
                await _online(sim, process)
                yield Rig(sim, media, psutil.Process(process.pid), directory / "run")
            except Exception:
                failed = True
                raise
            finally:
                await _stop(process)
                log.close()
                if failed:
                    _keep(directory / "bot.log")


@dataclass
class Fleet:
    """Bot processes of one box, each running a range of shards (`musicbox run --shards`)."""

    processes: list[psutil.Process]


@contextlib.asynccontextmanager
async def fleet(
    sim: DiscordSim, media: MediaWorld, ranges: Sequence[str], count: int
) -> AsyncIterator[Fleet]:
    """`musicbox run --shards R --shard-count count` for each range R, sharing a fresh box (one
    state directory, one cache: nothing left of an earlier fleet), until each said READY."""
    with tempfile.TemporaryDirectory(prefix="musicbox-bench-fleet-") as name:
        directory = Path(name)
        environment = _environment(sim, directory, _sections(sim, media, 256, 0, 0, {}))
        async with contextlib.AsyncExitStack() as running:
            started = await asyncio.gather(
                *(
                    running.enter_async_context(_shard_process(directory, environment, ids, count))
                    for ids in ranges
                )
            )
            yield Fleet(list(started))


@contextlib.asynccontextmanager
async def _shard_process(
    directory: Path, environment: dict[str, str], ids: str, count: int
) -> AsyncIterator[psutil.Process]:
    """One process of a fleet, until it told its notify socket READY=1 (as systemd hears it)."""
    path = directory / f"notify-{ids}.sock"
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notifications,
        (directory / f"shards-{ids}.log").open("ab") as log,
    ):
        notifications.bind(str(path))
        notifications.setblocking(False)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "musicbox", "run", "--shards", ids, "--shard-count", str(count),
            env=environment | {"NOTIFY_SOCKET": str(path)}, stdout=log, stderr=log,
        )  # fmt: skip
        try:
            loop = asyncio.get_running_loop()
            async with asyncio.timeout(FLEET_START_TIMEOUT_S):
                while b"READY=1" not in await loop.sock_recv(notifications, 4096):
                    pass
            yield psutil.Process(process.pid)
        finally:
            await _stop(process)


def _keep(log: Path) -> None:
    """A failed bench's bot log outlives the temporary directory: it is what says why."""
    kept = Path(tempfile.gettempdir()) / f"musicbox-bench-bot-{time.strftime('%Y%m%d-%H%M%S')}.log"
    with contextlib.suppress(OSError):
        shutil.copyfile(log, kept)
        print(f"the bot's log is kept at {kept}", file=sys.stderr)


async def room(sim: DiscordSim, name: str) -> Room:
    guild = sim.create_guild(name)
    text, voice = guild.create_text_channel("music"), guild.create_voice_channel("Lounge")
    member = guild.create_member(f"{name}-member")
    await member.join_voice(voice)
    return Room(member, text, voice)


async def first_audio_s(recording: Recording, rung: int, since: float) -> float:
    deadline = time.monotonic() + HEAR_TIMEOUT_S
    while (heard := recording.first_heard_at(rung, after=since)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"rung {rung} was not heard within {HEAR_TIMEOUT_S} s")
        await asyncio.sleep(0.005)
    return heard - since


async def wait_heard_ms(
    recording: Recording, rung: int, at_least_ms: float, *, timeout_s: float = HEAR_TIMEOUT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while recording.heard_ms(rung) < at_least_ms:
        if time.monotonic() > deadline:
            raise TimeoutError(f"rung {rung}: {recording.heard_ms(rung)} ms heard, wanted {at_least_ms}")
        await asyncio.sleep(0.02)


def _sections(
    sim: DiscordSim,
    media: MediaWorld,
    cache_mb: int,
    max_guilds: int,
    web_port: int,
    playback: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    return {
        "discord": {"token": sim.bot_token, "api_base": sim.api_base, "gateway_url": sim.gateway_url},
        "resolver": {"search_template": media.search_template, "allowed_private_hosts": [media.host]},
        "cache": {"budget_mb": cache_mb},
        "playback": {"idle_timeout_s": 60, **playback},
        "limits": {"max_guilds": max_guilds},  # 0: the tuner's figure for this box
        "web": {"enabled": web_port > 0, "port": web_port or 8080},
    }


def _environment(sim: DiscordSim, directory: Path, sections: dict[str, dict[str, Any]]) -> dict[str, str]:
    config = directory / "config.toml"
    write_config(config, sections)
    return {
        **os.environ,
        "MUSICBOX_CONFIG": str(config),
        "STATE_DIRECTORY": str(directory / "state"),
        "CACHE_DIRECTORY": str(directory / "cache"),
        "RUNTIME_DIRECTORY": str(directory / "run"),
        "SSL_CERT_FILE": str(sim.write_ca(directory / "sim-ca.pem")),
    }


async def _online(sim: DiscordSim, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not sim.registered_commands():
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited with {process.returncode} before coming online")
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot did not come online within {START_TIMEOUT_S} s")
        await asyncio.sleep(0.05)
    await sim.wait_until_ready(timeout=START_TIMEOUT_S)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=20)
    except TimeoutError:
        process.kill()
        await process.wait()
