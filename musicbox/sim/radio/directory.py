"""A fake of the Radio Browser API's station search, served by the media world beside its stations.

`GET /json/stations/search?name=…&limit=…&order=clickcount&reverse=true&hidebroken=true` answers as
Radio Browser does: a JSON list of stations (name, url, url_resolved, codec, bitrate, tags,
clickcount, lastcheckok, …), names matched case-insensitively as substrings, `hidebroken` leaving
out stations whose last check failed. Each station streams from the media world (`station_url`).
An outage (`fail_with(status)`) answers every search with that status."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

MAX_LIMIT = 100_000  # Radio Browser's own cap is far above anything a bot asks


@dataclass(frozen=True, slots=True)
class Station:
    name: str
    first: int  # the catalog song on air first (the station's tone: what a listener hears)
    clicks: int
    tags: str = ""
    broken: bool = False  # the directory's last check of it failed
    fault: str | None = None  # served with this station fault ("drop", "die", "dead")


STATIONS = (
    Station("Lounge FM", first=10, clicks=900, tags="lounge,chill"),
    Station("Night Jazz Radio", first=20, clicks=1500, tags="jazz"),
    Station("Jazz Cafe", first=30, clicks=300, tags="jazz,cafe"),
    Station("Jazz Static", first=35, clicks=5000, tags="jazz", broken=True, fault="dead"),
    Station("Off Air Jazz", first=38, clicks=50, tags="jazz", fault="dead"),
)


class RadioDirectoryFake:
    def __init__(self, station_url: Callable[[Station], str]) -> None:
        self._station_url = station_url
        self._failing: int | None = None
        self._lock = threading.Lock()
        self.searches: list[str] = []

    def fail_with(self, status: int | None) -> None:
        """Answer every search with `status` (None: answer again)."""
        self._failing = status

    async def search(self, request: web.Request) -> web.Response:
        words = request.query.get("name", "").lower()
        with self._lock:
            self.searches.append(words)
        if self._failing is not None:
            raise _status(self._failing)
        limit = max(0, min(int(request.query.get("limit", "100000") or 0), MAX_LIMIT))
        found = [s for s in STATIONS if words in s.name.lower()]
        if request.query.get("hidebroken") == "true":
            found = [s for s in found if not s.broken]
        if request.query.get("order") == "clickcount":
            found.sort(key=lambda s: s.clicks, reverse=request.query.get("reverse") == "true")
        return web.json_response([self._payload(index, s) for index, s in enumerate(found[:limit])])

    def _payload(self, index: int, station: Station) -> dict[str, object]:
        url = self._station_url(station)
        return {
            "changeuuid": f"c{index:08d}",
            "stationuuid": f"s{station.first:08d}",
            "name": station.name,
            "url": url,
            "url_resolved": url,
            "homepage": "",
            "favicon": "",
            "tags": station.tags,
            "countrycode": "NL",
            "codec": "MP3",
            "bitrate": 64,
            "hls": 0,
            "lastcheckok": 0 if station.broken else 1,
            "clickcount": station.clicks,
            "votes": station.clicks // 10,
        }


def _status(status: int) -> web.HTTPException:
    error = web.HTTPException(text="the directory is having a bad day")
    error.set_status(status)
    return error
