"""The `soak` scenario: the bot under a steady, realistic load for minutes, its footprint sampled
as it goes, so growth shows as a trend rather than as one lucky before/after pair.

Members in several guilds stay in voice and keep using the bot (play, queue, now, pause, resume,
skip); one more guild, otherwise idle, asks for a new song now and then, which gives time to first
audio under that load. Four more guilds join voice, play a song and leave, each once a minute (the
churn of voice connections that used to grow RSS; the quick form makes only their first, warm-up
visits). Sampled every few seconds
from the running bot: RSS (its least-squares slope), open files, asyncio tasks and child processes
(the growth of their floor). The quick form (CI) runs a minute, the full form an hour (`--minutes`
sets another length): the bot's heap settles over its first half hour (glibc's free lists, SQLite's
page cache filling to its bound), so a slope taken over twenty minutes measured the settling, 0.2-0.35
MiB/min, where the hour's second half reads 0.03 (docs/benchmarks.md, session 11)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from musicbox.bench.figures import Figure, at_most, percentile, slope
from musicbox.bench.load import Footprint, footprint
from musicbox.bench.playback import RECOGNISED, Stages, stage_figures, timed_play
from musicbox.bench.rig import Rig, Room, rig, room
from musicbox.bench.runner import BenchOptions
from musicbox.service import memory_census
from musicbox.service.control import ask
from musicbox.sim.discord import Member
from musicbox.sim.signature import LADDER_SIZE

MIX = ("play", "queue", "now", "play", "pause", "resume", "skip", "queue", "now", "play")
PAUSE_BETWEEN_COMMANDS_S = 1.0
SONG_S = 3.0
SONGS = 60  # a catalog small enough that songs come round again: the cache is hit as well as filled
REPLY_TIMEOUT_S = 60.0
PROBE_EVERY_S = 5.0
# Guilds that join voice, play, and leave: one connection each per period, their starts spread over it.
# Four a minute cost the bot eight gateway sends of its 120.
CHURN_GUILDS = 4
CHURN_PERIOD_S = 60.0
CHURN_IN_VOICE_S = 20.0
PROBE_SONG_S = 1.0
FIRST_PROBE_SONG = 1000  # songs nobody else plays: each one is uncached
# The footprint's slope is taken once the first quarter of the run is over: imports, codecs, the
# resolver pool and the cache's index reach their working size in it, which is not growth.
WARM_UP_FRACTION = 0.25
# With MUSICBOX_MEMORY_CENSUS naming a file, the bot's memory census (service/memory_census.py) is
# appended to it at these fractions of the run (minutes 5, 15, 30, 45 of an hour) and at its end.
CENSUS_AT = (1 / 12, 1 / 4, 1 / 2, 3 / 4)
CENSUS_WAIT_S = 120.0  # a snapshot of every traced block on a loaded box


@dataclass(frozen=True, slots=True)
class Sample:
    at_s: float
    footprint: Footprint


def floor_growth(values: Sequence[float]) -> float:
    """How much the lowest value of the last third exceeds the lowest of the first third. Pure.

    Open files, tasks and children rise and fall with the commands in flight when a sample is taken;
    their floor (what the bot holds between commands) only rises if something is kept for good."""
    if len(values) < 3:
        raise ValueError("a floor growth needs three values")
    third = len(values) // 3
    return min(values[-third:]) - min(values[:third])


def held_for_good(first: Sequence[Sequence[str]], last: Sequence[Sequence[str]]) -> list[str]:
    """The open files behind a floor growth: those every sample of `last` holds (as many times) beyond
    the emptiest sample of `first`. Pure: samples are the descriptions of open files."""
    floor = min((Counter(sample) for sample in first), key=Counter.total)
    held = Counter(last[0])
    for sample in last[1:]:
        held &= Counter(sample)
    return sorted((held - floor).elements())


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute. Pure."""
    return 60 * slope(points)


async def soak_scenario(options: BenchOptions) -> list[Figure]:
    minutes, guilds = (1.0, 4) if options.quick else (60.0, 10)
    minutes = options.minutes or minutes
    churned = 0
    sample_every_s = 3.0 if options.quick else 15.0
    acks: list[float] = []
    ttfa: list[Stages] = []
    failures = 0
    commands = 0
    async with rig() as world:
        rooms = [await room(world.sim, f"soak{n}") for n in range(guilds)]
        speakers: list[tuple[Room, Member]] = []
        for here in rooms:
            other = here.member.guild.create_member(f"{here.member.name}-friend")
            await other.join_voice(here.voice)
            speakers += [(here, here.member), (here, other)]
        probe = await room(world.sim, "soak-probe")
        churners = [await room(world.sim, f"soak-churn{n}") for n in range(CHURN_GUILDS)]
        for here in churners:
            await here.member.leave_voice()
        # Every file the run will ask for, made now: a real host has its files, and the media
        # world making them on first request (an ffmpeg run each, in the first minute mostly) is
        # not the bot's work.
        await world.media.prepare(range(400, 400 + SONGS), seconds=SONG_S)
        probe_songs = int(minutes * 60 / PROBE_EVERY_S) + 2
        await world.media.prepare(
            range(FIRST_PROBE_SONG, FIRST_PROBE_SONG + probe_songs), seconds=PROBE_SONG_S
        )
        songs = itertools.count()
        ends_at = time.monotonic() + minutes * 60

        async def member(here: Room, speaker: Member) -> None:
            nonlocal failures, commands
            for command in itertools.cycle(MIX):
                if time.monotonic() > ends_at:
                    return
                query = {"query": world.media.track_url(400 + next(songs) % SONGS, seconds=SONG_S)}
                interaction = await speaker.run_command(
                    command, here.text, **(query if command == "play" else {})
                )
                commands += 1
                try:
                    said = await interaction.reply(timeout=REPLY_TIMEOUT_S)
                except AssertionError:
                    failures += 1
                    continue
                if interaction.ack_latency_s is None or "went wrong" in said.text():
                    failures += 1
                else:
                    acks.append(interaction.ack_latency_s * 1000)
                await asyncio.sleep(PAUSE_BETWEEN_COMMANDS_S)

        async def first_audio_probes() -> None:
            nonlocal failures
            for index in itertools.count(FIRST_PROBE_SONG):
                if time.monotonic() > ends_at:
                    return
                url = world.media.track_url(index, seconds=PROBE_SONG_S)
                try:
                    ttfa.append(await timed_play(world, probe, url, index % LADDER_SIZE))
                except (AssertionError, TimeoutError):  # unanswered or unheard: an error, the run goes on
                    failures += 1
                await asyncio.sleep(PROBE_EVERY_S)

        async def visit(here: Room, index: int, stay_s: float) -> bool:
            """One join, song and leave; False when the bot's answer to /leave went wrong."""
            nonlocal churned
            churned += 1
            await here.member.join_voice(here.voice)
            try:
                await here.play(world.media.track_url(400 + index % SONGS, seconds=SONG_S))
                await asyncio.sleep(stay_s)
                leave = await here.member.run_command("leave", here.text)
                said = await leave.reply(timeout=REPLY_TIMEOUT_S)
            except AssertionError:  # a command unanswered (a box loaded past Discord's 3 s): an error
                return False
            finally:
                await here.member.leave_voice()
            return "went wrong" not in said.text()

        async def churn(here: Room, offset_s: float) -> None:
            nonlocal failures, commands
            await asyncio.sleep(offset_s)
            for index in itertools.count(1):
                period_ends = time.monotonic() + CHURN_PERIOD_S
                if time.monotonic() + CHURN_IN_VOICE_S > ends_at:
                    return
                failures += not await visit(here, index, CHURN_IN_VOICE_S)
                commands += 2
                await asyncio.sleep(max(0.0, min(period_ends, ends_at) - time.monotonic()))

        # Each churning guild's first visit (its guild caches, the first session's objects) is warm-up,
        # like the first quarter's, not growth. The quick form stops there: in its minute the slope
        # would mostly tell how many churning sessions happened to be alive at either end.
        await asyncio.gather(*(visit(here, 0, 0.0) for here in churners))
        churning = [] if options.quick else churners

        started = time.monotonic()
        spread_s = CHURN_PERIOD_S / CHURN_GUILDS
        load = asyncio.gather(
            *(member(here, speaker) for here, speaker in speakers),
            first_audio_probes(),
            *(churn(here, n * spread_s) for n, here in enumerate(churning)),
        )
        census = os.environ.get(memory_census.ENVIRONMENT_VARIABLE)
        census_at = [minutes * 60 * fraction for fraction in CENSUS_AT] if census else []
        samples = await _sample_until(world, load, started, sample_every_s, census_at)
        if census:
            await _take_census(world, census, time.monotonic() - started)
        held_s = time.monotonic() - started
    # A minute cannot tell the allocator settling from a slow leak: the quick form catches a leak of
    # the seed's kind (megabytes a minute), the hour's form holds RSS to 6 MiB an hour once settled.
    rss_slope_target = 2.0 if options.quick else 0.1
    figures = soak_figures(samples, acks, ttfa, failures, commands, held_s, guilds, rss_slope_target)
    return [
        *figures,
        Figure(
            "soak",
            "voice connections churned",
            churned,
            "joins and leaves",
            note=f"{CHURN_GUILDS} guilds, a visit each before the clock starts"
            + ("" if options.quick else f", then one every {CHURN_PERIOD_S:.0f} s"),
        ),
    ]


async def _sample_until(
    world: Rig, load: asyncio.Future[list[None]], started: float, every_s: float, census_at: list[float]
) -> list[Sample]:
    samples: list[Sample] = []
    census = os.environ.get(memory_census.ENVIRONMENT_VARIABLE, "")
    while not load.done():
        samples.append(Sample(time.monotonic() - started, await footprint(world)))
        if census_at and samples[-1].at_s >= census_at[0]:
            census_at.pop(0)
            await _take_census(world, census, samples[-1].at_s)
        await asyncio.wait({load}, timeout=every_s)
    await load  # a member's error surfaces here, not as a missing figure
    return samples


async def _take_census(world: Rig, path: str, at_s: float) -> None:
    answer = await ask(world.runtime_dir, "memory", timeout_s=CENSUS_WAIT_S)
    children = []
    for child in world.bot.children():
        with contextlib.suppress(psutil.Error):  # it ended meanwhile
            children.append((" ".join(child.cmdline()[:4]), child.memory_info().rss / 2**20))
    record = {"at_min": round(at_s / 60, 2), "children": children, **answer}
    await asyncio.to_thread(_append_line, Path(path), json.dumps(record))


def _append_line(path: Path, line: str) -> None:
    with path.open("a") as file:
        file.write(line + "\n")


def soak_figures(
    samples: list[Sample],
    acks: list[float],
    starts: list[Stages],
    failures: int,
    commands: int,
    held_s: float,
    guilds: int,
    rss_slope_target: float,
) -> list[Figure]:
    warm = [s for s in samples if s.at_s >= samples[-1].at_s * WARM_UP_FRACTION]
    note = f"{commands} commands from {2 * guilds} members in {guilds} guilds over {held_s / 60:.1f} min"

    def series(value: str) -> list[float]:
        return [float(getattr(sample.footprint, value)) for sample in warm]

    ttfa = [start[RECOGNISED] * 1000 for start in starts]
    # The slope is of what the bot keeps (its process and extraction workers). A fill's ffmpeg holds
    # 100-160 MiB for the second it runs (loudnorm), so one caught by a late sample tilted the slope
    # of every child's sum by up to 0.5 MiB/min either way: that sum is reported, but as the noise
    # it is; a process kept for good shows in the children's floor.
    rss_slope = slope_per_minute([(sample.at_s, sample.footprint.kept_rss_mb) for sample in warm])
    # A cache filling to its bound shows as a slope that falls from the whole run to its second half.
    second_half = [s for s in samples if s.at_s >= samples[-1].at_s / 2]
    late_slope = slope_per_minute([(sample.at_s, sample.footprint.kept_rss_mb) for sample in second_half])
    own_slope = slope_per_minute([(sample.at_s, sample.footprint.own_rss_mb) for sample in warm])
    every_child_slope = slope_per_minute([(sample.at_s, sample.footprint.rss_mb) for sample in warm])
    passing = max(sample.footprint.rss_mb - sample.footprint.kept_rss_mb for sample in warm)
    third = len(warm) // 3
    held = held_for_good(
        [s.footprint.open_files for s in warm[:third]], [s.footprint.open_files for s in warm[-third:]]
    )
    held_note = f"{note}; held: {', '.join(held)}" if held else note

    return [
        Figure("soak", "commands/s held", commands / held_s, "1/s", note=note),
        Figure("soak", "error rate", 100 * failures / max(1, commands), "%", at_most(0.0), note),
        Figure("soak", "ack p95", percentile(acks, 0.95), "ms", note=note),
        Figure("soak", "ack p99", percentile(acks, 0.99), "ms", at_most(100), note=note),
        Figure("soak", "ttfa p50 under load", percentile(ttfa, 0.5), "ms", note=f"{len(ttfa)} new songs"),
        Figure("soak", "ttfa p95 under load", percentile(ttfa, 0.95), "ms", at_most(800), f"{len(ttfa)}"),
        Figure("soak", "RSS at start", warm[0].footprint.kept_rss_mb, "MiB", note=f"{len(warm)} samples"),
        Figure(
            "soak",
            "RSS slope",
            rss_slope,
            "MiB/min",
            at_most(rss_slope_target),
            f"{len(warm)} samples of the bot and its extraction workers",
        ),
        Figure("soak", "RSS slope, second half", late_slope, "MiB/min", note=f"{len(second_half)} samples"),
        Figure("soak", "RSS slope, the bot's process alone", own_slope, "MiB/min", note="no workers"),
        Figure(
            "soak",
            "RSS slope, with every ffmpeg and ffprobe",
            every_child_slope,
            "MiB/min",
            note="those alive at each sample: noise of when a sample falls",
        ),
        Figure("soak", "ffmpegs' and ffprobes' RSS, largest sample", passing, "MiB", note="alive at once"),
        # Not floor_growth of the count: a song playing at every late sample (each a different file
        # and pipe) raised the count's floor by 1 with nothing kept (1 run in 3 on a loaded box);
        # a file kept for good is the same file at every late sample.
        Figure("soak", "open files floor growth", len(held), "fds", at_most(0), held_note),
        Figure("soak", "tasks floor growth", floor_growth(series("tasks")), "tasks", at_most(0), note),
        Figure(
            "soak", "children floor growth", floor_growth(series("children")), "processes", at_most(0), note
        ),
        *stage_figures("soak ttfa", starts),
    ]
