"""The yt-dlp track source: links, pages, playlists and search words become Tracks.

The shell around the pure parts (`query`, `failures`): yt-dlp runs in a bounded pool of worker
processes (`workers.py`; this module never imports it), so one slow site never holds up another
guild's /play and yt-dlp's Python never holds the bot's GIL; results are kept in SQLite for
`metadata_ttl_s`.

Every request yt-dlp and ffprobe make goes through the egress gate (`egress.py`), each extraction
or probe as a job of its own: one that overruns its deadline has its connections cut there and its
worker killed, instead of waiting on a trickling host for ever. The worker answers with only the
keys in `extraction.KEPT_KEYS`: a key read here from yt-dlp's answer must be listed there."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any, Protocol
from urllib.parse import quote_plus, unquote, urlsplit

from musicbox import log_context, start_times
from musicbox.batch_priority import run_behind_the_bot
from musicbox.bot.sources import Progress, QueryFailed, UpstreamFault
from musicbox.core.config import Config
from musicbox.core.egress import FFMPEG_PROTOCOLS
from musicbox.core.limits import too_long
from musicbox.core.media_facts import MediaFacts, facts_of_input, facts_of_tags
from musicbox.core.track import LIVE, Track, TrackId
from musicbox.sources.egress import REFUSED, EgressGate, Job
from musicbox.sources.failures import query_failed
from musicbox.sources.metadata import MetadataCache
from musicbox.sources.query import (
    NotALink,
    SearchWords,
    SpotifyLink,
    WebLink,
    YouTubePlaylist,
    YouTubeVideo,
    entry_track_id,
    recognise,
    track_id,
)
from musicbox.sources.upstreams import Upstreams, upstream_of
from musicbox.sources.workers import ExtractionWorkers

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
EXTRACTION_TIMEOUT_S = 60.0
AUDIO_EXTENSIONS = frozenset(
    {".ogg", ".opus", ".oga", ".webm", ".m4a", ".mp4", ".mp3", ".flac", ".wav", ".aac"}
)
SPOTIFY_NEEDS_SETUP = "Spotify links need the owner to set up Spotify first (musicbox setup)"
STALLED = "the site stopped sending the file; try again later"
TOO_SLOW = "the site took too long to answer; try again later"

Info = Mapping[str, Any]


class TranscodeAhead(Protocol):
    """The audio cache's way to begin a song's transcode while the song is still being resolved:
    the answer, when one began, is what its ffmpeg's log says of the file (`media_facts`)."""

    async def transcode_ahead(self, track_id: TrackId, media_url: str) -> asyncio.Future[str] | None: ...

    def abandon(self, track_id: TrackId) -> None: ...


class YtDlpSource:
    def __init__(
        self,
        config: Config,
        database: sqlite3.Connection,
        *,
        egress: EgressGate,
        probe_timeout_s: float = 10.0,
        upstreams: Upstreams | None = None,
    ) -> None:
        self._config = config
        self.egress = egress
        self.upstreams = upstreams or Upstreams()
        self._cache = MetadataCache(database, ttl_s=config.resolver.metadata_ttl_s)
        self.workers = ExtractionWorkers(config.resolver.workers or DEFAULT_WORKERS)
        self._probe_timeout_s = probe_timeout_s
        self._probes = asyncio.Semaphore(config.resolver.workers or DEFAULT_WORKERS)
        self._lanes = GuildLanes(max(1, (config.resolver.workers or DEFAULT_WORKERS) - 1))
        self.extractions = 0  # yt-dlp runs so far: what the metadata cache saves shows up here
        self.probes = 0  # ffprobe runs so far: a transcode begun for the song spares one
        # Set by the composition root when there is an audio cache (`app.transcoding_ahead`).
        self.transcode_ahead: TranscodeAhead | None = None

    async def warm(self) -> None:
        """Pay the first start of ffmpeg (and so of ffprobe: the same libraries) into the page cache
        before a member's first /play. No extraction worker is started: the memory it holds is
        spent only when used."""
        first = await asyncio.create_subprocess_exec(
            "ffmpeg", "-version", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        await first.wait()

    async def aclose(self) -> None:
        await self.workers.aclose()

    # -- TrackSource -----------------------------------------------------------------------------

    async def resolve(self, query: str, *, progress: Progress | None = None) -> list[Track]:
        recognised = recognise(query)
        if isinstance(recognised, NotALink):
            raise QueryFailed(recognised.reason)
        if isinstance(recognised, SpotifyLink):
            raise QueryFailed(SPOTIFY_NEEDS_SETUP)
        if isinstance(recognised, SearchWords):
            return await self.search(recognised.words, limit=1)
        url = recognised.url
        cached = await asyncio.to_thread(self._cache.get, url)
        if cached is not None:
            return cached
        if isinstance(recognised, WebLink):
            await self._refuse_unsafe(url)
        tracks = await self._resolve_url(recognised, progress)
        await asyncio.to_thread(self._cache.put, url, tracks)
        return tracks

    async def batches(self, query: str, *, progress: Progress | None = None) -> AsyncIterator[list[Track]]:
        """One batch: yt-dlp reads a playlist's entries (flat) in one go, in well under a second."""
        yield await self.resolve(query, progress=progress)

    async def search(self, words: str, *, limit: int) -> list[Track]:
        template = self._config.resolver.search_template
        spelled = quote_plus(words) if "://" in template else words.replace(":", " ")
        url = template.format(query=spelled, limit=limit)
        key = f"search:{limit}:{' '.join(words.lower().split())}"
        cached = await asyncio.to_thread(self._cache.get, key)
        if cached is not None:
            return cached
        if "://" in template:
            await self._refuse_unsafe(url)
        info = await self._extract(url, flat=True, progress=None)
        tracks = _tracks(_entries(info), limit)
        await asyncio.to_thread(self._cache.put, key, tracks)
        return tracks

    async def media_url(self, track: Track) -> str:
        """The address ffmpeg should read, found when the track is about to play (YouTube's expire)."""
        web = track.id.source in ("http", LIVE)
        if track.id.source == LIVE and not isinstance(recognise(track.page_url), YouTubeVideo):
            # A station's stream or an HLS live playlist, found so when it was resolved: opened as
            # it is (tried again after a drop without asking a resolver).
            await self._refuse_unsafe(track.page_url)
            return track.page_url
        if web and _looks_like_audio_file(track.page_url):
            await self._refuse_unsafe(track.page_url)
            return track.page_url
        if web:
            await self._refuse_unsafe(track.page_url)
        info = await self._extract(track.page_url, flat=False, progress=None)
        url = info.get("url")
        if not isinstance(url, str):
            raise QueryFailed("no playable audio was found for it; try another link")
        if not url.startswith(("http://", "https://")):
            raise QueryFailed(REFUSED)  # ffmpeg is given web addresses only (no file:, rtmp:, ...)
        return url

    # -- resolution ------------------------------------------------------------------------------

    async def _resolve_url(
        self, recognised: YouTubeVideo | YouTubePlaylist | WebLink, progress: Progress | None
    ) -> list[Track]:
        if isinstance(recognised, WebLink) and _looks_like_audio_file(recognised.url):
            direct = await self._resolve_audio_file(recognised)
            if direct is not None:
                return [direct]
        info = await self._extract(recognised.url, flat=True, progress=progress)
        start_times.mark("extracted")
        if info.get("_type") == "playlist":
            return _tracks(_entries(info), self._config.playback.max_playlist + 1)
        assert not isinstance(recognised, YouTubePlaylist)
        if _is_live(info):  # an HLS live playlist, a live video: nothing to probe, no length
            return [_single_track(info, TrackId(LIVE, recognised.url), recognised.url)]
        track = _single_track(info, track_id(recognised), recognised.url)
        if isinstance(recognised, WebLink) and (track.duration_s is None or _is_direct(info)):
            track = await self._with_probe(track, _media_address(info, recognised.url))
        self._refuse_too_long(track)
        return [track]

    async def _resolve_audio_file(self, link: WebLink) -> Track | None:
        """A link to an audio file needs no yt-dlp (whose answer would be the address itself and its
        file name, after a request of its own): the probe tells length, tags and whether it is
        audio. None when the probe could not read audio there (an HTML page at an .mp3 address, a
        404): yt-dlp reads the link then, as for any page, and says what is wrong in its words.

        With an audio cache the song's transcode starts now too, and what its ffmpeg reads of the
        file is the probe: a cold start pays one program's start (60-80 ms of loading libraries),
        not two. ffprobe still probes when no transcode began, or when that one read no audio."""
        named = Track(track_id(link), _title({}, link.url), link.url, None, None)
        ahead = self.transcode_ahead
        described = await ahead.transcode_ahead(named.id, link.url) if ahead is not None else None
        try:
            track = await self._with_probe(named, link.url, described)
        except QueryFailed as failure:
            if ahead is not None:
                ahead.abandon(named.id)
            if failure.fault is not UpstreamFault.NONE or failure.reason == REFUSED:
                raise  # slow or failing (already retried and counted), or the gate's refusal
            return None
        except BaseException:  # cancelled: the member's /play is gone
            if ahead is not None:
                ahead.abandon(named.id)
            raise
        # A station (endless, never cached) or a song too long to play: its early transcode stops now.
        unwanted = track.live or too_long(track.duration_s, self._config.playback.max_track_s)
        if ahead is not None and unwanted:
            ahead.abandon(named.id)
        self._refuse_too_long(track)
        return track

    def _refuse_too_long(self, track: Track) -> None:
        limit = self._config.playback.max_track_s
        if too_long(track.duration_s, limit):
            assert track.duration_s is not None
            raise QueryFailed(
                f"it is {_clock(track.duration_s)} long and this server plays songs up to {_clock(limit)}"
            )

    async def _with_probe(
        self, track: Track, media: str, described: asyncio.Future[str] | None = None
    ) -> Track:
        """`described`: what a transcode of `media` begun for it says of the file, if one began."""
        await self._refuse_unsafe(media)
        first_attempt = [described]  # a retry probes with ffprobe: the transcode failed

        async def attempt() -> MediaFacts:
            told, first_attempt[0] = first_attempt[0], None
            facts = await self._facts_told(told) if told is not None else None
            return facts or await self._probe(media)

        probe = await self.upstreams.call(upstream_of(media), attempt)
        start_times.mark("probed")
        if probe.station is not None:  # internet radio: the station's name, live
            return Track(TrackId(LIVE, track.page_url), probe.station, track.page_url, None, None)
        title = f"{probe.title}" if probe.title else track.title
        return Track(
            track.id,
            title,
            track.page_url,
            probe.duration_s or track.duration_s,
            probe.artist or track.artist,
        )

    async def _facts_told(self, described: asyncio.Future[str]) -> MediaFacts | None:
        """What the transcode's log says of the file; None when it described no audio (it ended
        first: a 404, a page, a refusal), which ffprobe then reads and says in its own words."""
        start_times.mark("probing")
        # Waited for, never cancelled: the transcode goes on for the song.
        done, _ = await asyncio.wait({described}, timeout=self._probe_timeout_s)
        if not done:  # ffprobe's -rw_timeout would have given up by now: the host stalls
            raise QueryFailed(STALLED, UpstreamFault.SLOW)
        return facts_of_input(described.result())

    async def _probe(self, url: str) -> MediaFacts:
        # As many ffprobes at once as resolvers (a burst must not thrash a Pi), and never all of
        # them for one server.
        async with self._lanes.of(log_context.guild.get()), self._probes:
            start_times.mark("probing")
            with self.egress.job(document=False) as job:
                try:
                    return await self._probe_through(url, job)
                except QueryFailed:
                    if job.failure is not None:
                        raise QueryFailed(job.failure) from None
                    raise

    async def _probe_through(self, url: str, job: Job) -> MediaFacts:
        """ffprobe reads the headers (and, for Ogg, the last page): length, tags, and whether it is audio."""
        self.probes += 1
        process = await asyncio.create_subprocess_exec(
            "ffprobe", "-v", "error", "-rw_timeout", str(int(self._probe_timeout_s * 1e6)),
            "-http_proxy", job.proxy_url, "-protocol_whitelist", FFMPEG_PROTOCOLS,
            "-select_streams", "a:0", "-show_entries",
            "format=duration:format_tags=title,artist,icy-name,icy-br:stream=codec_type:stream_tags=title,artist",
            "-of", "json", url,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        run_behind_the_bot(process.pid)
        try:
            async with asyncio.timeout(self._probe_timeout_s + 5):
                out, errors = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise QueryFailed(STALLED, UpstreamFault.SLOW) from None
        report = json.loads(out or b"{}")
        streams = report.get("streams") or []
        if process.returncode != 0 or not streams:
            text = errors.decode(errors="replace")
            if "End of file" in text or "timed out" in text.lower():
                raise QueryFailed(STALLED, UpstreamFault.SLOW)
            raise query_failed(text or "no audio")
        duration = report.get("format", {}).get("duration")
        return facts_of_tags(
            float(duration) if duration else None,
            report.get("format", {}).get("tags") or {},
            streams[0].get("tags") or {},
        )

    async def _refuse_unsafe(self, url: str) -> None:
        """A link whose first address the gate would refuse is refused before yt-dlp starts."""
        if await self.egress.refuses(url):
            raise QueryFailed(REFUSED)

    # -- the pool --------------------------------------------------------------------------------

    async def _extract(self, url: str, *, flat: bool, progress: Progress | None) -> Info:
        async with self._lanes.of(log_context.guild.get()):
            return await self.upstreams.call(
                upstream_of(url), lambda: self._extract_once(url, flat, progress)
            )

    async def _extract_once(self, url: str, flat: bool, progress: Progress | None) -> Info:
        reports: asyncio.Queue[tuple[int, int] | None] = asyncio.Queue()
        forwarding = asyncio.get_running_loop().create_task(_forward(reports, progress))
        with self.egress.job(document=True) as job:
            request = {
                "url": url,
                "flat": flat,
                "proxy": job.proxy_url,
                "playlist_limit": self._config.playback.max_playlist + 1,
            }
            self.extractions += 1
            work = asyncio.ensure_future(
                self.workers.extract(request, lambda done, total: reports.put_nowait((done, total)))
            )
            try:
                return await self._outcome(work, job)
            finally:
                reports.put_nowait(None)
                await forwarding

    async def _outcome(self, work: asyncio.Future[Info], job: Job) -> Info:
        """The extraction's result, or why not: the gate's sentence when it refused or capped a
        request, and past the deadline the job cut at the gate, its worker killed, and the host it
        was still waiting on charged for the slowness."""
        try:
            done, _ = await asyncio.wait({work}, timeout=EXTRACTION_TIMEOUT_S)
        except asyncio.CancelledError:
            await _cancelled(work)  # the member left: the worker goes with the request
            raise
        if done:
            try:
                return work.result()
            except QueryFailed:
                if job.failure is not None:
                    raise QueryFailed(job.failure) from None
                if job.dripping is not None:  # cut at the gate for sending a page a byte at a time
                    raise QueryFailed(TOO_SLOW, UpstreamFault.SLOW, upstream=job.dripping) from None
                raise
        waiting_on = self.egress.cancel(job)  # asked first: once the worker is killed it waits on nothing
        await _cancelled(work)
        raise QueryFailed(TOO_SLOW, UpstreamFault.SLOW, upstream=waiting_on[0] if waiting_on else None)


class GuildLanes:
    """At most `per_guild` of the resolvers work for one server at a time (its members' lookups and
    its prefetch), so one server's links, however slow or hostile, can never take every resolver:
    another server's /play always finds one free."""

    def __init__(self, per_guild: int) -> None:
        self._per_guild = per_guild
        self._lanes: dict[int, asyncio.Semaphore] = {}
        self._users: collections.Counter[int] = collections.Counter()

    @contextlib.asynccontextmanager
    async def of(self, guild: int | None) -> AsyncIterator[None]:
        if guild is None:  # not a member's lookup (doctor, warm-up): only the pool bounds it
            yield
            return
        lane = self._lanes.setdefault(guild, asyncio.Semaphore(self._per_guild))
        self._users[guild] += 1
        try:
            async with lane:
                yield
        finally:
            self._users[guild] -= 1
            if not self._users[guild]:  # nobody of that server waits: forget it
                del self._users[guild], self._lanes[guild]


async def _cancelled(work: asyncio.Future[Info]) -> None:
    """Cancel an extraction and wait until its worker is killed and reaped."""
    work.cancel()
    await asyncio.wait({work})
    if not work.cancelled() and work.exception() is not None:
        log.debug("an extraction ended as it was cancelled: %s", work.exception())


async def _forward(reports: asyncio.Queue[tuple[int, int] | None], progress: Progress | None) -> None:
    while (item := await reports.get()) is not None:
        if progress is not None:
            with contextlib.suppress(Exception):
                await progress(*item)


def _entries(info: Info) -> Iterable[Info]:
    if info.get("_type") == "playlist":
        return [item for item in info.get("entries") or [] if isinstance(item, Mapping)]
    return [info]


def _tracks(entries: Iterable[Info], limit: int) -> list[Track]:
    tracks: list[Track] = []
    for entry in itertools.islice(entries, limit):
        track = _entry_track(entry)
        if track is not None:
            tracks.append(track)
    return tracks


def _entry_track(entry: Info) -> Track | None:
    # Flat entries carry their address as `url`; unprocessed feed entries only inside `formats`.
    address = _media_address(entry, entry.get("webpage_url") or "")
    if not address:
        return None
    if entry.get("ie_key") == "Youtube" and isinstance(entry.get("id"), str):
        address = f"https://www.youtube.com/watch?v={entry['id']}"
    identity = entry_track_id(address)
    return Track(identity, _title(entry, address), address, _duration(entry), _artist(entry))


def _single_track(info: Info, identity: TrackId, page_url: str) -> Track:
    return Track(identity, _title(info, page_url), page_url, _duration(info), _artist(info))


def _title(info: Info, address: str) -> str:
    title = info.get("title")
    if isinstance(title, str) and title.strip():
        return title.strip()
    return unquote(PurePosixPath(urlsplit(address).path).stem) or address


def _duration(info: Info) -> float | None:
    duration = info.get("duration")
    return float(duration) if isinstance(duration, int | float) and duration > 0 else None


def _artist(info: Info) -> str | None:
    for key in ("artist", "creator", "uploader", "channel"):
        value = info.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _is_live(info: Info) -> bool:
    return info.get("is_live") is True or info.get("live_status") == "is_live"


def _is_direct(info: Info) -> bool:
    return info.get("extractor") in ("generic", "html5") or info.get("extractor_key") in (
        "Generic",
        "HTML5MediaEmbed",
    )


def _media_address(info: Info, fallback: str) -> str:
    url = info.get("url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return url
    formats = info.get("formats")
    if isinstance(formats, Sequence) and formats and isinstance(formats[-1], Mapping):
        last = formats[-1].get("url")
        if isinstance(last, str):
            return last
    return fallback


def _looks_like_audio_file(url: str) -> bool:
    return PurePosixPath(urlsplit(url).path).suffix.lower() in AUDIO_EXTENSIONS


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
