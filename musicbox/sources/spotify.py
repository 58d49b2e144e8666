"""Spotify links become tracks: spotipy reads what Spotify lists, and each track is matched to an
upload from the wrapped source when it is about to play.

A decorator over the yt-dlp source: Spotify links are handled here, everything else passes through.
Reading a playlist is a few paged requests; matching is a search per track, so it is done lazily
(the first song plays after one search, the session's prefetch matches the next ones) and kept in
SQLite, so a playlist played twice is matched once."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import requests
import spotipy
from requests.adapters import HTTPAdapter
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.exceptions import SpotifyException
from spotipy.oauth2 import SpotifyOauthError
from urllib3.util.retry import Retry

from musicbox.bot.sources import Progress, QueryFailed, TrackSource, UpstreamFault, collected
from musicbox.core.config import Config, SpotifyConfig
from musicbox.core.track import Track, TrackId
from musicbox.sources.matching import Candidate, Wanted, best_match, search_words
from musicbox.sources.query import SpotifyLink, recognise
from musicbox.sources.upstreams import Upstreams
from musicbox.sources.ytdlp import SPOTIFY_NEEDS_SETUP, YtDlpSource
from musicbox.store.spotify_mappings import SpotifyMappings
from musicbox.store.sql import Connection

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0
SEARCH_LIMIT = 5  # uploads compared per track: the right one is nearly always in the first five
MAX_RATE_LIMIT_WAITS = 3
MAX_RETRY_AFTER_S = 30.0  # Spotify has asked for hours before; a member is told instead of waiting
KNOWN_TRACKS = 5000  # Spotify metadata kept in memory for matching (ISRC, every artist)
PLAYLIST_PAGE = 100
ALBUM_PAGE = 50

CREDENTIALS_REFUSED = "Spotify refused the owner's client id and secret; the owner should run musicbox setup"
UNREACHABLE = "Spotify did not answer; try again in a minute"
FAILING = "Spotify is failing right now; try again in a few minutes"
UPSTREAM = "Spotify"
Json = Mapping[str, Any]


class WrappedSource(TrackSource, Protocol):
    async def warm(self) -> None: ...

    async def aclose(self) -> None: ...


class SpotifySource:
    def __init__(
        self,
        config: SpotifyConfig,
        store: Connection,
        wrapped: WrappedSource,
        *,
        max_playlist: int,
        upstreams: Upstreams,
        proxy_url: str,
    ) -> None:
        self._config = config
        self._upstreams = upstreams
        self._wrapped = wrapped
        self._max_playlist = max_playlist
        self._mappings = SpotifyMappings(store)
        self._known: OrderedDict[str, Wanted] = OrderedDict()
        self._matching: dict[str, asyncio.Lock] = {}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="spotify")
        self._tokens = MemoryCacheHandler()  # never a .cache file in the working directory
        self._client = _client(config, self._tokens, proxy_url) if config.configured else None
        self.searches = 0  # tracks matched by searching; a mapping found in SQLite does not count
        self.mapping_hits = 0  # tracks whose upload came from SQLite
        self.rate_limit_waits = 0

    async def warm(self) -> None:
        await self._wrapped.warm()

    async def aclose(self) -> None:
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
        await self._wrapped.aclose()

    # -- TrackSource -----------------------------------------------------------------------------

    async def resolve(self, query: str, *, progress: Progress | None = None) -> Sequence[Track]:
        return await collected(self.batches(query, progress=progress))

    async def batches(
        self, query: str, *, progress: Progress | None = None
    ) -> AsyncIterator[Sequence[Track]]:
        """The tracks as Spotify pages them: a caller that queues the first batch at once starts the
        first song while later pages are still being read (a playlist page is 100 tracks)."""
        recognised = recognise(query)
        if not isinstance(recognised, SpotifyLink):
            yield await self._wrapped.resolve(query, progress=progress)
            return
        if self._client is None:
            raise QueryFailed(SPOTIFY_NEEDS_SETUP)
        async for page in self._read(self._client, recognised, progress):
            yield [self._remember(track) for track in page]

    async def search(self, words: str, *, limit: int) -> Sequence[Track]:
        return await self._wrapped.search(words, limit=limit)

    async def media_url(self, track: Track) -> str:
        if track.id.source != "spotify":
            return await self._wrapped.media_url(track)
        upload = await self.upload_for(track)
        try:
            return await self._wrapped.media_url(upload)
        except QueryFailed:
            # The upload matched last time is gone (removed, made private): match once more.
            await asyncio.to_thread(self._mappings.forget, track.id.key)
            return await self._wrapped.media_url(await self.upload_for(track))

    # -- matching ----------------------------------------------------------------------------------

    async def upload_for(self, track: Track) -> Track:
        """The upload that plays this Spotify track: from SQLite, else searched and scored."""
        spotify_id = track.id.key
        lock = self._matching.setdefault(spotify_id, asyncio.Lock())
        try:
            async with lock:  # prefetch and playback may ask for the same track at once
                mapped = await asyncio.to_thread(self._mappings.get, spotify_id)
                if mapped is not None:
                    self.mapping_hits += 1
                    return mapped
                upload = await self._match(spotify_id, await self._wanted(spotify_id, track))
                await asyncio.to_thread(self._mappings.put, spotify_id, upload)
                return upload
        finally:
            if not lock.locked() and self._matching.get(spotify_id) is lock:
                del self._matching[spotify_id]

    async def _wanted(self, spotify_id: str, track: Track) -> Wanted:
        known = self._known.get(spotify_id)
        if known is not None:
            return known
        if self._client is None:  # a queue saved while Spotify was configured, played after removal
            return Wanted(track.title, tuple(filter(None, [track.artist])), track.duration_s)
        client = self._client
        body = await self._call(lambda: client.track(spotify_id))
        return _wanted(body)

    async def _match(self, spotify_id: str, wanted: Wanted) -> Track:
        self.searches += 1
        found = list(await self._wrapped.search(search_words(wanted), limit=SEARCH_LIMIT))
        choice = best_match(wanted, [Candidate(t.title, t.artist, t.duration_s) for t in found])
        if choice is None:
            artist = wanted.artists[0] if wanted.artists else "an unknown artist"
            raise QueryFailed(f"no upload of “{wanted.title}” by {artist} was found; try /search instead")
        log.debug("spotify %s -> %s", spotify_id, found[choice].page_url)
        return found[choice]

    def _remember(self, track: SpotifyTrack) -> Track:
        self._known[track.track.id.key] = track.wanted
        self._known.move_to_end(track.track.id.key)
        while len(self._known) > KNOWN_TRACKS:
            self._known.popitem(last=False)
        return track.track

    # -- reading Spotify ---------------------------------------------------------------------------

    async def _read(
        self, client: spotipy.Spotify, link: SpotifyLink, progress: Progress | None
    ) -> AsyncIterator[list[SpotifyTrack]]:
        spotify_id = link.spotify_id
        if link.kind == "track":
            yield _tracks([await self._call(lambda: client.track(spotify_id))])
        elif link.kind == "artist":
            # spotipy's artist_top_tracks warns it is deprecated on every call; the endpoint is the same.
            body = await self._call(lambda: client._get(f"artists/{spotify_id}/top-tracks", country="US"))
            yield _tracks(body.get("tracks") or [])
        elif link.kind == "album":
            album = await self._call(lambda: client.album(spotify_id))
            async for page in self._pages(client, album.get("tracks") or {}, progress, album_tracks=True):
                yield page
        else:
            playlist = await self._call(lambda: client.playlist(spotify_id, additional_types=("track",)))
            async for page in self._pages(client, playlist.get("tracks") or {}, progress, album_tracks=False):
                yield page

    async def _pages(
        self, client: spotipy.Spotify, page: Json, progress: Progress | None, *, album_tracks: bool
    ) -> AsyncIterator[list[SpotifyTrack]]:
        total = int(page.get("total") or 0)
        wanted = min(total, self._max_playlist + 1)  # one past the limit: the bot says it is too long
        read = 0
        for _ in range(wanted // min(ALBUM_PAGE, PLAYLIST_PAGE) + 2):  # bounded by the page count
            items = page.get("items") or []
            bodies = items if album_tracks else [item.get("track") for item in items]
            tracks = _tracks(bodies)[: wanted - read]
            read += len(tracks)
            if progress is not None:
                await progress(read, wanted)
            yield tracks
            if not page.get("next") or read >= wanted:
                return
            page = await self._call(functools.partial(client.next, page))

    async def _call(self, request: Callable[[], Any]) -> Json:
        """One Web API request, tried again after a server error or a dropped connection, refused at
        once while Spotify's circuit is open."""
        return await self._upstreams.call(UPSTREAM, lambda: self._call_once(request))

    async def _call_once(self, request: Callable[[], Any]) -> Json:
        """One Web API request in the pool, waiting out 429s on the loop (not in a thread)."""
        loop = asyncio.get_running_loop()
        refreshed = False
        for attempt in range(MAX_RATE_LIMIT_WAITS + 2):
            try:
                body = await loop.run_in_executor(self._pool, request)
            except SpotifyException as refused:
                if refused.http_status == 401 and not refreshed:
                    # The token was revoked or expired early: spotipy only checks its own clock.
                    self._tokens.save_token_to_cache(None)
                    refreshed = True
                    continue
                if refused.http_status != 429 or attempt >= MAX_RATE_LIMIT_WAITS:
                    raise QueryFailed(_reason(refused), _fault(refused)) from refused
                await self._wait_out(refused)
                continue
            except SpotifyOauthError as refused:
                raise _token_refused(refused) from refused
            except requests.RequestException as unreachable:
                raise QueryFailed(UNREACHABLE, UpstreamFault.FAILING) from unreachable
            if not isinstance(body, Mapping):
                raise QueryFailed("Spotify answered with something that is not a track list; try again")
            return body
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _wait_out(self, refused: SpotifyException) -> None:
        retry_after = _retry_after_s(refused.headers)
        if retry_after > MAX_RETRY_AFTER_S:
            minutes = max(1, round(retry_after / 60))
            raise QueryFailed(f"Spotify asks musicbox to wait {minutes} min; try again then") from refused
        self.rate_limit_waits += 1
        log.info("spotify: rate limited, waiting %.1f s as asked", retry_after)
        await asyncio.sleep(retry_after)


class SpotifyTrack:
    """A Spotify track as the queue sees it and as the matcher needs it."""

    __slots__ = ("track", "wanted")

    def __init__(self, track: Track, wanted: Wanted) -> None:
        self.track = track
        self.wanted = wanted


def _client(config: SpotifyConfig, tokens: MemoryCacheHandler, proxy_url: str) -> spotipy.Spotify:
    credentials = spotipy.SpotifyClientCredentials(
        client_id=config.client_id,
        client_secret=config.client_secret,
        requests_timeout=REQUEST_TIMEOUT_S,
        cache_handler=tokens,
    )
    credentials.OAUTH_TOKEN_URL = config.accounts_base.rstrip("/") + "/api/token"
    client = spotipy.Spotify(
        auth_manager=credentials, requests_timeout=REQUEST_TIMEOUT_S, requests_session=_session(proxy_url)
    )
    client.prefix = config.api_base if config.api_base.endswith("/") else config.api_base + "/"
    return client


def _session(proxy_url: str) -> requests.Session:
    """spotipy's own session would sleep through any Retry-After in a pool thread, however long
    (urllib3 honours it for 429 whatever the status list says), and retry server errors in lockstep;
    this one tries once and hands every answer back to `_call`, whose retries are jittered. It goes
    out through the egress gate like every other request, whatever the environment's proxy says."""
    retry = Retry(total=0, read=False, respect_retry_after_header=False, raise_on_status=False)
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"http": proxy_url, "https": proxy_url}
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _tracks(bodies: Sequence[Any]) -> list[SpotifyTrack]:
    tracks: list[SpotifyTrack] = []
    for body in bodies:
        track = _track(body) if isinstance(body, Mapping) else None
        if track is not None:
            tracks.append(track)
    return tracks


def _track(body: Json) -> SpotifyTrack | None:
    spotify_id = body.get("id")
    if not isinstance(spotify_id, str) or body.get("is_local"):  # local files have no id to play
        return None
    if body.get("type", "track") != "track":  # a podcast episode in a playlist is no song to match
        return None
    wanted = _wanted(body)
    track = Track(
        TrackId("spotify", spotify_id),
        wanted.title,
        f"https://open.spotify.com/track/{spotify_id}",
        wanted.duration_s,
        ", ".join(wanted.artists) or None,
    )
    return SpotifyTrack(track, wanted)


def _wanted(body: Json) -> Wanted:
    artists = tuple(
        str(artist["name"])
        for artist in body.get("artists") or []
        if isinstance(artist, Mapping) and artist.get("name")
    )
    duration_ms = body.get("duration_ms")
    external = body.get("external_ids")
    isrc = external.get("isrc") if isinstance(external, Mapping) else None
    return Wanted(
        str(body.get("name") or "Unknown title"),
        artists,
        duration_ms / 1000 if isinstance(duration_ms, int | float) and duration_ms > 0 else None,
        isrc if isinstance(isrc, str) else None,
    )


def _reason(refused: SpotifyException) -> str:
    if refused.http_status == 404:
        return "Spotify has nothing at that link (404); check it is public and complete"
    if refused.http_status in (400, 401, 403):
        return (
            CREDENTIALS_REFUSED
            if refused.http_status == 401
            else "Spotify would not share that; is it private?"
        )
    if refused.http_status == 429:
        return "Spotify asked musicbox to slow down; try again in a minute"
    return FAILING


def _token_refused(refused: SpotifyOauthError) -> QueryFailed:
    """spotipy raises the same error whatever the accounts service answered the token request: the
    owner's id and secret are at fault only when it refused them (a 4xx), not when it failed (a 5xx,
    a 429) or sent something else."""
    answer = refused.__context__  # spotipy raises it while handling the HTTPError
    response = answer.response if isinstance(answer, requests.HTTPError) else None
    status = response.status_code if response is not None else None
    if status is not None and 400 <= status < 500 and status != 429:
        return QueryFailed(CREDENTIALS_REFUSED)
    return QueryFailed(FAILING, UpstreamFault.FAILING)


def _fault(refused: SpotifyException) -> UpstreamFault:
    # A 429 here has had its Retry-After waits already; trying again at once would only add to them.
    return UpstreamFault.FAILING if refused.http_status >= 500 else UpstreamFault.NONE


def _retry_after_s(headers: Mapping[str, str] | None) -> float:
    try:
        return max(0.0, float((headers or {}).get("Retry-After", "1")))
    except ValueError:
        return 1.0


def spotify_aware(resolver: YtDlpSource, config: Config, store: Connection) -> SpotifySource | YtDlpSource:
    """The source `musicbox run` hands the bot: Spotify links read and matched when the owner gave
    credentials, else the resolver alone (which tells members how the owner sets Spotify up)."""
    if not config.spotify.configured:
        return resolver
    return SpotifySource(
        config.spotify,
        store,
        resolver,
        max_playlist=config.playback.max_playlist,
        upstreams=resolver.upstreams,
        proxy_url=resolver.egress.proxy_url,
    )
