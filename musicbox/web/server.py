"""The web page's HTTP side: routes, the login gate, CSRF checks and security headers.

Every page but the login page needs the owner's session cookie (HttpOnly, SameSite=Strict); every
request that changes something (a POST) must also carry the session's CSRF token, which a page on
another site cannot read. The login form has its own: a random value both in a cookie and in the
form, so another site cannot log a browser in as someone else either."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from typing import Any, NoReturn

from aiohttp import web

from musicbox.bot.remote import Done, Refused, Remote
from musicbox.core.config import WebConfig
from musicbox.core.passwords import password_matches
from musicbox.core.vitals import Sample
from musicbox.web import api, charts, member_pages, pages
from musicbox.web.api import ApiAccess
from musicbox.web.auth import (
    SESSION_COOKIE,
    SESSION_S,
    LoginThrottle,
    Member,
    OneTimeLinks,
    WebSession,
    WebSessions,
    csrf_matches,
)
from musicbox.web.discord_login import DiscordLogin, LoginFailed

log = logging.getLogger(__name__)
Snapshot = Callable[[], dict[str, Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

LOGIN_COOKIE = "musicbox_login"
OAUTH_COOKIE = "musicbox_oauth"  # the state of a Discord login under way
STATIC = {"style.css": "text/css", "dashboard.js": "text/javascript", "reorder.js": "text/javascript"}
# The API authenticates each request by its token, not the owner's cookie (so no CSRF either: a
# browser never sends a bearer token by itself).
PUBLIC_PREFIXES = ("/login", "/static/", "/api/")
LIVE_EVERY_S = 2.0  # how often an open page is sent the status (only when it changed)
MAX_FORM_BYTES = 16 * 1024  # a password and a token; nothing the page sends is bigger
HEADERS = {
    # Our own files only: no inline script, no frames, forms post only back here.
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # A one-time link's token is in its path: no page may pass it on as a referrer.
    "Referrer-Policy": "no-referrer",
}
STATE_KEY: web.AppKey[WebState] = web.AppKey("web_state")


@dataclass
class WebState:
    """What the web page shares with the rest of the bot: the status it shows, and the one-time
    links the control socket issues (`musicbox web link`)."""

    config: WebConfig
    snapshot: Snapshot
    vitals: Callable[[], Sequence[Sample]] = tuple  # the last day's samples, for the graphs
    log: Callable[[], Sequence[dict[str, Any]]] = tuple  # the recent log lines, as RecentErrors keeps them
    # Empties the audio cache but for what plays or is queued: (songs, bytes); None: the cache is off.
    purge_cache: Callable[[], Awaitable[tuple[int, int]]] | None = None
    # The REST API under /api/v1 (personal tokens, the slash commands' rules); None: not served.
    api: ApiAccess | None = None
    remote: Remote | None = None
    # Members' "Login with Discord" (needs `remote` too); None: only the owner logs in.
    discord_login: DiscordLogin | None = None
    links: OneTimeLinks = field(default_factory=OneTimeLinks)
    sessions: WebSessions = field(default_factory=WebSessions)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    # Set at shutdown: every open live stream ends, so stopping the bot never waits on a browser.
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    problem: str | None = None  # why the page is not served (its port taken), for status


def build_app(state: WebState) -> web.Application:
    app = web.Application(middlewares=[_headers, _gate], client_max_size=MAX_FORM_BYTES)
    routes = Routes(state)
    app.router.add_get("/login", routes.login_page)
    app.router.add_post("/login", routes.login)
    app.router.add_get("/login/link/{token}", routes.login_by_link)
    app.router.add_get("/login/discord", routes.login_with_discord)
    app.router.add_get("/login/discord/callback", routes.discord_callback)
    app.router.add_get("/member", routes.member_home)
    app.router.add_get("/member/{guild_id:[0-9]+}", routes.member_guild)
    app.router.add_get("/member/{guild_id:[0-9]+}/events", routes.member_events)
    app.router.add_post("/member/{guild_id:[0-9]+}/{action}", routes.member_action)
    app.router.add_post("/logout", routes.logout)
    app.router.add_get("/", routes.dashboard)
    app.router.add_get("/status.json", routes.status_json)
    app.router.add_get("/events", routes.events)
    app.router.add_post("/cache/purge", routes.purge_cache)
    app.router.add_get("/static/{name}", routes.static)
    app[STATE_KEY] = state
    if state.api is not None and state.remote is not None:
        app.add_subapp(api.BASE, api.build_api(state.api, state.remote, state.sessions))

    async def end_streams(_: web.Application) -> None:
        state.closing.set()

    app.on_shutdown.append(end_streams)
    return app


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as answer:
        response = answer
    response.headers.update(HEADERS)
    response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response


@web.middleware
async def _gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC_PREFIXES):
        return await handler(request)
    state = request.app[STATE_KEY]
    session = state.sessions.find(request.cookies.get(SESSION_COOKIE))
    if session is None:
        if request.method == "GET" and not request.path.endswith(".json"):
            raise web.HTTPSeeOther("/login")
        return _json_error(401, "Log in first.")
    member_page = request.path.startswith("/member")
    if member_page and session.member is None:  # the owner is nobody's member here
        raise web.HTTPSeeOther("/")
    if session.member is not None and not member_page and request.path != "/logout":
        if request.method == "GET" and not request.path.endswith(".json"):
            raise web.HTTPSeeOther("/member")
        return _json_error(403, "This is the owner's; your page is /member.")
    if request.method not in ("GET", "HEAD"):
        form = await request.post()
        given = request.headers.get("X-CSRF-Token") or form.get("csrf")
        if not csrf_matches(session, given if isinstance(given, str) else None):
            return _json_error(
                403, "This request did not come from the musicbox page: reload it and try again."
            )
    return await handler(request)


def _json_error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": message}), content_type="application/json")


class Routes:
    def __init__(self, state: WebState) -> None:
        self._state = state

        # Read once: the files are a few kilobytes, and a request should not touch the disk.
        self._static = {
            name: resources.files("musicbox.web").joinpath("static", name).read_bytes() for name in STATIC
        }

    async def login_page(self, request: web.Request) -> web.Response:
        return self._login_form(request, problem=request.query.get("problem", ""))

    async def login(self, request: web.Request) -> web.Response:
        address = request.remote or "unknown"
        wait_s = self._state.throttle.wait_s(address)
        if wait_s > 0:
            return self._login_form(request, status=429, wait_s=wait_s)
        form = await request.post()
        given, password = form.get("csrf"), form.get("password")
        expected = request.cookies.get(LOGIN_COOKIE)
        if not (isinstance(given, str) and expected and secrets.compare_digest(given, expected)):
            return self._login_form(request, status=403)  # a fresh form, with a cookie to match
        if not self._state.config.password_hash:
            return self._login_form(request, status=403, problem="no-password")
        if not (isinstance(password, str) and password_matches(self._state.config.password_hash, password)):
            self._state.throttle.failed(address)
            return self._login_form(request, status=401, problem="wrong")
        return self._logged_in()

    async def login_by_link(self, request: web.Request) -> web.Response:
        if not self._state.links.redeem(request.match_info["token"]):
            return self._login_form(request, status=403, problem="expired")
        return self._logged_in()

    async def login_with_discord(self, request: web.Request) -> web.Response:
        login = self._state.discord_login
        state = secrets.token_urlsafe(24)
        target = login.authorize_url(state) if login is not None else None
        if target is None:  # not set up, or the bot has not logged in to Discord yet
            return self._login_form(request, status=404, problem="discord")
        response = web.HTTPSeeOther(target)
        # Lax, not Strict: Discord's redirect back is a cross-site navigation, which must carry it.
        response.set_cookie(
            OAUTH_COOKIE, state, path="/login/discord", httponly=True, samesite="Lax", max_age=600
        )
        raise response

    async def discord_callback(self, request: web.Request) -> web.Response:
        login = self._state.discord_login
        expected = request.cookies.get(OAUTH_COOKIE, "")
        given, code = request.query.get("state", ""), request.query.get("code", "")
        if login is None or not expected or not code or not secrets.compare_digest(given, expected):
            return self._login_form(request, status=403, problem="discord")
        try:
            member = await login.member(code)
        except LoginFailed:
            return self._login_form(request, status=502, problem="discord")
        cookie, _ = self._state.sessions.open(member)
        # A page, not a redirect: a SameSite=Strict cookie set during a navigation that began on
        # another site is not sent on that navigation's redirects; the next, same-site, one sends it.
        response = web.Response(
            text=pages.page(
                "musicbox",
                '<meta http-equiv=refresh content="0;url=/member">'
                f'<p>Logged in as {escape(member.name)}. <a href="/member">Continue</a></p>',
            ),
            content_type="text/html",
        )
        response.set_cookie(
            SESSION_COOKIE, cookie, path="/", httponly=True, samesite="Strict", max_age=SESSION_S
        )
        response.del_cookie(OAUTH_COOKIE, path="/login/discord")
        return response

    async def member_home(self, request: web.Request) -> web.Response:
        member, session = self._member(request)
        guilds = await self._remote().guilds(member.user_id)
        shared = [guild for guild in guilds if int(guild["id"]) in member.guild_ids]
        return _html(member_pages.guilds_page(member.name, shared, session.csrf))

    async def member_guild(self, request: web.Request) -> web.Response:
        member, session = self._member(request)
        guild_id = int(request.match_info["guild_id"])
        try:
            queue = await self._remote().queue(member.user_id, guild_id)
        except Refused as refused:
            return _html(member_pages.guilds_page(member.name, [], session.csrf), status=refused.status)
        return _html(member_pages.guild_page(member.name, guild_id, queue, session.csrf))

    async def member_events(self, request: web.Request) -> web.StreamResponse:
        member, session = self._member(request)
        guild_id = int(request.match_info["guild_id"])

        async def fragment() -> str:
            try:
                queue = await self._remote().queue(member.user_id, guild_id)
            except Refused as refused:
                return f"<p class=problem>{escape(refused.sentence)}</p>"
            return member_pages.queue_section(guild_id, queue, session.csrf)

        return await self._stream(request, fragment)

    async def member_action(self, request: web.Request) -> web.Response:
        member, session = self._member(request)
        guild_id = int(request.match_info["guild_id"])
        form = await request.post()
        remote, user = self._remote(), member.user_id
        actions: dict[str, Callable[[], Awaitable[Done]]] = {
            "skip": lambda: remote.skip(user, guild_id),
            "pause": lambda: remote.pause(user, guild_id),
            "resume": lambda: remote.resume(user, guild_id),
            "volume": lambda: remote.volume(user, guild_id, _form_number(form.get("percent"))),
            "remove": lambda: remote.remove(user, guild_id, _form_number(form.get("position"))),
            "move": lambda: remote.move(
                user, guild_id, _form_number(form.get("from")), _form_number(form.get("to"))
            ),
            "play": lambda: remote.play(user, guild_id, str(form.get("query", "")).strip()[:500]),
        }
        act = actions.get(request.match_info["action"])
        if act is None:
            raise web.HTTPNotFound()
        status, said = 200, ""
        try:
            said = (await act()).message
        except Refused as refused:
            status, said = refused.status, refused.sentence
        try:
            queue = await remote.queue(user, guild_id)
        except Refused:
            raise web.HTTPSeeOther("/member") from None
        page = member_pages.guild_page(
            member.name, guild_id, queue, session.csrf, said, refused=status != 200
        )
        return _html(page, status=status)

    def _member(self, request: web.Request) -> tuple[Member, WebSession]:
        session = self._state.sessions.find(request.cookies.get(SESSION_COOKIE))
        if session is None or session.member is None:  # expired since the gate let it in
            raise web.HTTPSeeOther("/login")
        return session.member, session

    def _remote(self) -> Remote:
        if self._state.remote is None:
            raise web.HTTPNotFound()
        return self._state.remote

    async def logout(self, request: web.Request) -> NoReturn:
        self._state.sessions.close(request.cookies.get(SESSION_COOKIE))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    async def dashboard(self, request: web.Request) -> web.Response:
        session = self._state.sessions.find(request.cookies.get(SESSION_COOKIE))
        if session is None:  # expired since the gate let the request in
            raise web.HTTPSeeOther("/login")
        html = pages.dashboard_page(
            self._live(request),
            csrf=session.csrf,
            notice=pages.purge_notice(request.query.get("purged", ""), request.query.get("freed", "")),
            cache_on=self._state.purge_cache is not None,
            events_query=f"?level={pages.log_level(request.query.get('level', ''))}",
        )
        return web.Response(text=html, content_type="text/html")

    async def status_json(self, _: web.Request) -> web.Response:
        return web.json_response(self._state.snapshot())

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: the status section each time it changes, while the page is open."""

        async def fragment() -> str:
            return self._live(request)

        return await self._stream(request, fragment)

    async def _stream(
        self, request: web.Request, fragment: Callable[[], Awaitable[str]]
    ) -> web.StreamResponse:
        stream = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        stream.headers.update(HEADERS)
        await stream.prepare(request)
        sent = ""
        while not self._state.closing.is_set():
            now = await fragment()
            if now != sent:
                try:
                    await stream.write(server_sent_event("status", now))
                except ConnectionResetError:  # the page was closed: nobody is listening any more
                    return stream
                sent = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._state.closing.wait(), LIVE_EVERY_S)
        return stream

    async def purge_cache(self, _: web.Request) -> NoReturn:
        if self._state.purge_cache is None:
            raise web.HTTPSeeOther("/")
        songs, freed = await self._state.purge_cache()
        log.info("the web page purged the cache: %d songs, %d bytes", songs, freed)
        raise web.HTTPSeeOther(f"/?purged={songs}&freed={freed}")

    def _live(self, request: web.Request) -> str:
        """The part of the dashboard that changes: the status, the graphs, the log at the level
        the page asked for (`?level=`)."""
        level = pages.log_level(request.query.get("level", ""))
        return (
            pages.status_section(self._state.snapshot())
            + charts.graphs_section(self._state.vitals(), time.time())
            + pages.log_section(self._state.log(), level)
        )

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(
            body=self._static[name], content_type=STATIC[name], headers={"Cache-Control": "max-age=3600"}
        )

    def _login_form(
        self, request: web.Request, *, status: int = 200, problem: str = "", wait_s: float = 0.0
    ) -> web.Response:
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        html = pages.login_page(
            csrf=token, problem=problem, wait_s=wait_s, with_discord=self._state.discord_login is not None
        )
        response = web.Response(status=status, text=html, content_type="text/html")
        response.set_cookie(LOGIN_COOKIE, token, path="/login", httponly=True, samesite="Strict")
        return response

    def _logged_in(self) -> NoReturn:
        cookie, _ = self._state.sessions.open()
        response = web.HTTPSeeOther("/")
        response.set_cookie(
            SESSION_COOKIE, cookie, path="/", httponly=True, samesite="Strict", max_age=SESSION_S
        )
        raise response


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html")


def _form_number(value: object) -> int:
    if not (isinstance(value, str) and value.strip().lstrip("-").isdigit()):
        raise Refused(400, "Give a whole number.")
    return int(value)


def page_url(config: WebConfig, hostname: str) -> str:
    """Where the owner opens the page: on every interface, by this box's name on the network."""
    address = ipaddress.ip_address(config.host)
    if address.is_unspecified:
        return f"http://{hostname}:{config.port}/"
    host = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{host}:{config.port}/"


def server_sent_event(name: str, data: str) -> bytes:
    # A line break inside the data would end the field early: each line is its own data: field,
    # which the browser joins back with line breaks.
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"event: {name}\n{lines}\n".encode()


@contextlib.asynccontextmanager
async def serving(state: WebState) -> AsyncIterator[None]:
    """The web page on `[web] host:port` until the block ends. A port that cannot be had (another
    program holds it) is logged and shown by `musicbox status`; the bot plays on without the page."""
    runner = web.AppRunner(build_app(state), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, state.config.host, state.config.port).start()
        except OSError as refused:
            state.problem = f"cannot listen on {state.config.host}:{state.config.port}: {refused.strerror}"
            log.error("not serving the web page: %s; choose another [web] port", state.problem)
        yield
    finally:
        await runner.cleanup()
