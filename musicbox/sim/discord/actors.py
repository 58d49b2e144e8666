"""The test's side of the simulated Discord: guilds, channels and members who act like people do
(join voice, run slash commands, press buttons, type into autocomplete) and report what they saw."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from musicbox.sim.discord import contract
from musicbox.sim.discord.contract import (
    BOOLEAN,
    CHANNEL,
    GROUP,
    INTEGER,
    NUMBER,
    ROLE,
    STRING,
    SUBCOMMAND,
    USER,
)
from musicbox.sim.discord.seen import Interaction, SeenMessage
from musicbox.sim.discord.world import (
    TEXT_CHANNEL,
    VOICE_CHANNEL,
    GuildRecord,
    MemberRecord,
    Overwrite,
    SimChannel,
    SimRole,
    VoiceState,
    user_payload,
)

if TYPE_CHECKING:
    from musicbox.sim.discord.server import DiscordSim
    from musicbox.sim.voice import Recording

SLASH, COMPONENT, AUTOCOMPLETE = 2, 3, 4


class SimGuild:
    def __init__(self, sim: DiscordSim, record: GuildRecord) -> None:
        self.sim = sim
        self.record = record
        self.id = record.id
        self.name = record.name

    def _announce(self, event: str, data: dict[str, Any]) -> None:
        self.sim.post(event, data)

    def create_text_channel(self, name: str) -> SimTextChannel:
        channel = SimChannel(self.sim.ids.next(), self.id, name, TEXT_CHANNEL, len(self.record.channels))
        self.record.channels[channel.id] = channel
        self._announce("CHANNEL_CREATE", channel.payload())
        return SimTextChannel(self, channel)

    def create_voice_channel(self, name: str, *, user_limit: int = 0) -> SimVoiceChannel:
        """A voice channel; `user_limit` (0: none) is how many may be in it at once, as Discord's
        channel setting: only members with Move Members join a full one."""
        channel = SimChannel(
            self.sim.ids.next(),
            self.id,
            name,
            VOICE_CHANNEL,
            len(self.record.channels),
            user_limit=user_limit,
        )
        self.record.channels[channel.id] = channel
        self._announce("CHANNEL_CREATE", channel.payload())
        return SimVoiceChannel(self, channel)

    def create_role(self, name: str, *, permissions: int = 0) -> SimRole:
        role = SimRole(self.sim.ids.next(), name, permissions, len(self.record.roles))
        self.record.roles[role.id] = role
        self._announce("GUILD_ROLE_CREATE", {"guild_id": str(self.id), "role": role.payload()})
        return role

    def create_member(self, name: str, *, roles: Sequence[SimRole] = ()) -> Member:
        record = MemberRecord(self.sim.ids.next(), name, [r.id for r in roles])
        self.record.members[record.user_id] = record
        self._announce("GUILD_MEMBER_ADD", {"guild_id": str(self.id), **record.payload()})
        return Member(self, record)

    def add_member(self, user: Member, *, roles: Sequence[SimRole] = ()) -> Member:
        """`user` (a member of another server) joins this one too: the same account, so the same
        user id, as one Discord user is in many servers."""
        if user.id in self.record.members:
            raise ValueError(f"{user.name} is already a member of {self.name}")
        record = MemberRecord(user.id, user.name, [r.id for r in roles])
        self.record.members[record.user_id] = record
        self._announce("GUILD_MEMBER_ADD", {"guild_id": str(self.id), **record.payload()})
        return Member(self, record)

    async def delete_channel(self, channel: SimTextChannel | SimVoiceChannel) -> None:
        """A moderator deletes `channel`. Everyone in it, if it is a voice channel, is disconnected as
        Discord does it: VOICE_STATE_UPDATE with `channel_id` null for each, the bot's voice socket
        closed with 4014; then CHANNEL_DELETE. Its messages go with it, and REST calls on it answer
        404 10003 Unknown Channel."""
        record = self.record
        if record.channels.pop(channel.id, None) is None:
            raise ValueError(f"channel {channel.name} was already deleted")
        await self.sim.settle()
        for state in [s for s in record.voice_states.values() if s.channel_id == channel.id]:
            del record.voice_states[state.user_id]
            state.channel_id = None
            if state.user_id == self.sim.bot_user_id and self.sim.voice is not None:
                self.sim.voice.end_session(self.id)
            # the payload's `member` needs the record, which stays: only the channel went
            await self.sim.gateway.dispatch("VOICE_STATE_UPDATE", record.voice_state_payload(state))
        for message in self.sim.messages.values():
            if message.channel_id == channel.id:
                message.deleted = True
        await self.sim.gateway.dispatch("CHANNEL_DELETE", channel.channel.payload())

    def overwrite(
        self,
        channel: SimTextChannel | SimVoiceChannel,
        target: Member | SimRole,
        *,
        allow: int = 0,
        deny: int = 0,
    ) -> None:
        """A permission overwrite on `channel` for a member or a role (the guild's id is @everyone)."""
        is_member = isinstance(target, Member)
        target_id = target.id
        channel.channel.overwrites.append(Overwrite(target_id, is_member, allow=allow, deny=deny))
        self._announce("CHANNEL_UPDATE", channel.channel.payload())

    def deny_bot(self, channel: SimTextChannel | SimVoiceChannel, permissions: int) -> None:
        """A member overwrite on `channel` that takes `permissions` away from the bot."""
        channel.channel.overwrites.append(Overwrite(self.sim.bot_user_id, True, deny=permissions))
        self._announce("CHANNEL_UPDATE", channel.channel.payload())


class SimTextChannel:
    def __init__(self, guild: SimGuild, channel: SimChannel) -> None:
        self.guild = guild
        self.channel = channel
        self.id = channel.id
        self.name = channel.name

    @property
    def messages(self) -> list[SeenMessage]:
        """What everyone in the channel can read now (ephemeral replies are not among them)."""
        return [
            m
            for m in self.guild.sim.messages.values()
            if m.channel_id == self.id and not m.deleted and not m.ephemeral
        ]


class SimVoiceChannel:
    def __init__(self, guild: SimGuild, channel: SimChannel) -> None:
        self.guild = guild
        self.channel = channel
        self.id = channel.id
        self.name = channel.name

    @property
    def member_ids(self) -> list[int]:
        """Everyone in the channel now, the bot included."""
        return [s.user_id for s in self.guild.record.voice_states.values() if s.channel_id == self.id]

    def heard(self) -> Recording:
        """What a listener in this channel heard from the bot."""
        voice = self.guild.sim.voice
        if voice is None:
            raise RuntimeError("this simulator was started without voice")
        return voice.recording(self.guild.id, self.id)


class Member:
    def __init__(self, guild: SimGuild, record: MemberRecord) -> None:
        self.guild = guild
        self.record = record
        self.id = record.user_id
        self.name = record.name

    @property
    def _sim(self) -> DiscordSim:
        return self.guild.sim

    @property
    def voice_channel_id(self) -> int | None:
        state = self.guild.record.voice_states.get(self.id)
        return state.channel_id if state else None

    async def join_voice(self, channel: SimVoiceChannel) -> None:
        """Join `channel` as Discord's client lets a member: one they cannot see or connect to, or
        one that is full, raises ValueError (the client greys it out)."""
        refusal = self.guild.record.voice_join_refusal(channel.id, self.id)
        if refusal is not None:
            raise ValueError(f"{self.name} cannot join {channel.name}: {refusal}")
        state = VoiceState(self.id, channel.id, secrets.token_hex(16))
        self.guild.record.voice_states[self.id] = state
        await self._sim.settle()
        await self._sim.gateway.dispatch("VOICE_STATE_UPDATE", self.guild.record.voice_state_payload(state))

    async def leave_voice(self) -> None:
        state = self.guild.record.voice_states.pop(self.id, None)
        if state is None:
            return
        state.channel_id = None
        await self._sim.settle()
        await self._sim.gateway.dispatch("VOICE_STATE_UPDATE", self.guild.record.voice_state_payload(state))

    async def say(self, channel: SimTextChannel, content: str) -> int:
        """Post `content` as this member; the message id (kept, as Discord keeps it, for REST)."""
        message_id = self._sim.ids.next()
        message = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "guild_id": str(self.guild.id),
            "author": user_payload(self.id, self.name),
            "member": {k: v for k, v in self.record.payload().items() if k != "user"},
            "content": content,
            "type": 0,
            "timestamp": "2026-01-01T00:00:00.000000+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "flags": 0,
            "components": [],
        }
        self._sim.member_messages[message_id] = message
        await self._sim.settle()
        await self._sim.gateway.dispatch("MESSAGE_CREATE", message)
        return message_id

    async def run_command(self, name: str, channel: SimTextChannel, **options: object) -> Interaction:
        """Run `/name` with `options` as Discord's client would send it. Names that don't exist,
        options the command does not declare or of the wrong type, a required option left out and a
        value outside the declared choices, `min_value`/`max_value` or `min_length`/`max_length`
        raise ValueError: Discord's client would not let a member send them."""
        declared = self._sim.declared_command(self.guild.id, name.split()[0])
        leaf = _declared_leaf(declared, name.split()[1:])
        refusals = contract.option_refusals(leaf.get("options") or [], options)
        if refusals:
            raise ValueError(
                f"Discord's client would not send /{name}: {'; '.join(refusals)}"
                " (run_crafted_command sends it anyway)"
            )
        return await self._slash(declared, name, channel, options)

    async def run_crafted_command(self, name: str, channel: SimTextChannel, **options: object) -> Interaction:
        """Send `/name` past the checks Discord's client makes (required options, choices, bounds,
        lengths): what a modified client, or one holding an older declaration of the command, can
        send. Only for a story about the bot's own checks; options must still be declared ones of
        the declared type."""
        declared = self._sim.declared_command(self.guild.id, name.split()[0])
        return await self._slash(declared, name, channel, options)

    async def _slash(
        self, declared: dict[str, Any], name: str, channel: SimTextChannel, options: dict[str, object]
    ) -> Interaction:
        typed = _command_options(declared, name.split()[1:], options)
        data = {"id": declared["id"], "name": declared["name"], "type": 1, "options": typed}
        resolved = self._resolved(typed)
        if resolved:
            data["resolved"] = resolved
        return await self._interact(SLASH, channel, {"data": data})

    def _resolved(self, typed: list[dict[str, Any]]) -> dict[str, Any]:
        """Discord sends the channels and roles an interaction's options name, as the member sees them
        (a channel with the member's permissions in it), under `resolved`."""
        leaf = typed
        while leaf and leaf[0]["type"] in (SUBCOMMAND, GROUP):
            leaf = leaf[0]["options"]
        resolved: dict[str, dict[str, Any]] = {}
        record = self.guild.record
        for option in leaf:
            snowflake = int(option["value"]) if option["type"] in (CHANNEL, ROLE) else 0
            if option["type"] == CHANNEL and snowflake in record.channels:
                found = record.channels[snowflake]
                shown = {
                    "id": str(found.id),
                    "name": found.name,
                    "type": found.kind,
                    "permissions": str(record.permissions_in(found.id, self.id)),
                }
                resolved.setdefault("channels", {})[str(found.id)] = shown
            elif option["type"] == ROLE and snowflake in record.roles:
                resolved.setdefault("roles", {})[str(snowflake)] = record.roles[snowflake].payload()
        return resolved

    async def autocomplete(
        self, name: str, option: str, value: str, channel: SimTextChannel, **other_options: object
    ) -> list[dict[str, Any]]:
        """The choices the bot offers while this member types `value` into `option`; [] when the bot
        did not answer within Discord's 3 s (the member sees "Loading options failed")."""
        declared = self._sim.declared_command(self.guild.id, name.split()[0])
        typed = _command_options(declared, name.split()[1:], {**other_options, option: value})
        leaf = typed
        while leaf and leaf[0]["type"] in (SUBCOMMAND, GROUP):
            leaf = leaf[0]["options"]
        for entry in leaf:
            if entry["name"] == option:
                entry["value"], entry["focused"] = value, True
        data = {"id": declared["id"], "name": declared["name"], "type": 1, "options": typed}
        interaction = await self._interact(AUTOCOMPLETE, channel, {"data": data})
        await interaction.wait_acknowledged(timeout=self._sim.ack_deadline_s + 0.5)
        return list(interaction.choices or [])

    async def press(self, message: SeenMessage, custom_id: str) -> Interaction:
        """Click the button `custom_id` on `message`. A button that isn't there or is disabled raises
        ValueError: the member could not have clicked it."""
        if message.deleted:
            raise ValueError(f"message {message.id} was deleted")
        button = next((b for b in message.buttons if b.custom_id == custom_id), None)
        if button is None or button.disabled:
            shown = [(b.custom_id, b.disabled) for b in message.buttons]
            raise ValueError(f"no clickable button {custom_id!r} on message {message.id}: {shown}")
        channel = self.guild.record.channels[message.channel_id]
        extra = {
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": message.payload(self.guild.id, self._sim.bot_name),
        }
        return await self._interact(COMPONENT, SimTextChannel(self.guild, channel), extra, on=message)

    async def _interact(
        self, kind: int, channel: SimTextChannel, extra: dict[str, Any], *, on: SeenMessage | None = None
    ) -> Interaction:
        sim = self._sim
        if sim.bot_user_id not in self.guild.record.members:
            raise ValueError(f"the bot is not in {self.guild.name}: its commands and buttons are gone there")
        interaction = Interaction(
            id=sim.ids.next(),
            token=secrets.token_urlsafe(48),
            kind=kind,
            guild_id=self.guild.id,
            channel_id=channel.id,
            member_id=self.id,
            created_at=sim.clock(),
            original=on,
        )
        record = self.guild.record
        member = {**self.record.payload(), "permissions": str(record.permissions_in(channel.id, self.id))}
        payload = {
            "id": str(interaction.id),
            "application_id": str(sim.application_id),
            "type": kind,
            "token": interaction.token,
            "version": 1,
            "guild_id": str(self.guild.id),
            "guild": {"id": str(self.guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.channel.payload(),
            "member": member,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": str(record.permissions_in(channel.id, sim.bot_user_id)),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild.id)},
            "context": 0,
            "attachment_size_limit": 8 * 1024 * 1024,
            **extra,
        }
        await sim.settle()
        sim.open_interaction(interaction)
        interaction.sent_at = time.monotonic()
        await sim.gateway.dispatch("INTERACTION_CREATE", payload)
        await asyncio.sleep(0)
        return interaction


def _declared_leaf(declared: dict[str, Any], path: list[str]) -> dict[str, Any]:
    """The (sub)command declaration that `path` names under `declared`."""
    for part in path:
        options: list[dict[str, Any]] = declared.get("options") or []
        sub = next((o for o in options if o["name"] == part and o["type"] in (SUBCOMMAND, GROUP)), None)
        if sub is None:
            raise ValueError(f"/{declared['name']} has no subcommand {part!r}")
        declared = sub
    return declared


def _command_options(
    declared: dict[str, Any], path: list[str], given: dict[str, object]
) -> list[dict[str, Any]]:
    """The `options` array of an interaction for `given` values, each a declared option of its type."""
    if path:
        sub = _declared_leaf(declared, path[:1])
        return [{"name": sub["name"], "type": sub["type"], "options": _command_options(sub, path[1:], given)}]
    by_name = {o["name"]: o for o in declared.get("options") or []}
    unknown = set(given) - set(by_name)
    if unknown:
        raise ValueError(f"/{declared['name']} has no option {sorted(unknown)}; it has {sorted(by_name)}")
    return [_option_value(by_name[name], value) for name, value in given.items()]


def _option_value(option: dict[str, Any], value: object) -> dict[str, Any]:
    kind = option["type"]
    if kind in (USER, CHANNEL, ROLE):
        value = str(getattr(value, "id", value))
    elif kind == INTEGER and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"option {option['name']!r} takes a whole number")
    elif kind == NUMBER and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise ValueError(f"option {option['name']!r} takes a number")
    elif kind == BOOLEAN and not isinstance(value, bool):
        raise ValueError(f"option {option['name']!r} takes true or false")
    elif kind == STRING and not isinstance(value, str):
        raise ValueError(f"option {option['name']!r} takes text")
    return {"name": option["name"], "type": kind, "value": value}
