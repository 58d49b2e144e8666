"""Internet radio stations found by name in the Radio Browser directory (radio-browser.info), the
public directory most radio bots use.

One search is one GET of `/json/stations/search`, through the egress gate as a document job (its
answer capped like any page a member's words can make the box read) and through `Upstreams`
(retries with jitter, a circuit for the directory). Stations become live Tracks whose address is the
stream itself (`url_resolved`: the directory has already followed .pls and .m3u files)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from musicbox.core.track import LIVE, Track, TrackId
from musicbox.sources.egress import EgressGate
from musicbox.sources.json_api import JsonApi
from musicbox.sources.upstreams import Upstreams, upstream_of

# 5 stations are a few kB.
DIRECTORY = JsonApi("the radio directory is not answering right now; try again in a few minutes", 512 * 2**10)
STATION_NAME_MAX = 200


class RadioDirectory:
    def __init__(self, base_url: str, egress: EgressGate, upstreams: Upstreams | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._egress = egress
        self._upstreams = upstreams or Upstreams()

    async def search(self, words: str, *, limit: int = 5) -> list[Track]:
        """The stations whose name matches `words`, most listened to first, working ones only."""
        query = urlencode(
            {"name": words, "limit": limit, "hidebroken": "true", "order": "clickcount", "reverse": "true"}
        )
        url = f"{self._base_url}/json/stations/search?{query}"
        answer = await self._upstreams.call(upstream_of(url), lambda: DIRECTORY.get(self._egress, url))
        return stations(answer)[:limit]


def stations(answer: Any) -> list[Track]:
    """The playable stations of a directory answer (pure: table-tested); anything malformed is left out."""
    found: list[Track] = []
    if not isinstance(answer, Sequence):
        return found
    for item in answer:
        if not isinstance(item, Mapping):
            continue
        url = item.get("url_resolved") or item.get("url")
        name = item.get("name")
        web = isinstance(url, str) and url.startswith(("http://", "https://"))
        if not web or not isinstance(name, str):
            continue
        assert isinstance(url, str)
        title = " ".join(name.split())[:STATION_NAME_MAX] or url
        found.append(Track(TrackId(LIVE, url), title, url))
    return found
