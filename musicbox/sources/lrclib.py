"""Lyrics from LRCLIB (lrclib.net), a free lyrics database with synced (LRC) lyrics and an open API.

The song playing is asked for by name first (`/api/get`: track, artist and length, as LRCLIB asks
players to), and when LRCLIB has no such record, or the track has no artist, searched for
(`/api/search?q=`) and chosen by `lyrics.best_record`. A member's own words are searched and
LRCLIB's first record with lyrics is taken. Every call goes through the egress gate as a document job
(its answer capped) and through `Upstreams` (retries with jitter, a circuit for LRCLIB), as /radio's
directory does."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

from musicbox.core.track import Track
from musicbox.sources.egress import EgressGate
from musicbox.sources.json_api import JsonApi
from musicbox.sources.lyrics import Lyrics, best_record, lyrics_of
from musicbox.sources.upstreams import Upstreams, upstream_of

# A search answers up to 20 records with their lyrics: some hundred kB.
LRCLIB = JsonApi("the lyrics site is not answering right now; try again in a few minutes", 2 * 2**20)


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
        fetched = partial(LRCLIB.get, self._egress, url, missing_ok=True)
        return await self._upstreams.call(upstream_of(url), fetched)


def _search_words(track: Track) -> str:
    if track.artist and track.artist.lower() not in track.title.lower():
        return f"{track.artist} {track.title}"
    return track.title
