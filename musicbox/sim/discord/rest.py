"""Discord's REST API as the bot uses it: identity, command sync, interaction callbacks, webhook
messages (original response and follow-ups) and channel messages, with Discord's rules enforced."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from musicbox.sim.discord import contract
from musicbox.sim.discord.contract import Violation
from musicbox.sim.discord.seen import EPHEMERAL, LOADING, Interaction, SeenMessage
from musicbox.sim.discord.world import (
    MANAGE_MESSAGES,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    user_payload,
)

if TYPE_CHECKING:
    from musicbox.sim.discord.actors import SimGuild
    from musicbox.sim.discord.server import DiscordSim

FOLLOWUP_WINDOW_S = 15 * 60
# Interaction callback types
PONG, MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE, AUTOCOMPLETE = 1, 4, 5, 6, 7, 8


def as_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses a body as JSON only when the content type is exactly application/json.
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error(status: int, code: int, message: str) -> web.Response:
    return as_json({"message": message, "code": code}, status=status)


async def read_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    if request.content_type == "multipart/form-data":
        form = await request.post()
        raw = form.get("payload_json")
        body: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else {}
        # Each file is the form part files[n], described by attachments[n] (id n): kept with its
        # description, base64 as JSON carries it, so a story can read what a member downloads.
        for described in body.get("attachments") or []:
            part = form.get(f"files[{described.get('id')}]")
            if isinstance(part, web.FileField):
                described["data_base64"] = base64.b64encode(part.file.read()).decode()
        return body
    answer: dict[str, Any] = await request.json()
    return answer


class Rest:
    def __init__(self, sim: DiscordSim) -> None:
        self.sim = sim
        self.requests = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/api/v10/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        tail = request.match_info["tail"]
        body = await read_body(request)
        # A retry is the same route with the same body.
        fingerprint = json.dumps(body, sort_keys=True).encode()
        answer = self.sim.rate_limits.take(request.method, tail, fingerprint, time.monotonic())
        if answer.early_retry is not None:
            self.sim.record(
                Violation(
                    "early_retry",
                    f"{request.method} /{tail} retried {answer.early_retry:.3f} s before retry_after",
                )
            )
        if answer.body is not None:
            return as_json(answer.body, status=429, headers=answer.headers)
        headers = answer.headers
        parts = tail.split("/")
        as_member = self.sim.oauth.answer(request.headers.get("Authorization", ""), parts)
        if as_member is not None:  # a member's own bearer token ("Login with Discord")
            as_member.headers.update(headers)
            return as_member
        webhook_style = parts[0] in ("interactions", "webhooks")
        if not webhook_style and request.headers.get("Authorization") != f"Bot {self.sim.bot_token}":
            return error(401, 0, "401: Unauthorized")
        response = await self._route(request, parts, body)
        response.headers.update(headers)
        return response

    async def _route(self, request: web.Request, parts: list[str], body: dict[str, Any]) -> web.Response:
        method = request.method
        match parts:
            case ["gateway", "bot"] | ["gateway"] if method == "GET":
                return as_json(self.sim.gateway_bot())
            case ["users", "@me"] if method == "GET":
                return as_json(user_payload(self.sim.bot_user_id, self.sim.bot_name, bot=True))
            case ["oauth2", "applications", "@me"] | ["applications", "@me"] if method == "GET":
                return as_json(self.sim.application_payload())
            case ["applications", app_id, "commands"] if app_id == str(
                self.sim.application_id
            ) and method in (
                "GET",
                "PUT",
            ):
                return self._commands(method, None, body)
            case ["applications", app_id, "guilds", guild_id, "commands"] if app_id == str(
                self.sim.application_id
            ) and method in ("GET", "PUT"):
                return self._commands(method, int(guild_id), body)
            case ["interactions", interaction_id, token, "callback"] if method == "POST":
                return await self._callback(int(interaction_id), token, body, request)
            case ["webhooks", _app, token] if method == "POST":
                return await self._followup(token, body)
            case ["webhooks", _app, token, "messages", message_id] if method in ("GET", "PATCH", "DELETE"):
                return await self._webhook_message(method, token, message_id, body)
            case ["guilds", guild_id, "members", user_id] if method == "GET":
                return self._member(int(guild_id), int(user_id))
            case ["channels", channel_id, "typing"] if method == "POST":
                return self._typing(int(channel_id))
            case ["channels", channel_id, "messages"] if method == "POST":
                return await self._channel_send(int(channel_id), body)
            case ["channels", channel_id, "messages", message_id] if method in ("GET", "PATCH", "DELETE"):
                return await self._channel_message(method, int(channel_id), int(message_id), body)
        # A route (or a method on it) the simulator lacks: Discord may have it, so the test fails
        # on the violation and the simulator is grown, rather than the bot passing on a 404.
        self.sim.record(Violation("unknown_route", f"{method} /{'/'.join(parts)}"))
        return error(404, 0, "404: Not Found")

    def _member(self, guild_id: int, user_id: int) -> web.Response:
        """Get Guild Member: answered without the privileged members intent, as Discord does, to a
        bot that is in the guild; 10007 Unknown Member otherwise."""
        guild = self.sim.guilds.get(guild_id)
        if guild is None or self.sim.bot_user_id not in guild.record.members:
            return error(404, 10004, "Unknown Guild")
        member = guild.record.members.get(user_id)
        if member is None:
            return error(404, 10007, "Unknown Member")
        return as_json(member.payload())

    def _commands(self, method: str, guild_id: int | None, body: Any) -> web.Response:
        if method == "GET":
            return as_json(self.sim.commands.get(guild_id, []))
        problems = contract.command_problems(body)
        if problems:
            self.sim.record(Violation("50035", f"command sync: {problems}"))
            return as_json(contract.invalid_form_body(problems), status=400)
        synced = [
            {
                **c,
                "id": str(self.sim.ids.next()),
                "application_id": str(self.sim.application_id),
                "version": str(self.sim.ids.next()),
                "guild_id": str(guild_id) if guild_id else None,
            }
            for c in body
        ]
        self.sim.commands[guild_id] = synced
        return as_json(synced)

    def _invalid(self, problems: contract.Problems, what: str) -> web.Response | None:
        if not problems:
            return None
        self.sim.record(Violation("50035", f"{what}: {problems}"))
        return as_json(contract.invalid_form_body(problems), status=400)

    async def _callback(
        self, interaction_id: int, token: str, body: dict[str, Any], request: web.Request
    ) -> web.Response:
        interaction = self.sim.interactions.get(token)
        if interaction is None or interaction.id != interaction_id:
            return error(404, 10062, "Unknown interaction")
        if interaction.response_type is not None:
            self.sim.record(Violation("40060", f"interaction {interaction.id} acknowledged twice"))
            return error(400, 40060, "Interaction has already been acknowledged.")
        if interaction.failed or self.sim.clock() - interaction.created_at > self.sim.ack_deadline_s:
            self.sim.mark_failed(interaction)
            return error(404, 10062, "Unknown interaction")
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        allowed = {
            2: (MESSAGE, DEFERRED_MESSAGE),
            3: (MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE),
            4: (AUTOCOMPLETE,),
        }[interaction.kind]
        if kind not in allowed:
            return as_json(contract.invalid_form_body({"type": "Interaction response type is invalid"}), 400)
        invalid = self._invalid(
            contract.choice_problems(data.get("choices") or [])
            if kind == AUTOCOMPLETE
            else contract.message_problems(data),
            "interaction response",
        )
        if invalid is not None:
            return invalid
        interaction.acknowledge(kind)
        resource: dict[str, Any] = {"type": kind}
        if kind == AUTOCOMPLETE:
            interaction.choices = list(data.get("choices") or [])
        elif kind in (MESSAGE, DEFERRED_MESSAGE):
            flags = int(data.get("flags", 0)) & EPHEMERAL | (LOADING if kind == DEFERRED_MESSAGE else 0)
            interaction.original = self.sim.new_message(
                interaction.channel_id, data, flags=flags, webhook=True
            )
            resource["message"] = interaction.original.payload(interaction.guild_id, self.sim.bot_name)
        elif kind == UPDATE and interaction.original is not None:
            interaction.original.apply(data, edit=True)
            resource["message"] = interaction.original.payload(interaction.guild_id, self.sim.bot_name)
        self.sim.notify_acknowledged(interaction)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.kind,
                "activity_instance_id": None,
                "response_message_id": str(interaction.original.id) if interaction.original else None,
                "response_message_loading": kind == DEFERRED_MESSAGE,
                "response_message_ephemeral": bool(interaction.original and interaction.original.ephemeral),
            },
            "resource": resource,
        }
        return as_json(answer)

    def _live_webhook(self, token: str) -> Interaction | web.Response:
        interaction = self.sim.interactions.get(token)
        if interaction is None or interaction.response_type is None:
            return error(404, 10015, "Unknown Webhook")
        if self.sim.clock() - interaction.created_at > FOLLOWUP_WINDOW_S:
            self.sim.record(Violation("followup_expired", f"interaction {interaction.id} used after 15 min"))
            return error(401, 50027, "Invalid Webhook Token")
        return interaction

    async def _followup(self, token: str, body: dict[str, Any]) -> web.Response:
        interaction = self._live_webhook(token)
        if isinstance(interaction, web.Response):
            return interaction
        invalid = self._invalid(contract.message_problems(body), "follow-up")
        if invalid is not None:
            return invalid
        message = self.sim.new_message(
            interaction.channel_id, body, flags=int(body.get("flags", 0)) & EPHEMERAL, webhook=True
        )
        interaction.followups.append(message)
        return as_json(message.payload(interaction.guild_id, self.sim.bot_name))

    async def _webhook_message(
        self, method: str, token: str, message_id: str, body: dict[str, Any]
    ) -> web.Response:
        interaction = self._live_webhook(token)
        if isinstance(interaction, web.Response):
            return interaction
        if message_id == "@original":
            message = interaction.original
        else:
            message = next((m for m in interaction.followups if m.id == int(message_id)), None)
        if message is None or message.deleted:
            return error(404, 10008, "Unknown Message")
        if method == "GET":
            return as_json(message.payload(interaction.guild_id, self.sim.bot_name))
        if method == "DELETE":
            message.deleted = True
            return web.Response(status=204)
        invalid = self._invalid(contract.message_problems(body), "edit")
        if invalid is not None:
            return invalid
        message.apply(body, edit=True)
        return as_json(message.payload(interaction.guild_id, self.sim.bot_name))

    def _member_message(self, method: str, message_id: int, perms: int) -> web.Response:
        """A member's message: readable with Read Message History, never editable by the bot,
        deletable with Manage Messages (Discord's rules for another user's message)."""
        if method == "GET":
            if perms & (VIEW_CHANNEL | READ_MESSAGE_HISTORY) != VIEW_CHANNEL | READ_MESSAGE_HISTORY:
                return error(403, 50013, "Missing Permissions")
            return as_json({k: v for k, v in self.sim.member_messages[message_id].items() if k != "member"})
        if method == "PATCH":
            return error(403, 50005, "Cannot edit a message authored by another user")
        if method == "DELETE":
            if perms & (VIEW_CHANNEL | MANAGE_MESSAGES) != VIEW_CHANNEL | MANAGE_MESSAGES:
                return error(403, 50013, "Missing Permissions")
            del self.sim.member_messages[message_id]
            return web.Response(status=204)
        return error(405, 0, "405: Method Not Allowed")

    def _guild_to_send_in(self, channel_id: int) -> SimGuild | web.Response:
        """The channel's guild, or Discord's answer when the bot may not send there (typing counts
        as sending)."""
        guild = self.sim.guild_of_channel(channel_id)
        if guild is None:
            return error(404, 10003, "Unknown Channel")
        needed = VIEW_CHANNEL | SEND_MESSAGES
        if guild.record.permissions_in(channel_id, self.sim.bot_user_id) & needed != needed:
            return error(403, 50013, "Missing Permissions")
        return guild

    def _typing(self, channel_id: int) -> web.Response:
        guild = self._guild_to_send_in(channel_id)
        if isinstance(guild, web.Response):
            return guild
        self.sim.typing.append(channel_id)
        return web.Response(status=204)

    async def _channel_send(self, channel_id: int, body: dict[str, Any]) -> web.Response:
        guild = self._guild_to_send_in(channel_id)
        if isinstance(guild, web.Response):
            return guild
        invalid = self._invalid(contract.message_problems(body), "channel message")
        if invalid is not None:
            return invalid
        message = self.sim.new_message(channel_id, body, flags=0, webhook=False)
        return as_json(message.payload(guild.id, self.sim.bot_name))

    async def _channel_message(
        self, method: str, channel_id: int, message_id: int, body: dict[str, Any]
    ) -> web.Response:
        guild = self.sim.guild_of_channel(channel_id)
        if guild is None:
            return error(404, 10003, "Unknown Channel")
        perms = guild.record.permissions_in(channel_id, self.sim.bot_user_id)
        theirs = self.sim.member_messages.get(message_id)
        if theirs is not None and theirs["channel_id"] == str(channel_id):
            return self._member_message(method, message_id, perms)
        message = self.sim.messages.get(message_id)
        if message is None or message.deleted or message.channel_id != channel_id:
            return error(404, 10008, "Unknown Message")
        if method == "GET":
            return as_json(message.payload(guild.id, self.sim.bot_name))
        if method == "DELETE":
            message.deleted = True
            return web.Response(status=204)
        invalid = self._invalid(contract.message_problems(body), "message edit")
        if invalid is not None:
            return invalid
        message.apply(body, edit=True)
        return as_json(message.payload(guild.id, self.sim.bot_name))


def new_seen_message(
    message_id: int,
    channel_id: int,
    author_id: int,
    body: dict[str, Any],
    *,
    flags: int,
    webhook_id: int | None,
) -> SeenMessage:
    message = SeenMessage(
        id=message_id, channel_id=channel_id, author_id=author_id, flags=flags, webhook_id=webhook_id
    )
    message.apply(body, edit=False)
    return message
