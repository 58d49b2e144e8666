"""Who a bot token belongs to, asked of Discord the way discord.py's login does (GET /users/@me and
/oauth2/applications/@me with `Authorization: Bot <token>`), so `musicbox setup` can check a token
before saving it and build the invite link from the application id."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from musicbox.core.secrets import token_problem

# What the bot needs in a server: see channels, send and embed its replies, read history for
# follow-ups, connect and speak in voice. Nothing administrative.
INVITE_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 20) | (1 << 21)
INVITE_SCOPES = "bot+applications.commands"


@dataclass(frozen=True, slots=True)
class BotIdentity:
    name: str
    application_id: int
    server_time: float | None = None  # Discord's Date header, for `musicbox doctor`'s clock check

    @property
    def invite_url(self) -> str:
        return (
            "https://discord.com/oauth2/authorize"
            f"?client_id={self.application_id}&scope={INVITE_SCOPES}&permissions={INVITE_PERMISSIONS}"
        )


class IdentityUnknown(Exception):
    """One sentence for the owner: why the token could not be checked, and what to do."""


async def identify(api_base: str, token: str, *, timeout_s: float = 15.0) -> BotIdentity:
    # A malformed token is told as such, not as Discord's refusal or a network error (a line break
    # in it would not even make a valid header).
    if problem := token_problem(token.strip()):
        raise IdentityUnknown(problem)
    headers = {"Authorization": f"Bot {token.strip()}"}
    try:
        async with aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as http:
            user, server_time = await _get(http, f"{api_base}/users/@me")
            application, _ = await _get(http, f"{api_base}/oauth2/applications/@me")
    except (aiohttp.ClientError, TimeoutError) as unreachable:
        raise IdentityUnknown(
            f"could not reach Discord at {api_base} ({type(unreachable).__name__}); "
            "check the box's network and run `musicbox setup` again"
        ) from unreachable
    return BotIdentity(
        name=str(user.get("username", "?")), application_id=int(application["id"]), server_time=server_time
    )


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[dict[str, Any], float | None]:
    async with http.get(url) as response:
        if response.status == 401:
            raise IdentityUnknown(
                "Discord refused that token; copy it again from the Bot page of your application "
                "at https://discord.com/developers/applications (Reset Token if unsure)"
            )
        if response.status >= 400:
            raise IdentityUnknown(f"Discord answered {response.status} to {url}; try again in a minute")
        payload: dict[str, Any] = await response.json()
        return payload, _header_time(response.headers.get("Date"))


def _header_time(value: str | None) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp() if value else None
    except (TypeError, ValueError):
        return None
