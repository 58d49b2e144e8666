"""Lyrics from LRCLIB (lrclib.net), a free lyrics database with synced (LRC) lyrics and an open API.

The song playing is asked for by name first (`/api/get`: track, artist and length, as LRCLIB asks
players to), and when LRCLIB has no such record, or the track has no artist, searched for
(`/api/search?q=`) and chosen by `lyrics.best_record`. A member's own words are searched and
LRCLIB's first record with lyrics is taken. Every call goes through the egress gate as a document job
(its answer capped) and through `Upstreams` (retries with jitter, a circuit for LRCLIB), as /radio's
directory does."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import aiohttp

from musicbox.bot.sources import QueryFailed, UpstreamFault
from musicbox.core.track import Track
from musicbox.sources.egress import EgressGate
from musicbox.sources.lyrics import Lyrics, best_record, lyrics_of
from musicbox.sources.upstreams import Upstreams, upstream_of

# LRCLIB asks every client to name itself and its home page.
USER_AGENT = "musicbox/1 (self-hosted Discord music bot)"
ANSWER_BYTES = 2 * 2**20  # a search answers up to 20 records with their lyrics: some hundred kB
TIMEOUT_S = 10.0
FAILING = "the lyrics site is not answering right now; try again in a few minutes"


class Lrclib:
    def __init__(self, base_url: str, egress: EgressGate, upstreams: Upstreams | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._egress = egress
        self._upstreams = upstreams or Upstreams()

    async def for_track(self, track: Track) -> Lyrics | None:
        """The lyrics of `track`, or None when LRCLIB has none for it."""
        if track.artist:
            query = {"track_name": track.title, "artist_name": track.artist}
            if track.duration_s is not None:
                query["duration"] = str(round(track.duration_s))
            record = await self._fetch(f"/api/get?{urlencode(query)}")
            found = best_record(track, [record]) if record is not None else None
            if found is not None:
                return lyrics_of(found)
        records = await self._fetch(f"/api/search?{urlencode({'q': _search_words(track)})}")
        found = best_record(track, records if isinstance(records, list) else [])
        return None if found is None else lyrics_of(found)

    async def for_words(self, words: str) -> Lyrics | None:
        """The lyrics of LRCLIB's best record for a member's words (a title, perhaps an artist)."""
        records = await self._fetch(f"/api/search?{urlencode({'q': words})}")
        for record in records if isinstance(records, list) else []:
            lyrics = lyrics_of(record)
            if lyrics is not None:
                return lyrics
        return None

    async def _fetch(self, path: str) -> Any:
        url = f"{self._base_url}{path}"
        return await self._upstreams.call(upstream_of(url), lambda: self._get(url))

    async def _get(self, url: str) -> Any:
        """The answer's JSON; None for LRCLIB's 404 (no such record)."""
        with self._egress.job(document=True) as job:
            try:
                async with (
                    aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http,
                    http.get(url, proxy=job.proxy_url, headers={"User-Agent": USER_AGENT}) as response,
                ):
                    body = await response.content.read(ANSWER_BYTES + 1)
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                raise QueryFailed(job.failure or FAILING, UpstreamFault.FAILING) from None
        if status == 404:
            return None
        if status >= 500 or status == 429:
            raise QueryFailed(FAILING, UpstreamFault.FAILING)
        if status != 200 or len(body) > ANSWER_BYTES:
            raise QueryFailed(FAILING)
        try:
            return json.loads(body)
        except ValueError:
            raise QueryFailed(FAILING) from None


def _search_words(track: Track) -> str:
    if track.artist and track.artist.lower() not in track.title.lower():
        return f"{track.artist} {track.title}"
    return track.title
