"""Members log in with Discord (the simulator's OAuth2: authorize, token, users/@me and its guilds)
and control the music from their page, as far as their slash commands would let them: the DJ
skips and the listener hears the next song; a member without the DJ role is refused in the same
words; nobody but the owner sees the owner's page."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import aiohttp

from musicbox.bot import text
from musicbox.bot.remote import RemoteControl
from musicbox.core.config import WebConfig
from musicbox.sim.discord import DiscordSim, Member
from musicbox.store.api_tokens import ApiTokenStore
from musicbox.store.database import connect
from musicbox.web.api import NO_CSRF, ApiAccess
from musicbox.web.discord_login import DiscordLogin
from musicbox.web.server import WebState, page_url, serving
from tests.world.fixture import ToneWorld
from tests.world.stage import stage

SONG_S = 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=20)
    )


async def log_in_with_discord(http: aiohttp.ClientSession, base: str, sim: DiscordSim, member: Member) -> str:
    """Press "Log in with Discord", then "Authorize as <member>" on the simulated Discord."""
    async with http.get(f"{base}login/discord") as consent:
        assert consent.url.path == "/oauth2/authorize" and consent.status == 200
        html = await consent.text()
    fields = dict(re.findall(r'<input type=hidden name="([^"]+)" value="([^"]*)">', html))
    assert fields["scope"] == "identify guilds" and fields["redirect_uri"] == f"{base}login/discord/callback"
    async with http.post(
        f"{sim.site_base}/oauth2/authorize", data={**fields, "user_id": str(member.id)}
    ) as back:
        assert back.url.path == "/login/discord/callback" and back.status == 200
        assert f"Logged in as {member.name}" in await back.text()
    async with http.get(f"{base}member") as home:
        return await home.text()


async def press(
    http: aiohttp.ClientSession, base: str, guild_id: int, action: str, **fields: str
) -> tuple[int, str]:
    async with http.get(f"{base}member/{guild_id}") as page:
        found = re.search(r'name=csrf value="([^"]+)"', await page.text())
    assert found is not None
    async with http.post(
        f"{base}member/{guild_id}/{action}", data={"csrf": found.group(1), **fields}
    ) as answer:
        return answer.status, await answer.text()


async def test_a_dj_skips_from_the_page_and_a_member_without_the_role_is_refused(
    tone_world: ToneWorld, tmp_path: Path
) -> None:
    sim = tone_world.sim
    home = stage(sim)
    dave = home.guild.create_member("dave-home", roles=[home.guild.create_role("DJ")])
    elsewhere = stage(sim, "elsewhere")  # a server dave is not in
    async with tone_world.bot(dj_role="DJ") as bot:
        config = WebConfig(enabled=True, port=free_port())
        base = page_url(config, "box")
        login = DiscordLogin(
            lambda: bot.application_id, sim.oauth.client_secret, sim.api_base, f"{base}login/discord/callback"
        )
        access = ApiAccess(ApiTokenStore(connect(tmp_path / "api.sqlite3")))
        state = WebState(config, dict, api=access, remote=RemoteControl(bot), discord_login=login)
        async with serving(state), browser() as daves, browser() as bobs:
            listed = await log_in_with_discord(daves, base, sim, dave)
            assert f'href="/member/{home.guild.id}">home</a>' in listed and "elsewhere" not in listed
            async with daves.get(base) as owners_page:  # the owner's dashboard is not for members
                assert owners_page.url.path == "/member"
            async with daves.get(f"{base}status.json") as status:
                assert status.status == 403
            async with daves.get(f"{base}member/{elsewhere.guild.id}") as not_mine:
                assert not_mine.status == 404

            status, shown = await press(daves, base, home.guild.id, "play", query=f"tone:1:{SONG_S}")
            assert status == 409 and text.NOT_IN_VOICE in shown  # as /play would say
            await dave.join_voice(home.voice)
            status, shown = await press(daves, base, home.guild.id, "play", query=f"tone:1:{SONG_S}")
            assert status == 200 and "Playing" in shown
            status, shown = await press(daves, base, home.guild.id, "play", query=f"tone:2:{SONG_S}")
            assert status == 200 and "Tone 2" in shown
            await home.voice.heard().wait_for_rungs([1], timeout=20)

            # Bob has no DJ role: with alice listening too, his skip is a vote (two of three
            # needed), as /skip is in Discord; the volume is refused, as /volume is.
            await log_in_with_discord(bobs, base, sim, home.bob)
            await home.bob.join_voice(home.voice)
            await home.alice.join_voice(home.voice)
            status, shown = await press(bobs, base, home.guild.id, "skip")
            assert status == 200 and text.vote_counted(1, 2) in shown
            status, shown = await press(bobs, base, home.guild.id, "volume", percent="10")
            assert status == 403 and text.not_allowed("DJ") in shown.replace("&#x27;", "'")

            # The REST API takes the member's login as well as a token; a change made with the
            # session's cookie must carry the page's CSRF token, or another site could make it.
            api = f"{base}api/v1/guilds/{home.guild.id}"
            async with bobs.get(f"{api}/queue") as queue:
                assert queue.status == 200 and (await queue.json())["playing"]["title"] == "Tone 1"
            async with bobs.put(f"{api}/volume", json={"percent": 10}) as forged:
                assert forged.status == 403 and (await forged.json()) == {"error": NO_CSRF}
            async with bobs.get(f"{base}member/{home.guild.id}") as page:
                found = re.search(r'name=csrf value="([^"]+)"', await page.text())
            assert found is not None
            async with bobs.post(f"{api}/skip", headers={"X-CSRF-Token": found.group(1)}) as voted:
                assert voted.status == 200 and (await voted.json()) == {"message": text.vote_counted(1, 2)}

            status, shown = await press(daves, base, home.guild.id, "skip")
            assert status == 200 and "Skipped" in shown
            await home.voice.heard().wait_for_rungs([1, 2], timeout=20)
            async with bobs.get(f"{base}member/{home.guild.id}/events") as stream:
                first = (await stream.content.readuntil(b"\n\n")).decode()
            assert "Tone 2" in first  # bob's open page shows what dave's skip started
        assert sim.oauth.authorized == [dave.id, home.bob.id]


async def test_the_simulated_discord_holds_the_oauth2_flow_to_its_rules(discord_sim: DiscordSim) -> None:
    home = stage(discord_sim)
    redirect = "http://127.0.0.1:9/login/discord/callback"
    fields = {
        "client_id": str(discord_sim.application_id),
        "redirect_uri": redirect,
        "scope": "identify guilds",
        "response_type": "code",
        "user_id": str(home.alice.id),
    }
    token_url = f"{discord_sim.api_base}/oauth2/token"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{discord_sim.site_base}/oauth2/authorize", data=fields, allow_redirects=False
        ) as granted:
            code = granted.headers["Location"].split("code=")[1]
        exchange = {
            "client_id": fields["client_id"],
            "client_secret": discord_sim.oauth.client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
        }
        async with http.post(token_url, data={**exchange, "client_secret": "wrong"}) as refused:
            assert refused.status == 401 and (await refused.json())["error"] == "invalid_client"
        async with http.post(token_url, data={**exchange, "redirect_uri": "http://elsewhere/"}) as moved:
            assert (await moved.json())["error"] == "invalid_grant"  # and the code is spent
        async with http.post(
            f"{discord_sim.site_base}/oauth2/authorize", data=fields, allow_redirects=False
        ) as again:
            exchange["code"] = again.headers["Location"].split("code=")[1]
        async with http.post(token_url, data=exchange) as issued:
            token = (await issued.json())["access_token"]
        async with http.post(token_url, data=exchange) as replayed:
            assert (await replayed.json())["error"] == "invalid_grant"
        bearer = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{discord_sim.api_base}/users/@me", headers=bearer) as me:
            assert (await me.json())["id"] == str(home.alice.id)
        async with http.get(f"{discord_sim.api_base}/users/@me/guilds", headers=bearer) as guilds:
            assert [guild["name"] for guild in await guilds.json()] == ["home"]
        async with http.get(
            f"{discord_sim.api_base}/users/@me", headers={"Authorization": "Bearer x"}
        ) as bad:
            assert bad.status == 401


async def test_a_callback_without_the_login_it_answers_logs_nobody_in(discord_sim: DiscordSim) -> None:
    config = WebConfig(enabled=True, port=free_port())
    base = page_url(config, "box")
    login = DiscordLogin(
        lambda: discord_sim.application_id, discord_sim.oauth.client_secret, discord_sim.api_base, base
    )
    async with serving(WebState(config, dict, discord_login=login)), browser() as http:
        async with http.get(f"{base}login/discord/callback?code=stolen&state=forged") as forged:
            assert forged.status == 403 and "Discord did not confirm the login" in await forged.text()
        async with http.get(f"{base}member", allow_redirects=False) as after:
            assert after.status == 303 and after.headers["Location"] == "/login"
