"""A local fake of the Spotify Web API and its accounts service, strict where spotipy relies on it.

Client-credentials tokens (Basic auth, 401 on anything else), tracks, albums and their paged tracks,
playlists and their paged items (limit/offset/next as Spotify pages them), an artist's top tracks,
404 for ids that do not exist, one 429 with Retry-After on demand, mid-playlist, and server errors
on demand."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from musicbox.sim.media.catalog import CATALOG_SIZE
from musicbox.sim.spotify import catalog

MAX_PLAYLIST_PAGE = 100  # Spotify's own caps on `limit`
MAX_ALBUM_PAGE = 50
TOKEN_LIFETIME_S = 3600


@dataclass
class _Throttle:
    offset: int
    retry_after_s: int


class SpotifyFake:
    def __init__(
        self, *, client_id: str = "musicbox-fake-id", client_secret: str = "musicbox-fake-secret"
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_url = ""
        self._tokens: set[str] = set()
        self._playlists: dict[str, tuple[str, list[int]]] = {}
        self._throttle: _Throttle | None = None
        self._lock = threading.Lock()
        self._log: list[str] = []
        self.throttled = 0  # 429s answered so far
        self._failing_with: int | None = None

    @property
    def accounts_base(self) -> str:
        return self.base_url

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/v1/"

    # -- the world a test arranges ------------------------------------------------------------------

    def add_playlist(self, indices: list[int], name: str = "Mixtape") -> str:
        """A playlist of catalog tracks in this order; returns its id."""
        if any(not 0 <= index < CATALOG_SIZE for index in indices):
            raise ValueError(f"playlist tracks must be catalog indices 0..{CATALOG_SIZE - 1}")
        with self._lock:
            spotify_id = catalog.playlist_id(len(self._playlists))
            self._playlists[spotify_id] = (name, list(indices))
        return spotify_id

    def throttle_playlist_page(self, offset: int, *, retry_after_s: int = 1) -> None:
        """The next request for a playlist page starting at `offset` is answered 429 once."""
        self._throttle = _Throttle(offset, retry_after_s)

    def fail_everything(self, status: int | None = 500) -> None:
        """Every request, the token's included, is answered `status` (a server error by default)
        until called again with None: Spotify having a bad day."""
        self._failing_with = status

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working, as when Spotify expires one early."""
        with self._lock:
            self._tokens.clear()

    def requests(self, path_prefix: str = "") -> list[str]:
        with self._lock:
            return [path for path in self._log if path.startswith(path_prefix)]

    # -- lifecycle ----------------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, **credentials: str) -> AsyncIterator[SpotifyFake]:
        fake = cls(**credentials)
        runner = web.AppRunner(fake._app(), shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        fake.base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        try:
            yield fake
        finally:
            await runner.cleanup()

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        app.router.add_post("/api/token", self._token)
        routes = (
            ("/v1/tracks/{id}", self._track),
            ("/v1/albums/{id}", self._album),
            ("/v1/albums/{id}/tracks", self._album_tracks),
            ("/v1/albums/{id}/tracks/", self._album_tracks),
            ("/v1/playlists/{id}", self._playlist),
            ("/v1/playlists/{id}/tracks", self._playlist_items),
            ("/v1/playlists/{id}/items", self._playlist_items),  # spotipy >= 2.25 asks for items
            ("/v1/artists/{id}/top-tracks", self._top_tracks),
        )
        for path, handler in routes:
            app.router.add_get(path, self._authorised(handler))
        return app

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        with self._lock:
            self._log.append(request.path_qs)
        if self._failing_with is not None:
            return web.Response(status=self._failing_with, text="upstream connect error")
        return await handler(request)

    # -- accounts -----------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response(
                {"error": "invalid_client", "error_description": "Invalid client"}, status=401
            )
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S}
        )

    def _authorised(
        self, handler: Callable[[web.Request], Awaitable[web.Response]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def checked(request: web.Request) -> web.Response:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            with self._lock:
                known = scheme == "Bearer" and token in self._tokens
            if not known:
                return _error(401, "Invalid access token")
            return await handler(request)

        return checked

    # -- the Web API --------------------------------------------------------------------------------

    async def _track(self, request: web.Request) -> web.Response:
        index = catalog.index_of(request.match_info["id"], "trk")
        if index is None or index >= CATALOG_SIZE:
            return _error(404, "Non existing id")
        return web.json_response(catalog.track_object(index))

    async def _album(self, request: web.Request) -> web.Response:
        album = self._album_index(request)
        if album is None:
            return _error(404, "Non existing id")
        path = f"albums/{catalog.album_id(album)}/tracks"
        page = self._page(request, path, catalog.album_track_indices(album), _album_item, MAX_ALBUM_PAGE)
        return web.json_response(catalog.album_object(album, with_tracks=page))

    async def _album_tracks(self, request: web.Request) -> web.Response:
        album = self._album_index(request)
        if album is None:
            return _error(404, "Non existing id")
        path = f"albums/{catalog.album_id(album)}/tracks"
        indices = catalog.album_track_indices(album)
        return web.json_response(self._page(request, path, indices, _album_item, MAX_ALBUM_PAGE))

    def _album_index(self, request: web.Request) -> int | None:
        album = catalog.index_of(request.match_info["id"], "alb")
        if album is None or album * catalog.TRACKS_PER_ALBUM >= CATALOG_SIZE:
            return None
        return album

    async def _playlist(self, request: web.Request) -> web.Response:
        spotify_id = request.match_info["id"]
        found = self._playlists.get(spotify_id)
        if found is None:
            return _error(404, "Not found.")
        name, indices = found
        page = self._page(
            request, f"playlists/{spotify_id}/tracks", indices, _playlist_item, MAX_PLAYLIST_PAGE
        )
        return web.json_response(
            {
                "id": spotify_id,
                "name": name,
                "type": "playlist",
                "uri": f"spotify:playlist:{spotify_id}",
                "tracks": page,
                "external_urls": {"spotify": f"https://open.spotify.com/playlist/{spotify_id}"},
            }
        )

    async def _playlist_items(self, request: web.Request) -> web.Response:
        spotify_id = request.match_info["id"]
        found = self._playlists.get(spotify_id)
        if found is None:
            return _error(404, "Not found.")
        throttle = self._throttle
        if throttle is not None and _offset(request) == throttle.offset:
            self._throttle = None
            self.throttled += 1
            return web.json_response(
                {"error": {"status": 429, "message": "API rate limit exceeded"}},
                status=429,
                headers={"Retry-After": str(throttle.retry_after_s)},
            )
        path = f"playlists/{spotify_id}/tracks"
        return web.json_response(self._page(request, path, found[1], _playlist_item, MAX_PLAYLIST_PAGE))

    async def _top_tracks(self, request: web.Request) -> web.Response:
        artist = catalog.index_of(request.match_info["id"], "art")
        names = catalog.artist_names()
        if artist is None or artist >= len(names):
            return _error(404, "Non existing id")
        return web.json_response(
            {"tracks": [catalog.track_object(index) for index in catalog.top_track_indices(names[artist])]}
        )

    def _page(
        self,
        request: web.Request,
        path: str,
        indices: list[int],
        item: Callable[[int], dict[str, Any]],
        cap: int,
    ) -> dict[str, Any]:
        offset = _offset(request)
        try:
            limit = int(request.query.get("limit", str(cap)))
        except ValueError:
            limit = cap
        limit = max(1, min(limit, cap))
        end = offset + limit
        href = f"{self.api_base}{path}?offset={offset}&limit={limit}"
        return {
            "href": href,
            "items": [item(index) for index in indices[offset:end]],
            "limit": limit,
            "offset": offset,
            "total": len(indices),
            "next": f"{self.api_base}{path}?offset={end}&limit={limit}" if end < len(indices) else None,
            "previous": f"{self.api_base}{path}?offset={max(0, offset - limit)}&limit={limit}"
            if offset
            else None,
        }


def _offset(request: web.Request) -> int:
    try:
        return max(0, int(request.query.get("offset", "0")))
    except ValueError:
        return 0


def _album_item(index: int) -> dict[str, Any]:
    return catalog.track_object(index, simplified=True)


def _playlist_item(index: int) -> dict[str, Any]:
    return {"track": catalog.track_object(index), "is_local": False}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"status": status, "message": message}}, status=status)
