"""The media world serves what its addresses promise, and breaks exactly as each fault says."""

from __future__ import annotations

import asyncio
import json
import subprocess

import aiohttp
import pytest

from musicbox.sim.media import FAULTS, MediaWorld, entry
from musicbox.sim.media.catalog import CATALOG_SIZE, entries, search
from musicbox.sim.signature import analyse_frame, ladder_index


def test_catalog_names_are_distinct_and_stable() -> None:
    titles = [song.full_title for song in entries()]
    assert len(set(titles)) == CATALOG_SIZE
    assert entry(0).full_title == "The Lanterns - Blue Harbour"
    assert all(6 <= song.duration_s <= 12 for song in entries())


def test_catalog_search_needs_every_word() -> None:
    found = search("lanterns blue", 10)
    assert found and all("Blue" in s.title and s.artist == "The Lanterns" for s in found)
    assert search("no such words", 5) == []


def _decoded_rung(url: str) -> int | None:
    pcm = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", url, "-f", "s16le", "-ac", "2", "-ar", "48k", "-"],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    middle = len(pcm) // 2 // 3840 * 3840
    return ladder_index(analyse_frame(pcm[middle : middle + 3840]).freq_hz)


@pytest.mark.parametrize("fmt", ["ogg", "webm", "m4a", "mp3", "flac", "wav"])
def test_every_format_plays_the_entrys_tone(media_world: MediaWorld, fmt: str) -> None:
    url = media_world.track_url(5, fmt=fmt, seconds=2)
    assert _decoded_rung(url) == 5
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", url],
        capture_output=True,
        check=True,
        timeout=30,
    )
    assert abs(float(json.loads(probe.stdout)["format"]["duration"]) - 2) < 0.1


async def test_range_requests_are_honoured(media_world: MediaWorld) -> None:
    url = media_world.track_url(6, fmt="wav", seconds=1)
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as whole:
            body = await whole.read()
        async with http.get(url, headers={"Range": "bytes=100-199"}) as part:
            assert part.status == 206
            assert await part.read() == body[100:200]


async def test_each_file_is_generated_once() -> None:
    async with MediaWorld.start() as world:
        url = world.track_url(7, seconds=1)
        async with aiohttp.ClientSession() as http:

            async def fetch() -> bytes:
                async with http.get(url) as response:
                    return await response.read()

            bodies = await asyncio.gather(*(fetch() for _ in range(5)))
        assert len(set(bodies)) == 1 and len(bodies[0]) > 1000
        assert len(list(world._tones._directory.iterdir())) == 1
        assert len(world.requests("/media/7/")) == 5


async def test_page_playlists_and_search_link_to_catalog_audio(media_world: MediaWorld) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(media_world.page_url(3)) as page:
            text = await page.text()
        assert f"<title>{entry(3).full_title}</title>" in text and media_world.track_url(3) in text
        for kind in ("html", "rss", "xspf"):
            async with http.get(media_world.playlist_url(4, kind=kind, first_index=10)) as listing:
                body = await listing.text()
            assert all(media_world.track_url(10 + i).replace("&", "&amp;") in body for i in range(4)), kind
        async with http.get(media_world.search_url("lanterns blue", 3)) as feed:
            body = await feed.text()
        assert body.count("<track>") == 3 and "Blue Harbour" in body


STATUS_FAULTS = {"not_found": 404, "forbidden": 403, "server_error": 500}


async def test_faults_break_as_named(media_world: MediaWorld) -> None:
    assert set(STATUS_FAULTS) | {"stall", "truncated", "trickle", "wrong_type", "not_audio"} <= FAULTS
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for fault, status in STATUS_FAULTS.items():
            async with http.get(media_world.track_url(1, fault=fault)) as response:
                assert response.status == status
        async with http.get(media_world.track_url(1, fault="wrong_type")) as response:
            assert response.content_type == "text/html" and (await response.read())[:4] == b"OggS"
        async with http.get(media_world.track_url(1, fault="not_audio")) as response:
            assert b"OggS" not in await response.read()
        with pytest.raises(aiohttp.TooManyRedirects):
            await http.get(media_world.track_url(1, fault="redirect_loop"), max_redirects=5)
        async with http.get(media_world.track_url(1, fault="truncated")) as response:
            with pytest.raises(aiohttp.ClientPayloadError):
                await response.read()
        async with http.get(media_world.track_url(1, fault="stall")) as response:
            first = await response.content.read(4096)
            assert first[:4] == b"OggS"
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    await response.content.read(1)


async def test_trickle_delivers_everything_slowly(media_world: MediaWorld) -> None:
    url = media_world.track_url(2, fmt="wav", seconds=0.05)
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as whole:
            expected = await whole.read()
        started = loop.time()
        async with http.get(url + "?fault=trickle") as slow:
            assert await slow.read() == expected
    chunks = -(-len(expected) // 2048)
    assert loop.time() - started >= 0.25 * (chunks - 1)


def test_bad_addresses_are_refused_with_the_allowed_values(media_world: MediaWorld) -> None:
    with pytest.raises(ValueError, match="fmt must be one of"):
        media_world.track_url(1, fmt="aiff")
    with pytest.raises(ValueError, match="fault must be one of"):
        media_world.track_url(1, fault="gremlins")
    with pytest.raises(ValueError, match="playlist kind"):
        media_world.playlist_url(3, kind="m3u")
