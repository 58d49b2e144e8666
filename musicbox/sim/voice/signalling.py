"""The voice websocket (gateway v8) as Discord runs it, checked against what discord.py 2.7 sends.

Flow: HELLO on connect; IDENTIFY -> READY (ssrc, ip, port, modes); the client does IP discovery over
UDP, then SELECT_PROTOCOL -> SESSION_DESCRIPTION (mode, secret key, dave_protocol_version 0);
HEARTBEAT {t, seq_ack} -> HEARTBEAT_ACK {t}; after a drop, RESUME -> RESUMED. Server messages other
than HELLO and HEARTBEAT_ACK carry `seq`, which the client acknowledges in its heartbeats. Breaches
close the socket with Discord's voice close codes.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from aiohttp import web

from musicbox.sim.voice import rtp
from musicbox.sim.voice.session import Expected, VoiceSession, new_secret_key, new_ssrc

# Opcodes (client -> server unless noted).
IDENTIFY, SELECT_PROTOCOL, READY, HEARTBEAT, SESSION_DESCRIPTION, SPEAKING = 0, 1, 2, 3, 4, 5
HEARTBEAT_ACK, RESUME, HELLO, RESUMED, CLIENT_CONNECT = 6, 7, 8, 9, 12
DAVE_TRANSITION_READY, MLS_KEY_PACKAGE, MLS_COMMIT_WELCOME, MLS_INVALID_COMMIT_WELCOME = 23, 26, 28, 31
# DAVE messages a client may send; at protocol version 0 they have nothing to act on.
_DAVE_OPS: Final = frozenset(
    {DAVE_TRANSITION_READY, MLS_KEY_PACKAGE, MLS_COMMIT_WELCOME, MLS_INVALID_COMMIT_WELCOME}
)

# Close codes (Discord's voice table).
UNKNOWN_OPCODE, DECODE_ERROR, NOT_AUTHENTICATED, AUTHENTICATION_FAILED = 4001, 4002, 4003, 4004
ALREADY_AUTHENTICATED, SESSION_INVALID, SESSION_TIMEOUT, SERVER_NOT_FOUND = 4005, 4006, 4009, 4011
UNKNOWN_PROTOCOL, DISCONNECTED, SERVER_CRASHED, UNKNOWN_ENCRYPTION_MODE = 4012, 4014, 4015, 4016

DISCORD_HEARTBEAT_MS: Final = 13_750
GATEWAY_VERSION: Final = "8"


class _Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class SessionBook:
    """Who may connect, who is connected, and which SSRC belongs to whom."""

    expected: dict[int, Expected] = field(default_factory=dict)
    sessions: dict[int, VoiceSession] = field(default_factory=dict)
    by_ssrc: dict[int, VoiceSession] = field(default_factory=dict)

    def open(self, expected: Expected) -> VoiceSession:
        self.close(expected.guild_id)
        session = VoiceSession(expected, ssrc=new_ssrc(set(self.by_ssrc)))
        self.sessions[expected.guild_id] = session
        self.by_ssrc[session.ssrc] = session
        return session

    def close(self, guild_id: int) -> VoiceSession | None:
        session = self.sessions.pop(guild_id, None)
        if session is not None:
            self.by_ssrc.pop(session.ssrc, None)
        return session


@dataclass
class _Bound:
    """The session a socket identified (or resumed) into, once it has."""

    session: VoiceSession | None = None
    served_on: str = ""  # the endpoint ("host:port") this socket reached


@dataclass
class Closure:
    """A close the server sent, for tests and fault reports."""

    guild_id: int | None
    code: int
    reason: str
    at: float


class VoiceSignalling:
    def __init__(
        self,
        book: SessionBook,
        *,
        udp_port: Callable[[], int],
        heartbeat_interval_ms: int,
        on_keyed: Callable[[VoiceSession], None] = lambda _: None,
    ) -> None:
        self._book = book
        self._on_keyed = on_keyed  # told before the client learns the key: nothing it sends is missed
        self._udp_port = udp_port
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.closures: list[Closure] = []
        self._sockets: set[web.WebSocketResponse] = set()
        self._transports: dict[web.WebSocketResponse, asyncio.Transport] = {}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await websocket.prepare(request)
        self._sockets.add(websocket)
        if request.transport is not None:
            self._transports[websocket] = request.transport
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        bound = _Bound(served_on=f"127.0.0.1:{sockname[1]}" if sockname else "")
        try:
            if request.query.get("v") != GATEWAY_VERSION:
                raise _Closed(UNKNOWN_PROTOCOL, f"voice gateway version {request.query.get('v')!r}; use v=8")
            await websocket.send_json(
                {"op": HELLO, "d": {"v": 8, "heartbeat_interval": self.heartbeat_interval_ms}}
            )
            await self._serve(websocket, bound)
        except aiohttp.ClientConnectionResetError:
            pass  # the client went away while it was being answered (a bot stopping mid-heartbeat)
        except _Closed as closed:
            guild = bound.session.guild_id if bound.session else None
            self.closures.append(Closure(guild, closed.code, closed.reason, time.monotonic()))
            await websocket.close(code=closed.code, message=closed.reason.encode()[:120])
        finally:
            self._sockets.discard(websocket)
            self._transports.pop(websocket, None)
        return websocket

    async def close_all(self) -> None:
        for websocket in list(self._sockets):
            await websocket.close(code=aiohttp.WSCloseCode.GOING_AWAY)

    async def _serve(self, websocket: web.WebSocketResponse, bound: _Bound) -> None:
        # The client heartbeats every min(interval, 5 s); Discord gives up after missing about two.
        patience_s = min(self.heartbeat_interval_ms / 1000, 5.0) * 2 + 1
        last_heartbeat = time.monotonic()
        while True:
            remaining = last_heartbeat + patience_s - time.monotonic()
            try:
                message = await websocket.receive(timeout=max(remaining, 0.001))
            except TimeoutError as error:
                raise _Closed(SESSION_TIMEOUT, "no heartbeat in time") from error
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                return
            if message.type is aiohttp.WSMsgType.ERROR:
                return
            session = bound.session
            if message.type is aiohttp.WSMsgType.BINARY:
                self._binary(session, bytes(message.data))
                continue
            op, data = _decode(message.data)
            if op == HEARTBEAT:
                last_heartbeat = time.monotonic()
                await self._heartbeat(websocket, session, data)
            elif op == IDENTIFY:
                if session is not None:
                    raise _Closed(ALREADY_AUTHENTICATED, "IDENTIFY sent twice")
                bound.session = await self._identify(websocket, data, bound.served_on)
            elif op == RESUME:
                if session is not None:
                    raise _Closed(ALREADY_AUTHENTICATED, "RESUME on an identified socket")
                bound.session = await self._resume(websocket, data, bound.served_on)
            elif session is None:
                raise _Closed(NOT_AUTHENTICATED, f"op {op} before IDENTIFY")
            else:
                await self._identified_op(websocket, session, op, data)

    async def _identified_op(
        self, websocket: web.WebSocketResponse, session: VoiceSession, op: int, data: Any
    ) -> None:
        if op == SELECT_PROTOCOL:
            await self._select_protocol(websocket, session, data)
        elif op == SPEAKING:
            session.speaking = int(_field(data, "speaking"))
        elif op == CLIENT_CONNECT:
            pass  # a client announcing its own SSRC; nothing for a listener to do
        elif op in _DAVE_OPS:
            session.dave_messages.append(op)
        else:
            raise _Closed(UNKNOWN_OPCODE, f"unknown opcode {op}")

    def _binary(self, session: VoiceSession | None, data: bytes) -> None:
        # discord.py sends DAVE's MLS messages as binary frames: [opcode] + payload.
        if session is None:
            raise _Closed(NOT_AUTHENTICATED, "binary frame before IDENTIFY")
        if not data or data[0] not in _DAVE_OPS:
            raise _Closed(UNKNOWN_OPCODE, f"unknown binary opcode {data[:1].hex()}")
        session.dave_messages.append(data[0])

    async def _heartbeat(
        self, websocket: web.WebSocketResponse, session: VoiceSession | None, data: Any
    ) -> None:
        if isinstance(data, dict):
            nonce = data.get("t")
            if session is not None and isinstance(data.get("seq_ack"), int):
                session.seq_ack = data["seq_ack"]
            await websocket.send_json({"op": HEARTBEAT_ACK, "d": {"t": nonce}})
        else:
            await websocket.send_json({"op": HEARTBEAT_ACK, "d": data})

    async def _identify(self, websocket: web.WebSocketResponse, data: Any, served_on: str) -> VoiceSession:
        guild_id = _snowflake(data, "server_id")
        expected = self._book.expected.get(guild_id)
        if expected is None:
            raise _Closed(SERVER_NOT_FOUND, f"no voice server for guild {guild_id}")
        if expected.endpoint and expected.endpoint != served_on:
            raise _Closed(AUTHENTICATION_FAILED, f"this guild's voice server is now {expected.endpoint}")
        if _field(data, "token") != expected.token:
            raise _Closed(AUTHENTICATION_FAILED, "wrong voice token")
        if (
            _field(data, "session_id") != expected.session_id
            or _snowflake(data, "user_id") != expected.user_id
        ):
            raise _Closed(SESSION_INVALID, "session_id/user_id do not match the voice state")
        session = self._book.open(expected)
        session.websocket = websocket
        await self._send(
            websocket,
            session,
            READY,
            {
                "ssrc": session.ssrc,
                "ip": "127.0.0.1",
                "port": self._udp_port(),
                "modes": list(rtp.MODES),
                "heartbeat_interval": self.heartbeat_interval_ms,
                "experiments": [],
            },
        )
        return session

    async def _select_protocol(
        self, websocket: web.WebSocketResponse, session: VoiceSession, data: Any
    ) -> None:
        if _field(data, "protocol") != "udp":
            raise _Closed(UNKNOWN_PROTOCOL, f"protocol {data.get('protocol')!r}; only udp")
        mode = _field(_field(data, "data"), "mode")
        if mode not in rtp.MODES:
            raise _Closed(
                UNKNOWN_ENCRYPTION_MODE, f"encryption mode {mode!r}; use one of {', '.join(rtp.MODES)}"
            )
        session.mode = str(mode)
        session.secret_key = new_secret_key()
        session.decoders.clear()
        self._on_keyed(session)
        await self._send(
            websocket,
            session,
            SESSION_DESCRIPTION,
            {
                "audio_codec": "opus",
                "video_codec": "H264",
                "media_session_id": secrets.token_hex(16),
                "mode": session.mode,
                "secret_key": list(session.secret_key),
                "dave_protocol_version": 0,
            },
        )

    async def _resume(self, websocket: web.WebSocketResponse, data: Any, served_on: str) -> VoiceSession:
        guild_id = _snowflake(data, "server_id")
        session = self._book.sessions.get(guild_id)
        expected = self._book.expected.get(guild_id)
        if session is None or expected is None or session.mode is None:
            raise _Closed(SESSION_INVALID, f"no voice session to resume in guild {guild_id}")
        if session.expected.endpoint != expected.endpoint or (
            expected.endpoint and expected.endpoint != served_on
        ):
            raise _Closed(SESSION_INVALID, "the session lived on another voice server")
        if (
            _field(data, "token") != expected.token
            or _field(data, "session_id") != session.expected.session_id
        ):
            raise _Closed(SESSION_INVALID, "RESUME token/session_id do not match the session")
        previous = session.websocket
        session.websocket = websocket
        session.resumes += 1
        session.crashed = False
        if previous is not None and not previous.closed:
            await previous.close(code=SESSION_INVALID)
        await self._send(websocket, session, RESUMED, None)
        return session

    async def _send(
        self, websocket: web.WebSocketResponse, session: VoiceSession, op: int, data: Any
    ) -> None:
        await websocket.send_json({"op": op, "d": data, "seq": session.next_seq()})

    async def drop(self, session: VoiceSession, code: int | None) -> None:
        """Close the session's socket with `code`, or with None cut the connection without a close
        frame, as a network failure does (the client then sees 1006)."""
        websocket = session.websocket
        if websocket is None or websocket.closed:
            return
        self.closures.append(
            Closure(session.guild_id, code or 1006, "dropped by the simulator", time.monotonic())
        )
        session.crashed = code == SERVER_CRASHED
        transport = self._transports.get(websocket)
        if code is None and transport is not None:
            transport.abort()
            return
        await websocket.close(code=code or SERVER_CRASHED, message=b"voice server dropped the connection")


def _decode(text: str) -> tuple[int, Any]:
    try:
        message = json.loads(text)
        return int(message["op"]), message.get("d")
    except (ValueError, KeyError, TypeError) as error:
        raise _Closed(DECODE_ERROR, f"undecodable payload: {text[:80]!r}") from error


def _field(data: Any, name: str) -> Any:
    if not isinstance(data, dict) or name not in data:
        raise _Closed(DECODE_ERROR, f"payload lacks {name!r}")
    return data[name]


def _snowflake(data: Any, name: str) -> int:
    try:
        return int(_field(data, name))
    except (TypeError, ValueError) as error:
        raise _Closed(DECODE_ERROR, f"{name} is not a snowflake") from error
