"""SpotifySource against the Spotify fake and the media world: spotipy does the HTTP, yt-dlp the search."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from musicbox.bot.sources import QueryFailed
from musicbox.core.config import Config, ResolverConfig, SpotifyConfig
from musicbox.sim.media import MediaWorld, entry
from musicbox.sim.spotify import SpotifyFake, album_id, artist_id, track_id
from musicbox.sources.egress import EgressGate
from musicbox.sources.spotify import CREDENTIALS_REFUSED, SpotifySource
from musicbox.sources.ytdlp import SPOTIFY_NEEDS_SETUP, YtDlpSource
from musicbox.store.database import connect
from tests.fixtures.spotify import spotify_config


@asynccontextmanager
async def spotify_source(
    media: MediaWorld, spotify: SpotifyConfig, state_dir: Path
) -> AsyncIterator[SpotifySource]:
    # The fake Spotify API is on 127.0.0.1 like the media world: both allowed through the gate.
    spotify_hosts = tuple(urlsplit(base).netloc for base in (spotify.api_base, spotify.accounts_base))
    resolver = ResolverConfig(
        workers=2, search_template=media.search_template, allowed_private_hosts=(media.host, *spotify_hosts)
    )
    config = Config(resolver=resolver, spotify=spotify)
    database = connect(state_dir / "sources.sqlite3")
    egress = EgressGate(resolver.allowed_private_hosts)
    resolving = YtDlpSource(config, database, egress=egress)
    source = SpotifySource(
        spotify,
        database,
        resolving,
        max_playlist=1000,
        upstreams=resolving.upstreams,
        proxy_url=egress.proxy_url,
    )
    try:
        yield source
    finally:
        await source.aclose()
        egress.close()
        database.close()


async def test_a_pasted_track_link_reads_spotify_and_plays_the_matching_song(
    media_world: MediaWorld, spotify_fake: SpotifyFake, tmp_path: Path
) -> None:
    async with spotify_source(media_world, spotify_config(spotify_fake), tmp_path) as source:
        link = f"https://open.spotify.com/intl-de/track/{track_id(412)}?si=abc123"
        [track] = await source.resolve(link)
        song = entry(412)
        assert (track.id.source, track.id.key) == ("spotify", track_id(412))
        assert (track.title, track.artist, track.duration_s) == (song.title, song.artist, song.duration_s)
        assert f"/media/412/{song.duration_s:g}/" in await source.media_url(track)


async def test_albums_and_artists_read_in_spotify_order(
    media_world: MediaWorld, spotify_fake: SpotifyFake, tmp_path: Path
) -> None:
    async with spotify_source(media_world, spotify_config(spotify_fake), tmp_path) as source:
        album = await source.resolve(f"spotify:album:{album_id(3)}")
        assert [t.id.key for t in album] == [track_id(k) for k in (12, 13, 14, 15)]
        top = await source.resolve(f"https://open.spotify.com/artist/{artist_id(entry(0).artist)}")
        assert len(top) == 10 and all(t.artist == entry(0).artist for t in top)


async def test_a_long_playlist_is_read_page_by_page_and_a_429_is_waited_out(
    media_world: MediaWorld, spotify_fake: SpotifyFake, tmp_path: Path
) -> None:
    playlist = spotify_fake.add_playlist(list(range(250)))
    spotify_fake.throttle_playlist_page(100, retry_after_s=1)
    reports: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        reports.append((done, total))

    async with spotify_source(media_world, spotify_config(spotify_fake), tmp_path) as source:
        tracks = await source.resolve(f"https://open.spotify.com/playlist/{playlist}", progress=progress)
        assert [t.id.key for t in tracks] == [track_id(k) for k in range(250)]
        assert reports == [(100, 250), (200, 250), (250, 250)]
        assert (spotify_fake.throttled, source.rate_limit_waits) == (1, 1)
        assert source.searches == 0  # reading matched nothing yet: matching waits for playback


async def test_the_first_page_is_playable_while_the_rest_of_the_playlist_is_still_read(
    media_world: MediaWorld, spotify_fake: SpotifyFake, tmp_path: Path
) -> None:
    playlist = spotify_fake.add_playlist(list(range(300)))
    spotify_fake.throttle_playlist_page(100, retry_after_s=1)
    async with spotify_source(media_world, spotify_config(spotify_fake), tmp_path) as source:
        started = time.monotonic()
        arrivals: list[tuple[int, float]] = []
        async for batch in source.batches(f"spotify:playlist:{playlist}"):
            arrivals.append((len(batch), time.monotonic() - started))
            if len(arrivals) == 1:
                assert "/media/0/" in await source.media_url(batch[0])
                playable_at = time.monotonic() - started
        assert [count for count, _ in arrivals] == [100, 100, 100]
        assert playable_at < arrivals[1][1]  # playable before page two, held up by the 429, arrived
        assert arrivals[1][1] - arrivals[0][1] >= 1.0


async def test_a_matched_track_is_not_searched_again_even_after_a_restart(
    media_world: MediaWorld, spotify_fake: SpotifyFake, tmp_path: Path
) -> None:
    config = spotify_config(spotify_fake)
    async with spotify_source(media_world, config, tmp_path) as source:
        [track] = await source.resolve(f"spotify:track:{track_id(7)}")
        first = await source.media_url(track)
        assert await source.media_url(track) == first
        assert source.searches == 1
    async with spotify_source(media_world, config, tmp_path) as restarted:
        [again] = await restarted.resolve(f"spotify:track:{track_id(7)}")
        assert await restarted.media_url(again) == first
        assert restarted.searches == 0


async def test_a_revoked_token_is_replaced_without_the_member_noticing(
    media_world: MediaWorld, spotify_fake: SpotifyFake, tmp_path: Path
) -> None:
    async with spotify_source(media_world, spotify_config(spotify_fake), tmp_path) as source:
        await source.resolve(f"spotify:track:{track_id(1)}")
        spotify_fake.revoke_tokens()
        [track] = await source.resolve(f"spotify:track:{track_id(2)}")
        assert track.title == entry(2).title
        assert len(spotify_fake.requests("/api/token")) == 2


@pytest.mark.parametrize(
    ("link", "secret", "reason"),
    [
        (f"spotify:track:{'x' * 22}", None, "Spotify has nothing at that link (404)"),
        (f"spotify:playlist:{'p' * 22}", None, "Spotify has nothing at that link (404)"),
        (f"spotify:track:{track_id(1)}", "wrong-secret", CREDENTIALS_REFUSED),
        (f"spotify:track:{track_id(1)}", "", SPOTIFY_NEEDS_SETUP),
    ],
    ids=["missing track", "missing playlist", "bad credentials", "not configured"],
)
async def test_spotify_failures_are_one_sentence(
    media_world: MediaWorld,
    spotify_fake: SpotifyFake,
    tmp_path: Path,
    link: str,
    secret: str | None,
    reason: str,
) -> None:
    config = spotify_config(spotify_fake, secret=secret)
    async with spotify_source(media_world, config, tmp_path) as source:
        with pytest.raises(QueryFailed) as failed:
            await source.resolve(link)
        assert failed.value.reason.startswith(reason)


async def test_everything_else_goes_to_the_wrapped_source(
    media_world: MediaWorld, spotify_fake: SpotifyFake, tmp_path: Path
) -> None:
    async with spotify_source(media_world, spotify_config(spotify_fake), tmp_path) as source:
        [track] = await source.resolve(media_world.track_url(3, seconds=2))
        assert track.title == entry(3).title
        assert spotify_fake.requests() == []
