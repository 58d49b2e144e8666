"""The `pi` scenario: the bot on a Raspberry Pi Zero 2 W's budget, on whatever box runs it.

The bot and every child it starts run in control groups (bench/cgroup.py) holding them to the
Zero 2 W's 512 MB and to the share of this box's CPU that does the work of the Zero's four
Cortex-A53 cores; the bot is configured with what `tune()` chooses for the Zero (its probe, not this
box's). Measured: RSS after ready, cold and warm time to first audio, then three guilds playing at
once (two cached songs, one through ffmpeg at a volume other than 100 %) with late packets counted
at a listener in its own process, the peak memory charged, OOM kills and how often the quota bit.

The CPU share comes from one benchmark run on both: 7-Zip's (`7z b`, p7zip 16.02), which Thomas
Kaiser ran on a Zero 2 W at 1 GHz (835 MIPS on one core, 3,009 on all four; "A quick look at RPi
Zero 2 W", 2021) and which this scenario runs here on one core. Its R/U rating is per 100 % of a
core used, so other work on the box lowers it little. 3,009 over this core's rating is how many of
this box's cores the Zero's four are worth, together. A quota spreads that over time, not over four
slow cores: one busy thread runs here at this core's speed until the quota bites, so a lone start
(ttfa) is measured faster than a Zero would manage, by up to this core's rating over 835."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from typing import Any

from musicbox.bench.cgroup import budget
from musicbox.bench.figures import Figure, at_most
from musicbox.bench.load import READY_SETTLE_S, footprint
from musicbox.bench.playback import RECOGNISED, cold_then_warm, latency_figures
from musicbox.bench.rig import REPLY_TIMEOUT_S, Rig, Room, rig, room, wait_heard_ms
from musicbox.bench.runner import BenchOptions
from musicbox.core.tuning import Probe, Tuning, tune
from musicbox.service.health import rss_with_children
from musicbox.sim.signature import LADDER_SIZE

PI_ZERO_2_W = Probe(
    cores=4,
    ram_mb=512,
    free_disk_mb=16_000,  # a 32 GB card with the system on it
    cpu_model="Cortex-A53",
    machine="aarch64",
    arm_part="0xd03",
    board="Raspberry Pi Zero 2 W Rev 1.0",
)
PI_CORE_MIPS = 835.0
PI_ALL_CORES_MIPS = 3009.0
MEMORY_BYTES = 512 * 2**20
SEVEN_ZIP = ("7z", "b", "-mmt1", "-md22")  # one thread, one dictionary size: ten seconds or so
SEVEN_ZIP_TIMEOUT_S = 300.0
PLAYS, QUICK_PLAYS = 8, 3
WINDOW_S, QUICK_WINDOW_S = 480.0, 20.0  # with the start and the ttfa rounds, the full form is 10 minutes
SAMPLE_EVERY_S = 5.0
LATE_MS = 60.0
VOLUME = 70  # a volume other than 100 % runs the cached song through ffmpeg: the transcoding guild
CACHED_SONG, TRANSCODED_SONG = 610, 611


def seven_zip_rating(output: str) -> float:
    """The R/U rating (MIPS per 100 % of a core) on the `Tot:` line of `7z b`'s report."""
    for line in output.splitlines():
        fields = line.split()
        if fields[:1] == ["Tot:"] and len(fields) == 4:
            return float(fields[2])
    raise ValueError("7z b printed no Tot: line")


def pi_cores(core_mips: float) -> float:
    """How many of this box's cores do the work of the Zero 2 W's four, by 7-Zip's rating."""
    return PI_ALL_CORES_MIPS / core_mips


def pi_config(tuning: Tuning) -> dict[str, dict[str, Any]]:
    """The figures `tune()` chose for the Zero, set explicitly (explicit configuration wins over the
    tuner, which would otherwise tune for this box)."""
    return {
        "resolver": {"workers": tuning.resolver_workers},
        "cache": {"max_transcodes": tuning.max_transcodes, "prefetch_depth": tuning.prefetch_depth},
        "limits": {"max_guilds": tuning.max_guilds},
    }


async def core_mips() -> float:
    if shutil.which(SEVEN_ZIP[0]) is None:
        raise RuntimeError("7z is not installed: apt-get install p7zip-full")
    process = await asyncio.create_subprocess_exec(
        *SEVEN_ZIP, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output, _ = await asyncio.wait_for(process.communicate(), SEVEN_ZIP_TIMEOUT_S)
    return seven_zip_rating(output.decode(errors="replace"))


async def pi_scenario(options: BenchOptions) -> list[Figure]:
    here_mips = await core_mips()
    cores = pi_cores(here_mips)
    tuning = tune(PI_ZERO_2_W)
    plays, window_s = (QUICK_PLAYS, QUICK_WINDOW_S) if options.quick else (PLAYS, WINDOW_S)
    name = f"musicbox-bench-pi-{os.getpid()}"
    with budget(name, memory_bytes=MEMORY_BYTES, cores=cores) as group:
        async with rig(config=pi_config(tuning), before_start=group.join) as world:
            await asyncio.sleep(READY_SETTLE_S)
            idle = await footprint(world)
            cold, warm = await _ttfa(world, await room(world.sim, "pi-ttfa"), plays)
            peak_mb, heard_late, timed = await _three_playing(world, window_s)
            load = os.getloadavg()[0]
        oom_kills, throttling, peak_bytes = group.oom_kills(), group.throttling(), group.peak_bytes()
    budget_note = (
        f"7-Zip R/U: {here_mips:.0f} MIPS on one core here; Zero 2 W {PI_ALL_CORES_MIPS:.0f} on four "
        f"(Kaiser 2021); memory {MEMORY_BYTES // 2**20} MiB; load {load:.1f}"
    )
    tuned = (
        f"tune() for the Zero: {tuning.resolver_workers} resolver, {tuning.max_transcodes} transcodes, "
        f"{tuning.max_guilds} guilds"
    )
    three = "three guilds: two cached songs, one through ffmpeg at 70 % volume"
    late_share = 100 * heard_late / max(1, timed)
    charged = "the group's, page cache included"
    return [
        Figure("pi", "CPU budget", cores, "cores of this box", note=budget_note),
        Figure("pi", "RSS after ready", idle.rss_mb, "MiB", at_most(80), tuned),
        Figure("pi", "RSS, three guilds playing (peak)", peak_mb, "MiB", note=three),
        Figure("pi", "memory charged (peak)", peak_bytes / 2**20, "MiB", note=charged),
        Figure("pi", "processes OOM-killed", oom_kills, "processes", at_most(0), f"{window_s:g} s of three"),
        Figure("pi", f"packets over {LATE_MS:g} ms late", late_share, "%", at_most(0.5), three),
        Figure("pi", "periods throttled", 100 * throttling.share, "%", note="the quota used up: it waited"),
        *latency_figures("pi-ttfa-cold", cold, 800),
        *latency_figures("pi-ttfa-warm", warm, 150),
    ]


async def _ttfa(world: Rig, here: Room, plays: int) -> tuple[list[float], list[float]]:
    cold, warm = await cold_then_warm(world, here, plays)
    await (await here.member.run_command("leave", here.text)).reply(timeout=REPLY_TIMEOUT_S)
    return [stages[RECOGNISED] for stages in cold], warm


async def _three_playing(world: Rig, window_s: float) -> tuple[float, int, int]:
    """Three guilds playing for `window_s`: the peak RSS (bot and children) and late/timed packets."""
    song_s = window_s + 60
    await world.media.prepare([CACHED_SONG, TRANSCODED_SONG], seconds=song_s)
    cached, also_cached, transcoded = [await room(world.sim, f"pi-{n}") for n in range(3)]
    cached_url = world.media.track_url(CACHED_SONG, seconds=song_s)
    songs_before = (await world.status())["cache"]["songs"]
    await cached.play(cached_url)
    await _until_cached(world, songs_before + 1, song_s)
    await also_cached.play(cached_url)
    await transcoded.play(world.media.track_url(TRANSCODED_SONG, seconds=song_s))
    volume = await transcoded.member.run_command("volume", transcoded.text, percent=VOLUME)
    await volume.reply(timeout=REPLY_TIMEOUT_S)
    for here, song in ((cached, CACHED_SONG), (also_cached, CACHED_SONG), (transcoded, TRANSCODED_SONG)):
        await wait_heard_ms(here.heard, song % LADDER_SIZE, 1000)
    assert world.sim.voice is not None
    async with world.sim.voice.listener_apart() as listener:
        since = time.monotonic()
        peak = 0
        while time.monotonic() < since + window_s:
            peak = max(peak, rss_with_children(world.bot, world.bot.children(recursive=True)))
            await asyncio.sleep(min(SAMPLE_EVERY_S, max(0.0, since + window_s - time.monotonic())))
        until = time.monotonic()
        await asyncio.sleep(1.0)  # the window's last packets, late ones included
        heard = await listener.report(since, until, LATE_MS)
    rooms = (cached, also_cached, transcoded)
    late = sum(heard[here.guild_id].late for here in rooms if here.guild_id in heard)
    timed = sum(heard[here.guild_id].timed for here in rooms if here.guild_id in heard)
    if timed == 0:
        raise RuntimeError("no packet reached the listener while three guilds played")
    return peak / 2**20, late, timed


async def _until_cached(world: Rig, songs: int, song_s: float) -> None:
    async with asyncio.timeout(30 + song_s / 5):
        while (await world.status())["cache"]["songs"] < songs:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
