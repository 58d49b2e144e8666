"""The gateway websocket: HELLO, IDENTIFY/RESUME, heartbeats, dispatches filtered by intents, member
requests (op 8) answered in chunks, and the bot's voice state requests (op 4) handed to the simulator.
An opcode Discord does not know, or a payload Discord would refuse, closes the socket with Discord's
code and is a contract violation.

A session outlives its socket: events dispatched while the bot is away are buffered and replayed on
RESUME, as Discord does; a session whose heartbeats stop is closed with 4009 and forgotten.

Sessions are shards (`sharding.py`): each sees, and is sent the events of, its own guilds only."""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from musicbox.sim.discord.sharding import (
    MAX_GUILDS_PER_SHARD,
    IdentifyBuckets,
    Shard,
    event_guild,
    shard_of_identify,
)

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE_STATE, RESUME, RECONNECT = 0, 1, 2, 3, 4, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_VOICE_STATES = 1 << 7
GUILD_MESSAGES = 1 << 9
MESSAGE_CONTENT = 1 << 15
PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# Which intent an event needs; events not listed reach every session.
EVENT_INTENTS = {
    "GUILD_CREATE": GUILDS,
    "GUILD_DELETE": GUILDS,
    "CHANNEL_CREATE": GUILDS,
    "VOICE_STATE_UPDATE": GUILD_VOICE_STATES,
    "MESSAGE_CREATE": GUILD_MESSAGES,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
}
REPLAY_BUFFER = 2000
# Request Guild Members (op 8), as Discord's gateway documentation gives it: up to 1000 members a
# GUILD_MEMBERS_CHUNK; a name query or a list of ids returns at most 100; a nonce over 32 bytes is
# dropped from the answer; asking for every member (query "" and limit 0) needs GUILD_MEMBERS and is
# allowed once per guild every 30 s, later asks are answered with RATE_LIMITED.
CHUNK_SIZE = 1000
QUERY_LIMIT = 100
MAX_NONCE_BYTES = 32
FULL_REQUEST_EVERY_S = 30.0
# IDENTIFY's large_threshold: from 50 (Discord's default) to 250 members.
LARGE_THRESHOLD_RANGE = (50, 250)
# Over this many members, GUILD_CREATE lists only the bot and members in voice, whatever the intents.
HUGE_GUILD = 75_000
# Opcodes Discord has that the simulator does not answer: a bot sending one needs the simulator grown.
UNSIMULATED_OPCODES = {31: "Request Soundboard Sounds"}
# Discord closes a connection that sends more than 120 payloads in a 60 s window with 4008. The window
# is fixed, starting at a connection's first payload and renewed 60 s later: the bucket discord.py's
# GatewayRatelimiter keeps itself within (110 a window, room for heartbeats), and what "120 events per
# connection every 60 seconds" in Discord's gateway documentation describes. A sliding window would
# close connections that real clients keep open.
SEND_LIMIT, SEND_WINDOW_S = 120, 60.0


class GatewayClosed(Exception):
    """The socket closed while sending."""


@dataclass
class GatewaySession:
    id: str
    intents: int
    large_threshold: int = LARGE_THRESHOLD_RANGE[0]
    seq: int = 0
    socket: GatewaySocket | None = None
    buffer: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=REPLAY_BUFFER)
    )
    ready: bool = False
    shard: Shard = field(default_factory=Shard)

    def frame(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": self.seq, "d": data}
        self.buffer.append(payload)
        return payload


class GatewaySocket:
    """One websocket connection, compressed as the client asked (zlib-stream is what discord.py asks)."""

    def __init__(self, ws: web.WebSocketResponse, compress: str | None) -> None:
        self.ws = ws
        self._zlib = zlib.compressobj() if compress == "zlib-stream" else None
        self._lock = asyncio.Lock()
        self.last_heartbeat = time.monotonic()
        self._window_started = 0.0
        self._sent_in_window = 0

    def over_send_limit(self) -> bool:
        now = time.monotonic()
        if self._sent_in_window == 0 or now - self._window_started >= SEND_WINDOW_S:
            self._window_started, self._sent_in_window = now, 0
        self._sent_in_window += 1
        return self._sent_in_window > SEND_LIMIT

    async def send(self, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload, separators=(",", ":"))
        async with self._lock:
            if self.ws.closed:
                raise GatewayClosed
            if self._zlib is None:
                await self.ws.send_str(raw)
            else:
                data = self._zlib.compress(raw.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        await self.ws.close(code=code, message=reason.encode())


class Gateway:
    """Every bot session of the simulated Discord and the hooks through which it asks things."""

    def __init__(
        self,
        *,
        bot_token: str,
        bot_user_id: int,
        heartbeat_interval_s: float,
        allowed_privileged: int,
        on_identify: Callable[[GatewaySession], Awaitable[list[tuple[str, dict[str, Any]]]]],
        on_voice_state: Callable[[GatewaySession, dict[str, Any]], Awaitable[None]],
        members_of: Callable[[int], list[dict[str, Any]] | None],
        on_violation: Callable[[str, str], None],
        identify_buckets: IdentifyBuckets | None = None,
        max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD,
    ) -> None:
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.heartbeat_interval_s = heartbeat_interval_s
        self.allowed_privileged = allowed_privileged
        self.sessions: dict[str, GatewaySession] = {}
        self.identifies = 0
        self.resumes = 0
        self.identify_buckets = identify_buckets or IdentifyBuckets(window_s=0.0)
        self.max_guilds_per_shard = max_guilds_per_shard
        self.identifies_refused = 0  # over max_concurrency: answered with op 9
        # Which guilds' events went to each shard: what a test reads to see that shards stay apart.
        self.guilds_sent_to: dict[Shard, set[int]] = collections.defaultdict(set)
        self._on_identify = on_identify
        self._on_voice_state = on_voice_state
        self._members_of = members_of
        self._on_violation = on_violation
        self._full_requests: dict[int, float] = {}  # guild id -> when every member was last asked for
        self._sent_hooks: list[Callable[[str, dict[str, Any]], None]] = []
        self._refuse_until = 0.0  # an outage: connections are refused until then (monotonic)
        self._drop_at_voice_request: float | None = None  # the outage to start at the next op 4

    def on_sent(self, hook: Callable[[str, dict[str, Any]], None]) -> None:
        self._sent_hooks.append(hook)

    def is_ready(self) -> bool:
        return any(
            s.ready and s.socket is not None and not s.socket.ws.closed for s in self.sessions.values()
        )

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        needed = EVENT_INTENTS.get(event, 0)
        for session in list(self.sessions.values()):
            if needed and not session.intents & needed:
                continue
            if not session.shard.receives(event, data):
                continue
            payload = session.frame(event, self._visible(event, data, session))
            await self._deliver(session, payload)

    async def _deliver(self, session: GatewaySession, payload: dict[str, Any]) -> None:
        socket = session.socket
        if socket is None:
            return  # buffered for RESUME
        try:
            await socket.send(payload)
        except (GatewayClosed, ConnectionError, RuntimeError):
            return
        guild_id = event_guild(payload["t"], payload["d"])
        if guild_id is not None:
            self.guilds_sent_to[session.shard].add(guild_id)
        for hook in self._sent_hooks:
            hook(payload["t"], payload["d"])

    async def drop(self, *, down_for_s: float = 0.0) -> None:
        """Close every bot socket the way a network blip does: the sessions stay resumable. For
        `down_for_s` after, new connections are refused (an outage the client retries through)."""
        self._refuse_until = time.monotonic() + down_for_s
        for session in self.sessions.values():
            if session.socket is not None:
                await session.socket.close(4000, "simulated drop")

    def drop_at_next_voice_request(self, *, down_for_s: float) -> None:
        """Lose the bot's next voice state request (op 4) with its connection, as when the network
        fails just as it is sent, then refuse connections for `down_for_s`."""
        self._drop_at_voice_request = down_for_s

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        if time.monotonic() < self._refuse_until:
            raise web.HTTPServiceUnavailable(text="simulated outage")
        ws = web.WebSocketResponse(autoping=True, max_msg_size=4096 * 1024)
        await ws.prepare(request)
        socket = GatewaySocket(ws, request.query.get("compress"))
        session: GatewaySession | None = None
        watchdog = asyncio.get_running_loop().create_task(self._watch_heartbeats(socket))
        try:
            await socket.send(
                {"op": HELLO, "d": {"heartbeat_interval": int(self.heartbeat_interval_s * 1000)}}
            )
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    break
                if socket.over_send_limit():
                    self._on_violation(
                        "4008", f"more than {SEND_LIMIT} gateway payloads in {SEND_WINDOW_S:g} s"
                    )
                    await socket.close(4008, "Rate limited.")
                    break
                try:
                    received = json.loads(message.data)
                except ValueError:
                    received = None
                if not isinstance(received, dict):
                    await self._refuse(socket, 4002, "Error while decoding payload.", "not a JSON object")
                    break
                session = await self._receive(socket, session, received)
        except GatewayClosed:
            pass
        finally:
            watchdog.cancel()
            if session is not None and session.socket is socket:
                session.socket = None
        return ws

    async def _watch_heartbeats(self, socket: GatewaySocket) -> None:
        # Discord closes a connection that stops heartbeating: a zombie must not look alive.
        while not socket.ws.closed:
            await asyncio.sleep(self.heartbeat_interval_s / 4)
            if time.monotonic() - socket.last_heartbeat > self.heartbeat_interval_s * 1.5:
                await socket.close(4009, "Session timed out")
                for key, session in list(self.sessions.items()):
                    if session.socket is socket:
                        del self.sessions[key]
                return

    async def _receive(
        self, socket: GatewaySocket, session: GatewaySession | None, message: dict[str, Any]
    ) -> GatewaySession | None:
        op, data = message.get("op"), message.get("d")
        if op == HEARTBEAT:
            socket.last_heartbeat = time.monotonic()
            await socket.send({"op": HEARTBEAT_ACK})
            return session
        if op == IDENTIFY and session is not None:
            await self._refuse(socket, 4005, "Already authenticated.", "a second IDENTIFY on one connection")
            return session
        if op == IDENTIFY:
            return await self._identify(socket, data or {})
        if op == RESUME:
            return await self._resume(socket, data or {})
        if op in UNSIMULATED_OPCODES:
            self._on_violation("unknown_opcode", f"op {op} ({UNSIMULATED_OPCODES[op]}) is not simulated")
            return session
        if op not in (PRESENCE, VOICE_STATE, REQUEST_MEMBERS):
            await self._refuse(socket, 4001, "Unknown opcode.", f"gateway opcode {op!r}")
            return session
        if session is None:
            await self._refuse(socket, 4003, "Not authenticated.", f"op {op} before IDENTIFY")
            return None
        if op == VOICE_STATE and self._drop_at_voice_request is not None:
            down_for_s, self._drop_at_voice_request = self._drop_at_voice_request, None
            await self.drop(down_for_s=down_for_s)
        elif op == VOICE_STATE:
            await self._on_voice_state(session, data or {})
        elif op == REQUEST_MEMBERS:
            await self._request_members(socket, session, data if isinstance(data, dict) else {})
        return session

    async def _refuse(self, socket: GatewaySocket, code: int, reason: str, detail: str) -> None:
        """Close as Discord closes a connection that broke the gateway's rules, and say so."""
        self._on_violation(str(code), detail)
        await socket.close(code, reason)

    async def _request_members(
        self, socket: GatewaySocket, session: GatewaySession, data: dict[str, Any]
    ) -> None:
        request = member_request(data, session.intents)
        if isinstance(request, str):
            await self._refuse(socket, 4001, "Unknown opcode.", f"op 8: {request}")
            return
        members = self._members_of(request.guild_id)
        if members is None:
            return  # a guild the bot is not in: Discord answers nothing
        if request.wants_everyone:
            now = time.monotonic()
            last = self._full_requests.get(request.guild_id)
            if last is not None and now - last < FULL_REQUEST_EVERY_S:
                limited = {
                    "opcode": REQUEST_MEMBERS,
                    "retry_after": round(FULL_REQUEST_EVERY_S - (now - last), 3),
                    "meta": {"guild_id": str(request.guild_id)} | _nonce(request.nonce),
                }
                await self._deliver(session, session.frame("RATE_LIMITED", limited))
                return
            self._full_requests[request.guild_id] = now
        for chunk in member_chunks(request, members):
            await self._deliver(session, session.frame("GUILD_MEMBERS_CHUNK", chunk))

    def _visible(self, event: str, data: dict[str, Any], session: GatewaySession) -> dict[str, Any]:
        # Without MESSAGE_CONTENT a bot reads no message text it is not mentioned in.
        if event == "MESSAGE_CREATE" and not session.intents & MESSAGE_CONTENT:
            return {**data, "content": "", "embeds": [], "attachments": [], "components": []}
        if event == "GUILD_CREATE" and "members" in data:
            return guild_create_for(
                data,
                intents=session.intents,
                large_threshold=session.large_threshold,
                bot_user_id=self.bot_user_id,
            )
        return data

    async def _identify(self, socket: GatewaySocket, data: dict[str, Any]) -> GatewaySession | None:
        if data.get("token") != self.bot_token:
            await socket.close(4004, "Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED & ~self.allowed_privileged:
            await socket.close(4014, "Disallowed intent(s).")
            return None
        shard = shard_of_identify(data.get("shard"))
        if isinstance(shard, str):
            await self._refuse(socket, 4010, "Invalid shard.", shard)
            return None
        if not self.identify_buckets.admit(shard, time.monotonic()):
            # Discord's answer to an IDENTIFY over max_concurrency: the socket stays open, the
            # client waits and identifies again (discord.py closes it and dials afresh).
            self.identifies_refused += 1
            await socket.send({"op": INVALID_SESSION, "d": False})
            return None
        low, high = LARGE_THRESHOLD_RANGE
        threshold = min(high, max(low, int(data.get("large_threshold") or low)))
        session = GatewaySession(
            id=secrets.token_hex(16), intents=intents, large_threshold=threshold, socket=socket, shard=shard
        )
        events = await self._on_identify(session)
        guilds = sum(1 for event, _ in events if event == "GUILD_CREATE")
        if guilds > self.max_guilds_per_shard:
            await socket.close(4011, "Sharding required.")
            return None
        self.identifies += 1
        self.sessions[session.id] = session
        socket.last_heartbeat = time.monotonic()
        for event, payload in events:
            await self._deliver(session, session.frame(event, self._visible(event, payload, session)))
        session.ready = True
        return session

    async def _resume(self, socket: GatewaySocket, data: dict[str, Any]) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.bot_token:
            await socket.send({"op": INVALID_SESSION, "d": False})
            return None
        self.resumes += 1
        socket.last_heartbeat = time.monotonic()
        if session.socket is not None and session.socket is not socket:
            await session.socket.close(4000, "Session resumed elsewhere")
        session.socket = socket
        missed = [p for p in session.buffer if p["s"] > int(data.get("seq") or 0)]
        for payload in missed:
            await self._deliver(session, payload)
        await self._deliver(session, session.frame("RESUMED", {}))
        return session


def guild_create_for(
    data: dict[str, Any], *, intents: int, large_threshold: int, bot_user_id: int
) -> dict[str, Any]:
    """GUILD_CREATE as one session receives it, from one listing every member. Discord's rule: without
    GUILD_PRESENCES (or over 75,000 members) only the bot and the members in voice; with it, every
    member of a guild of at most `large_threshold`, and in a larger ("large") one those online, with a
    role, a nickname or in voice (the simulator keeps no presences: nobody is online)."""
    count = int(data["member_count"])
    large = count > large_threshold
    in_voice = {state["user_id"] for state in data.get("voice_states") or []}

    def listed(member: dict[str, Any]) -> bool:
        user_id = member["user"]["id"]
        if user_id == str(bot_user_id) or user_id in in_voice:
            return True
        if not intents & GUILD_PRESENCES or count > HUGE_GUILD:
            return False
        return not large or bool(member.get("roles")) or member.get("nick") is not None

    return {**data, "members": [m for m in data["members"] if listed(m)], "large": large}


@dataclass(frozen=True, slots=True)
class MemberRequest:
    """One Request Guild Members (op 8), checked."""

    guild_id: int
    query: str | None
    limit: int
    user_ids: tuple[int, ...] | None
    presences: bool
    nonce: str | None

    @property
    def wants_everyone(self) -> bool:
        return self.query == "" and self.limit == 0 and self.user_ids is None


def member_request(data: dict[str, Any], intents: int) -> MemberRequest | str:
    """The request op 8 carries, or why Discord refuses it."""
    guild_id = data.get("guild_id")
    if isinstance(guild_id, list) or not str(guild_id or "").isdigit():
        return f"guild_id must be one guild's id, got {guild_id!r}"
    query, raw_ids = data.get("query"), data.get("user_ids")
    if query is None and raw_ids is None:
        return "needs query or user_ids"
    if query is not None and not isinstance(query, str):
        return f"query must be a string, got {query!r}"
    if query is not None and not isinstance(data.get("limit"), int):
        return "limit is required with query"
    if query == "" and not intents & GUILD_MEMBERS:
        return "asking for every member needs the GUILD_MEMBERS intent"
    ids_given = raw_ids if isinstance(raw_ids, list) else [raw_ids] if raw_ids is not None else None
    if ids_given is not None and not all(str(i).isdigit() for i in ids_given):
        return f"user_ids must be ids, got {raw_ids!r}"
    nonce = data.get("nonce")
    return MemberRequest(
        guild_id=int(str(guild_id)),
        query=query,
        limit=int(data.get("limit") or 0),
        user_ids=tuple(int(i) for i in ids_given) if ids_given is not None else None,
        # Presences need the GUILD_PRESENCES intent; without it the flag is taken as false.
        presences=bool(data.get("presences")) and bool(intents & GUILD_PRESENCES),
        nonce=nonce if isinstance(nonce, str) and len(nonce.encode()) <= MAX_NONCE_BYTES else None,
    )


def member_chunks(request: MemberRequest, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The GUILD_MEMBERS_CHUNK events that answer `request` from a guild's `members` (always at least
    one, empty when nothing matched, so the client knows its request is complete)."""
    not_found: list[str] = []
    if request.user_ids is not None:
        by_id = {m["user"]["id"]: m for m in members}
        wanted = [str(i) for i in request.user_ids[:QUERY_LIMIT]]
        matched = [by_id[i] for i in wanted if i in by_id]
        not_found = [i for i in wanted if i not in by_id]
    elif request.wants_everyone:
        matched = list(members)
    else:
        prefix = (request.query or "").casefold()
        cap = min(request.limit or QUERY_LIMIT, QUERY_LIMIT)
        matched = [m for m in members if str(m["user"]["username"]).casefold().startswith(prefix)][:cap]
    pieces = [matched[i : i + CHUNK_SIZE] for i in range(0, len(matched), CHUNK_SIZE)] or [[]]
    chunks = []
    for index, piece in enumerate(pieces):
        chunk: dict[str, Any] = {
            "guild_id": str(request.guild_id),
            "members": piece,
            "chunk_index": index,
            "chunk_count": len(pieces),
        }
        if request.user_ids is not None:
            chunk["not_found"] = not_found
        if request.presences:
            chunk["presences"] = []
        chunks.append(chunk | _nonce(request.nonce))
    return chunks


def _nonce(nonce: str | None) -> dict[str, str]:
    return {"nonce": nonce} if nonce is not None else {}
