"""The voice client musicbox connects with: discord.py's own, with two recoveries made to follow Discord.

Checked against discord.py 2.7.1. Both overrides lean on private parts of `discord.voice_state`;
`tests/playback/test_voice_recovery.py` fingerprints every one of them and fails when an upgrade
changes any, so the override is re-read against the new code instead of silently doing the wrong thing.

1. **Voice server crashed (close 4015).** Discord's docs (voice-connections, "Resuming Voice
   Connection"; the close code table says "Try resuming") ask for a new websocket to the same
   endpoint, a RESUME, and a RESUMED in answer: the SSRC, key and UDP socket stay as they are.
   discord.py 2.7.1's 4015 branch instead runs its whole connect flow with `resume=True`: it sends
   gateway op 4 again and waits for VOICE_STATE_UPDATE then VOICE_SERVER_UPDATE in a fixed order
   (`got_both_voice_updates`), which Discord does not promise; it sits out the connect timeout in
   silence and then leaves the channel. `_connect(resume=True)` is reached only from that branch, so
   overriding it there does what the docs say and leaves every other path to discord.py. A RESUME
   the server refuses (its close code says why) falls back to what discord.py does after a 1006:
   leave and connect afresh. The player goes on sending meanwhile, so the listener loses the one
   round trip of the RESUME, not the song.
2. **A connection dying soon after connecting (1006).** discord.py's `SocketReader` thread waits in
   `select([udp socket], 30 s)`. Its reconnect closes that socket and makes a new one, but on Linux
   closing a socket does not wake a `select()` on it in another thread, so IP discovery on the new
   socket waited out the rest of those 30 s (28.6 s of silence, measured). `shutdown()` before the
   close does wake it (the kernel tells every waiter the socket's state changed): the socket
   discord.py makes is one that does so, and the reader reads a socket only while a listener waits
   on it (`_ReaderView`), so a wake that comes late cannot take the next socket's IP discovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from typing import Any, cast

import aiohttp
import discord
from discord.gateway import DiscordVoiceWebSocket
from discord.voice_state import VoiceConnectionState

log = logging.getLogger(__name__)

# A live voice server answers RESUME in one round trip. One that has not answered by then is not
# coming back for this session; connecting afresh is the shorter silence.
RESUME_TIMEOUT_S = 3.0


class RecoveringVoiceClient(discord.VoiceClient):
    """`channel.connect(cls=RecoveringVoiceClient)`: discord.py's client with the recoveries above."""

    def create_connection_state(self) -> VoiceConnectionState:
        return _RecoveringConnectionState(self)


class _ReaderWakingSocket(socket.socket):
    """A UDP socket whose close wakes a thread waiting in select() on it (recovery 2)."""

    __slots__ = ()

    def close(self) -> None:
        if self.fileno() != -1:
            # ENOTCONN on a socket never connected, yet the waiters are woken all the same.
            with contextlib.suppress(OSError):
                self.shutdown(socket.SHUT_RDWR)
        super().close()


def _closed_socket() -> socket.socket:
    closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    closed.close()
    return closed


class _ReaderView:
    """What discord.py's SocketReader thread reads (it reads nothing of its state but `.socket`).

    The reader is woken when a socket closes (recovery 2), but a woken thread may run late, after
    the reconnect made the next socket and sent its IP discovery: reading the connection's socket
    then, before discovery has registered its listener, it would take the answer and drop it. So
    the reader sees the connection's socket only while a listener waits for a datagram, else a
    closed placeholder, whose recv() and select() fail in ways discord.py's reader ignores."""

    def __init__(self) -> None:
        self.socket = _closed_socket()
        self.idle_socket = self.socket


Listener = Callable[[bytes], Any]


class _RecoveringConnectionState(VoiceConnectionState):
    def __init__(self, voice_client: discord.VoiceClient) -> None:
        super().__init__(voice_client, hook=self._watch_for_resumed)
        self._resumed = asyncio.Event()
        self._listeners: set[Listener] = set()
        self._reader_view = _ReaderView()
        self._socket_reader.state = cast(VoiceConnectionState, self._reader_view)

    async def _watch_for_resumed(self, ws: DiscordVoiceWebSocket, message: dict[str, Any]) -> None:
        if message.get("op") == DiscordVoiceWebSocket.RESUMED:
            self._resumed.set()

    def _create_socket(self) -> None:
        # discord.py 2.7.1's own three lines, with the socket that wakes the reader when closed.
        self.socket = _ReaderWakingSocket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setblocking(False)
        if self._listeners:
            self._reader_view.socket = self.socket
        self._socket_reader.resume()

    def add_socket_listener(self, callback: Listener) -> None:
        self._reader_view.socket = self.socket
        self._listeners.add(callback)
        super().add_socket_listener(callback)

    def remove_socket_listener(self, callback: Listener) -> None:
        super().remove_socket_listener(callback)
        self._listeners.discard(callback)
        if not self._listeners:
            self._reader_view.socket = self._reader_view.idle_socket

    # discord.py's own signature: its 4015 branch calls this with resume=True.
    async def _connect(
        self,
        reconnect: bool,
        timeout: float,  # noqa: ASYNC109
        self_deaf: bool,
        self_mute: bool,
        resume: bool,
    ) -> None:
        if not resume:
            await super()._connect(reconnect, timeout, self_deaf, self_mute, resume)
            return
        try:
            async with asyncio.timeout(RESUME_TIMEOUT_S):
                await self._resume_session()
        except (discord.ConnectionClosed, TimeoutError, OSError, aiohttp.ClientError) as error:
            log.info("the voice server did not resume the session (%s); connecting afresh", error)
            # As discord.py does after a 1006. The state was `connected` until now, so the player is
            # not waiting for a connection that this leave would make it give up.
            await self.disconnect(cleanup=False)
            await super()._connect(reconnect, timeout, self_deaf, self_mute, resume=False)
            return
        log.info("voice session resumed after the voice server's close")

    async def _resume_session(self) -> None:
        """A new websocket to the same endpoint, RESUME, RESUMED; SSRC, key and UDP socket stay. The
        state stays `connected` meanwhile (discord.py's player would give up a song it had to wait
        for, should the resume be refused): what it sends in that one round trip is lost."""
        previous = self.ws
        await previous.close()  # already closed by the server; this stops its heartbeat thread
        self._resumed.clear()
        self.ws = await DiscordVoiceWebSocket.from_connection_state(
            self, resume=True, hook=self.hook, seq_ack=previous.seq_ack
        )
        while not self._resumed.is_set():
            await self.ws.poll_event()
