"""What members read when nothing needs voice, through discord.py's real interaction code.

Until the Discord simulator lands, a recording REST endpoint stands in for Discord's HTTP side (what
the bot answers is all these stories look at) and interactions are fed to the client's state the way
its gateway would. Voice stories live in test_play.py and test_controls.py."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from musicbox.bot import text
from musicbox.bot.app import build_bot
from musicbox.bot.client import MusicBot
from musicbox.core.config import Config, DiscordConfig, PathsConfig

APP_ID = 900
BOT_ID = 901
GUILD_ID = 1000
TEXT_ID = 1001
VOICE_ID = 1002
ADMIN = 1 << 3
EPHEMERAL = 1 << 6
_ids = itertools.count(5000)


def as_json(body: Any, status: int = 200) -> web.Response:
    # discord.py parses a body as JSON only when the content type is exactly application/json.
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
    }


def member(user_id: int, name: str, *, bot: bool = False, roles: tuple[int, ...] = ()) -> dict[str, Any]:
    return {
        "user": user(user_id, name, bot=bot),
        "roles": [str(r) for r in roles],
        "joined_at": "2026-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
    }


@dataclass
class Reply:
    """Everything the bot sent for one interaction, in order."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def final(self) -> tuple[str, bool]:
        """The message the member is left with, and whether only they can see it."""
        shown: tuple[str, bool] = ("", False)
        for kind, body in self.calls:
            if kind == "callback" and body["type"] == 4:
                shown = (body["data"].get("content", ""), bool(body["data"].get("flags", 0) & EPHEMERAL))
            elif kind == "callback" and body["type"] == 5:
                shown = ("", bool(body.get("data", {}).get("flags", 0) & EPHEMERAL))
            elif kind == "edit":
                shown = (body.get("content", ""), shown[1])
            elif kind == "followup":
                shown = (body.get("content", ""), bool(body.get("flags", 0) & EPHEMERAL))
        return shown


class RecordingDiscord:
    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.synced: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._route)
        self._runner = web.AppRunner(app)
        self.api_base = ""

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.api_base = f"http://127.0.0.1:{port}/api/v10"

    async def aclose(self) -> None:
        await self._runner.cleanup()

    async def _route(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        body = (
            await request.json()
            if request.can_read_body and request.content_type == "application/json"
            else {}
        )
        if tail == "users/@me":
            return as_json(user(BOT_ID, "musicbox", bot=True))
        if tail == "oauth2/applications/@me":
            return as_json(
                {
                    "id": str(APP_ID),
                    "name": "musicbox",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user(1, "owner"),
                    "verify_key": "0",
                    "flags": 0,
                }
            )
        if tail == f"applications/{APP_ID}/commands":
            self.synced = [
                {**c, "id": str(next(_ids)), "application_id": str(APP_ID), "version": "1"} for c in body
            ]
            return as_json(self.synced)
        parts = tail.split("/")
        if parts[0] == "interactions":
            self._record(parts[2], "callback", body)
            flags = body.get("data", {}).get("flags", 0)
            answer = {
                "interaction": {
                    "id": parts[1],
                    "type": 2,
                    "response_message_loading": body["type"] == 5,
                    "response_message_ephemeral": bool(flags & EPHEMERAL),
                },
                "resource": {"type": body["type"]},
            }
            return as_json(answer)
        if parts[0] == "webhooks":
            token = parts[2]
            kind = {"PATCH": "edit", "POST": "followup", "DELETE": "delete"}[request.method]
            self._record(token, kind, body)
            if request.method == "DELETE":
                return web.Response(status=204)
            return as_json(self._message(body))
        return as_json({"message": "404: Not Found", "code": 0}, status=404)

    def _record(self, token: str, kind: str, body: dict[str, Any]) -> None:
        reply = self.replies.setdefault(token, Reply())
        reply.calls.append((kind, body))
        if kind == "edit" or kind == "followup" or (kind == "callback" and body["type"] in (4, 7)):
            reply.done.set()

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(next(_ids)),
            "channel_id": str(TEXT_ID),
            "type": 0,
            "content": body.get("content", ""),
            "author": user(BOT_ID, "musicbox", bot=True),
            "attachments": [],
            "embeds": [],
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
            "timestamp": "2026-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "flags": body.get("flags", 0),
            "components": [],
        }


def guild_payload(members: list[dict[str, Any]], voice_states: list[dict[str, Any]]) -> dict[str, Any]:
    everyone = {
        "id": str(GUILD_ID),
        "name": "@everyone",
        "permissions": str((1 << 20) | (1 << 21) | (1 << 11)),
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
    }
    admins = {**everyone, "id": "77", "name": "Admins", "permissions": str(ADMIN), "position": 1}
    channels = [
        {"id": str(TEXT_ID), "type": 0, "name": "music", "position": 0, "permission_overwrites": []},
        {
            "id": str(VOICE_ID),
            "type": 2,
            "name": "Lounge",
            "position": 1,
            "permission_overwrites": [],
            "bitrate": 64000,
            "user_limit": 0,
        },
    ]
    return {
        "id": str(GUILD_ID),
        "name": "home",
        "owner_id": "1",
        "roles": [everyone, admins],
        "channels": channels,
        "members": members,
        "voice_states": voice_states,
        "member_count": len(members),
        "features": [],
        "emojis": [],
        "stickers": [],
        "threads": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "large": False,
        "unavailable": False,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "verification_level": 0,
        "explicit_content_filter": 0,
        "default_message_notifications": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "system_channel_flags": 0,
    }


ALICE = 11  # in the voice channel
BOB = 12  # not in voice
CAROL = 13  # an admin, not in voice


@dataclass
class TextWorld:
    discord: RecordingDiscord
    bot: MusicBot

    async def run(self, who: int, name: str, **options: Any) -> tuple[str, bool]:
        token = f"tok{next(_ids)}"
        command = next(c for c in self.discord.synced if c["name"] == name)
        declared = {o["name"]: o["type"] for o in command.get("options", [])}
        data: dict[str, Any] = {
            "id": command["id"],
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": declared[k], "value": v} for k, v in options.items()],
        }
        payload = {
            "id": str(next(_ids)),
            "application_id": str(APP_ID),
            "type": 2,
            "token": token,
            "attachment_size_limit": 8388608,
            "version": 1,
            "guild_id": str(GUILD_ID),
            "channel_id": str(TEXT_ID),
            "data": data,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": str((1 << 53) - 1),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
            "member": {**self._member(who), "permissions": str(ADMIN if who == CAROL else 0)},
        }
        self.bot._connection.parse_interaction_create(payload)  # what the gateway does on INTERACTION_CREATE
        reply = self.discord.replies.setdefault(token, Reply())
        await asyncio.wait_for(reply.done.wait(), timeout=10)
        await asyncio.sleep(0.05)  # a deferred error is a follow-up then a delete; let both land
        return reply.final()

    def _member(self, who: int) -> dict[str, Any]:
        return {
            ALICE: member(ALICE, "alice"),
            BOB: member(BOB, "bob"),
            CAROL: member(CAROL, "carol", roles=(77,)),
        }[who]


@pytest.fixture
async def text_world(tmp_path: Path) -> AsyncIterator[TextWorld]:
    discord_fake = RecordingDiscord()
    await discord_fake.start()
    world = await _start(discord_fake, tmp_path)
    yield world
    if not world.bot.is_closed():
        await world.bot.close()
    await discord_fake.aclose()


async def _start(discord_fake: RecordingDiscord, state_dir: Path) -> TextWorld:
    config = Config(
        discord=DiscordConfig(token="t", api_base=discord_fake.api_base),
        paths=PathsConfig(state_dir=state_dir),
    )
    bot = build_bot(config, sources=object())  # type: ignore[arg-type]
    await bot.login("t")  # runs setup_hook: the commands are synced to the recording endpoint
    state = bot._connection
    members = [
        member(BOT_ID, "musicbox", bot=True),
        member(ALICE, "alice"),
        member(BOB, "bob"),
        member(CAROL, "carol", roles=(77,)),
    ]
    voice_states = [
        {
            "user_id": str(ALICE),
            "channel_id": str(VOICE_ID),
            "session_id": "s",
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }
    ]
    state.parse_guild_create(guild_payload(members, voice_states))
    return TextWorld(discord_fake, bot)


async def test_commands_are_synced_on_start(text_world: TextWorld) -> None:
    assert {c["name"] for c in text_world.discord.synced} >= {"play", "skip", "queue", "settings", "loop"}


async def test_play_without_voice_is_answered_at_once_and_only_to_the_member(text_world: TextWorld) -> None:
    assert await text_world.run(BOB, "play", query="anything") == (text.NOT_IN_VOICE, True)


async def test_controls_on_an_idle_guild_say_what_to_do(text_world: TextWorld) -> None:
    assert await text_world.run(ALICE, "queue") == (text.QUEUE_EMPTY, True)
    for command in ("skip", "pause", "resume", "stop", "clear", "now"):
        assert await text_world.run(ALICE, command) == (text.NOTHING_PLAYING, True), command


async def test_settings_are_for_managers_and_survive_a_restart(text_world: TextWorld, tmp_path: Path) -> None:
    assert await text_world.run(BOB, "settings", max_queue=20) == (text.SETTINGS_NOT_ALLOWED, True)
    said, private = await text_world.run(CAROL, "settings", max_queue=20)
    assert said.startswith("Settings saved") and "queue limit 20" in said and private
    await text_world.bot.close()
    restarted = await _start(text_world.discord, tmp_path)
    said, _ = await restarted.run(BOB, "settings")
    assert "queue limit 20" in said
    await restarted.bot.close()
