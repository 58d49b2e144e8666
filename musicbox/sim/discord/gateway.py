"""The gateway websocket: HELLO, IDENTIFY/RESUME, heartbeats, dispatches filtered by intents, and the
bot's voice state requests (op 4) handed to the simulator.

A session outlives its socket: events dispatched while the bot is away are buffered and replayed on
RESUME, as Discord does; a session whose heartbeats stop is closed with 4009 and forgotten."""

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
    seq: int = 0
    socket: GatewaySocket | None = None
    buffer: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=REPLAY_BUFFER)
    )
    ready: bool = False

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
        heartbeat_interval_s: float,
        allowed_privileged: int,
        on_identify: Callable[[GatewaySession], Awaitable[list[tuple[str, dict[str, Any]]]]],
        on_voice_state: Callable[[GatewaySession, dict[str, Any]], Awaitable[None]],
        on_violation: Callable[[str, str], None],
    ) -> None:
        self.bot_token = bot_token
        self.heartbeat_interval_s = heartbeat_interval_s
        self.allowed_privileged = allowed_privileged
        self.sessions: dict[str, GatewaySession] = {}
        self.identifies = 0
        self.resumes = 0
        self._on_identify = on_identify
        self._on_voice_state = on_voice_state
        self._on_violation = on_violation
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
            payload = session.frame(event, _visible(event, data, session.intents))
            await self._deliver(session, payload)

    async def _deliver(self, session: GatewaySession, payload: dict[str, Any]) -> None:
        socket = session.socket
        if socket is None:
            return  # buffered for RESUME
        try:
            await socket.send(payload)
        except (GatewayClosed, ConnectionError, RuntimeError):
            return
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
                session = await self._receive(socket, session, json.loads(message.data))
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
        if op == IDENTIFY:
            return await self._identify(socket, data or {})
        if op == RESUME:
            return await self._resume(socket, data or {})
        if session is None:
            await socket.close(4003, "Not authenticated.")
            return None
        if op == VOICE_STATE and self._drop_at_voice_request is not None:
            down_for_s, self._drop_at_voice_request = self._drop_at_voice_request, None
            await self.drop(down_for_s=down_for_s)
        elif op == VOICE_STATE:
            await self._on_voice_state(session, data or {})
        elif op not in (PRESENCE, REQUEST_MEMBERS):
            await socket.close(4001, "Unknown opcode.")
        return session

    async def _identify(self, socket: GatewaySocket, data: dict[str, Any]) -> GatewaySession | None:
        if data.get("token") != self.bot_token:
            await socket.close(4004, "Authentication failed.")
            return None
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED & ~self.allowed_privileged:
            await socket.close(4014, "Disallowed intent(s).")
            return None
        self.identifies += 1
        session = GatewaySession(id=secrets.token_hex(16), intents=intents, socket=socket)
        self.sessions[session.id] = session
        socket.last_heartbeat = time.monotonic()
        for event, payload in await self._on_identify(session):
            await self._deliver(session, session.frame(event, _visible(event, payload, intents)))
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


def _visible(event: str, data: dict[str, Any], intents: int) -> dict[str, Any]:
    # Without MESSAGE_CONTENT a bot reads no message text it is not mentioned in.
    if event == "MESSAGE_CREATE" and not intents & MESSAGE_CONTENT:
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}
    return data
