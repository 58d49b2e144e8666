"""Discord's OAuth2 authorization-code flow, as "Login with Discord" uses it: the authorize page
(`/oauth2/authorize`: the simulator's stands in for Discord's consent screen, with a button per
user, since a test's browser has no Discord account), the token exchange (`/api/oauth2/token`, also
under /api/v10), and `users/@me` and `users/@me/guilds` answered to the bearer token it issued.
Strict as Discord is: the client id and secret, the exact redirect URI of the authorization, a code
used once and within 10 minutes, scopes that cover what is asked."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from musicbox.sim.discord.world import user_payload

if TYPE_CHECKING:
    from musicbox.sim.discord.server import DiscordSim

CODE_S = 600
TOKEN_S = 604_800


@dataclass(frozen=True, slots=True)
class Grant:
    user_id: int
    scopes: frozenset[str]
    redirect_uri: str
    expires_at: float


def _error(status: int, code: str, description: str) -> web.Response:
    return web.json_response({"error": code, "error_description": description}, status=status)


class OAuth:
    def __init__(self, sim: DiscordSim) -> None:
        self.sim = sim
        self.client_secret = secrets.token_urlsafe(24)  # the application's, as the portal shows it
        self._codes: dict[str, Grant] = {}
        self._tokens: dict[str, Grant] = {}
        self.authorized: list[int] = []  # users who pressed Authorize, in order

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/oauth2/authorize", self.authorize_page)
        app.router.add_post("/oauth2/authorize", self.authorize)
        app.router.add_post("/api/oauth2/token", self.token)
        app.router.add_post("/api/v10/oauth2/token", self.token)

    async def authorize_page(self, request: web.Request) -> web.Response:
        problem = self._request_problem(request.query)
        if problem:
            return web.Response(status=400, text=problem)
        users = {
            member.user_id: member.name
            for guild in self.sim.guilds.values()
            for member in guild.record.members.values()
            if not member.bot
        }
        hidden = "".join(
            f'<input type=hidden name="{escape(key)}" value="{escape(request.query[key])}">'
            for key in ("client_id", "redirect_uri", "scope", "state", "response_type")
            if key in request.query
        )
        buttons = "".join(
            f'<button name=user_id value="{user_id}" id="authorize-{escape(name)}">'
            f"Authorize as {escape(name)}</button>"
            for user_id, name in users.items()
        )
        html = (
            "<!doctype html><title>Discord (simulated): authorize</title>"
            f"<h1>{escape(self.sim.bot_name)} wants to access your account</h1>"
            f'<form method=post action="/oauth2/authorize">{hidden}{buttons}</form>'
        )
        return web.Response(text=html, content_type="text/html")

    async def authorize(self, request: web.Request) -> web.Response:
        form = await request.post()
        fields = {key: str(value) for key, value in form.items()}
        problem = self._request_problem(fields)
        if problem or not fields.get("user_id", "").isdigit():
            return web.Response(status=400, text=problem or "no user")
        code = secrets.token_urlsafe(16)
        user_id = int(fields["user_id"])
        self._codes[code] = Grant(
            user_id, frozenset(fields["scope"].split()), fields["redirect_uri"], time.time() + CODE_S
        )
        self.authorized.append(user_id)
        answer = {"code": code, **({"state": fields["state"]} if "state" in fields else {})}
        raise web.HTTPFound(f"{fields['redirect_uri']}?{urlencode(answer)}")

    async def token(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        if (
            form.get("client_id") != str(self.sim.application_id)
            or form.get("client_secret") != self.client_secret
        ):
            return _error(401, "invalid_client", "Unknown client or wrong secret")
        if form.get("grant_type") != "authorization_code":
            return _error(400, "unsupported_grant_type", "Only authorization_code")
        grant = self._codes.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at < time.time():
            return _error(400, "invalid_grant", 'Invalid "code" in request.')
        if form.get("redirect_uri") != grant.redirect_uri:
            return _error(400, "invalid_grant", 'Invalid "redirect_uri" in request.')
        access = secrets.token_urlsafe(24)
        self._tokens[access] = Grant(grant.user_id, grant.scopes, grant.redirect_uri, time.time() + TOKEN_S)
        return web.json_response(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_S,
                "refresh_token": secrets.token_urlsafe(24),
                "scope": " ".join(sorted(grant.scopes)),
            }
        )

    def answer(self, authorization: str, parts: list[str]) -> web.Response | None:
        """`users/@me` or `users/@me/guilds` for a bearer token; None when the request is not one."""
        if not authorization.startswith("Bearer ") or parts[:2] != ["users", "@me"] or len(parts) > 3:
            return None
        grant = self._tokens.get(authorization.removeprefix("Bearer "))
        if grant is None or grant.expires_at < time.time():
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        if parts == ["users", "@me"] and "identify" in grant.scopes:
            name = next(
                (
                    member.name
                    for guild in self.sim.guilds.values()
                    for member in guild.record.members.values()
                    if member.user_id == grant.user_id
                ),
                "unknown",
            )
            return web.json_response(user_payload(grant.user_id, name))
        if parts == ["users", "@me", "guilds"] and "guilds" in grant.scopes:
            return web.json_response(
                [
                    {
                        "id": str(guild.id),
                        "name": guild.record.name,
                        "icon": None,
                        "owner": False,
                        "permissions": "0",
                    }
                    for guild in self.sim.guilds.values()
                    if grant.user_id in guild.record.members
                ]
            )
        return web.json_response({"message": "Missing Access", "code": 50001}, status=403)

    def _request_problem(self, fields: Any) -> str:
        if fields.get("client_id") != str(self.sim.application_id):
            return "Unknown application"
        if fields.get("response_type", "code") != "code":
            return "Only the code flow"
        if "identify" not in fields.get("scope", "").split():
            return "The identify scope is needed"
        if not str(fields.get("redirect_uri", "")).startswith(("http://", "https://")):
            return "Invalid redirect_uri"
        return ""
