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
   leave and connect afresh.
2. **A connection dying soon after connecting (1006).** discord.py's `SocketReader` thread waits in
   `select([udp socket], 30 s)`. Its reconnect closes that socket and makes a new one, but on Linux
   closing a socket does not wake a `select()` on it in another thread, so IP discovery on the new
   socket waited out the rest of those 30 s (28.6 s of silence, measured). `shutdown()` before the
   close does wake it (the kernel tells every waiter the socket's state changed): the socket
   discord.py makes is one that does so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from typing import Any

import aiohttp
import discord
from discord.gateway import DiscordVoiceWebSocket
from discord.voice_state import ConnectionFlowState, VoiceConnectionState

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


class _RecoveringConnectionState(VoiceConnectionState):
    def __init__(self, voice_client: discord.VoiceClient) -> None:
        super().__init__(voice_client, hook=self._watch_for_resumed)
        self._resumed = asyncio.Event()

    async def _watch_for_resumed(self, ws: DiscordVoiceWebSocket, message: dict[str, Any]) -> None:
        if message.get("op") == DiscordVoiceWebSocket.RESUMED:
            self._resumed.set()

    def _create_socket(self) -> None:
        # discord.py 2.7.1's own three lines, with the socket that wakes the reader when closed.
        self.socket = _ReaderWakingSocket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setblocking(False)
        self._socket_reader.resume()

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
            await self.disconnect(cleanup=False)
            await super()._connect(reconnect, timeout, self_deaf, self_mute, resume=False)
            return
        log.info("voice session resumed after the voice server's close")

    async def _resume_session(self) -> None:
        """A new websocket to the same endpoint, RESUME, RESUMED. Until then the state is not
        `connected`, so discord.py's player holds the packet it read and sends nothing the crashed
        server would drop: the song goes on from the frame the listeners heard last."""
        await self.ws.close()  # already closed by the server; this stops its heartbeat thread
        self._resumed.clear()
        self.ws = await self._connect_websocket(resume=True)
        while not self._resumed.is_set():
            await self.ws.poll_event()
        self.state = ConnectionFlowState.connected
