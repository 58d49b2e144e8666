"""The `ack` scenario: how fast the bot acknowledges interactions while many members in many guilds
use it at once: a realistic mix (play, queue, now, pause, resume, skip) from every member together,
acknowledgement latency measured by the simulator (Discord's 3 s rule is on the same clock)."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass

from musicbox.bench.figures import Figure, at_most, percentile
from musicbox.bench.rig import Rig, Room, rig, room
from musicbox.bench.runner import BenchOptions
from musicbox.service.health import rss_with_children
from musicbox.sim.discord import Member
from musicbox.sources.workers import IDLE_S

REPLY_WAIT_S = 180.0
COMMAND_MIX = ("play", "queue", "now", "pause", "resume", "queue", "play", "skip", "now")


async def ack_scenario(options: BenchOptions) -> list[Figure]:
    guilds, rounds = (10, 3) if options.quick else (50, 6)
    latencies: list[float] = []
    failed = 0
    replied: list[float] = []
    async with rig() as world:
        rooms = [await room(world.sim, f"load{n}") for n in range(guilds)]
        speakers: list[tuple[Room, Member]] = []
        for n, here in enumerate(rooms):  # a second member per guild: 100 members in 50 guilds
            other = here.member.guild.create_member(f"load{n}-second")
            await other.join_voice(here.voice)
            speakers += [(here, here.member), (here, other)]
        songs = itertools.count()

        async def member(here: Room, speaker: Member) -> None:
            nonlocal failed
            for command in COMMAND_MIX * rounds:
                options_for = {"query": world.media.track_url(next(songs) % 1000, seconds=4)}
                interaction = await speaker.run_command(
                    command, here.text, **(options_for if command == "play" else {})
                )
                # The reply (after resolving) can wait behind everyone else's resolves; the
                # acknowledgement, which is what Discord times, must not.
                await interaction.reply(timeout=REPLY_WAIT_S)
                replied.append((time.monotonic() - interaction.sent_at) * 1000)
                if interaction.failed or interaction.ack_latency_s is None:
                    failed += 1
                else:
                    latencies.append(interaction.ack_latency_s * 1000)

        await asyncio.gather(*(member(here, speaker) for here, speaker in speakers))
    note = f"{len(latencies)} commands from {2 * guilds} members in {guilds} guilds"
    return [
        Figure("ack", "p50", percentile(latencies, 0.5), "ms", note=note),
        Figure("ack", "p99", percentile(latencies, 0.99), "ms", at_most(100), note=note),
        Figure("ack", "past 3 s", failed, "commands", at_most(0), note=note),
        Figure("ack", "final reply p99", percentile(replied, 0.99), "ms", note=note),
    ]


async def memory_scenario(options: BenchOptions) -> list[Figure]:
    """The bot's footprint, its extraction workers and other children counted with it: after ready,
    with one guild playing, and before and after many join/play/leave cycles (RSS, open files,
    tasks, children). Paced by Discord's gateway budget (120 sends a minute; a cycle costs two), so
    1,000 cycles take about 20 minutes; the quick form runs 40 (a minute and a half with the
    settling waits)."""
    cycles = 40 if options.quick else 1000
    guilds = 4
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
        for round_start in range(0, cycles, guilds):
            started = time.monotonic()
            await asyncio.gather(*(cycle(here, round_start + n) for n, here in enumerate(rooms)))
            await asyncio.sleep(max(0.0, started + ROUND_PERIOD_S - time.monotonic()))
        await asyncio.sleep(SETTLE_S)
        after = await footprint(world)
    note = f"{cycles} join/play/leave cycles in {guilds} guilds"
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
        Figure("memory", "RSS growth", after.rss_mb - before.rss_mb, "MiB", at_most(1.0), note),
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


# discord.py's voice socket reader thread waits in select() on the UDP socket with a 30 s timeout and
# only then notices the disconnect, keeping that connection's websocket and TLS buffers until it does
# (about 1 MB each). Measuring before that would count them as growth; they are not kept for good.
# The extraction worker retires after IDLE_S idle; both measurements are taken once it has.
SETTLE_S = max(31.0, IDLE_S + 2.0)
# Two gateway sends per cycle, four cycles per round; Discord allows 120 sends a minute and discord.py
# keeps itself to 110, so a round every 4.8 s stays under 100 a minute.
ROUND_PERIOD_S = 4.8


@dataclass(frozen=True, slots=True)
class Footprint:
    rss_mb: float
    fds: int
    tasks: int
    children: int
    sessions: int


async def footprint(world: Rig) -> Footprint:
    status = await world.status()
    children = world.bot.children(recursive=True)
    return Footprint(
        rss_mb=rss_with_children(world.bot, children) / 2**20,  # the extraction workers are the bot's too
        fds=world.bot.num_fds(),
        tasks=int(status["tasks"]),
        children=len(children),
        sessions=len(status["voice_sessions"]),
    )
