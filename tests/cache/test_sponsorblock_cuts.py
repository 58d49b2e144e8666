"""SponsorBlock's cuts in the audio path, with real ffmpeg and the media world's videos: left out by
the transcode that fills the cache (a replay is the clean file, no ffmpeg), cut later from its own
file when SponsorBlock did not answer the first time, and skipped by seeking when played uncached."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from musicbox.cache.audio import CachedAudio
from musicbox.cache.store import AudioStore
from musicbox.core.sponsorblock import Cut, Cuts
from musicbox.core.track import TrackId
from musicbox.playback.direct import DirectAudio
from musicbox.sim.media import MediaWorld
from musicbox.sim.sponsorblock import video
from musicbox.store.database import connect
from tests.cache.test_audio_cache import packets

VIDEO = video("mbxOfftop03")  # 8 s; "music_offtopic" 2-4 s, "sponsor" 7-8 s
OFFTOPIC: Cuts = (Cut(2.0, 4.0),)
BOTH: Cuts = (Cut(2.0, 4.0), Cut(7.0, 8.0))
SLACK = 3  # packets: Opus's pre-skip frame, and where ffmpeg ends a stretch


def frames(seconds: float) -> int:
    return round(seconds / 0.020)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = connect(tmp_path / "musicbox.sqlite3")
    yield connection
    connection.close()


def cache(tmp_path: Path, database: sqlite3.Connection) -> CachedAudio:
    return CachedAudio(AudioStore(tmp_path / "audio", database, budget_bytes=10 * 2**20), max_transcodes=2)


async def until_cut(cached: CachedAudio, key: str, cuts: Cuts | None) -> None:
    async with asyncio.timeout(20):
        while not cached.store.contains(key) or cached.store.cuts(key) != cuts:  # noqa: ASYNC110 (a worker thread commits)
            await asyncio.sleep(0.02)


async def test_a_video_is_cut_as_it_is_cached_and_a_replay_is_the_clean_file_with_no_ffmpeg(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = cache(tmp_path, database)
    track, url = TrackId("youtube", VIDEO.video_id), media_world.video_url(VIDEO.video_id)
    key = str(track)
    first = await packets(await cached.source(track, url, duration_s=8.0, cuts=OFFTOPIC))
    await until_cut(cached, key, OFFTOPIC)
    replay = await packets(await cached.source(track, url, duration_s=8.0, cuts=OFFTOPIC), no_ffmpeg=True)
    assert abs(first - frames(6.0)) <= SLACK and abs(replay - frames(6.0)) <= SLACK, (first, replay)
    # A server that turned the categories off hears it whole, from its source; the file stays cut.
    whole = await packets(await cached.source(track, url, duration_s=8.0, cuts=()))
    assert abs(whole - frames(8.0)) <= SLACK, whole
    assert cached.transcodes_started == 1 and cached.store.cuts(key) == OFFTOPIC
    await cached.aclose()


async def test_a_video_cached_whole_while_sponsorblock_was_down_is_cut_from_its_own_file_when_next_played(
    media_world: MediaWorld, tmp_path: Path, database: sqlite3.Connection
) -> None:
    cached = cache(tmp_path, database)
    track, url = TrackId("youtube", VIDEO.video_id), media_world.video_url(VIDEO.video_id)
    key = str(track)
    # SponsorBlock did not answer: played whole, and cached whole with its cuts "not known".
    whole = await packets(await cached.source(track, url, duration_s=8.0, cuts=None))
    await until_cut(cached, key, None)
    fetched = len(media_world.requests(f"/video/{VIDEO.video_id}"))
    assert abs(whole - frames(8.0)) <= SLACK, whole
    # At another volume (decoded anyway): the whole cached file, its cuts skipped by seeking in it.
    quieter = await packets(await cached.source(track, url, duration_s=8.0, volume=50, cuts=OFFTOPIC))
    assert abs(quieter - frames(6.0)) <= 2 * SLACK and cached.transcodes_started == 1, quieter
    # Known now: cut from the cached file while it plays, nothing fetched again.
    cut = await packets(await cached.source(track, url, duration_s=8.0, cuts=OFFTOPIC))
    await until_cut(cached, key, OFFTOPIC)
    assert len(media_world.requests(f"/video/{VIDEO.video_id}")) == fetched
    replay = await packets(await cached.source(track, url, duration_s=8.0, cuts=OFFTOPIC), no_ffmpeg=True)
    assert abs(cut - frames(6.0)) <= SLACK and abs(replay - frames(6.0)) <= SLACK, (cut, replay)
    assert cached.transcodes_started == 2
    await cached.aclose()


@pytest.mark.parametrize(
    ("start_s", "expected_s", "stretches"),
    [(0.0, 5.0, 2), (3.0, 2.0, 1)],  # 3 s heard is 5 s into the source: the stretch 5-7 s is left
)
async def test_uncached_the_cuts_are_skipped_by_seeking(
    media_world: MediaWorld, start_s: float, expected_s: float, stretches: int
) -> None:
    url = media_world.video_url(VIDEO.video_id)
    heard = await packets(DirectAudio().open(url, start_s=start_s, duration_s=8.0, cuts=BOTH))
    assert abs(heard - frames(expected_s)) <= SLACK * stretches, heard
