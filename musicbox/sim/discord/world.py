"""The simulated Discord's state: guilds, channels, roles, members, voice states and messages, and
the JSON shapes Discord uses for them on the wire."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

# Permission bits, as Discord numbers them.
CREATE_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
CONNECT = 1 << 20
SPEAK = 1 << 21
MOVE_MEMBERS = 1 << 24
USE_VAD = 1 << 25
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 53) - 1

EVERYONE_DEFAULT = (
    CREATE_INVITE
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | READ_MESSAGE_HISTORY
    | CONNECT
    | SPEAK
    | USE_VAD
    | USE_APPLICATION_COMMANDS
)
# What the invite URL `musicbox setup` prints asks for.
BOT_INVITE = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | CONNECT | SPEAK

TEXT_CHANNEL = 0
VOICE_CHANNEL = 2
TIMESTAMP = "2026-01-01T00:00:00.000000+00:00"


class Snowflakes:
    """Ids shaped like Discord's: milliseconds since the Discord epoch in the high bits."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)  # unique low bits: ids never collide, whatever the time
        self._last_guild_millis = 0

    def next(self) -> int:
        return (self._millis() << 22) | (next(self._counter) & 0x3FFFFF)

    def next_guild(self) -> int:
        """A guild's id, a millisecond after the last guild's at least: a guild's shard is its id's
        timestamp modulo the shard count, so guilds made in one burst spread over the shards in
        turn, as guilds made over years do."""
        millis = max(self._millis(), self._last_guild_millis + 1)
        self._last_guild_millis = millis
        return (millis << 22) | (next(self._counter) & 0x3FFFFF)

    @staticmethod
    def _millis() -> int:
        return int(time.time() * 1000) - 1_420_070_400_000


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "discriminator": "0",
        "global_name": name,
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


@dataclass
class SimRole:
    id: int
    name: str
    permissions: int
    position: int
    managed: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class Overwrite:
    target_id: int
    is_member: bool
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.target_id),
            "type": 1 if self.is_member else 0,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class SimChannel:
    id: int
    guild_id: int
    name: str
    kind: int
    position: int
    overwrites: list[Overwrite] = field(default_factory=list)
    user_limit: int = 0  # voice: how many may be in it at once, 0 for no limit

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "type": self.kind,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.payload() for o in self.overwrites],
            "parent_id": None,
            "nsfw": False,
        }
        if self.kind == VOICE_CHANNEL:
            data |= {"bitrate": 64000, "user_limit": self.user_limit, "rtc_region": None}
        else:
            data |= {"topic": None, "last_message_id": None, "rate_limit_per_user": 0}
        return data


@dataclass
class VoiceState:
    user_id: int
    channel_id: int | None
    session_id: str
    self_deaf: bool = False
    self_mute: bool = False


@dataclass
class MemberRecord:
    user_id: int
    name: str
    role_ids: list[int]
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "user": user_payload(self.user_id, self.name, bot=self.bot),
            "roles": [str(r) for r in self.role_ids],
            "joined_at": TIMESTAMP,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
            "pending": False,
        }


@dataclass
class GuildRecord:
    id: int
    name: str
    owner_id: int
    roles: dict[int, SimRole] = field(default_factory=dict)
    channels: dict[int, SimChannel] = field(default_factory=dict)
    members: dict[int, MemberRecord] = field(default_factory=dict)
    voice_states: dict[int, VoiceState] = field(default_factory=dict)

    @property
    def everyone(self) -> SimRole:
        return self.roles[self.id]

    def base_permissions(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members[user_id]
        permissions = self.everyone.permissions
        for role_id in member.role_ids:
            permissions |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if permissions & ADMINISTRATOR else permissions

    def permissions_in(self, channel_id: int, user_id: int) -> int:
        """Discord's algorithm: base, then @everyone's overwrite, the roles' combined, the member's."""
        permissions = self.base_permissions(user_id)
        if permissions & ADMINISTRATOR or user_id == self.owner_id:
            return ALL_PERMISSIONS
        channel = self.channels[channel_id]
        role_ids = set(self.members[user_id].role_ids)
        allow = deny = 0
        for overwrite in channel.overwrites:
            if not overwrite.is_member and overwrite.target_id == self.id:
                permissions = (permissions & ~overwrite.deny) | overwrite.allow
            elif not overwrite.is_member and overwrite.target_id in role_ids:
                allow, deny = allow | overwrite.allow, deny | overwrite.deny
        permissions = (permissions & ~deny) | allow
        for overwrite in channel.overwrites:
            if overwrite.is_member and overwrite.target_id == user_id:
                permissions = (permissions & ~overwrite.deny) | overwrite.allow
        return permissions

    def voice_join_refusal(self, channel_id: int, user_id: int) -> str | None:
        """Why Discord would not let `user_id` join voice channel `channel_id`, or None: it needs View
        Channel and Connect there, and room under the channel's user limit unless it has Move
        Members (someone already in the channel does not count against it twice)."""
        if channel_id not in self.channels:
            return "no such channel"
        permissions = self.permissions_in(channel_id, user_id)
        if permissions & (VIEW_CHANNEL | CONNECT) != VIEW_CHANNEL | CONNECT:
            return "no Connect permission there"
        limit = self.channels[channel_id].user_limit
        inside = [
            s for s in self.voice_states.values() if s.channel_id == channel_id and s.user_id != user_id
        ]
        if limit and len(inside) >= limit and not permissions & MOVE_MEMBERS:
            return f"it is full ({limit} of {limit})"
        return None

    def voice_state_payload(self, state: VoiceState) -> dict[str, Any]:
        return {
            "guild_id": str(self.id),
            "channel_id": str(state.channel_id) if state.channel_id else None,
            "user_id": str(state.user_id),
            "member": self.members[state.user_id].payload(),
            "session_id": state.session_id,
            "deaf": False,
            "mute": False,
            "self_deaf": state.self_deaf,
            "self_mute": state.self_mute,
            "self_video": False,
            "self_stream": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }

    def create_payload(self) -> dict[str, Any]:
        """GUILD_CREATE listing every member: the gateway cuts the list down to what each session
        is sent (`gateway.guild_create_for`)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "roles": [r.payload() for r in self.roles.values()],
            "channels": [c.payload() for c in self.channels.values()],
            "members": [m.payload() for m in self.members.values()],
            "voice_states": [self.voice_state_payload(s) for s in self.voice_states.values() if s.channel_id],
            "member_count": len(self.members),
            "large": False,
            "unavailable": False,
            "joined_at": TIMESTAMP,
            "features": [],
            "emojis": [],
            "stickers": [],
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "verification_level": 0,
            "explicit_content_filter": 0,
            "default_message_notifications": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "system_channel_flags": 0,
            "afk_timeout": 300,
        }
