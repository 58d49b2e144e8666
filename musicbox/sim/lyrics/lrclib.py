"""A fake of LRCLIB's API (lrclib.net), served by the media world beside its songs.

`GET /api/get?track_name=&artist_name=&album_name=&duration=` answers the one record with that
track and artist (case-insensitive) and, when `duration` is given, a length within 2 s of it, as
LRCLIB does; otherwise 404 with LRCLIB's `TrackNotFound` body. `GET /api/search?q=` answers every
record whose track, artist and album names hold all the words of `q` (or `track_name=` and
`artist_name=`), as LRCLIB's list of records. An outage (`fail_with(status)`) answers every request
with that status."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from aiohttp import web

from musicbox.sim.media.catalog import entry

DURATION_SLACK_S = 2.0  # LRCLIB's own tolerance for /api/get's duration
HOSTILE_LINE = "@everyone **sing along** <@123456789>"


@dataclass(frozen=True, slots=True)
class SongLyrics:
    index: int  # the catalog song (its title, artist and album)
    duration_s: float
    synced: str | None = None
    plain: str | None = None
    title_suffix: str = ""  # a namesake's marker ("(Live)")

    @property
    def instrumental(self) -> bool:
        return self.synced is None and self.plain is None


def synced_lines(index: int, count: int, every_s: float) -> list[tuple[float, str]]:
    """The timed lines of song `index`'s synced lyrics: line n is sung at (n + 1) * every_s; the
    fifth is hostile text (a mass mention and markdown)."""
    title = entry(index).title
    return [
        ((n + 1) * every_s, HOSTILE_LINE if n == 4 else f"line {n + 1} of {title}, la la la")
        for n in range(count)
    ]


def _lrc(lines: list[tuple[float, str]]) -> str:
    return "\n".join(f"[{int(at // 60):02d}:{at % 60:05.2f}] {words}" for at, words in lines)


LYRICS = (
    # Synced lyrics long enough for three pages, one line a second.
    SongLyrics(
        60,
        40.0,
        synced=_lrc(synced_lines(60, 40, 1.0)),
        plain="\n".join(words for _, words in synced_lines(60, 40, 1.0)),
    ),
    # Its live namesake: the same names, another length and other words (the matcher must not take it).
    SongLyrics(60, 245.0, plain="the wrong version's words", title_suffix=" (Live)"),
    # Plain lyrics only.
    SongLyrics(62, 8.0, plain="a plain first line\n\na plain second line"),
    # An instrumental: LRCLIB has the record and no lyrics.
    SongLyrics(61, 8.0),
)


class LrclibFake:
    def __init__(self) -> None:
        self._failing: int | None = None
        self._lock = threading.Lock()
        self.requests: list[str] = []

    def fail_with(self, status: int | None) -> None:
        """Answer every request with `status` (None: answer again)."""
        self._failing = status

    def _admit(self, request: web.Request) -> None:
        with self._lock:
            self.requests.append(request.path_qs)
        if self._failing is not None:
            error = web.HTTPException(text="LRCLIB is having a bad day")
            error.set_status(self._failing)
            raise error

    async def get(self, request: web.Request) -> web.Response:
        self._admit(request)
        name = request.query.get("track_name", "").lower()
        artist = request.query.get("artist_name", "").lower()
        duration = request.query.get("duration")
        for number, song in enumerate(LYRICS):
            record = _record(number, song)
            same = str(record["trackName"]).lower() == name and str(record["artistName"]).lower() == artist
            if same and (duration is None or abs(float(duration) - song.duration_s) <= DURATION_SLACK_S):
                return web.json_response(record)
        body = {"code": 404, "name": "TrackNotFound", "message": "Failed to find specified track"}
        return web.json_response(body, status=404)

    async def search(self, request: web.Request) -> web.Response:
        self._admit(request)
        asked = (request.query.get(key, "") for key in ("q", "track_name", "artist_name"))
        words = " ".join(asked).lower().split()
        found = []
        for number, song in enumerate(LYRICS):
            record = _record(number, song)
            names = f"{record['trackName']} {record['artistName']} {record['albumName']}".lower()
            if words and all(word in names for word in words):
                found.append(record)
        return web.json_response(found)


def _record(number: int, song: SongLyrics) -> dict[str, object]:
    catalog = entry(song.index)
    return {
        "id": 1000 + number,
        "trackName": catalog.title + song.title_suffix,
        "artistName": catalog.artist,
        "albumName": catalog.album,
        "duration": song.duration_s,
        "instrumental": song.instrumental,
        "plainLyrics": song.plain,
        "syncedLyrics": song.synced,
    }
