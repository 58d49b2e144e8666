"""The `pi` scenario: the bot on a Raspberry Pi Zero 2 W's budget, on whatever box runs it.

The bot and every child it starts run in control groups (bench/cgroup.py) holding them to the
Zero 2 W's 512 MB and to the share of this box's CPU that does the work of the Zero's four
Cortex-A53 cores; the bot is configured with what `tune()` chooses for the Zero (its probe, not this
box's). Measured: RSS after ready, cold and warm time to first audio, then three guilds playing at
once (two cached songs, one through ffmpeg at a volume other than 100 %) with late packets counted
at a listener in its own process (for each kind of guild, and in the worst 30 s), the peak memory
charged and each kind of process's peak RSS, OOM kills, how often the quota bit, and over the
window, the CPU each kind of process used and how long it waited for one (the scheduler's own
accounting): what tells the bot's lateness from the box's.

The CPU share comes from one benchmark run on both: 7-Zip's (`7z b`, p7zip 16.02), which Thomas
Kaiser ran on a Zero 2 W at 1 GHz (835 MIPS on one core, 3,009 on all four; "A quick look at RPi
Zero 2 W", 2021) and which this scenario runs here on one core. Its R/U rating is per 100 % of a
core used, yet other work on the box still moves it (3,700-4,600 MIPS here, highest on a quiet box),
so it is measured afresh at each run. 3,009 over this core's rating is how many of
this box's cores the Zero's four are worth, together. A quota spreads that over time, not over four
slow cores: one busy thread runs here at this core's speed until the quota bites, so a lone start
(ttfa) is measured faster than a Zero would manage, by up to this core's rating over 835. The group
has the kernel's highest CPU weight (cgroup.SHARES): a quota caps but does not reserve, and on a box
busy with other work the stand-in Pi's cores would otherwise not be its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from typing import Any

import psutil

from musicbox.bench.cgroup import Budget, ProcessTime, Throttling, budget
from musicbox.bench.figures import Figure, at_most
from musicbox.bench.load import READY_SETTLE_S, footprint
from musicbox.bench.playback import RECOGNISED, cold_then_warm, latency_figures
from musicbox.bench.rig import REPLY_TIMEOUT_S, Rig, Room, rig, room, wait_heard_ms
from musicbox.bench.runner import BenchOptions
from musicbox.core.tuning import Probe, Tuning, tune
from musicbox.sim.signature import LADDER_SIZE
from musicbox.sim.voice.listener import Hearing, ListenerApart

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
SLICE_S = 30
VOLUME = 70  # a volume other than 100 % runs the cached song through ffmpeg: the transcoding guild
CACHED_SONG, TRANSCODED_SONG = 610, 611
CACHED, TRANSCODING = "cached", "transcoding"
BOT, FFMPEG, WORKER = "the bot", "ffmpeg", "extraction workers"


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
        "limits": {"max_guilds": tuning.max_guilds, "max_filtered": tuning.max_filtered},
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
            three = await _three_playing(world, group, window_s)
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
    playing = "three guilds: two cached songs, one through ffmpeg at 70 % volume"
    charged = "the group's, page cache included"
    return [
        Figure("pi", "CPU budget", cores, "cores of this box", note=budget_note),
        Figure("pi", "RSS after ready", idle.rss_mb, "MiB", at_most(80), tuned),
        Figure("pi", "RSS, three guilds playing (peak)", three.peak_mb, "MiB", note=playing),
        Figure("pi", "memory charged (peak)", peak_bytes / 2**20, "MiB", note=charged),
        Figure("pi", "processes OOM-killed", oom_kills, "processes", at_most(0), f"{window_s:g} s of three"),
        Figure("pi", f"packets over {LATE_MS:g} ms late", three.late_share(), "%", at_most(0.5), playing),
        Figure("pi", "late, the two cached guilds", three.late_share(CACHED), "%"),
        Figure("pi", "late, the transcoding guild", three.late_share(TRANSCODING), "%"),
        Figure("pi", f"late, the worst {SLICE_S} s", three.worst_slice_late, "%"),
        *three.window_figures(window_s),
        Figure("pi", "periods throttled", 100 * throttling.share, "%", note="the quota used up: it waited"),
        *latency_figures("pi-ttfa-cold", cold, 800),
        *latency_figures("pi-ttfa-warm", warm, 150),
    ]


async def _ttfa(world: Rig, here: Room, plays: int) -> tuple[list[float], list[float]]:
    cold, warm = await cold_then_warm(world, here, plays)
    await (await here.member.run_command("leave", here.text)).reply(timeout=REPLY_TIMEOUT_S)
    return [stages[RECOGNISED] for stages in cold], warm


@dataclass(frozen=True, slots=True)
class ThreePlaying:
    """What the window of three guilds playing showed: peak RSS, what the listener heard of each
    kind of guild, and where the group's CPU went (and how long it waited for CPU) meanwhile."""

    peak_mb: float
    peak_mb_by_kind: dict[str, float]  # BOT, FFMPEG, WORKER: each one's own peak
    heard: dict[str, Hearing]  # CACHED (both cached guilds together), TRANSCODING
    used: dict[str, ProcessTime]  # by kind of process: BOT, FFMPEG, WORKER; summed
    throttled: Throttling  # in the window
    worst_slice_late: float  # %, in the window's worst SLICE_S

    def late_share(self, *kinds: str) -> float:
        chosen = [self.heard[kind] for kind in kinds or self.heard]
        return 100 * sum(h.late for h in chosen) / max(1, sum(h.timed for h in chosen))

    def window_figures(self, window_s: float) -> list[Figure]:
        """Each kind of process's peak RSS, CPU used and time waited for a CPU; the quota's bite."""
        figures = [
            Figure("pi", f"RSS peak, {kind}", mb, "MiB") for kind, mb in sorted(self.peak_mb_by_kind.items())
        ]
        for kind, used in sorted(self.used.items()):
            figures.append(Figure("pi", f"CPU used, {kind}", used.cpu_s / window_s, "cores"))
            figures.append(Figure("pi", f"waited for a CPU, {kind}", used.waited_s / window_s, "s per s"))
        waited = self.throttled.throttled_s / window_s
        return [*figures, Figure("pi", "throttled by the quota (window)", waited, "s per s")]


def process_kind(pid: int, name: str, bot_pid: int) -> str:
    """The bot, an ffmpeg it started, or else an extraction worker (or the Deno child of one)."""
    if pid == bot_pid:
        return BOT
    return FFMPEG if name == "ffmpeg" else WORKER


def rss_by_kind(bot: psutil.Process) -> dict[str, int]:
    sizes = {BOT: bot.memory_info().rss}
    for child in bot.children(recursive=True):
        with contextlib.suppress(psutil.Error):  # it ended meanwhile
            kind = process_kind(child.pid, child.name(), bot.pid)
            sizes[kind] = sizes.get(kind, 0) + child.memory_info().rss
    return sizes


def used_by_kind(
    before: dict[int, ProcessTime], after: dict[int, ProcessTime], bot_pid: int
) -> dict[str, ProcessTime]:
    """CPU and waits in the window, summed by kind of process (one that ended in it is not counted)."""
    used: dict[str, ProcessTime] = {}
    for pid, now in after.items():
        spent = now.since(before.get(pid))
        kind = process_kind(pid, now.name, bot_pid)
        total = used.get(kind, ProcessTime(0, kind, 0.0, 0.0))
        used[kind] = ProcessTime(0, kind, total.cpu_s + spent.cpu_s, total.waited_s + spent.waited_s)
    return used


async def _three_playing(world: Rig, group: Budget, window_s: float) -> ThreePlaying:
    """Three guilds playing for `window_s`: the peak RSS (bot and children), late/timed packets of
    each kind of guild, and the CPU each kind of process used."""
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
        processes, throttling = group.processes(), group.throttling()
        peak, peak_by_kind = 0, dict.fromkeys((BOT, FFMPEG, WORKER), 0)
        while time.monotonic() < since + window_s:
            sizes = rss_by_kind(world.bot)
            peak = max(peak, sum(sizes.values()))
            peak_by_kind = {kind: max(size, sizes.get(kind, 0)) for kind, size in peak_by_kind.items()}
            await asyncio.sleep(min(SAMPLE_EVERY_S, max(0.0, since + window_s - time.monotonic())))
        until = time.monotonic()
        used = used_by_kind(processes, group.processes(), world.bot.pid)
        throttled = group.throttling().since(throttling)
        await asyncio.sleep(1.0)  # the window's last packets, late ones included
        heard = await listener.report(since, until, LATE_MS)
        worst = await _worst_slice(listener, since, until)
    kinds = {CACHED: (cached, also_cached), TRANSCODING: (transcoded,)}
    by_kind = {
        kind: Hearing(
            sum(heard[r.guild_id].packets for r in rooms if r.guild_id in heard),
            sum(heard[r.guild_id].late for r in rooms if r.guild_id in heard),
            sum(heard[r.guild_id].timed for r in rooms if r.guild_id in heard),
        )
        for kind, rooms in kinds.items()
    }
    if not any(hearing.timed for hearing in by_kind.values()):
        raise RuntimeError("no packet reached the listener while three guilds played")
    by_kind_mb = {kind: size / 2**20 for kind, size in peak_by_kind.items()}
    return ThreePlaying(peak / 2**20, by_kind_mb, by_kind, used, throttled, worst)


async def _worst_slice(listener: ListenerApart, since: float, until: float) -> float:
    """The late share of the window's worst slice, all guilds together: whether lateness came in
    bursts (the box stalled now and then) or evenly (a stream that cannot keep up)."""
    worst, begin = 0.0, since
    while begin < until:
        heard = (await listener.report(begin, min(until, begin + SLICE_S), LATE_MS)).values()
        worst = max(worst, 100 * sum(h.late for h in heard) / max(1, sum(h.timed for h in heard)))
        begin += SLICE_S
    return worst


async def _until_cached(world: Rig, songs: int, song_s: float) -> None:
    async with asyncio.timeout(30 + song_s / 5):
        while (await world.status())["cache"]["songs"] < songs:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
