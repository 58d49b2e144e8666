"""A recording stand-in for Discord's HTTP side, and interactions fed to discord.py's client state the
way its gateway would: the bot under test runs its real command tree, responses and follow-ups, and the
stories read what it sent. Voice is a fast-forward stand-in (fast_voice.py); heard audio needs the
simulator."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import discord
from aiohttp import web

from musicbox.bot.app import build_bot
from musicbox.bot.client import MusicBot
from musicbox.bot.sources import Progress, QueryFailed
from musicbox.core.config import Config, DiscordConfig, LimitsConfig, PathsConfig, PlaybackConfig
from musicbox.core.track import Track, TrackId
from musicbox.playback.session import GuildSession
from tests.stories.fast_voice import FastAudio, FastVoice

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
    sent_at: float = 0.0
    message_ids: list[int] = field(default_factory=list)  # the messages the bot's answers created
    acked_at: float | None = None

    @property
    def ack_latency_s(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.sent_at

    def final(self) -> tuple[str, bool]:
        """The message the member is left with, and whether only they can see it."""
        shown: tuple[str, bool] = ("", False)
        for kind, body in self.calls:
            if kind == "callback" and body["type"] == 4:
                shown = (body["data"].get("content", ""), bool(body["data"].get("flags", 0) & EPHEMERAL))
            elif kind == "callback" and body["type"] == 7:  # the clicked message, updated in place
                shown = (body["data"].get("content", ""), shown[1])
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
            answer: dict[str, Any] = {
                "interaction": {
                    "id": parts[1],
                    "type": 2,
                    "response_message_loading": body["type"] == 5,
                    "response_message_ephemeral": bool(flags & EPHEMERAL),
                },
                "resource": {"type": body["type"]},
            }
            if body["type"] == 4:  # a message: Discord answers with it, and views attach to its id
                message = self._message(body["data"])
                self.replies[parts[2]].message_ids.append(int(message["id"]))
                answer["interaction"]["response_message_id"] = message["id"]
                answer["resource"]["message"] = message
            return as_json(answer)
        if parts[0] == "webhooks":
            token = parts[2]
            kind = {"PATCH": "edit", "POST": "followup", "DELETE": "delete"}[request.method]
            self._record(token, kind, body)
            if request.method == "DELETE":
                return web.Response(status=204)
            message = self._message(body)
            self.replies[token].message_ids.append(int(message["id"]))
            return as_json(message)
        return as_json({"message": "404: Not Found", "code": 0}, status=404)

    def _record(self, token: str, kind: str, body: dict[str, Any]) -> None:
        reply = self.replies.setdefault(token, Reply())
        reply.calls.append((kind, body))
        if kind == "callback" and reply.acked_at is None:
            reply.acked_at = time.monotonic()
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


CONNECT = 1 << 20
SPEAK = 1 << 21


def guild_payload(
    members: list[dict[str, Any]], voice_states: list[dict[str, Any]], *, bot_denied: int = 0
) -> dict[str, Any]:
    overwrites = [{"id": str(BOT_ID), "type": 1, "allow": "0", "deny": str(bot_denied)}] if bot_denied else []
    everyone = {
        "id": str(GUILD_ID),
        "name": "@everyone",
        "permissions": str(CONNECT | SPEAK | (1 << 10) | (1 << 11)),
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
    }
    admins = {**everyone, "id": "77", "name": "Admins", "permissions": str(ADMIN), "position": 1}
    djs = {**everyone, "id": "78", "name": "DJ", "permissions": "0", "position": 2}
    channels = [
        {"id": str(TEXT_ID), "type": 0, "name": "music", "position": 0, "permission_overwrites": []},
        {
            "id": str(VOICE_ID),
            "type": 2,
            "name": "Lounge",
            "position": 1,
            "permission_overwrites": overwrites,
            "bitrate": 64000,
            "user_limit": 0,
        },
    ]
    return {
        "id": str(GUILD_ID),
        "name": "home",
        "owner_id": "1",
        "roles": [everyone, admins, djs],
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


def voice_state(user_id: int, channel_id: int | None = VOICE_ID) -> dict[str, Any]:
    return {
        "guild_id": str(GUILD_ID),
        "user_id": str(user_id),
        "channel_id": str(channel_id) if channel_id else None,
        "session_id": "s",
        "deaf": False,
        "mute": False,
        "self_deaf": False,
        "self_mute": False,
        "self_video": False,
        "suppress": False,
        "request_to_speak_timestamp": None,
        "member": member(user_id, f"member{user_id}"),
    }


def track(key: str, duration_s: float = 120) -> Track:
    return Track(TrackId("http", key), key, f"http://media.test/{key}.ogg", duration_s=duration_s)


class ScriptedSources:
    """Queries as a test writes them: "bad" fails, "list:N" is a playlist of N, anything else one song."""

    def __init__(self, resolve_delay_s: float = 0.0) -> None:
        self.resolve_delay_s = resolve_delay_s  # how long one extraction takes (the load stories' yt-dlp)

    async def resolve(self, query: str, *, progress: Progress | None = None) -> list[Track]:
        await asyncio.sleep(self.resolve_delay_s)
        if query == "bad":
            raise QueryFailed("it is not a media link")
        if query.startswith("list:"):
            count = int(query.removeprefix("list:"))
            for done in range(count):
                if progress is not None:
                    await progress(done, count)
            return [track(f"{query}-{n}") for n in range(count)]
        return [track(query)]

    async def search(self, words: str, *, limit: int) -> list[Track]:
        return [track(f"{words}-{n}") for n in range(limit)]

    async def media_url(self, track: Track) -> str:
        return track.page_url


ALICE = 11  # in the voice channel
BOB = 12  # not in voice
CAROL = 13  # an admin, not in voice
DAVE = 14  # holds the DJ role


@dataclass
class TextWorld:
    discord: RecordingDiscord
    bot: MusicBot

    async def run(self, who: int, name: str, **options: Any) -> tuple[str, bool]:
        reply = self.send(who, name, **options)
        await asyncio.wait_for(reply.done.wait(), timeout=10)
        await asyncio.sleep(0.01)  # a deferred error is a follow-up then a delete; let both land
        return reply.final()

    async def press(self, who: int, message_id: int, custom_id: str) -> tuple[str, bool]:
        """A button click on a message the bot sent."""
        token = f"tok{next(_ids)}"
        payload = {
            **self._interaction(who, token, 3),
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": {**self.discord._message({}), "id": str(message_id)},
        }
        reply = self.discord.replies.setdefault(token, Reply())
        reply.sent_at = time.monotonic()
        self.bot._connection.parse_interaction_create(payload)
        await asyncio.wait_for(reply.done.wait(), timeout=10)
        await asyncio.sleep(0.01)
        return reply.final()

    async def autocomplete(self, who: int, name: str, option: str, value: str) -> list[dict[str, Any]]:
        """The choices the bot offers while the member types `value` into `option`."""
        token = f"tok{next(_ids)}"
        command = next(c for c in self.discord.synced if c["name"] == name)
        typed = {"name": option, "type": 3, "value": value, "focused": True}
        payload = {
            **self._interaction(who, token, 4),
            "data": {"id": command["id"], "name": name, "type": 1, "options": [typed]},
        }
        reply = self.discord.replies.setdefault(token, Reply())
        self.bot._connection.parse_interaction_create(payload)
        for _ in range(300):
            if reply.calls:
                break
            await asyncio.sleep(0.01)
        kind, body = reply.calls[0]
        assert kind == "callback" and body["type"] == 8
        choices: list[dict[str, Any]] = body["data"]["choices"]
        return choices

    def _interaction(self, who: int, token: str, kind: int) -> dict[str, Any]:
        return {
            "id": str(next(_ids)),
            "application_id": str(APP_ID),
            "type": kind,
            "token": token,
            "attachment_size_limit": 8388608,
            "version": 1,
            "guild_id": str(GUILD_ID),
            "channel_id": str(TEXT_ID),
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": str((1 << 53) - 1),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
            "member": {**self._member(who), "permissions": str(ADMIN if who == CAROL else 0)},
        }

    def send(self, who: int, name: str, **options: Any) -> Reply:
        """Deliver the command as the gateway would, without waiting for the bot."""
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
        reply = self.discord.replies.setdefault(token, Reply())
        reply.sent_at = time.monotonic()
        self.bot._connection.parse_interaction_create(payload)  # what the gateway does on INTERACTION_CREATE
        return reply

    def seat_bot(self, guild_id: int = GUILD_ID, idle_timeout_s: float = 60) -> FastVoice:
        """The bot already in Alice's channel, as after a first /play (no voice server needed);
        another guild id stands for a session elsewhere, taking one of the box's slots."""
        guild = self.bot.get_guild(GUILD_ID)
        assert guild is not None
        voice = FastVoice(seconds=30)
        voice.channel = guild.get_channel(VOICE_ID)
        session = GuildSession(
            guild_id,
            cast(discord.VoiceClient, voice),
            audio=FastAudio(),  # type: ignore[arg-type]
            locator=self.bot.sources,
            volume=100,
            idle_timeout_s=idle_timeout_s,
            on_closed=self.bot.sessions.forget,
        )
        self.bot.sessions.add(session)
        return voice

    def joins_voice(self, who: int) -> None:
        self.bot._connection.parse_voice_state_update(voice_state(who))

    def session(self) -> GuildSession:
        session = self.bot.sessions.get(GUILD_ID)
        assert session is not None
        return session

    def sent(self, kind: str) -> list[dict[str, Any]]:
        return [body for reply in self.discord.replies.values() for k, body in reply.calls if k == kind]

    def _member(self, who: int) -> dict[str, Any]:
        return {
            ALICE: member(ALICE, "alice"),
            BOB: member(BOB, "bob"),
            CAROL: member(CAROL, "carol", roles=(77,)),
            DAVE: member(DAVE, "dave", roles=(78,)),
        }.get(who) or member(who, f"member{who}")


async def start_world(
    discord_fake: RecordingDiscord,
    state_dir: Path,
    *,
    resolve_delay_s: float = 0.0,
    bot_denied: int = 0,
    max_guilds: int = 0,
    **playback: Any,
) -> TextWorld:
    config = Config(
        discord=DiscordConfig(token="t", api_base=discord_fake.api_base),
        playback=PlaybackConfig(**playback),
        limits=LimitsConfig(max_guilds=max_guilds),
        paths=PathsConfig(state_dir=state_dir),
    )
    bot = build_bot(config, sources=ScriptedSources(resolve_delay_s), audio=FastAudio())  # type: ignore[arg-type]
    await bot.login("t")  # runs setup_hook: the commands are synced to the recording endpoint
    state = bot._connection
    members = [
        member(BOT_ID, "musicbox", bot=True),
        member(ALICE, "alice"),
        member(BOB, "bob"),
        member(CAROL, "carol", roles=(77,)),
        member(DAVE, "dave", roles=(78,)),
    ]
    state.parse_guild_create(guild_payload(members, [voice_state(ALICE)], bot_denied=bot_denied))
    return TextWorld(discord_fake, bot)
