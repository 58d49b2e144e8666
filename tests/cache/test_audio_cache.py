"""The Opus cache with real ffmpeg and the local media world: a song is transcoded once while it
plays, then played from the file with no ffmpeg at all; crashes and kills never leave a playable
half; the index survives a restart; eviction spares what is playing or queued."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import discord
import psutil
import pytest

from musicbox.batch_priority import BATCH_NICENESS
from musicbox.bot.sources import QueryFailed
from musicbox.cache.audio import EARLY_WANTED_S, CachedAudio, CachedOpusSource
from musicbox.cache.ogg import starts_as_opus
from musicbox.cache.store import PARTIAL, AudioStore
from musicbox.core.config import Config, PlaybackConfig, ResolverConfig
from musicbox.core.filters import AudioFilter, Effect
from musicbox.core.track import LIVE, TrackId
from musicbox.playback.direct import OVERRUN_S, DirectAudio
from musicbox.sim.media import MediaWorld, entry
from musicbox.sources.egress import EgressGate
from musicbox.sources.ytdlp import YtDlpSource
from musicbox.store.database import connect

SECONDS = 2.0
FRAMES = 101  # 2 s of 20 ms Opus frames, plus one for the encoder's pre-skip


@pytest.fixture
def database(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(tmp_path / "musicbox.sqlite3")
    yield connection
    connection.close()


def store(tmp_path: Path, database: sqlite3.Connection, budget: int = 10 * 2**20) -> AudioStore:
    return AudioStore(tmp_path / "audio", database, budget_bytes=budget)


def ffmpeg_children(writing_into: Path | None = None) -> list[psutil.Process]:
    """This process's ffmpeg children (the media world's tone maker included, unless only those
    writing into `writing_into` are asked for)."""
    children = [child for child in psutil.Process().children(recursive=True) if child.name() == "ffmpeg"]
    if writing_into is None:
        return children
    return [child for child in children if any(str(writing_into) in arg for arg in child.cmdline())]


async def packets(source: discord.AudioSource, *, no_ffmpeg: bool = False) -> int:
    """How many packets a listener got from `source`, read to its end; with `no_ffmpeg`, fails if
    ffmpeg ran while it played."""

    def drain() -> int:
        count = 0
        while source.read():
            count += 1
            if no_ffmpeg and count % 20 == 0:
                assert ffmpeg_children() == []
        return count

    try:
        return await asyncio.to_thread(drain)
    finally:
        source.cleanup()


async def play_to_end(cached: CachedAudio, track: TrackId, url: str, *, watch_children: bool = False) -> int:
    """How many packets a listener got; with `watch_children`, fails if ffmpeg ran while playing."""
    source = await cached.source(track, url)
    assert source.is_opus()
    return await packets(source, no_ffmpeg=watch_children)


async def wait_cached(cached: CachedAudio, track: TrackId) -> None:
    async with asyncio.timeout(20):
        while not cached.store.contains(str(track)):  # noqa: ASYNC110 (committed on a worker thread)
            await asyncio.sleep(0.02)


async def test_an_uncached_song_plays_while_cached_and_then_plays_with_no_ffmpeg(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    track, url = TrackId("http", "song-7"), media_world.track_url(7, seconds=SECONDS)
    assert await play_to_end(cached, track, url) == FRAMES
    await wait_cached(cached, track)
    assert await play_to_end(cached, track, url, watch_children=True) == FRAMES
    assert cached.transcodes_started == 1
    assert (cached.store.hits, cached.store.misses) == (1, 1)
    await cached.aclose()


async def test_a_fill_runs_behind_the_bot_so_a_burst_of_new_songs_cannot_starve_its_event_loop(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    audio_store = store(tmp_path, database)
    cached = CachedAudio(audio_store, max_transcodes=2)
    track = TrackId("http", "song-12")
    source = await cached.source(track, media_world.track_url(12, seconds=SECONDS, fault="trickle"))
    try:
        [fill] = ffmpeg_children(writing_into=audio_store.directory)
        assert fill.nice() == min(19, psutil.Process().nice() + BATCH_NICENESS)
    finally:
        source.cleanup()
        await cached.aclose()


async def test_two_guilds_asking_for_the_same_new_song_share_one_transcode(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    track, url = TrackId("http", "song-8"), media_world.track_url(8, seconds=SECONDS)
    heard = await asyncio.gather(play_to_end(cached, track, url), play_to_end(cached, track, url))
    assert heard == [FRAMES, FRAMES]
    assert cached.transcodes_started == 1
    await cached.aclose()


async def test_a_transcode_killed_mid_song_leaves_nothing_playable(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    audio_store = store(tmp_path, database)
    cached = CachedAudio(audio_store, max_transcodes=2)
    track = TrackId("http", "song-9")
    url = media_world.track_url(9, seconds=SECONDS, fault="trickle")  # slow enough to kill mid-way
    source = await cached.source(track, url)
    await asyncio.sleep(0.5)
    await cached.aclose()  # the bot stopping: ffmpeg killed mid-write
    source.cleanup()
    # Only the cache's own transcodes: on a fresh clone the media world may still be making the tone.
    assert ffmpeg_children(writing_into=audio_store.directory) == []
    assert not audio_store.contains(str(track))
    assert list(audio_store.directory.glob(f"*{PARTIAL}")) == []
    restarted = AudioStore(audio_store.directory, database, budget_bytes=10 * 2**20)
    assert restarted.stats().entries == 0 and restarted.lookup(str(track)) is None


async def test_a_crash_leftover_part_file_is_cleared_and_the_index_survives_a_restart(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    track = TrackId("http", "song-10")
    await play_to_end(cached, track, media_world.track_url(10, seconds=SECONDS))
    await wait_cached(cached, track)
    await cached.aclose()
    leftover = cached.store.directory / f"deadbeef.1.2{PARTIAL}"
    leftover.write_bytes(b"OggS half a song")  # what a power cut mid-write leaves
    restarted = AudioStore(cached.store.directory, database, budget_bytes=10 * 2**20)
    assert not leftover.exists()
    assert restarted.stats().entries == 1
    again = CachedAudio(restarted, max_transcodes=2)
    assert await play_to_end(again, track, "http://127.0.0.1:9/unreachable", watch_children=True) == FRAMES
    assert again.transcodes_started == 0


async def test_eviction_spares_the_queued_song_and_drops_the_one_nobody_wants(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    async def cache_song(cached: CachedAudio, index: int) -> None:
        track = TrackId("http", f"song-{index}")
        await play_to_end(cached, track, media_world.track_url(index, seconds=SECONDS))
        await wait_cached(cached, track)

    probe = CachedAudio(AudioStore(tmp_path / "probe", database, budget_bytes=2**30), max_transcodes=1)
    await cache_song(probe, 11)
    song_bytes = probe.store.stats().used_bytes
    await probe.aclose()

    queued = {"http:song-11"}
    audio_store = store(tmp_path, database, budget=int(song_bytes * 2.5))  # room for two songs
    cached = CachedAudio(audio_store, max_transcodes=2, queued_keys=lambda: queued)
    for index in (11, 12, 13):
        await cache_song(cached, index)
    assert audio_store.contains("http:song-11")  # oldest, but still queued in a guild: kept
    assert not audio_store.contains("http:song-12")  # played once, wanted by nobody: evicted
    assert audio_store.contains("http:song-13")
    assert audio_store.stats().used_bytes <= song_bytes * 2.5
    await cached.aclose()


@pytest.mark.parametrize("damaged_from", [0, 3000], ids=["from its start", "part-way"])
async def test_a_damaged_cached_file_is_dropped_logged_once_and_the_song_still_plays_whole(
    media_world: MediaWorld,
    tmp_path: Path,
    database: sqlite3.Connection,
    caplog: pytest.LogCaptureFixture,
    damaged_from: int,
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    track, url = TrackId("http", f"song-11-{damaged_from}"), media_world.track_url(11, seconds=SECONDS)
    await play_to_end(cached, track, url)
    await wait_cached(cached, track)
    path = cached.store.file_for(str(track))
    good = path.read_bytes()
    path.write_bytes(good[:damaged_from] + bytes(range(256)) * (len(good) // 256))  # a disk error
    with caplog.at_level(logging.WARNING):
        heard = await play_to_end(cached, track, url)
    assert abs(heard - FRAMES) <= 3, heard  # the whole song, the rest of it from its source
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert f"the cached file of {track} was damaged" in warning
    if damaged_from == 0:  # found at once: the song was played from a new fill, cached afresh
        await wait_cached(cached, track)
        assert starts_as_opus(path.read_bytes()[:512])
    else:  # found part-way: the file is gone, the next play caches it again
        assert not path.exists() and not cached.store.contains(str(track))
    await cached.aclose()


async def test_a_stream_of_unknown_length_stops_at_the_longest_song_and_within_the_cache_budget(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    # The host does not say how long it is (duration_s=None), as a live stream would not.
    by_time = CachedAudio(store(tmp_path / "t", database), max_transcodes=1, max_track_s=1)
    heard_s = (
        await play_to_end(by_time, TrackId("http", "live-1"), media_world.track_url(11, seconds=4)) * 0.02
    )
    assert 0.9 <= heard_s <= 1.2, heard_s
    budget = 12_000  # about 0.7 s of Opus: the whole cache is smaller than the stream
    by_size = CachedAudio(store(tmp_path / "s", database, budget=budget), max_transcodes=1)
    track = TrackId("http", "live-2")
    heard_s = await play_to_end(by_size, track, media_world.track_url(12, seconds=4)) * 0.02
    assert heard_s < 1.0, heard_s
    assert all(path.stat().st_size <= budget + 8192 for path in (tmp_path / "s" / "audio").iterdir())
    await by_time.aclose()
    await by_size.aclose()


async def _file_lufs(path: Path) -> float:
    measuring = await asyncio.create_subprocess_exec(
        "ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-af", "ebur128", "-f", "null", "-",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, report = await measuring.communicate()
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", report.decode())[-1])


async def test_a_song_cached_before_normalisation_is_brought_to_the_target_when_next_played_without_fetching(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    track, url = TrackId("http", "quiet-9"), media_world.track_url(9, seconds=SECONDS, gain_db=-20)
    before = CachedAudio(
        store(tmp_path, database), max_transcodes=2
    )  # normalisation off, as before it existed
    await play_to_end(before, track, url)
    await wait_cached(before, track)
    path = before.store.file_for(str(track))
    assert before.store.loudness(str(track)) == (None, None) and await _file_lufs(path) < -35
    fetched = len(media_world.requests("/media/9/"))

    after = CachedAudio(store(tmp_path, database), max_transcodes=2, loudness_lufs=-14)
    assert await play_to_end(after, track, url) == FRAMES  # heard whole while brought over
    async with asyncio.timeout(20):
        while after.store.loudness(str(track)) == (None, None):  # noqa: ASYNC110 (a worker thread commits)
            await asyncio.sleep(0.02)
    measured, target = after.store.loudness(str(track)) or (None, None)
    assert target == -14 and measured is not None and measured < -35
    assert abs(await _file_lufs(path) - -14) <= 1.0
    assert len(media_world.requests("/media/9/")) == fetched  # from its own file: nothing fetched
    assert await play_to_end(after, track, url, watch_children=True) == FRAMES  # then passthrough
    assert after.transcodes_started == 1


async def test_a_purge_while_running_keeps_what_plays_or_is_queued(
    tmp_path: Path, database: sqlite3.Connection
) -> None:
    audio_store = store(tmp_path, database)
    for key in ("played-last-week", "queued-next", "never-again"):
        partial = audio_store.partial_for(key)
        partial.write_bytes(b"\0" * 4096)
        audio_store.commit(key, partial)
    cached = CachedAudio(audio_store, max_transcodes=1, queued_keys=lambda: {"queued-next"})
    assert await cached.purge_unused() == (2, 8192)
    assert audio_store.all_keys() == ["queued-next"] and audio_store.contains("queued-next")
    assert not audio_store.file_for("never-again").exists()


async def test_a_direct_file_s_transcode_starts_while_it_is_probed_and_its_play_reads_that_one(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    resolver = _resolver(media_world, tmp_path, cached)
    url = media_world.track_url(11, fmt="mp3", seconds=SECONDS)
    try:
        [track] = await resolver.resolve(url)
        assert cached.transcodes_started == 1  # begun before the song was even queued
        # Its ffmpeg told the length and tags: no ffprobe (a second program's start) for a cold start.
        assert resolver.probes == 0 and resolver.extractions == 0
        assert (track.title, track.artist) == (entry(11).title, entry(11).artist)
        assert track.duration_s is not None and abs(track.duration_s - SECONDS) < 0.1
        assert await play_to_end(cached, track.id, url) == FRAMES
        assert cached.transcodes_started == 1  # the play read the early one: no second ffmpeg
        await wait_cached(cached, track.id)
    finally:
        await resolver.aclose()
        resolver.egress.close()
        await cached.aclose()


async def test_a_radio_station_at_an_mp3_address_is_told_live_and_its_early_transcode_caches_nothing(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    resolver = _resolver(media_world, tmp_path, cached)
    url = media_world.station_url("night.mp3", first=3)  # endless, ICY headers, an .mp3 address
    try:
        [track] = await resolver.resolve(url)
        assert track.live and track.id == TrackId(LIVE, url)
        assert (track.title, track.duration_s) == ("Radio night.mp3", None)
        assert cached.transcodes_started == 1 and resolver.probes == 0  # its own ffmpeg told
        # The early transcode of an endless stream stops at once, and leaves nothing behind.
        async with asyncio.timeout(EARLY_WANTED_S / 2):
            while cached.pinned() or ffmpeg_children(tmp_path / "audio"):  # noqa: ASYNC110 (a child)
                await asyncio.sleep(0.05)
        assert cached.store.stats().entries == 0
        assert [path.name for path in (tmp_path / "audio").iterdir()] == []
    finally:
        await resolver.aclose()
        resolver.egress.close()
        await cached.aclose()


BROKEN = {"not_found": "404 Not Found", "not_audio": "not audio", "stall": "stopped sending"}


async def test_a_broken_audio_link_is_told_as_without_a_cache_and_its_transcode_stops(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=len(BROKEN))
    # Long enough for ffmpeg to start and read a 404 on a busy box, or the 404 is told as a stall.
    resolver = _resolver(media_world, tmp_path, cached, probe_timeout_s=3.0)
    try:
        for index, (fault, reason) in enumerate(BROKEN.items()):
            with pytest.raises(QueryFailed) as failure:
                await resolver.resolve(media_world.track_url(40 + index, fault=fault))
            assert reason in failure.value.reason and "\n" not in failure.value.reason, fault
        assert cached.transcodes_started == len(BROKEN)
        # The stall was told by the transcode's silence alone; the others by ffprobe, then yt-dlp
        # (whose answer for the page that is not audio is probed once more, as without a cache).
        assert (resolver.probes, resolver.extractions) == (3, 2)
        async with asyncio.timeout(EARLY_WANTED_S / 2):
            while cached.pinned() or ffmpeg_children(tmp_path / "audio"):  # noqa: ASYNC110 (a child)
                await asyncio.sleep(0.05)
        assert cached.store.stats().entries == 0 and not list((tmp_path / "audio").glob(f"*{PARTIAL}"))
    finally:
        await resolver.aclose()
        resolver.egress.close()
        await cached.aclose()


async def test_songs_asked_for_all_at_once_begin_no_more_transcodes_than_the_tuner_allows(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    await media_world.prepare(range(30, 34), seconds=20)
    urls = [media_world.track_url(index, seconds=20) for index in range(30, 34)]
    try:  # four calls take milliseconds; ffmpeg's start alone takes 60
        for index, url in enumerate(urls):
            await cached.transcode_ahead(TrackId("http", f"song-{index}"), url)
        assert cached.transcodes_started == 2
    finally:
        await cached.aclose()


async def test_an_early_transcode_of_a_song_refused_as_too_long_stops_at_once(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    resolver = _resolver(media_world, tmp_path, cached, max_track_s=5)
    await media_world.prepare([12], seconds=120)
    url = media_world.track_url(12, seconds=120)  # its whole transcode takes a second or more
    try:
        with pytest.raises(QueryFailed, match="long"):
            await resolver.resolve(url)
        assert cached.transcodes_started == 1
        # Abandoned at once; not merely let go when it stops being wanted as an early one.
        async with asyncio.timeout(EARLY_WANTED_S / 2):
            while cached.pinned() or ffmpeg_children(tmp_path / "audio"):  # noqa: ASYNC110 (a child)
                await asyncio.sleep(0.05)
        assert not cached.store.contains(str(TrackId("http", url)))
        assert not list((tmp_path / "audio").glob(f"*{PARTIAL}"))
    finally:
        await resolver.aclose()
        resolver.egress.close()
        await cached.aclose()


async def test_a_song_ends_at_its_length_plus_the_overrun_even_when_its_transcode_began_unbounded(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    # A host that says the song lasts 1 s and sends 12 (as one repeating its start when resumed
    # would): an early transcode knew no length, so the song's own bounds what is played.
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    track, url = TrackId("http", "song-13"), media_world.track_url(13, seconds=12)
    await cached.transcode_ahead(track, url)
    source = await cached.source(track, url, duration_s=1.0)
    try:
        count = await asyncio.to_thread(lambda: sum(1 for _ in iter(source.read, b"")))
    finally:
        source.cleanup()
        await cached.aclose()
    assert abs(count - (1.0 + OVERRUN_S) / 0.020) <= 1  # not the 601 packets of 12 s


def _resolver(
    media_world: MediaWorld,
    tmp_path: Path,
    cached: CachedAudio,
    *,
    max_track_s: int = 3600,
    probe_timeout_s: float = 10.0,
) -> YtDlpSource:
    config = Config(
        resolver=ResolverConfig(workers=2, allowed_private_hosts=(media_world.host,)),
        playback=PlaybackConfig(max_track_s=max_track_s),
    )
    resolver = YtDlpSource(
        config,
        connect(tmp_path / "sources.db"),
        egress=EgressGate((media_world.host,)),
        probe_timeout_s=probe_timeout_s,
    )
    resolver.transcode_ahead = cached
    return resolver


async def test_a_cached_song_is_sent_as_it_is_without_a_filter_and_through_ffmpeg_from_its_file_with_one(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = CachedAudio(store(tmp_path, database), max_transcodes=2)
    track, url = TrackId("http", "song-15"), media_world.track_url(15, seconds=SECONDS)
    assert await play_to_end(cached, track, url) == FRAMES
    await wait_cached(cached, track)
    plain = await cached.source(track, url, audio_filter=None)
    assert isinstance(plain, CachedOpusSource) and ffmpeg_children() == []  # passthrough: no ffmpeg
    plain.cleanup()
    # Nightcore from 1 s on: the cached file is read (not the song's link), the last second heard in 0.8 s.
    filtered = await cached.source(track, url, start_s=1.0, audio_filter=AudioFilter(Effect.NIGHTCORE))
    (child,) = ffmpeg_children()
    assert str(cached.store.file_for(str(track))) in child.cmdline() and url not in child.cmdline()
    assert 35 <= await packets(filtered) <= 45
    assert cached.transcodes_started == 1  # the cached file stays the song as it is
    await cached.aclose()


@pytest.mark.parametrize("effect", list(Effect))
async def test_every_filter_runs_in_ffmpeg_and_the_song_lasts_its_length_at_the_filters_rate(
    media_world: MediaWorld, effect: Effect
) -> None:
    audio_filter = AudioFilter(effect, 0.5 if effect is Effect.SPEED else 1.0)
    url = media_world.track_url(16, seconds=SECONDS)
    source = DirectAudio().open(url, duration_s=SECONDS, audio_filter=audio_filter)
    expected = SECONDS / audio_filter.rate / 0.020
    assert abs(await packets(source) - expected) <= 5, effect
