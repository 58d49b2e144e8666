"""`DiscordSim`: a strict local Discord that the real discord.py client connects to.

REST and the gateway listen on 127.0.0.1 (plain HTTP and WS, which discord.py accepts by
configuration); the voice websocket is TLS because discord.py always dials `wss://`, so the
simulator makes a throwaway CA and hands the bot a connector that trusts it."""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import trustme
from aiohttp import web

from musicbox.sim.discord.actors import SimGuild
from musicbox.sim.discord.contract import Violation
from musicbox.sim.discord.gateway import Gateway, GatewaySession
from musicbox.sim.discord.oauth import OAuth
from musicbox.sim.discord.ratelimit import RateLimits
from musicbox.sim.discord.rest import Rest, new_seen_message
from musicbox.sim.discord.seen import Interaction, SeenMessage
from musicbox.sim.discord.sharding import DISCORD as DISCORD_SHARDING
from musicbox.sim.discord.sharding import SESSION_STARTS_A_DAY, IdentifyBuckets, Sharding, recommended_shards
from musicbox.sim.discord.world import (
    BOT_INVITE,
    EVERYONE_DEFAULT,
    GuildRecord,
    MemberRecord,
    SimRole,
    Snowflakes,
    VoiceState,
    user_payload,
)
from musicbox.sim.voice import VoiceServer

log = logging.getLogger(__name__)

DISCORD_HEARTBEAT_S = 41.25


class DiscordSim:
    def __init__(
        self,
        *,
        ack_deadline_s: float,
        heartbeat_interval_s: float,
        allowed_privileged: int,
        sharding: Sharding = DISCORD_SHARDING,
    ) -> None:
        self.ids = Snowflakes()
        self.ack_deadline_s = ack_deadline_s
        self.sharding = sharding
        self.bot_token = f"sim.{secrets.token_urlsafe(8)}.{secrets.token_urlsafe(24)}"
        self.bot_name = "musicbox"
        self.application_id = self.ids.next()
        self.bot_user_id = self.application_id
        self.guilds: dict[int, SimGuild] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, Interaction] = {}
        self.messages: dict[int, SeenMessage] = {}  # the bot's
        # Members' messages as MESSAGE_CREATE carried them, for REST reads and deletes of them.
        self.member_messages: dict[int, dict[str, Any]] = {}
        self.typing: list[int] = []  # channel ids, one per POST /channels/{id}/typing answered 204
        self.violations: list[Violation] = []
        self.rate_limits = RateLimits()
        self._expected: set[str] = set()
        self._clock_offset = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._deadlines: list[asyncio.TimerHandle] = []
        self.gateway = Gateway(
            bot_token=self.bot_token,
            bot_user_id=self.bot_user_id,
            heartbeat_interval_s=heartbeat_interval_s,
            allowed_privileged=allowed_privileged,
            on_identify=self._ready_events,
            on_voice_state=self._bot_voice_state,
            members_of=self._members_of,
            on_violation=lambda code, detail: self.record(Violation(code, detail)),
            identify_buckets=IdentifyBuckets(sharding.max_concurrency, sharding.identify_window_s),
            max_guilds_per_shard=sharding.max_guilds_per_shard,
        )
        self.rest = Rest(self)
        self.oauth = OAuth(self)
        self._ca = trustme.CA()
        self.api_base = ""
        self.site_base = ""
        self.gateway_url = ""
        self.voice: VoiceServer | None = None
        # Guilds moved to another voice server (`move_voice_server`): its endpoint.
        self._voice_endpoints: dict[int, str] = {}
        self._runner: web.AppRunner | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def start(
        cls,
        *,
        ack_deadline_s: float = 3.0,
        heartbeat_interval_s: float = DISCORD_HEARTBEAT_S,
        allowed_privileged: int = 0,
        voice: bool = True,
        sharding: Sharding = DISCORD_SHARDING,
    ) -> AsyncIterator[DiscordSim]:
        sim = cls(
            ack_deadline_s=ack_deadline_s,
            heartbeat_interval_s=heartbeat_interval_s,
            allowed_privileged=allowed_privileged,
            sharding=sharding,
        )
        await sim._listen(voice=voice)
        try:
            yield sim
        finally:
            await sim._aclose()

    async def _listen(self, *, voice: bool) -> None:
        app = web.Application()
        self.oauth.routes(app)  # first: /api/v10/oauth2/token is under REST's catch-all
        self.rest.routes(app)
        app.router.add_get("/gateway", self.gateway.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.api_base = f"http://127.0.0.1:{port}/api/v10"
        self.site_base = f"http://127.0.0.1:{port}"  # where /oauth2/authorize is, as discord.com
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"
        if voice:
            self.voice = VoiceServer(self._server_ssl())
            await self.voice.start()

    async def _aclose(self) -> None:
        for handle in self._deadlines:
            handle.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.gateway.drop()
        if self.voice is not None:
            await self.voice.aclose()
        if self._runner is not None:
            await self._runner.cleanup()

    def _server_ssl(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    def client_ssl(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self._ca.configure_trust(context)
        return context

    def write_ca(self, path: Path) -> Path:
        """The simulator's CA as PEM, for a bot in another process (`SSL_CERT_FILE=path`)."""
        self._ca.cert_pem.write_to_path(str(path))
        return path

    def connector(self) -> aiohttp.TCPConnector:
        """For `discord.Client(connector=...)`: trusts the simulator's voice certificate."""
        return aiohttp.TCPConnector(ssl=self.client_ssl())

    # --- the world -------------------------------------------------------------------------

    def create_guild(self, name: str) -> SimGuild:
        guild_id = self.ids.next_guild()
        record = GuildRecord(guild_id, name, owner_id=self.ids.next())
        record.roles[guild_id] = SimRole(guild_id, "@everyone", EVERYONE_DEFAULT, 0)
        bot_role = SimRole(self.ids.next(), self.bot_name, BOT_INVITE, 1, managed=True)
        record.roles[bot_role.id] = bot_role
        record.members[self.bot_user_id] = MemberRecord(
            self.bot_user_id, self.bot_name, [bot_role.id], bot=True
        )
        guild = SimGuild(self, record)
        self.guilds[guild_id] = guild
        self.post("GUILD_CREATE", record.create_payload())
        return guild

    def guild_of_channel(self, channel_id: int) -> SimGuild | None:
        return next((g for g in self.guilds.values() if channel_id in g.record.channels), None)

    def declared_command(self, guild_id: int, name: str) -> dict[str, Any]:
        for scope in (guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        known = sorted(c["name"] for scope in (guild_id, None) for c in self.commands.get(scope, []))
        raise ValueError(f"the bot declared no /{name} here; it declared {known}")

    def registered_commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        return list(self.commands.get(guild_id, []))

    def new_message(self, channel_id: int, body: dict[str, Any], *, flags: int, webhook: bool) -> SeenMessage:
        message = new_seen_message(
            self.ids.next(),
            channel_id,
            self.bot_user_id,
            body,
            flags=flags,
            webhook_id=self.application_id if webhook else None,
        )
        self.messages[message.id] = message
        return message

    # --- Discord's contract ----------------------------------------------------------------

    def clock(self) -> float:
        return time.monotonic() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the simulator's clock on, e.g. past the 15 minutes an interaction token lives."""
        self._clock_offset += seconds

    def record(self, violation: Violation) -> None:
        log.warning("discord contract violated: %s %s", violation.code, violation.detail)
        self.violations.append(violation)

    def expect_violation(self, code: str) -> None:
        self._expected.add(code)

    def unexpected_violations(self) -> list[Violation]:
        return [v for v in self.violations if v.code not in self._expected]

    def open_interaction(self, interaction: Interaction) -> None:
        self.interactions[interaction.token] = interaction
        handle = asyncio.get_running_loop().call_later(self.ack_deadline_s, self.mark_failed, interaction)
        self._deadlines.append(handle)
        if len(self._deadlines) > 1000:
            self._deadlines = [
                h for h in self._deadlines if not h.cancelled() and h.when() > time.monotonic()
            ]

    def mark_failed(self, interaction: Interaction) -> None:
        if interaction.response_type is None and not interaction.failed:
            interaction.failed = True
            self.record(
                Violation(
                    "ack_timeout",
                    f"interaction {interaction.id} not acknowledged in {self.ack_deadline_s:g} s",
                )
            )

    def notify_acknowledged(self, interaction: Interaction) -> None:
        log.debug(
            "interaction %s acknowledged in %.1f ms", interaction.id, (interaction.ack_latency_s or 0) * 1e3
        )

    def set_rate_limit(self, route_prefix: str, *, limit: int, per_s: float) -> None:
        """Routes whose path (after /api/v10/) starts with `route_prefix` share one bucket."""
        self.rate_limits.set(route_prefix, limit=limit, per_s=per_s)

    # --- gateway ---------------------------------------------------------------------------

    def post(self, event: str, data: dict[str, Any]) -> None:
        """Dispatch from synchronous code; `settle()` waits until it has gone out."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # nobody is connected before the loop runs: GUILD_CREATE at IDENTIFY covers it
        if not self.gateway.sessions:
            return
        task = loop.create_task(self.gateway.dispatch(event, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def drop_gateway(self, *, down_for_s: float = 0.0) -> None:
        """Close the bot's gateway connection (resumable); refuse new ones for `down_for_s`."""
        await self.gateway.drop(down_for_s=down_for_s)

    def drop_gateway_at_next_voice_request(self, *, down_for_s: float) -> None:
        """The bot's next voice join or leave (op 4) is lost with its gateway connection, which
        stays down for `down_for_s`: a join made just as the network fails."""
        self.gateway.drop_at_next_voice_request(down_for_s=down_for_s)

    async def wait_until_ready(self, timeout: float = 10) -> None:
        """Until the bot has identified and received its guilds."""
        deadline = time.monotonic() + timeout
        while not self.gateway.is_ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot did not connect to the simulator within {timeout} s")
            await asyncio.sleep(0.01)

    def _members_of(self, guild_id: int) -> list[dict[str, Any]] | None:
        guild = self.guilds.get(guild_id)
        if guild is None or self.bot_user_id not in guild.record.members:
            return None
        return [member.payload() for member in guild.record.members.values()]

    def gateway_bot(self) -> dict[str, Any]:
        """`GET /gateway/bot`: where to connect, the shard count Discord would recommend for the
        bot's guilds, and what is left of the session start limit."""
        started = self.gateway.identifies
        return {
            "url": self.gateway_url,
            "shards": recommended_shards(len(self._bot_guilds()), self.sharding.guilds_per_recommended_shard),
            "session_start_limit": {
                "total": SESSION_STARTS_A_DAY,
                "remaining": max(0, SESSION_STARTS_A_DAY - started),
                "reset_after": 86_400_000,
                "max_concurrency": self.sharding.max_concurrency,
            },
        }

    def _bot_guilds(self) -> list[SimGuild]:
        return [g for g in self.guilds.values() if self.bot_user_id in g.record.members]

    async def _ready_events(self, session: GatewaySession) -> list[tuple[str, dict[str, Any]]]:
        guilds = [g for g in self._bot_guilds() if session.shard.owns(g.id)]
        ready = {
            "v": 10,
            "user": user_payload(self.bot_user_id, self.bot_name, bot=True)
            | {"verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["sim"],
            "shard": [session.shard.id, session.shard.count],
            "_trace": ["musicbox-sim"],
        }
        creates = [("GUILD_CREATE", g.record.create_payload()) for g in guilds]
        return [("READY", ready), *creates]

    async def remove_bot(self, guild_id: int) -> None:
        """The server's owner kicks the bot (or bans it, or deletes the server): as Discord does, its
        voice connection is closed (4014), it stops being a member, and its gateway session gets
        GUILD_DELETE without `unavailable` (which would mean an outage). Until `add_bot`, its voice
        joins there are ignored and the guild is left out of READY."""
        guild = self.guilds[guild_id]
        guild.record.voice_states.pop(self.bot_user_id, None)
        if self.voice is not None:
            self.voice.end_session(guild_id)
        if guild.record.members.pop(self.bot_user_id, None) is not None:
            await self.gateway.dispatch("GUILD_DELETE", {"id": str(guild_id)})

    async def add_bot(self, guild_id: int) -> None:
        """The bot invited back into a server it was removed from: GUILD_CREATE, as on any invite."""
        record = self.guilds[guild_id].record
        if self.bot_user_id in record.members:
            return
        bot_roles = [role.id for role in record.roles.values() if role.managed and role.name == self.bot_name]
        record.members[self.bot_user_id] = MemberRecord(self.bot_user_id, self.bot_name, bot_roles, bot=True)
        # Without `unavailable`: a guild joined, not one back from an outage (discord.py tells them
        # apart by it: on_guild_join against on_guild_available).
        created = record.create_payload()
        del created["unavailable"]
        await self.gateway.dispatch("GUILD_CREATE", created)

    async def disconnect_bot(self, guild_id: int) -> None:
        """A moderator's "Disconnect" on the bot: its voice state goes, its voice socket is closed
        (4014), and the gateway says so, exactly as when the bot leaves by itself."""
        await self._bot_leaves_voice(self.guilds[guild_id])

    async def _bot_leaves_voice(self, guild: SimGuild) -> None:
        record = guild.record
        previous = record.voice_states.pop(self.bot_user_id, None)
        if previous is None:
            return
        previous.channel_id = None
        if self.voice is not None:
            self.voice.end_session(guild.id)
        await self.gateway.dispatch("VOICE_STATE_UPDATE", record.voice_state_payload(previous))

    async def _bot_voice_state(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self.guilds.get(int(data.get("guild_id") or 0))
        if guild is None or self.bot_user_id not in guild.record.members:
            return  # Discord ignores voice state updates for a guild the bot is not in
        record = guild.record
        channel_id = int(data["channel_id"]) if data.get("channel_id") else None
        previous = record.voice_states.get(self.bot_user_id)
        if channel_id is None:
            await self._bot_leaves_voice(guild)
            return
        if record.voice_join_refusal(channel_id, self.bot_user_id) is not None:
            return  # Discord ignores a join the bot may not make; the client's connect times out
        state = VoiceState(
            self.bot_user_id,
            channel_id,
            previous.session_id if previous else secrets.token_hex(16),
            self_deaf=bool(data.get("self_deaf")),
            self_mute=bool(data.get("self_mute")),
        )
        record.voice_states[self.bot_user_id] = state
        await self.gateway.dispatch("VOICE_STATE_UPDATE", record.voice_state_payload(state))
        await self._voice_server_update(guild.id, state)

    async def _voice_server_update(self, guild_id: int, state: VoiceState) -> None:
        token = secrets.token_hex(8)
        moved_to = self._voice_endpoints.get(guild_id, "")
        if self.voice is not None and state.channel_id is not None:
            self.voice.expect_session(
                guild_id=guild_id,
                channel_id=state.channel_id,
                user_id=self.bot_user_id,
                session_id=state.session_id,
                token=token,
                endpoint=moved_to,
            )
        endpoint = moved_to or (self.voice.endpoint if self.voice is not None else "127.0.0.1:9")
        await self.gateway.dispatch(
            "VOICE_SERVER_UPDATE", {"token": token, "guild_id": str(guild_id), "endpoint": endpoint}
        )

    async def move_voice_server(self, guild_id: int) -> str:
        """Discord moves the guild's voice to another server mid-session (a failover): the bot gets
        VOICE_SERVER_UPDATE with a new endpoint and token and nothing else; its session on the old
        server cannot be resumed on the new one, so the client must IDENTIFY there (discord.py closes
        the old socket itself, 4014, and reconnects). Returns the new endpoint."""
        if self.voice is None:
            raise RuntimeError("this simulator was started without voice")
        state = self.guilds[guild_id].record.voice_states.get(self.bot_user_id)
        if state is None or state.channel_id is None:
            raise ValueError(f"the bot is not in voice in guild {guild_id}; nothing to move")
        self._voice_endpoints[guild_id] = await self.voice.add_endpoint()
        await self._voice_server_update(guild_id, state)
        return self._voice_endpoints[guild_id]

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_name,
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": user_payload(1, "owner"),
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
            "summary": "",
        }
