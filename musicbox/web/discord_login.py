""" "Login with Discord" for members: the OAuth2 authorization-code flow with the `identify` and
`guilds` scopes. The bot's own application is the OAuth2 client (its id is the bot's application
id; the owner puts its client secret in `[web] oauth_client_secret`), and Discord sends the member
back to `<page>/login/discord/callback`, which the owner adds as a redirect in the Developer Portal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from musicbox.web.auth import Member

SCOPES = "identify guilds"
TIMEOUT_S = 15.0


class LoginFailed(Exception):
    """Discord did not confirm who the member is; the sentence says what to do."""


@dataclass(frozen=True, slots=True)
class DiscordLogin:
    client_id: Callable[[], int | None]  # the bot's application id, known once it has logged in
    client_secret: str
    api_base: str  # https://discord.com/api/v10, or the simulator's
    redirect_uri: str

    @property
    def site_base(self) -> str:
        # The consent page is on the site, not under the API: https://discord.com/oauth2/authorize
        return self.api_base.rsplit("/api", 1)[0]

    def authorize_url(self, state: str) -> str | None:
        client_id = self.client_id()
        if client_id is None:
            return None
        query = {
            "client_id": str(client_id),
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "scope": SCOPES,
            "state": state,
            "prompt": "none",
        }
        return f"{self.site_base}/oauth2/authorize?{urlencode(query)}"

    async def member(self, code: str) -> Member:
        """Trade the code for a token and ask Discord who it is and which servers they are in."""
        form = {
            "client_id": str(self.client_id()),
            "client_secret": self.client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
        }
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as http:
                async with http.post(f"{self.api_base}/oauth2/token", data=form) as answer:
                    if answer.status != 200:
                        raise LoginFailed("Discord did not accept the login; try again.")
                    token = (await answer.json())["access_token"]
                bearer = {"Authorization": f"Bearer {token}"}
                async with http.get(f"{self.api_base}/users/@me", headers=bearer) as answer:
                    answer.raise_for_status()
                    user = await answer.json()
                async with http.get(f"{self.api_base}/users/@me/guilds", headers=bearer) as answer:
                    answer.raise_for_status()
                    guilds = await answer.json()
        except (aiohttp.ClientError, TimeoutError, KeyError, ValueError) as failed:
            raise LoginFailed("Discord could not be reached to confirm the login; try again.") from failed
        return Member(
            user_id=int(user["id"]),
            name=str(user.get("global_name") or user["username"]),
            guild_ids=frozenset(int(guild["id"]) for guild in guilds),
        )
