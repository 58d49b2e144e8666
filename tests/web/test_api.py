"""The REST API as a phone app uses it, against the real bot on the simulator: a member's token does
what that member may do with slash commands and nothing more, every refusal is one JSON sentence,
and the OpenAPI document describes exactly the routes served."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import aiohttp
from openapi_spec_validator import validate

from musicbox.bot import text
from musicbox.bot.remote import NOT_A_MEMBER, RemoteControl
from musicbox.core.config import WebConfig
from musicbox.core.request_budget import BURST
from musicbox.store.api_tokens import ApiTokenStore
from musicbox.store.database import connect
from musicbox.web.api import BAD_TOKEN, NO_TOKEN, ApiAccess, build_api
from musicbox.web.auth import WebSessions
from musicbox.web.openapi import document
from musicbox.web.server import WebState, serving
from tests.world.fixture import ToneWorld
from tests.world.stage import stage

SONG_S = 8


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class App:
    """A phone app holding one member's token."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http,
            http.request(method, f"{self.base}{path}", json=body, headers=self.headers) as response,
        ):
            assert response.content_type == "application/json"
            return response.status, await response.json()


async def test_a_members_token_drives_the_queue_under_the_slash_commands_rules(
    tone_world: ToneWorld, tmp_path: Path
) -> None:
    home = stage(tone_world.sim)
    dj = home.guild.create_role("DJ")
    dave = home.guild.create_member("dave-home", roles=[dj])
    away = stage(tone_world.sim, "away")
    database = connect(tmp_path / "api.sqlite3")
    access = ApiAccess(ApiTokenStore(database))
    await access.load()
    async with tone_world.bot(dj_role="DJ") as bot:
        state = WebState(WebConfig(port=free_port()), dict, api=access, remote=RemoteControl(bot))
        async with serving(state):
            base = f"http://127.0.0.1:{state.config.port}/api/v1"
            made = {
                m.name: await access.answer(f"create {m.id} {m.name}'s phone")
                for m in (dave, home.bob, away.alice)
            }
            phone = {name: App(base, answer["token"]) for name, answer in made.items()}
            dave_app, bob_app, stranger = phone["dave-home"], phone["bob-home"], phone["alice-away"]
            queue = f"/guilds/{home.guild.id}/queue"

            # Who may ask at all.
            assert await App(base, None).call("GET", "/guilds") == (401, {"error": NO_TOKEN})
            assert await App(base, "mbx_guessed").call("GET", "/guilds") == (401, {"error": BAD_TOKEN})
            status, listed = await dave_app.call("GET", "/guilds")
            assert status == 200 and [g["name"] for g in listed["guilds"]] == ["home"]
            assert await stranger.call("GET", queue) == (404, {"error": NOT_A_MEMBER})
            assert await stranger.call("POST", f"/guilds/{home.guild.id}/skip") == (
                404,
                {"error": NOT_A_MEMBER},
            )

            # /play's rules: be in a voice channel; then the bot joins it and plays.
            assert await dave_app.call("POST", queue, {"query": f"tone:1:{SONG_S}"}) == (
                409,
                {"error": text.NOT_IN_VOICE},
            )
            await dave.join_voice(home.voice)
            status, played = await dave_app.call("POST", queue, {"query": f"tone:1:{SONG_S}"})
            assert status == 200 and played["message"].startswith("Playing"), played
            for rung in (2, 3):
                status, queued = await dave_app.call("POST", queue, {"query": f"tone:{rung}:{SONG_S}"})
                assert status == 200 and "position" in queued["message"], queued
            await home.voice.heard().wait_for_rungs([1], timeout=20)
            status, shown = await dave_app.call("GET", queue)
            assert status == 200 and shown["playing"]["requester_id"] == str(dave.id)
            assert [entry["position"] for entry in shown["upcoming"]] == [1, 2]
            assert await dave_app.call("POST", queue, {"words": "x"}) == (
                400,
                {"error": 'Send {"query": "<a link or search words>"}, at most 500 characters.'},
            )

            # The DJ role and the vote rule, as in Discord: bob listens too (with alice); his skip is
            # a vote (half of three listeners, rounded up: two needed), and he may not move or
            # change the volume.
            assert await bob_app.call("POST", f"/guilds/{home.guild.id}/skip") == (
                403,
                {"error": text.NOT_WITH_BOT},
            )
            await home.bob.join_voice(home.voice)
            await home.alice.join_voice(home.voice)
            voted = (200, {"message": text.vote_counted(1, 2)})
            assert await bob_app.call("POST", f"/guilds/{home.guild.id}/skip") == voted
            assert await bob_app.call("POST", f"/guilds/{home.guild.id}/skip") == voted  # one vote each
            refusal = (403, {"error": text.not_allowed("DJ")})
            assert await bob_app.call("POST", f"{queue}/move", {"from": 2, "to": 1}) == refusal
            assert await bob_app.call("PUT", f"/guilds/{home.guild.id}/volume", {"percent": 10}) == refusal

            # Reorder, remove, pause, resume, volume: each answered as the slash command would.
            status, moved = await dave_app.call("POST", f"{queue}/move", {"from": 2, "to": 1})
            assert status == 200 and moved["message"].startswith("Moved")
            assert await dave_app.call("DELETE", f"{queue}/3") == (
                400,
                {"error": text.POSITION_OUT_OF_RANGE.format(position=3, count=2)},
            )
            assert await dave_app.call("POST", f"/guilds/{home.guild.id}/pause") == (
                200,
                {"message": text.PAUSED},
            )
            assert await dave_app.call("POST", f"/guilds/{home.guild.id}/pause") == (
                409,
                {"error": text.ALREADY_PAUSED},
            )
            assert await dave_app.call("POST", f"/guilds/{home.guild.id}/resume") == (
                200,
                {"message": text.RESUMED},
            )
            assert (await dave_app.call("PUT", f"/guilds/{home.guild.id}/volume", {"percent": 250}))[0] == 400
            assert await dave_app.call("PUT", f"/guilds/{home.guild.id}/volume", {"percent": 100}) == (
                200,
                {"message": text.VOLUME_SET.format(volume=100)},
            )
            status, removed = await dave_app.call("DELETE", f"{queue}/2")
            assert status == 200 and removed["message"].startswith("Removed")
            status, skipped = await dave_app.call("POST", f"/guilds/{home.guild.id}/skip")
            assert status == 200 and skipped["message"].startswith("Skipped")
            await home.voice.heard().wait_for_rungs([1, 3], timeout=20)  # moved ahead of 2, which was removed

            # A revoked token stops working at once.
            assert await access.answer(f"revoke {made['dave-home']['id']}") == {
                "revoked": made["dave-home"]["id"]
            }
            assert await dave_app.call("GET", queue) == (401, {"error": BAD_TOKEN})

            # Each token has its own budget; past it, 429 with when to come back.
            statuses = [(await bob_app.call("GET", "/guilds"))[0] for _ in range(BURST + 3)]
            assert statuses.count(429) >= 2 and 200 in statuses
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{base}/guilds", headers=bob_app.headers) as limited,
            ):
                assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
                assert (await limited.json())["error"].startswith("Too many requests with this token")
            assert (await stranger.call("GET", "/guilds"))[0] == 200  # others are not slowed
    database.close()


async def test_the_openapi_document_validates_and_names_every_route_served() -> None:
    validate(document())
    # Listing routes calls nothing: no bot is needed behind them.
    api = build_api(
        ApiAccess(ApiTokenStore(connect(Path(":memory:")))),
        RemoteControl(None),  # type: ignore[arg-type]
        WebSessions(),
    )
    served = {
        (route.method.lower(), resource.canonical)
        for resource in api.router.resources()
        for route in resource
        if route.method != "HEAD"
    }
    documented = {(method, path) for path, operations in document()["paths"].items() for method in operations}
    assert served - {("get", "/openapi.json")} == documented
