"""VoiceServer: the voice websocket (TLS) and UDP endpoint on 127.0.0.1, plus what listeners heard."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import sys
import time
from collections.abc import AsyncIterator, Awaitable

from aiohttp import web

from musicbox.sim.voice import rtp
from musicbox.sim.voice.listener import ListenerApart, start_listener
from musicbox.sim.voice.recording import Recording
from musicbox.sim.voice.session import Expected, VoiceSession
from musicbox.sim.voice.signalling import (
    DISCONNECTED,
    DISCORD_HEARTBEAT_MS,
    Closure,
    SessionBook,
    VoiceSignalling,
)
from musicbox.sim.voice.transport import UdpEndpoint, hear


class VoiceServer:
    """Started and stopped by DiscordSim; the gateway calls `expect_session` when the bot joins."""

    def __init__(
        self, ssl_context: ssl.SSLContext, *, heartbeat_interval_ms: int = DISCORD_HEARTBEAT_MS
    ) -> None:
        self._ssl = ssl_context
        self._book = SessionBook()
        self._signalling = VoiceSignalling(
            self._book,
            udp_port=lambda: self.udp_port,
            heartbeat_interval_ms=heartbeat_interval_ms,
            on_keyed=self._keyed,
        )
        self._apart: ListenerApart | None = None
        self._recordings: dict[tuple[int, int], Recording] = {}
        self._blackholes: dict[int, float] = {}
        self._udp = UdpEndpoint(self._book.by_ssrc.get, self._on_packet)
        self._runner: web.AppRunner | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self.endpoint = ""
        self.udp_port = 0
        # Decoding every packet is a listener's whole job here, and in Python it costs about as much
        # as the bot's sending; a benchmark of a hundred streams turns it off so the listener keeps
        # up, and judges packets by their arrival and RTP timestamps alone.
        self.decode_audio = True

    @property
    def closures(self) -> list[Closure]:
        """Every close the server sent (code, reason, guild): what the client was told."""
        return list(self._signalling.closures)

    @property
    def unknown_packets(self) -> int:
        """Datagrams from SSRCs the server never issued (or from a session that has ended)."""
        return self._udp.unknown_packets

    def session(self, guild_id: int) -> VoiceSession | None:
        """The live voice session of a guild (mode, ssrc, speaking, resumes), for assertions."""
        return self._book.sessions.get(guild_id)

    async def start(self) -> None:
        udp = _listening_udp_socket()
        self._udp.open(udp)
        self.udp_port = int(udp.getsockname()[1])
        app = web.Application()
        app.router.add_get("/", self._signalling.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        port = self._runner.addresses[0][1]
        self.endpoint = f"127.0.0.1:{port}"

    async def add_endpoint(self) -> str:
        """Another voice server ("host:port") for a guild moved off this one: a second websocket
        listener, same UDP and recordings, so what a listener hears goes on across the move."""
        if self._runner is None:
            raise RuntimeError("the voice server is not running")
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self._ssl)
        await site.start()
        return f"127.0.0.1:{self._runner.addresses[-1][1]}"

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        await self._signalling.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._udp.close()

    # --- the gateway's side ------------------------------------------------------------------------

    def expect_session(
        self, *, guild_id: int, channel_id: int, user_id: int, session_id: str, token: str, endpoint: str = ""
    ) -> None:
        """The bot was told (VOICE_SERVER_UPDATE) it may connect with this token to `endpoint` ("":
        any of this server's); a live session on that same server stays resumable with the new token,
        one on another server does not (the bot must IDENTIFY on the new one)."""
        expected = Expected(guild_id, channel_id, user_id, session_id, token, endpoint)
        self._book.expected[guild_id] = expected
        session = self._book.sessions.get(guild_id)
        if (
            session is not None
            and session.expected.channel_id == channel_id
            and session.expected.endpoint == endpoint
        ):
            session.expected = expected

    def end_session(self, guild_id: int) -> None:
        """The bot left voice: its token stops working and a socket still open is told so (4014)."""
        self._book.expected.pop(guild_id, None)
        session = self._book.close(guild_id)
        if session is not None:
            self._spawn(self._signalling.drop(session, DISCONNECTED))

    def recording(self, guild_id: int, channel_id: int) -> Recording:
        key = (guild_id, channel_id)
        if key not in self._recordings:
            self._recordings[key] = Recording(guild_id, channel_id)
        return self._recordings[key]

    @contextlib.asynccontextmanager
    async def listener_apart(self) -> AsyncIterator[ListenerApart]:
        """Packets are read, decrypted and timed by a listener in a process of its own while this
        lasts (listener.py): for load benchmarks, where doing it here would make the simulator's lag
        look like the bot's. Meanwhile recordings get nothing and faults on packets do not apply;
        IP discovery is still answered here."""
        udp = self._udp.hand_over()
        try:
            async with start_listener(udp, self._udp.answer_discovery) as listener:
                self._apart = listener
                for session in self._book.sessions.values():
                    self._keyed(session)
                try:
                    yield listener
                finally:
                    self._apart = None
        finally:
            self._udp.take_back()

    def _keyed(self, session: VoiceSession) -> None:
        if self._apart is not None and session.mode is not None and session.secret_key is not None:
            self._apart.tell(
                {"session": [session.ssrc, session.guild_id, session.mode, session.secret_key.hex()]}
            )

    # --- faults ---------------------------------------------------------------------------------

    def drop_voice(
        self, guild_id: int, *, code: int | None = None, resumable: bool = True
    ) -> Awaitable[None]:
        """Cut the guild's voice websocket. By default the connection just dies (no close frame, the
        client sees 1006), which discord.py 2.7 answers with a fresh IDENTIFY; `code` sends a close
        frame instead: 4015 (voice server crashed: the client should RESUME, and the media it sends
        until then is lost), 4014 (disconnected). `resumable=False`: the server lost the session
        too, so a RESUME is refused (4006) and the client has to connect afresh."""
        session = self._book.sessions.get(guild_id)
        if session is None:
            raise ValueError(f"guild {guild_id} has no voice connection to drop; join voice first")
        if not resumable:
            self._book.close(guild_id)
        return self._signalling.drop(session, code)

    def blackhole_udp(self, guild_id: int, seconds: float) -> None:
        """Drop every voice packet from this guild for `seconds` (a network outage, not a close)."""
        self._blackholes[guild_id] = time.monotonic() + seconds

    # --- packets --------------------------------------------------------------------------------

    def _on_packet(self, session: VoiceSession, packet: rtp.RtpPacket, arrival: float) -> None:
        recording = self.recording(session.guild_id, session.expected.channel_id)
        if session.crashed or arrival < self._blackholes.get(session.guild_id, 0.0):
            recording.note_blackholed()
            return
        hear(session, recording, packet, arrival, decode=self.decode_audio)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


# The simulator shares its process, and so the GIL, with the bot under test: while yt-dlp threads
# hold it, the loop drains this socket late. A real listener is not starved by the bot's CPU, so
# the kernel buffer is made deep enough (seconds of many streams) that a stall delays packets
# rather than dropping them. SO_RCVBUF is capped at net.core.rmem_max (208 KiB on a stock Debian);
# SO_RCVBUFFORCE passes it when running as root. Python's socket module does not name that option,
# hence its Linux number.
UDP_RECEIVE_BUFFER = 16 * 2**20
_SO_RCVBUFFORCE = 33


def _listening_udp_socket() -> socket.socket:
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    force = _SO_RCVBUFFORCE if sys.platform == "linux" else None
    try:
        udp.setsockopt(
            socket.SOL_SOCKET, force if force is not None else socket.SO_RCVBUF, UDP_RECEIVE_BUFFER
        )
    except OSError:
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
    udp.bind(("127.0.0.1", 0))
    udp.setblocking(False)
    return udp
