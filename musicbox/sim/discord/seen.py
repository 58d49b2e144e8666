"""What members see: messages (with their buttons and edits) and the fate of each interaction."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from musicbox.sim.discord.world import TIMESTAMP, user_payload

EPHEMERAL = 1 << 6
LOADING = 1 << 7  # "musicbox is thinking…": a deferred response not yet edited
POLL_S = 0.005
# What Discord reads in a message's content as a mention: <@id> or <@!id> a user, <@&id> a role.
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)\b")


@dataclass(frozen=True, slots=True)
class Button:
    custom_id: str
    label: str
    disabled: bool
    style: int


@dataclass
class SeenMessage:
    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    edits: int = 0
    deleted: bool = False
    webhook_id: int | None = None
    shown: list[str] = field(default_factory=list)  # every text the message showed, oldest first
    # As the bot sent it with the content: None (absent) is Discord's default, every mention pings.
    allowed_mentions: dict[str, Any] | None = None
    # As the bot sent them (payload_json's attachment descriptions: id, filename, description).
    attachments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    @property
    def buttons(self) -> list[Button]:
        return [
            Button(
                c.get("custom_id", ""), c.get("label", ""), bool(c.get("disabled")), int(c.get("style", 1))
            )
            for row in self.components
            for c in row.get("components", [])
            if c.get("type") == 2
        ]

    def attached(self, filename: str) -> bytes:
        """The bytes of the file the bot attached under this name (KeyError when there is none)."""
        for described in self.attachments:
            if described.get("filename") == filename and "data_base64" in described:
                return base64.b64decode(described["data_base64"])
        raise KeyError(filename)

    def text(self) -> str:
        """Content and every embed's visible text, one block, for assertions."""
        parts = [self.content] if self.content else []
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            parts += [f"{f.get('name', '')}: {f.get('value', '')}" for f in embed.get("fields", [])]
            parts.append((embed.get("footer") or {}).get("text", ""))
        return "\n".join(p for p in parts if p)

    def pinged(self) -> set[str]:
        """Whom Discord notifies for this content: "everyone" (@everyone or @here), "user:ID",
        "role:ID", as the mentions in it and the allowed_mentions sent with it decide."""
        allowed = self.allowed_mentions
        parse = {"everyone", "users", "roles"} if allowed is None else set(allowed.get("parse") or [])
        users = {str(u) for u in (allowed or {}).get("users") or []}
        roles = {str(r) for r in (allowed or {}).get("roles") or []}
        pinged = {"everyone"} if "everyone" in parse and _EVERYONE.search(self.content) else set()
        pinged |= {f"user:{u}" for u in _USER_MENTION.findall(self.content) if "users" in parse or u in users}
        pinged |= {f"role:{r}" for r in _ROLE_MENTION.findall(self.content) if "roles" in parse or r in roles}
        return pinged

    def apply(self, body: dict[str, Any], *, edit: bool) -> None:
        for key in ("content", "embeds", "components", "attachments"):
            if key in body:
                setattr(self, key, body[key] if body[key] is not None else ("" if key == "content" else []))
        if "content" in body:
            self.allowed_mentions = body.get("allowed_mentions")
        if edit:
            self.flags &= ~LOADING
            self.edits += 1
        if self.text():
            self.shown.append(self.text())

    def payload(self, guild_id: int, bot_name: str = "musicbox") -> dict[str, Any]:
        return {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "guild_id": str(guild_id),
            "type": 0 if self.webhook_id is None else 20,
            "content": self.content,
            "author": user_payload(self.author_id, bot_name, bot=True),
            "attachments": [],
            "embeds": self.embeds,
            "components": self.components,
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "mention_everyone": False,
            "tts": False,
            "timestamp": TIMESTAMP,
            "edited_timestamp": TIMESTAMP if self.edits else None,
            "flags": self.flags,
            "webhook_id": str(self.webhook_id) if self.webhook_id else None,
        }


@dataclass
class Interaction:
    """One interaction as its member lived it."""

    id: int
    token: str
    kind: int  # 2 slash command, 3 component, 4 autocomplete
    guild_id: int
    channel_id: int
    member_id: int
    created_at: float  # the simulator's clock: what the 3 s and 15 min rules are measured on
    sent_at: float = 0.0  # monotonic time INTERACTION_CREATE left the gateway
    acked_at: float | None = None
    response_type: int | None = None
    failed: bool = False
    original: SeenMessage | None = None  # the response, or for a button the message it sits on
    followups: list[SeenMessage] = field(default_factory=list)
    choices: list[dict[str, Any]] | None = None

    @property
    def ack_latency_s(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.sent_at

    @property
    def messages(self) -> list[SeenMessage]:
        shown = [self.original] if self.original is not None else []
        return [m for m in shown + self.followups if not m.deleted]

    def acknowledge(self, response_type: int) -> None:
        self.acked_at = time.monotonic()
        self.response_type = response_type

    async def reply(
        self, predicate: Callable[[SeenMessage], bool] | None = None, timeout: float = 10
    ) -> SeenMessage:
        """The latest message of this interaction the member can read (a deferred response counts
        once edited) that matches `predicate`; waits for it up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            readable = [m for m in self.messages if not m.loading and (predicate is None or predicate(m))]
            if readable and (self.kind != 3 or self.response_type is not None):
                return readable[-1]
            if self.failed:
                raise AssertionError(f"interaction {self.id} failed: the application did not respond")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"interaction {self.id}: no matching reply in {timeout} s: {self.messages}"
                )
            await asyncio.sleep(POLL_S)

    async def wait_acknowledged(self, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while self.acked_at is None and not self.failed and time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
