"""The `shards` scenario: the same servers and the same load served by one process and by four.

One simulated Discord with 2,000 servers (quick: 100) and the `ack` scenario's members (100 in 50
guilds; quick: 20 in 10) runs the `ack` command mix twice: first against one process running
shards 0-3 of 4, then against four processes running one shard each (`musicbox run --shards N
--shard-count 4`, as issue 23's scaled-out box runs them), each a fresh box (its own state and
cache, so the second meets caches as cold as the first; its songs are another thousand). Meanwhile
a probe guild asks for a new song every 2 s: time to first audio under that load. Figures, for
each: acknowledgement p50/p99 and past 3 s, time to first audio p50/p95, the bot's CPU time per
command (its processes', not their children's: ffmpeg, extraction workers), RSS after READY per
process and in all, and under load with the children.

Four processes on a box of two cores share those cores: the split buys crash isolation and a way
to more machines, not speed on one box; the figures show what it costs there (each process
holds its own interpreter, discord.py and caches)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import psutil

from musicbox.bench.figures import Figure, at_most, percentile
from musicbox.bench.load import REPLY_WAIT_S, SONGS, AckRun, ack_load, ack_size, two_members_each
from musicbox.bench.rig import Fleet, Room, first_audio_s, fleet, room
from musicbox.bench.runner import BenchOptions
from musicbox.service.health import rss_with_children
from musicbox.sim.discord import DiscordSim
from musicbox.sim.media import MediaWorld
from musicbox.sim.signature import LADDER_SIZE

SHARD_COUNT = 4
ONE_PROCESS = ("0-3",)
FOUR_PROCESSES = ("0", "1", "2", "3")
PROBE_EVERY_S = 2.0
PROBE_SONG_S = 1.0
FIRST_PROBE_SONG = 3 * SONGS  # past both runs' ack songs: every probe is a cold start


@dataclass(frozen=True, slots=True)
class FleetRun:
    """What one fleet did under the load."""

    processes: int
    ack: AckRun
    ttfa_ms: list[float]
    unheard: int  # probe songs not answered or not heard in time (the load held them up)
    cpu_s: float  # the bot processes' own CPU time over the load (not their children's)
    ready_mb: list[float]  # each process's own RSS after READY, before any load
    loaded_mb: list[float]  # each process's RSS with its children at the end of the load
    box_load: float  # the 1-minute load average as the load ended


def size(options: BenchOptions) -> tuple[int, int, int, int]:
    """Servers, guilds with members, rounds of the command mix, and most probe songs a fleet plays
    (one every PROBE_EVERY_S and more: the loads take about a minute, quick, and several)."""
    guilds, rounds = ack_size(options)
    return (100, guilds, 2, 60) if options.quick else (2000, guilds, rounds, 300)


async def shards_scenario(options: BenchOptions) -> list[Figure]:
    servers, guilds, rounds, probes = size(options)
    async with DiscordSim.start() as sim, MediaWorld.start() as media:
        speakers = await two_members_each(sim, guilds)
        probe = await room(sim, "shards-probe")
        for n in range(servers - len(sim.guilds)):
            sim.create_guild(f"quiet{n}")
        runs = []
        for number, ranges in enumerate((ONE_PROCESS, FOUR_PROCESSES)):
            # The probe's songs made now (a real host has its files): their making is not the bot's.
            songs = range(FIRST_PROBE_SONG + number * probes, FIRST_PROBE_SONG + (number + 1) * probes)
            await media.prepare(songs, seconds=PROBE_SONG_S)
            async with fleet(sim, media, ranges, SHARD_COUNT) as box:
                load = ack_load(media, speakers, rounds, first_song=number * SONGS)
                runs.append(await _under_load(box, media, load, probe, songs))
    note = f"{servers} servers, {2 * guilds} members in {guilds} guilds, {SHARD_COUNT} shards"
    return [figure for run in runs for figure in fleet_figures(run, note)]


def fleet_figures(run: FleetRun, note: str) -> list[Figure]:
    """The figures of one fleet's run, named for its process count. Pure."""
    label = "1 process" if run.processes == 1 else f"{run.processes} processes"
    each = f"{len(run.ack.latencies)} commands; {note}; box load {run.box_load:.1f}"
    ttfa = f"{len(run.ttfa_ms)} new songs under the load; box load {run.box_load:.1f}"
    commands = max(1, len(run.ack.replied))
    heard = (
        [
            Figure("shards", f"ttfa p50 under load, {label}", percentile(run.ttfa_ms, 0.5), "ms", note=ttfa),
            Figure(
                "shards",
                f"ttfa p95 under load, {label}",
                percentile(run.ttfa_ms, 0.95),
                "ms",
                at_most(800),
                ttfa,
            ),
        ]
        if run.ttfa_ms
        else []
    )
    return [
        Figure("shards", f"ack p50, {label}", percentile(run.ack.latencies, 0.5), "ms", note=each),
        Figure("shards", f"ack p99, {label}", percentile(run.ack.latencies, 0.99), "ms", at_most(100), each),
        Figure("shards", f"ack past 3 s, {label}", run.ack.failed, "commands", at_most(0), note=each),
        *heard,  # none heard: no percentile of nothing
        Figure("shards", f"new songs unheard under load, {label}", run.unheard, "songs", note=ttfa),
        Figure("shards", f"bot CPU per command, {label}", 1000 * run.cpu_s / commands, "ms", note=each),
        Figure("shards", f"RSS after ready, largest process, {label}", max(run.ready_mb), "MiB"),
        Figure("shards", f"RSS after ready, all processes, {label}", sum(run.ready_mb), "MiB"),
        Figure(
            "shards",
            f"RSS under load, all processes, {label}",
            sum(run.loaded_mb),
            "MiB",
            note="with their ffmpeg and extraction workers",
        ),
    ]


async def _under_load(
    box: Fleet, media: MediaWorld, load: Coroutine[Any, Any, AckRun], probe: Room, songs: range
) -> FleetRun:
    """The load run to its end, a probe's new song every PROBE_EVERY_S meanwhile."""
    ready_mb = [process.memory_info().rss / 2**20 for process in box.processes]
    cpu_before = _cpu_s(box.processes)
    loading = asyncio.ensure_future(load)
    ttfa_ms: list[float] = []
    unheard = 0
    try:
        for index in songs:  # bounded: the load ends before they run out
            if loading.done():
                break
            url = media.track_url(index, seconds=PROBE_SONG_S)
            played = await probe.member.run_command("play", probe.text, query=url)
            try:  # its reply waits behind every member's /play: as long as theirs may
                await played.reply(timeout=REPLY_WAIT_S)
                ttfa_ms.append(1000 * await first_audio_s(probe.heard, index % LADDER_SIZE, played.sent_at))
            except (AssertionError, TimeoutError):
                unheard += 1
            await asyncio.wait({loading}, timeout=PROBE_EVERY_S)
        run = await loading
    finally:
        loading.cancel()  # a probe that failed ends the run: its members stop too
        await asyncio.gather(loading, return_exceptions=True)
    loaded_mb = [_rss_mb(process) for process in box.processes]
    return FleetRun(
        processes=len(box.processes),
        ack=run,
        ttfa_ms=ttfa_ms,
        unheard=unheard,
        cpu_s=_cpu_s(box.processes) - cpu_before,
        ready_mb=ready_mb,
        loaded_mb=loaded_mb,
        box_load=os.getloadavg()[0],
    )


def _cpu_s(processes: Sequence[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _rss_mb(process: psutil.Process) -> float:
    return rss_with_children(process, process.children(recursive=True)) / 2**20
