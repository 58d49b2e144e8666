"""The media world: a local web of songs, pages, playlists and a search feed that yt-dlp really parses.

It runs its aiohttp server on a thread of its own with its own event loop, so one world can serve a
whole test session (each test has its own loop) and yt-dlp's worker threads, and so ffmpeg runs that
make tone files never hold up the loop of the test that asked."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import hashlib
import html
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import quote, urlencode

from aiohttp import web

from musicbox.sim.lyrics import LrclibFake
from musicbox.sim.media.audio import FORMATS, ToneFiles
from musicbox.sim.media.catalog import CatalogEntry, entry, search
from musicbox.sim.media.live import LiveStreams
from musicbox.sim.radio import RadioDirectoryFake, Station
from musicbox.sim.sponsorblock import SponsorBlockFake, video

FAULTS = frozenset(
    {
        "not_found",
        "forbidden",
        "server_error",
        "flaky",
        "stall",
        "truncated",
        "trickle",
        "wrong_type",
        "not_audio",
        "redirect_loop",
    }
)
PLAYLIST_KINDS = frozenset({"html", "rss", "xspf"})

# A stalled response sends this much, then nothing, for at most STALL_S (bounded: the world never
# holds a socket forever). A truncated one stops after a third of the file; a trickle sends
# TRICKLE_CHUNK bytes every TRICKLE_PAUSE_S.
STALL_BYTES = 4096
STALL_S = 120.0
TRICKLE_CHUNK = 2048
TRICKLE_PAUSE_S = 0.25
# A flaky address answers 503 to its first FLAKY_FAILURES requests, then serves the file.
FLAKY_FAILURES = 2
# A hostile host's page: far bigger than any real one (a Pi has 512 MB), sent as fast as it is read.
HUGE_PAGE_MB = 200
# A hostile host's drip: one byte every DRIP_PAUSE_S, never a whole page, for at most STALL_S.
DRIP_PAUSE_S = 5.0
NOT_AUDIO = b"This is a shopping list, not a song.\nmilk\neggs\nbread\n" * 20


class MediaWorld:
    def __init__(self, directory: Path) -> None:
        self._tones = ToneFiles(directory)
        self.live = LiveStreams(directory)
        self.radio = RadioDirectoryFake(self._directory_station)
        self.lyrics = LrclibFake()
        self.sponsorblock = SponsorBlockFake()
        self._log: list[str] = []
        self._log_lock = threading.Lock()
        self._flaky_failed: collections.Counter[str] = collections.Counter()
        self._titles: dict[str, tuple[str, ...]] = {}  # titled playlists: key -> their entries' titles
        self._shared: dict[str, bytes] = {}  # files members put online: "key/name" -> their bytes
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="media-world", daemon=True)
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.host = ""
        self.search_template = ""
        self.radio_directory = ""  # the Radio Browser fake's base address (sim/radio)
        self.lyrics_api = ""  # the LRCLIB fake's base address (sim/lyrics)
        self.sponsorblock_api = ""  # the SponsorBlock fake's base address (sim/sponsorblock)

    # -- lifecycle -------------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls) -> AsyncIterator[MediaWorld]:
        with tempfile.TemporaryDirectory(prefix="musicbox-media-") as directory:
            world = cls(Path(directory))
            await asyncio.to_thread(world.open)
            try:
                yield world
            finally:
                await asyncio.to_thread(world.close)

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[MediaWorld]:
        """The same world for code without an event loop (a session-wide pytest fixture, the demo)."""
        with tempfile.TemporaryDirectory(prefix="musicbox-media-") as directory:
            world = cls(Path(directory))
            world.open()
            try:
                yield world
            finally:
                world.close()

    def open(self) -> None:
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        self.host = f"127.0.0.1:{port}"
        self.base_url = f"http://{self.host}"
        self.search_template = f"{self.base_url}/search.xspf?q={{query}}&n={{limit}}"
        self.radio_directory = self.base_url
        self.lyrics_api = self.base_url
        self.sponsorblock_api = self.base_url

    def close(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(self._runner), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _shutdown(self, runner: web.AppRunner) -> None:
        await runner.cleanup()
        # Stalled and trickling responses outlive the runner's grace period: end them here, so
        # no handler is left pending when the loop stops.
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _serve(self) -> int:
        app = web.Application()
        app.router.add_get("/media/{index:\\d+}/{seconds}/{name}", self._media)
        app.router.add_get("/page/{index:\\d+}", self._page)
        app.router.add_get("/playlist/{kind}", self._playlist)
        app.router.add_get("/search.xspf", self._search)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/list.xspf", self._list)
        app.router.add_get("/mixed.xspf", self._mixed)
        app.router.add_get("/stream.m3u8", self._hls)
        app.router.add_get("/huge", self._huge)
        app.router.add_get("/drip", self._drip)
        app.router.add_get("/shared/{key}/{name}", self._shared_file)
        app.router.add_get("/radio/{name}", self.live.station)
        app.router.add_get("/json/stations/search", self.radio.search)
        app.router.add_get("/api/get", self.lyrics.get)
        app.router.add_get("/api/search", self.lyrics.search)
        app.router.add_get("/api/skipSegments/{prefix}", self.sponsorblock.skip_segments)
        app.router.add_get("/video/{video_id}.ogg", self._video)
        app.router.add_get("/live/{index:\\d+}/index.m3u8", self.live.hls_playlist)
        app.router.add_get("/live/{index:\\d+}/{number:\\d+}.ts", self.live.hls_segment)
        app.middlewares.append(self._record)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    # -- addresses -------------------------------------------------------------------------------

    def track_url(
        self,
        index: int,
        *,
        fmt: str = "ogg",
        seconds: float = 8.0,
        fault: str | None = None,
        gain_db: float = 0.0,
    ) -> str:
        """`gain_db`: the tone that much louder (or, below 0, quieter) than the catalog's -18 dBFS."""
        _check(fmt=fmt, fault=fault)
        song = entry(index)
        url = f"{self.base_url}/media/{index}/{seconds:g}/{song.slug}.{FORMATS[fmt].extension}"
        query = ({"fault": fault} if fault else {}) | ({"gain": f"{gain_db:g}"} if gain_db else {})
        return url + (f"?{urlencode(query)}" if query else "")

    def page_url(
        self, index: int, *, fmt: str = "ogg", seconds: float = 8.0, fault: str | None = None
    ) -> str:
        _check(fmt=fmt, fault=fault)
        query = {"fmt": fmt, "s": f"{seconds:g}"} | ({"fault": fault} if fault else {})
        return f"{self.base_url}/page/{index}?{urlencode(query)}"

    def playlist_url(
        self, count: int, *, kind: str = "html", first_index: int = 0, seconds: float = 8.0
    ) -> str:
        if kind not in PLAYLIST_KINDS:
            raise ValueError(f"playlist kind must be one of {sorted(PLAYLIST_KINDS)}, got {kind!r}")
        query = urlencode({"count": count, "first": first_index, "s": f"{seconds:g}"})
        return f"{self.base_url}/playlist/{kind}?{query}"

    def titled_playlist_url(self, titles: Sequence[str], *, seconds: float = 8.0) -> str:
        """An XSPF playlist of catalog songs 0, 1, … whose entries carry these titles: a title is
        whatever an uploader typed (markdown, mentions, 2,500 characters), and the address stays short."""
        key = hashlib.sha256("\0".join(titles).encode()).hexdigest()[:16]
        self._titles[key] = tuple(titles)
        query = urlencode({"count": len(titles), "first": 0, "s": f"{seconds:g}", "titles": key})
        return f"{self.base_url}/playlist/xspf?{query}"

    def mixed_playlist_url(
        self, faults: Sequence[str | None], *, first_index: int = 0, seconds: float = 8.0
    ) -> str:
        """An XSPF playlist of catalog songs first_index, first_index+1, …, one per entry of `faults`:
        None is a live song, a fault name a song served with that fault (`"not_found"`: a dead 404
        entry, `"not_audio"`: a text file, …), as a real playlist rots."""
        for fault in faults:
            _check(fmt="ogg", fault=fault)
        query = urlencode(
            {"first": first_index, "s": f"{seconds:g}", "faults": ",".join(f or "" for f in faults)}
        )
        return f"{self.base_url}/mixed.xspf?{query}"  # short: a member's query is at most 500 characters

    def share(self, name: str, body: bytes) -> str:
        """Serves `body` as a file called `name` (say, a playlist a member exported and put online);
        its address."""
        path = f"{hashlib.sha256(body).hexdigest()[:16]}/{quote(name)}"
        self._shared[path] = body
        return f"{self.base_url}/shared/{path}"

    async def prepare(self, indices: Sequence[int], *, fmt: str = "ogg", seconds: float = 8.0) -> None:
        """Make these songs' files now rather than on their first request: a real host has its
        files already, so a benchmark must not bill their making to the bot."""
        _check(fmt=fmt, fault=None)
        at_once = asyncio.Semaphore(os.cpu_count() or 1)  # an ffmpeg run each: one per core

        async def make(index: int) -> None:
            async with at_once:
                made = asyncio.run_coroutine_threadsafe(self._tones.path(index, fmt, seconds), self._loop)
                await asyncio.wrap_future(made)

        await asyncio.gather(*(make(index) for index in indices))

    def search_url(self, words: str, limit: int) -> str:
        return self.search_template.format(query=quote(words), limit=limit)

    # -- hostile addresses: what a member could paste to reach somewhere else ---------------------

    def redirect_url(self, to: str) -> str:
        """Answers 302 to `to`."""
        return f"{self.base_url}/redirect?{urlencode({'to': to})}"

    def list_url(self, *locations: str) -> str:
        """An XSPF playlist of exactly these entries."""
        return f"{self.base_url}/list.xspf?{urlencode([('u', u) for u in locations])}"

    def hls_url(self, segment: str) -> str:
        """An HLS playlist whose one segment is `segment`."""
        return f"{self.base_url}/stream.m3u8?{urlencode({'segment': segment})}"

    def huge_page_url(self, tag: str = "", *, declared: bool = True) -> str:
        """An HTML page of HUGE_PAGE_MB, sent as fast as it is read; `declared`: with its length
        in Content-Length, else chunked, so its size shows only as it arrives."""
        return f"{self.base_url}/huge?{urlencode({'tag': tag, 'declared': int(declared)})}"

    def drip_url(self, tag: str = "") -> str:
        """A page that never finishes: a byte every DRIP_PAUSE_S."""
        return f"{self.base_url}/drip?{urlencode({'tag': tag})}"

    # -- live streams (live.py) ------------------------------------------------------------------

    def station_url(
        self,
        name: str,
        *,
        first: int = 0,
        every_s: float = 20.0,
        fault: str | None = None,
        at_s: float = 10.0,
        title: str = "",
    ) -> str:
        """An endless MP3 station with ICY metadata: catalog song `first`, `first + 1`, … each on air for
        `every_s`, its title `title` (untrusted text, if given) and the song's name. `fault`: "drop"
        cuts the first player's connection after `at_s` (later ones play on), "die" cuts it and
        refuses every request after, "dead" refuses every request. A player is musicbox's stream
        reader (by its User-Agent): yt-dlp and ffprobe reading the head see a healthy station and
        bring no fault on."""
        query = {"first": first, "every": f"{every_s:g}"} | (
            {"fault": fault, "at": f"{at_s:g}"} if fault else {}
        )
        return f"{self.base_url}/radio/{quote(name)}?{urlencode(query | ({'title': title} if title else {}))}"

    def _directory_station(self, station: Station) -> str:
        name = station.name.lower().replace(" ", "-")
        return self.station_url(name, first=station.first, fault=station.fault, at_s=2.0)

    def hls_live_url(self, index: int) -> str:
        """A live HLS playlist of catalog song `index`'s tone, growing every 2 s, never ending."""
        return f"{self.base_url}/live/{index}/index.m3u8"

    def requests(self, path_prefix: str = "") -> list[str]:
        """Paths (with query) served so far, oldest first."""
        with self._log_lock:
            return [path for path in self._log if path.startswith(path_prefix)]

    # -- handlers --------------------------------------------------------------------------------

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        with self._log_lock:
            self._log.append(request.path_qs)
        return await handler(request)

    async def _media(self, request: web.Request) -> web.StreamResponse:
        index = int(request.match_info["index"])
        seconds = float(request.match_info["seconds"])
        fmt = request.match_info["name"].rpartition(".")[2]
        fault = request.query.get("fault")
        if fmt not in FORMATS or not 0 < seconds <= 36_000:
            raise web.HTTPNotFound()
        if fault == "not_found":
            raise web.HTTPNotFound(text="no such song")
        if fault == "forbidden":
            raise web.HTTPForbidden(text="members only")
        if fault == "server_error":
            raise web.HTTPInternalServerError(text="the media server is having a bad day")
        if fault == "flaky" and self._flaky_failed[request.path_qs] < FLAKY_FAILURES:
            self._flaky_failed[request.path_qs] += 1
            raise web.HTTPServiceUnavailable(text="overloaded, come back in a moment")
        if fault == "redirect_loop":
            raise web.HTTPFound(request.path_qs)
        if fault == "not_audio":
            return web.Response(body=NOT_AUDIO, content_type="text/plain")
        gain_db = float(request.query.get("gain", "0"))
        if not -60 <= gain_db <= 18:
            raise web.HTTPNotFound(text="gain must be from -60 to 18 dB")
        path = await self._tones.path(index, fmt, seconds, gain_db)
        content_type = "text/html" if fault == "wrong_type" else FORMATS[fmt].content_type
        if fault in ("stall", "truncated", "trickle"):
            return await _faulty_stream(request, path.read_bytes(), content_type, fault)
        return web.FileResponse(path, headers={"Content-Type": content_type})

    def video_url(self, video_id: str) -> str:
        """The audio of one of the sim's YouTube videos (`sim.sponsorblock.VIDEOS`): what yt-dlp's
        YouTube extractor would give as its media URL."""
        return f"{self.base_url}/video/{video_id}.ogg"

    async def _video(self, request: web.Request) -> web.FileResponse:
        try:
            known = video(request.match_info["video_id"])
        except KeyError:
            raise web.HTTPNotFound(text="no such video") from None
        return web.FileResponse(await self._tones.video_path(known), headers={"Content-Type": "audio/ogg"})

    async def _page(self, request: web.Request) -> web.Response:
        song = entry(int(request.match_info["index"]))
        fmt = request.query.get("fmt", "ogg")
        fault = request.query.get("fault")
        _check_request(fmt=fmt, fault=fault)
        src = self.track_url(song.index, fmt=fmt, seconds=float(request.query.get("s", "8")), fault=fault)
        body = (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(song.full_title)}</title>"
            f"</head><body><h1>{html.escape(song.title)}</h1><p>{html.escape(song.artist)}</p>"
            f"<audio controls src='{html.escape(src)}'></audio></body></html>"
        )
        return web.Response(text=body, content_type="text/html")

    async def _playlist(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind not in PLAYLIST_KINDS:
            raise web.HTTPNotFound()
        count = int(request.query.get("count", "1"))
        first = int(request.query.get("first", "0"))
        seconds = float(request.query.get("s", "8"))
        songs = [entry(first + offset) for offset in range(count)]
        titles = self._titles.get(request.query.get("titles", ""))
        if titles is not None:
            songs = [
                dataclasses.replace(song, title=title) for song, title in zip(songs, titles, strict=True)
            ]
        title = f"Mixtape {first}-{first + count - 1}"
        if kind == "xspf":
            return _xspf(
                title, [(song, self.track_url(song.index, seconds=seconds), seconds) for song in songs]
            )
        if kind == "rss":
            return _rss(title, [(song, self.track_url(song.index, seconds=seconds)) for song in songs])
        items = "".join(
            f"<li><h2>{html.escape(song.full_title)}</h2>"
            f"<audio src='{html.escape(self.track_url(song.index, seconds=seconds))}'></audio></li>"
            for song in songs
        )
        body = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><ol>{items}</ol></body></html>"
        return web.Response(text=body, content_type="text/html")

    async def _shared_file(self, request: web.Request) -> web.Response:
        path = f"{request.match_info['key']}/{quote(request.match_info['name'])}"
        body = self._shared.get(path)
        if body is None:
            raise web.HTTPNotFound()
        kind = "application/xspf+xml" if path.endswith(".xspf") else "text/plain"
        return web.Response(body=body, content_type=kind)

    async def _search(self, request: web.Request) -> web.Response:
        words = request.query.get("q", "")
        limit = max(0, min(int(request.query.get("n", "5")), 50))
        found = search(words, limit)
        return _xspf(
            f"Search: {words}",
            [(song, self.track_url(song.index, seconds=song.duration_s), song.duration_s) for song in found],
        )

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query["to"])

    async def _list(self, request: web.Request) -> web.Response:
        songs = [(entry(index), url, 8.0) for index, url in enumerate(request.query.getall("u", []))]
        return _xspf("A list", songs)

    async def _mixed(self, request: web.Request) -> web.Response:
        first = int(request.query.get("first", "0"))
        seconds = float(request.query.get("s", "8"))
        faults = [f or None for f in request.query.get("faults", "").split(",")]
        for fault in faults:
            _check_request(fmt="ogg", fault=fault)
        songs = [entry(first + offset) for offset in range(len(faults))]
        return _xspf(
            "A rotting playlist",
            [
                (song, self.track_url(song.index, seconds=seconds, fault=fault), seconds)
                for song, fault in zip(songs, faults, strict=True)
            ],
        )

    async def _hls(self, request: web.Request) -> web.Response:
        body = (
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:8\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:8.0,\n{request.query['segment']}\n#EXT-X-ENDLIST\n"
        )
        return web.Response(text=body, content_type="application/vnd.apple.mpegurl")

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        start, filler = b"<!DOCTYPE html><html><body>\n", b"<p>" + b"la " * 20_000 + b"</p>\n"
        count = HUGE_PAGE_MB * 2**20 // len(filler)
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        if request.query.get("declared", "1") == "1":
            response.content_length = len(start) + count * len(filler)
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the reader gave up: that was the point
            await response.write(start)
            for _ in range(count):
                await response.write(filler)
        return response

    async def _drip(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):
            for _ in range(int(STALL_S / DRIP_PAUSE_S)):
                await response.write(b" ")
                await asyncio.sleep(DRIP_PAUSE_S)
        return response


def _check(*, fmt: str, fault: str | None) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {sorted(FORMATS)}, got {fmt!r}")
    if fault is not None and fault not in FAULTS:
        raise ValueError(f"fault must be one of {sorted(FAULTS)}, got {fault!r}")


def _check_request(*, fmt: str, fault: str | None) -> None:
    try:
        _check(fmt=fmt, fault=fault)
    except ValueError as error:
        raise web.HTTPNotFound(text=str(error)) from error


async def _faulty_stream(
    request: web.Request, body: bytes, content_type: str, fault: str
) -> web.StreamResponse:
    # Every faulty stream promises the whole file, as a real server would, then breaks that promise.
    response = web.StreamResponse(headers={"Content-Type": content_type, "Content-Length": str(len(body))})
    await response.prepare(request)
    if fault == "stall":
        await response.write(body[:STALL_BYTES])
        await asyncio.sleep(STALL_S)
    elif fault == "truncated":
        await response.write(body[: len(body) // 3])
    else:
        for start in range(0, len(body), TRICKLE_CHUNK):
            await response.write(body[start : start + TRICKLE_CHUNK])
            await asyncio.sleep(TRICKLE_PAUSE_S)
        return response
    # Cut the connection mid-body: the client sees fewer bytes than Content-Length.
    if request.transport is not None:
        request.transport.close()
    return response


def _xspf(title: str, tracks: list[tuple[CatalogEntry, str, float]]) -> web.Response:
    items = "".join(
        "<track>"
        f"<location>{html.escape(url)}</location><title>{html.escape(song.title)}</title>"
        f"<creator>{html.escape(song.artist)}</creator><album>{html.escape(song.album)}</album>"
        f"<duration>{round(seconds * 1000)}</duration>"
        "</track>"
        for song, url, seconds in tracks
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<playlist version="1" xmlns="http://xspf.org/ns/0/"><title>{html.escape(title)}</title>'
        f"<trackList>{items}</trackList></playlist>"
    )
    return web.Response(text=body, content_type="application/xspf+xml")


def _rss(title: str, tracks: list[tuple[CatalogEntry, str]]) -> web.Response:
    items = "".join(
        f"<item><title>{html.escape(song.full_title)}</title><guid>{html.escape(url)}</guid>"
        f'<enclosure url="{html.escape(url)}" type="audio/ogg" length="0"/></item>'
        for song, url in tracks
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>http://127.0.0.1/</link><description>{html.escape(title)}"
        f"</description>{items}</channel></rss>"
    )
    return web.Response(text=body, content_type="application/rss+xml")
