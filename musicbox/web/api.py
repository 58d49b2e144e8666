"""The REST API under /api/v1: a guild's queue (show, play/search, skip, pause, resume, remove,
move, volume) for a phone app or a script, authenticated by personal tokens or by the session of a
member logged in with Discord (the page's own scripts), and held to the slash commands' rules
(bot/remote.py). Every error is JSON, {"error": "<one sentence>"}; every token has
its own request budget (core/request_budget.py)."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from musicbox.bot.remote import Done, Refused, Remote
from musicbox.core.request_budget import RequestBudget
from musicbox.store.api_tokens import ApiToken, ApiTokenStore, digest
from musicbox.web.auth import SESSION_COOKIE, WebSessions, csrf_matches
from musicbox.web.openapi import document

BASE = "/api/v1"
NO_TOKEN = (
    "Send your API token as 'Authorization: Bearer <token>'; "
    "the owner makes one with `musicbox api token create`."
)
BAD_TOKEN = "That API token is not valid (revoked, or never issued); ask the owner for a new one."
NO_CSRF = "Send the page's CSRF token as 'X-CSRF-Token' with a change made by your login session."
NAME_MAX = 40

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiAccess:
    """The tokens (by digest, in memory: no database read per request), the store behind them and
    each token's request budget."""

    def __init__(self, store: ApiTokenStore, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._tokens: dict[str, ApiToken] = {}
        self.budget = RequestBudget(clock)

    async def load(self) -> None:
        self._tokens = await asyncio.to_thread(self._store.by_digest)

    def holder(self, token: str) -> ApiToken | None:
        return self._tokens.get(digest(token))

    async def answer(self, request: str) -> dict[str, Any]:
        """The control socket's `api-token ...` requests: create USER_ID NAME, list, revoke ID."""
        words = request.split(maxsplit=2)
        if words[:1] == ["list"]:
            return {"tokens": [_listed(token) for token in sorted(self._tokens.values(), key=lambda t: t.id)]}
        if len(words) == 3 and words[0] == "create" and words[1].isdigit():
            name = words[2].strip()
            if not 0 < len(name) <= NAME_MAX or not name.isprintable():
                return {"error": f"a token's name must be 1 to {NAME_MAX} printable characters"}
            record, token = await asyncio.to_thread(self._store.create, int(words[1]), name)
            self._tokens[digest(token)] = record
            return {**_listed(record), "token": token}
        if len(words) == 2 and words[0] == "revoke" and words[1].isdigit():
            if not await asyncio.to_thread(self._store.revoke, int(words[1])):
                return {"error": f"there is no token {words[1]}: see `musicbox api token list`"}
            self._tokens = {key: t for key, t in self._tokens.items() if t.id != int(words[1])}
            return {"revoked": int(words[1])}
        return {"error": "ask for: create USER_ID NAME, list, or revoke ID"}


def _listed(token: ApiToken) -> dict[str, Any]:
    return {"id": token.id, "user_id": str(token.user_id), "name": token.name, "created_at": token.created_at}


def error(status: int, sentence: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps({"error": sentence}), content_type="application/json", headers=headers
    )


def build_api(access: ApiAccess, remote: Remote, sessions: WebSessions) -> web.Application:
    api = web.Application(middlewares=[_json_errors])
    routes = ApiRoutes(access, remote, sessions)
    api.router.add_get("/openapi.json", routes.openapi)
    api.router.add_get("/guilds", routes.guilds)
    api.router.add_get("/guilds/{guild_id}/queue", routes.queue)
    api.router.add_post("/guilds/{guild_id}/queue", routes.play)
    api.router.add_delete("/guilds/{guild_id}/queue/{position}", routes.remove)
    api.router.add_post("/guilds/{guild_id}/queue/move", routes.move)
    api.router.add_post("/guilds/{guild_id}/skip", routes.skip)
    api.router.add_post("/guilds/{guild_id}/pause", routes.pause)
    api.router.add_post("/guilds/{guild_id}/resume", routes.resume)
    api.router.add_put("/guilds/{guild_id}/volume", routes.volume)
    return api


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except _TooMany as slow_down:
        return error(429, slow_down.sentence, {"Retry-After": str(math.ceil(slow_down.wait_s))})
    except Refused as refused:
        return error(refused.status, refused.sentence)
    except web.HTTPNotFound:
        return error(404, "There is no such API path; see /api/v1/openapi.json.")
    except web.HTTPMethodNotAllowed:
        return error(405, "That method is not allowed on this path; see /api/v1/openapi.json.")


class ApiRoutes:
    def __init__(self, access: ApiAccess, remote: Remote, sessions: WebSessions) -> None:
        self._access = access
        self._remote = remote
        self._sessions = sessions

    async def openapi(self, _: web.Request) -> web.Response:
        return web.json_response(document())

    async def guilds(self, request: web.Request) -> web.Response:
        user_id = self._authorized(request)
        return web.json_response({"guilds": await self._remote.guilds(user_id)})

    async def queue(self, request: web.Request) -> web.Response:
        user_id = self._authorized(request)
        return web.json_response(await self._remote.queue(user_id, _guild(request)))

    async def play(self, request: web.Request) -> web.Response:
        user_id = self._authorized(request)
        body = await _body(request)
        query = body.get("query")
        if not isinstance(query, str) or not 0 < len(query.strip()) <= 500:
            raise Refused(400, 'Send {"query": "<a link or search words>"}, at most 500 characters.')
        return _done(await self._remote.play(user_id, _guild(request), query.strip()))

    async def remove(self, request: web.Request) -> web.Response:
        user_id = self._authorized(request)
        position = _whole(request.match_info["position"], "position")
        return _done(await self._remote.remove(user_id, _guild(request), position))

    async def move(self, request: web.Request) -> web.Response:
        user_id = self._authorized(request)
        body = await _body(request)
        wanted = 'Send {"from": <position>, "to": <position>}, positions as in the queue.'
        source, destination = _number(body, "from", wanted), _number(body, "to", wanted)
        return _done(await self._remote.move(user_id, _guild(request), source, destination))

    async def skip(self, request: web.Request) -> web.Response:
        user_id = self._authorized(request)
        return _done(await self._remote.skip(user_id, _guild(request)))

    async def pause(self, request: web.Request) -> web.Response:
        user_id = self._authorized(request)
        return _done(await self._remote.pause(user_id, _guild(request)))

    async def resume(self, request: web.Request) -> web.Response:
        user_id = self._authorized(request)
        return _done(await self._remote.resume(user_id, _guild(request)))

    async def volume(self, request: web.Request) -> web.Response:
        user_id = self._authorized(request)
        percent = _number(await _body(request), "percent", 'Send {"percent": <0 to 200>}.')
        return _done(await self._remote.volume(user_id, _guild(request), percent))

    def _authorized(self, request: web.Request) -> int:
        """The Discord user the request acts as: a personal token's, or the logged-in member's
        (whose changes must carry the page's CSRF token, since a browser sends cookies by itself)."""
        if "Authorization" not in request.headers:
            session = self._sessions.find(request.cookies.get(SESSION_COOKIE))
            if session is not None and session.member is not None:
                if request.method not in ("GET", "HEAD") and not csrf_matches(
                    session, request.headers.get("X-CSRF-Token")
                ):
                    raise Refused(403, NO_CSRF)
                self._spend(f"session {session.csrf}")  # the CSRF token: one per session, never stored
                return session.member.user_id
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise Refused(401, NO_TOKEN)
        token = self._access.holder(given.strip())
        if token is None:
            raise Refused(401, BAD_TOKEN)
        self._spend(f"token {token.id}")
        return token.user_id

    def _spend(self, holder: str) -> None:
        wait_s = self._access.budget.take(holder)
        if wait_s > 0:
            raise _TooMany(wait_s)


class _TooMany(Refused):
    def __init__(self, wait_s: float) -> None:
        super().__init__(
            429, f"Too many requests with this token or login; try again in {math.ceil(wait_s)} s."
        )
        self.wait_s = wait_s


def _done(done: Done) -> web.Response:
    return web.json_response({"message": done.message})


def _guild(request: web.Request) -> int:
    given = request.match_info["guild_id"]
    if not given.isdigit():
        raise Refused(404, "A server id is a number, as in /api/v1/guilds.")
    return int(given)


def _whole(given: str, name: str) -> int:
    if not given.isdigit():
        raise Refused(400, f"The {name} is a whole number, as in the queue.")
    return int(given)


def _number(body: dict[str, Any], key: str, wanted: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(400, wanted)
    return value


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise Refused(400, "Send a JSON object as the body, with Content-Type: application/json.")
    return body
