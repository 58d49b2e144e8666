"""Internet radio stations found by name in the Radio Browser directory (radio-browser.info), the
public directory most radio bots use.

One search is one GET of `/json/stations/search`, through the egress gate as a document job (its
answer capped like any page a member's words can make the box read) and through `Upstreams`
(retries with jitter, a circuit for the directory). Stations become live Tracks whose address is the
stream itself (`url_resolved`: the directory has already followed .pls and .m3u files)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp

from musicbox.bot.sources import QueryFailed, UpstreamFault
from musicbox.core.track import LIVE, Track, TrackId
from musicbox.sources.egress import EgressGate
from musicbox.sources.upstreams import Upstreams, upstream_of

# The directory asks every client to say who it is.
USER_AGENT = "musicbox/1 (self-hosted Discord music bot)"
ANSWER_BYTES = 512 * 2**10  # 5 stations are a few kB: a larger answer is not the directory's
TIMEOUT_S = 10.0
FAILING = "the radio directory is not answering right now; try again in a few minutes"
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
        answer = await self._upstreams.call(upstream_of(url), lambda: self._get(url))
        return stations(answer)[:limit]

    async def _get(self, url: str) -> Any:
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
        if status >= 500 or status == 429:
            raise QueryFailed(FAILING, UpstreamFault.FAILING)
        if status != 200 or len(body) > ANSWER_BYTES:
            raise QueryFailed(FAILING)
        try:
            return json.loads(body)
        except ValueError:
            raise QueryFailed(FAILING) from None


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
