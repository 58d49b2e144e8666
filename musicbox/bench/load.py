"""The `ack` scenario: how fast the bot acknowledges interactions while many members in many guilds
use it at once: a realistic mix (play, queue, now, pause, resume, skip) from every member together,
acknowledgement latency measured by the simulator (Discord's 3 s rule is on the same clock)."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from musicbox.bench.figures import Figure, at_most, percentile, slope
from musicbox.bench.rig import Rig, Room, rig, room
from musicbox.bench.runner import BenchOptions
from musicbox.service.allocator import TRIM_EVERY_S
from musicbox.sim.discord import DiscordSim, Member
from musicbox.sim.media import MediaWorld
from musicbox.sources.workers import IDLE_S

REPLY_WAIT_S = 180.0
SONGS = 1000  # distinct songs a run of the mix asks for
COMMAND_MIX = ("play", "queue", "now", "pause", "resume", "queue", "play", "skip", "now")


async def ack_scenario(options: BenchOptions) -> list[Figure]:
    guilds, rounds = ack_size(options)
    async with rig() as world:
        speakers = await two_members_each(world.sim, guilds)
        run = await ack_load(world.media, speakers, rounds)
    note = f"{len(run.latencies)} commands from {2 * guilds} members in {guilds} guilds"
    return [
        Figure("ack", "p50", percentile(run.latencies, 0.5), "ms", note=note),
        Figure("ack", "p99", percentile(run.latencies, 0.99), "ms", at_most(100), note=note),
        Figure("ack", "past 3 s", run.failed, "commands", at_most(0), note=note),
        Figure("ack", "final reply p99", percentile(run.replied, 0.99), "ms", note=note),
    ]


def ack_size(options: BenchOptions) -> tuple[int, int]:
    """Guilds, and rounds of the command mix each member runs."""
    return (10, 3) if options.quick else (50, 6)


@dataclass
class AckRun:
    latencies: list[float] = field(default_factory=list)  # ms, acknowledged commands
    replied: list[float] = field(default_factory=list)  # ms to the final reply
    failed: int = 0  # not acknowledged within Discord's 3 s


async def two_members_each(sim: DiscordSim, guilds: int) -> list[tuple[Room, Member]]:
    """`guilds` guilds with two members each in voice: 100 members in 50 guilds."""
    rooms = [await room(sim, f"load{n}") for n in range(guilds)]
    speakers: list[tuple[Room, Member]] = []
    for n, here in enumerate(rooms):
        other = here.member.guild.create_member(f"load{n}-second")
        await other.join_voice(here.voice)
        speakers += [(here, here.member), (here, other)]
    return speakers


async def ack_load(
    media: MediaWorld, speakers: list[tuple[Room, Member]], rounds: int, *, first_song: int = 0
) -> AckRun:
    """Every member runs the command mix `rounds` times, each command as soon as the last was
    answered; /play asks for songs `first_song` to `first_song` + 999 (a second run from another
    thousand meets a cache as cold as the first did)."""
    run = AckRun()
    songs = itertools.count()

    async def member(here: Room, speaker: Member) -> None:
        for command in COMMAND_MIX * rounds:
            song = first_song + next(songs) % SONGS
            options_for = {"query": media.track_url(song, seconds=4)}
            interaction = await speaker.run_command(
                command, here.text, **(options_for if command == "play" else {})
            )
            # The reply (after resolving) can wait behind everyone else's resolves; the
            # acknowledgement, which is what Discord times, must not.
            try:
                await interaction.reply(timeout=REPLY_WAIT_S)
            except AssertionError:
                if not interaction.failed:
                    raise  # no answer at all: a bot that hangs, not a figure
                run.failed += 1  # Discord failed it (not acknowledged in 3 s): counted, and on
                continue
            run.replied.append((time.monotonic() - interaction.sent_at) * 1000)
            if interaction.ack_latency_s is None:
                run.failed += 1
            else:
                run.latencies.append(interaction.ack_latency_s * 1000)

    await asyncio.gather(*(member(here, speaker) for here, speaker in speakers))
    return run


async def memory_scenario(options: BenchOptions) -> list[Figure]:
    """The bot's footprint, its extraction workers and other children counted with it: after ready,
    with one guild playing, and before and after many join/play/leave cycles (RSS, open files,
    tasks, children). Paced by Discord's gateway budget (120 sends a minute; a cycle costs two), so
    1,000 cycles take about 20 minutes; the quick form runs 40 (four minutes with the settling waits).

    RSS is held to its growth after the first quarter (cycle 250 of 1,000): the allocator, codecs,
    pools and caches reach their working size before it, which is not growth. The total growth and the
    slope per 1,000 cycles stand beside it; the slope's samples (one a round past the quarter) are
    the bot's own RSS taken without settling (its ffmpeg children come and go within a round): the
    voice readers of the last 30 s are in every one of them alike, so they shift the line but do not
    tilt it."""
    cycles = 40 if options.quick else 1000
    guilds = 5  # so that the quarter (cycle 250; quick: 10) ends a round
    async with rig() as world:
        await asyncio.sleep(READY_SETTLE_S)
        ready = await footprint(world)
        rooms = [await room(world.sim, f"cycle{n}") for n in range(guilds)]
        for here in rooms[1:]:
            await here.member.leave_voice()
        playing, worker_up = await _one_guild_playing(world, rooms[0])

        async def cycle(here: Room, number: int) -> None:
            await here.member.join_voice(here.voice)
            await here.play(world.media.track_url(300 + number % 50, seconds=2))
            await (await here.member.run_command("leave", here.text)).reply(timeout=30)
            await here.member.leave_voice()

        for here in rooms:  # warm-up: imports, codecs, pools, caches reach their working size
            await cycle(here, 0)
        await asyncio.sleep(SETTLE_S)
        before = await footprint(world)  # the worker that resolved the warm-up has retired by now
        at_quarter = before
        quarter = cycles // 4
        trend: list[tuple[float, float]] = []
        for round_start in range(0, cycles, guilds):
            started = time.monotonic()
            await asyncio.gather(*(cycle(here, round_start + n) for n, here in enumerate(rooms)))
            done = round_start + guilds
            if done == quarter:
                await asyncio.sleep(SETTLE_S)
                at_quarter = await footprint(world)
            if done >= quarter:
                trend.append((done, world.bot.memory_info().rss / 2**20))
            await asyncio.sleep(max(0.0, started + ROUND_PERIOD_S - time.monotonic()))
        await asyncio.sleep(SETTLE_S)
        after = await footprint(world)
        allocator = (await world.status()).get("allocator", "unknown")
    note = f"{cycles} join/play/leave cycles in {guilds} guilds, allocator: {allocator}"
    idle = f"{PLAYING_FOR_S:g} s into a song, its extraction worker retired ({IDLE_S:g} s idle)"
    return [
        Figure(
            "memory", "RSS after ready", ready.rss_mb, "MiB", at_most(70), "default config, no worker yet"
        ),
        Figure("memory", "RSS, one guild playing", playing.rss_mb, "MiB", at_most(80), idle),
        Figure(
            "memory", "RSS, one guild playing, worker up", worker_up.rss_mb, "MiB", note="2 s into the song"
        ),
        Figure("memory", "RSS before", before.rss_mb, "MiB", note=note),
        Figure("memory", f"RSS at cycle {quarter}", at_quarter.rss_mb, "MiB", note=note),
        Figure(
            "memory",
            f"RSS growth, cycle {quarter} to {cycles}",
            after.rss_mb - at_quarter.rss_mb,
            "MiB",
            at_most(1.0),
            note,
        ),
        Figure("memory", f"RSS growth, all {cycles} cycles", after.rss_mb - before.rss_mb, "MiB", note=note),
        Figure(
            "memory",
            "RSS slope per 1,000 cycles",
            1000 * slope(trend),
            "MiB",
            note=f"{len(trend)} samples from cycle {quarter} on",
        ),
        Figure("memory", "open files growth", after.fds - before.fds, "fds", at_most(0), note),
        Figure("memory", "tasks growth", after.tasks - before.tasks, "tasks", at_most(0), note),
        Figure("memory", "child processes after", after.children, "processes", at_most(0), note),
        Figure("memory", "voice sessions after", after.sessions, "sessions", at_most(0), note),
    ]


async def _one_guild_playing(world: Rig, here: Room) -> tuple[Footprint, Footprint]:
    """The footprint 2 s into a new song (the worker that resolved it still up), then once the
    worker has retired; then the guild leaves."""
    await here.play(world.media.track_url(299, seconds=int(PLAYING_FOR_S) + 30))
    await asyncio.sleep(2)
    worker_up = await footprint(world)
    await asyncio.sleep(PLAYING_FOR_S - 2)
    playing = await footprint(world)
    await (await here.member.run_command("leave", here.text)).reply(timeout=30)
    await here.member.leave_voice()
    return playing, worker_up


READY_SETTLE_S = 2.0  # after the simulator saw READY: the bot's last start-up steps finish
PLAYING_FOR_S = IDLE_S + 4.0


# The bot hands freed memory back to the system once a minute (musicbox/service/allocator.py): each
# footprint is taken after a full period, so that each is taken after a trim, not at a random point of
# the minute (up to a minute of churn's freed memory apart), and once the extraction worker has
# retired (after IDLE_S idle).
SETTLE_S = max(TRIM_EVERY_S, IDLE_S) + 2.0
# Two gateway sends per cycle, five cycles per round; Discord allows 120 sends a minute and discord.py
# keeps itself to 110, so a round every 6 s stays at 100 a minute.
ROUND_PERIOD_S = 6.0


@dataclass(frozen=True, slots=True)
class Footprint:
    rss_mb: float
    fds: int
    tasks: int
    children: int
    sessions: int
    # What each open file is ("socket tcp 127.0.0.1:5000->127.0.0.1:6000 ESTABLISHED", a path, a
    # pipe): a floor that grows can then say what it holds.
    open_files: tuple[str, ...] = ()
    own_rss_mb: float = 0.0  # the bot's process alone, without its extraction workers and ffmpegs
    # The bot with the processes it keeps for minutes (its extraction workers), without the ffmpegs
    # and ffprobes that live for one song: what a leak would grow.
    kept_rss_mb: float = 0.0


async def footprint(world: Rig) -> Footprint:
    status = await world.status()
    children = world.bot.children(recursive=True)
    # Each process's RSS read once, so the three sums are of the same instant.
    own = world.bot.memory_info().rss
    kept, passing = _children_rss(children)
    return Footprint(
        rss_mb=(own + kept + passing) / 2**20,  # the extraction workers are the bot's too
        fds=world.bot.num_fds(),
        tasks=int(status["tasks"]),
        children=len(children),
        sessions=len(status["voice_sessions"]),
        open_files=await asyncio.to_thread(open_files, world.bot),
        own_rss_mb=own / 2**20,
        kept_rss_mb=(own + kept) / 2**20,
    )


def kept_for_minutes(command_line: Sequence[str]) -> bool:
    """Whether a child of the bot is one it keeps between songs: an extraction worker (retired after
    a minute idle), not an ffmpeg or ffprobe, which ends with its song or its fill. Pure."""
    return "musicbox.sources.extraction" in command_line


def _children_rss(children: list[psutil.Process]) -> tuple[int, int]:
    """The RSS of the children the bot keeps (extraction workers) and of those that pass (ffmpeg,
    ffprobe), in bytes."""
    kept = passing = 0
    for child in children:
        try:
            rss = child.memory_info().rss
            if kept_for_minutes(child.cmdline()):
                kept += rss
            else:
                passing += rss
        except psutil.Error:  # it ended meanwhile
            continue
    return kept, passing


def open_files(process: psutil.Process) -> tuple[str, ...]:
    """What `process` has open, one description per file descriptor (sockets by their addresses),
    sorted."""
    sockets = {c.fd: c for c in process.net_connections(kind="all")}
    described = []
    for name in os.listdir(f"/proc/{process.pid}/fd"):
        try:
            target = os.readlink(f"/proc/{process.pid}/fd/{name}")
        except OSError:  # closed since the listing
            continue
        connection = sockets.get(int(name))
        if connection is not None:
            target = _socket(connection)
        described.append(target)
    return tuple(sorted(described))


def _socket(connection: Any) -> str:
    kind = {socket.SOCK_STREAM: "tcp", socket.SOCK_DGRAM: "udp"}.get(connection.type, str(connection.type))
    if connection.family == socket.AF_UNIX:
        return f"socket unix {connection.laddr or '-'}->{connection.raddr or '-'} {connection.status}"
    local = ":".join(map(str, connection.laddr)) if connection.laddr else "-"
    remote = ":".join(map(str, connection.raddr)) if connection.raddr else "-"
    return f"socket {kind} {local}->{remote} {connection.status}"
