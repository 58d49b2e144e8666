"""The `cpu-ratio` scenario: CPU per second of audio for a song sent from the Opus cache, against the
same song transcoded by ffmpeg as it plays (the no-cache path, and what other bots do for every song),
and against the cached song played through a /filter (nightcore: ffmpeg decoding the cached file,
filtering and encoding again, what tune()'s max_filtered is sized by).

Both sources are drained as fast as they give packets, with the CPU of this process and of every
child it reaped counted (os.times). What discord.py does with a packet afterwards (encrypt, send)
is the same for both and left out, so the ratio is that of producing the audio."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import discord

from musicbox.bench.figures import Figure, at_most
from musicbox.bench.runner import BenchOptions
from musicbox.cache.audio import FRAME_S, CachedAudio
from musicbox.cache.store import AudioStore
from musicbox.core.config import PlaybackConfig
from musicbox.core.filters import AudioFilter, Effect
from musicbox.core.track import TrackId
from musicbox.playback.direct import DirectAudio
from musicbox.sim.media import MediaWorld


def _cpu_s() -> float:
    # process_time for this process (os.times ticks at 10 ms, coarser than a cached song costs).
    children = os.times()
    return time.process_time() + children.children_user + children.children_system


def _drain(source: discord.AudioSource) -> tuple[float, float]:
    """(CPU seconds, audio seconds) to read `source` to its end."""
    before, packets = _cpu_s(), 0
    while source.read():
        packets += 1
    source.cleanup()  # reaps ffmpeg, so its CPU lands in children_*
    return _cpu_s() - before, packets * FRAME_S


async def cpu_ratio_scenario(options: BenchOptions) -> list[Figure]:
    seconds = 30.0 if options.quick else 180.0
    async with MediaWorld.start() as media:
        url = media.track_url(3, fmt="mp3", seconds=seconds)
        with tempfile.TemporaryDirectory(prefix="musicbox-bench-") as directory:
            database = sqlite3.connect(":memory:", check_same_thread=False)
            store = AudioStore(Path(directory), database, budget_bytes=2**30)
            # Filled as the bot fills it: normalised to the default loudness in the same transcode.
            loudness = PlaybackConfig().loudness_lufs
            cached = CachedAudio(store, max_transcodes=1, loudness_lufs=loudness)
            track = TrackId("bench", "cpu")
            before = _cpu_s()
            await asyncio.to_thread(_drain, await cached.source(track, url))  # fills the cache
            while not cached.store.contains(str(track)):  # noqa: ASYNC110 (committed on a worker thread)
                await asyncio.sleep(0.02)
            fill_cpu = _cpu_s() - before
            cache_cpu, cache_audio = await asyncio.to_thread(_drain, await cached.source(track, url))
            nightcore = AudioFilter(Effect.NIGHTCORE)
            filtered = await cached.source(track, url, duration_s=seconds, audio_filter=nightcore)
            filtered_cpu, filtered_heard = await asyncio.to_thread(_drain, filtered)
            await cached.aclose()
            database.close()
        ffmpeg_cpu, ffmpeg_audio = await asyncio.to_thread(_drain, await DirectAudio().source(track, url))
    per_cached = cache_cpu / cache_audio
    per_transcoded = ffmpeg_cpu / ffmpeg_audio
    # Per second heard: nightcore plays the song's 30 s in 24, and a listener hears it for 24.
    per_filtered = filtered_cpu / filtered_heard
    note = f"{seconds:g} s mp3 song"
    return [
        Figure("cpu-ratio", "cached stream", per_cached * 1000, "ms CPU per s of audio", note=note),
        Figure("cpu-ratio", "transcoded stream", per_transcoded * 1000, "ms CPU per s of audio", note=note),
        Figure(
            "cpu-ratio",
            "cache fill (normalising)",
            fill_cpu / seconds * 1000,
            "ms CPU per s of audio",
            note=note,
        ),
        Figure("cpu-ratio", "cached / transcoded", per_cached / per_transcoded, "ratio", at_most(0.1), note),
        Figure(
            "cpu-ratio",
            "filtered stream (nightcore, from the cache)",
            per_filtered * 1000,
            "ms CPU per s of audio",
            note=note,
        ),
        Figure("cpu-ratio", "filtered / cached", per_filtered / per_cached, "ratio", note=note),
        # tune() sizes max_filtered on a filtered stream costing about one transcode in real time.
        Figure(
            "cpu-ratio", "filtered / transcoded", per_filtered / per_transcoded, "ratio", at_most(2.0), note
        ),
    ]
