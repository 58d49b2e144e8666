"""The voice client musicbox connects with: discord.py's own, with the recoveries that let it follow Discord.

Checked against discord.py 2.7.1. The overrides lean on private parts of `discord.voice_state`;
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
   leave and connect afresh. Until RESUMED the player waits with the frame it read, so the song
   goes on from where the listeners stopped hearing it.
2. **A connection dying soon after connecting (1006).** discord.py's one `SocketReader` thread per
   connection reads whichever UDP socket the connection holds, waiting in `select([socket], 30 s)`.
   After IP discovery it often goes back into that select before its listener is removed. A
   reconnect closes that socket and makes a new one, but a select on a socket closed by another
   thread is not woken (Linux), so IP discovery on the new socket waited out the rest of the 30 s
   (28.6 s of silence, measured). Each new socket now gets a reader of its own, started with the
   discovery listener already registered; the old one ends when its select returns, and since it
   reads only its own socket it cannot take the new socket's discovery answer meanwhile.
3. **The player through a reconnect.** discord.py's `disconnect()` sets and clears `_connected` to
   release whoever waits for the connection, also when it is the leave half of a reconnect; its
   player, waiting there for the connection to come back, then gives its song up mid-way and is left
   "playing" nothing. `wait()` lets only a final leave release it.
4. **Readers that outlive their connection.** The same 30 s select keeps every connection's reader
   thread alive for up to 30 s after IP discovery, whatever happens to the connection: a bot whose
   guilds join and leave voice at a connection a second holds about 27 of these threads at once,
   more than glibc's malloc has arenas (8 per core), so they share the main one with the event
   loop's thread. While they lived, the main heap grew with every connection and kept what was
   freed (docs/benchmarks.md, "Memory": most of the RSS voice churn used to add). The readers here also
   select on a wake-up socket: going idle (the discovery listener removed), being paused or stopped
   ends the select at once. docs/upstream/discord-py-socket-reader-wake.md is the same change for
   discord.py itself.
5. **Cached songs on one clock.** `play()` hands a source whose next packet is always already in
   a file (a cached song) to the packet clock (clock.py), one thread sending every guild's packets,
   instead of one discord.py player thread per guild; anything else plays as discord.py plays it.
6. **Sealing a packet without building a cipher for it.** discord.py 2.7.1 seals every packet
   (`_encrypt_aead_xchacha20_poly1305_rtpsize`) by converting the session key from its list of ints
   to bytes, building a PyNaCl `Aead` around it, and wrapping the result in an `EncryptedMessage`
   (the nonce and ciphertext encoded and joined again), 50 times a second per guild. The override
   keeps the key's bytes for as long as the connection holds the same key (a new session
   description brings a new list) and calls the same libsodium function PyNaCl's `Aead.encrypt`
   calls: the same bytes on the wire (tested against discord.py's own); sending a packet costs
   about a fifth less CPU (8.5 -> 6.6 us sealed and framed; docs/benchmarks.md).
7. **Hundreds of connections in one process.** discord.py's reader waits with `select()`, which
   refuses a descriptor numbered 1024 or more (each connection holds a few: its UDP socket, its
   websocket, here its wake-up pair), and its loop answers the refusal by trying again at once. From
   about the 200th voice connection on, each new reader spun through IP discovery holding the GIL,
   the event loop starved, voice heartbeats went out late and Discord closed the sessions, whose
   reconnects spun too: in `bench streams` 49 of 250 guilds never heard their song. The readers
   here wait with `poll()`, which has no such bound, and a reader whose socket is closed waits for
   its wake-up alone instead of spinning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import aiohttp
import discord
import nacl.bindings
from discord.gateway import DiscordVoiceWebSocket
from discord.voice_state import ConnectionFlowState, SocketReader, VoiceConnectionState

from musicbox.playback.clock import PacketClock, play_on_clock

log = logging.getLogger(__name__)

# A live voice server answers RESUME in one round trip. One that has not answered by then is not
# coming back for this session; connecting afresh is the shorter silence.
RESUME_TIMEOUT_S = 3.0
READER_WAIT_MS = 30_000  # discord.py's reader wakes every 30 s whatever happens


class RecoveringVoiceClient(discord.VoiceClient):
    """`channel.connect(cls=RecoveringVoiceClient)`: discord.py's client with the recoveries above."""

    # One for the process: its thread runs only while some guild plays a cached song.
    packet_clock = PacketClock()

    def create_connection_state(self) -> VoiceConnectionState:
        return _RecoveringConnectionState(self)

    def play(
        self,
        source: discord.AudioSource,
        *,
        after: Callable[[Exception | None], Any] | None = None,
        **encoder: Any,
    ) -> None:
        if not play_on_clock(self, source, self.packet_clock, after):
            super().play(source, after=after, **encoder)

    _sealing_key_of: list[int] | None = None  # the connection's key list the bytes below were made from
    _sealing_key = b""

    def _encrypt_aead_xchacha20_poly1305_rtpsize(self, header: bytes, data: Any) -> bytes:
        """Recovery 6: discord.py's sealing (its nonce counter, layout and result), with the key's
        bytes kept and no PyNaCl objects per packet."""
        key = self.secret_key
        if key is not self._sealing_key_of:
            self._sealing_key, self._sealing_key_of = bytes(key), key
        counter = struct.pack(">I", self._incr_nonce)
        self.checked_add("_incr_nonce", 1, 4294967295)
        sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            bytes(data), bytes(header), counter + _NONCE_PADDING, self._sealing_key
        )
        return header + sealed + counter


# XChaCha20's 24-byte nonce: Discord's 32-bit counter, then zeros (as discord.py builds it).
_NONCE_PADDING = bytes(20)


@dataclass(frozen=True, slots=True)
class _OneSocket:
    """What a SocketReader reads (it reads nothing of its state but `.socket`): one socket for the
    reader's whole life, not whichever socket the connection holds when the thread wakes."""

    socket: socket.socket


Listener = Callable[[bytes], Any]


class WakingSocketReader(SocketReader):
    """discord.py's SocketReader, but one whose select() a pause, a stop or its last listener going
    away ends at once (recovery 4), through a socket pair it selects on beside the voice socket."""

    def __init__(self, state: VoiceConnectionState, *, start_paused: bool = True) -> None:
        super().__init__(state, start_paused=start_paused)
        self._wake_up, self._wake_up_sender = socket.socketpair()
        self._wake_up.setblocking(False)
        self._wake_up_sender.setblocking(False)

    def unregister(self, callback: Listener) -> None:
        super().unregister(callback)
        if not self._running.is_set():
            self._wake()

    def pause(self) -> None:
        super().pause()
        self._wake()

    def stop(self) -> None:
        super().stop()
        self._wake()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._wake_up.close()
            self._wake_up_sender.close()

    def _wake(self) -> None:
        # OSError: closed (the thread ended), or its buffer full of wake-ups not yet read.
        with contextlib.suppress(OSError):
            self._wake_up_sender.send(b"\0")

    def _do_run(self) -> None:
        while not self._end.is_set():
            if not self._running.is_set():
                self._running.wait()
                continue
            ready = self._ready()
            if self._wake_up.fileno() in ready:
                self._drain_wake_ups()
                continue
            if not ready:
                continue
            try:
                data = self.state.socket.recv(2048)
            except OSError:
                continue
            for callback in self._callbacks:
                try:
                    callback(data)
                except Exception:
                    log.exception("error in a voice socket listener")

    def _ready(self) -> set[int]:
        """The descriptors with something to read, within discord.py's 30 s (recovery 7: poll, not
        select). A closed voice socket is left out: only a wake-up ends the wait."""
        waiting = select.poll()
        waiting.register(self._wake_up, select.POLLIN)
        voice = self.state.socket.fileno()
        if voice >= 0:
            waiting.register(voice, select.POLLIN)
        return {fd for fd, _ in waiting.poll(READER_WAIT_MS)}

    def _drain_wake_ups(self) -> None:
        with contextlib.suppress(OSError):  # nothing more to read
            while self._wake_up.recv(64):
                pass


class _RecoveringConnectionState(VoiceConnectionState):
    def __init__(self, voice_client: discord.VoiceClient) -> None:
        super().__init__(voice_client, hook=self._watch_for_resumed)
        self._resumed = asyncio.Event()
        self._reader_socket: socket.socket | None = None
        self._leaving = False

    async def _watch_for_resumed(self, ws: DiscordVoiceWebSocket, message: dict[str, Any]) -> None:
        if message.get("op") == DiscordVoiceWebSocket.RESUMED:
            self._resumed.set()

    async def disconnect(self, *, force: bool = True, cleanup: bool = True, wait: bool = False) -> None:
        self._leaving = self._leaving or cleanup
        await super().disconnect(force=force, cleanup=cleanup, wait=wait)

    def wait(self, timeout: float | None = None) -> bool:
        """discord.py's player waits here for a lost connection to come back. disconnect() sets and
        clears `_connected` to release such waiters, also when it is only the leave half of a
        reconnect (after a 1006); a player released then gives its song up mid-way and is left
        "playing" nothing. So only a final leave releases the player early; a reconnect's does not."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._connected.wait(remaining):
                return False
            if self.is_connected() or self._leaving:
                return True

    def add_socket_listener(self, callback: Listener) -> None:
        if self._reader_socket is self.socket:
            super().add_socket_listener(callback)
            return
        # The first listener of a new socket (its IP discovery): the socket gets a reader of its own
        # that ends promptly (recovery 4). discord.py's first reader has never read and ends at once
        # when stopped; a previous reader of ours leaves its select() on the old socket at once too.
        self._socket_reader.stop()
        self._socket_reader = WakingSocketReader(
            cast(VoiceConnectionState, _OneSocket(self.socket)), start_paused=False
        )
        self._reader_socket = self.socket
        super().add_socket_listener(callback)  # before the thread runs: nothing it reads is dropped
        self._socket_reader.start()

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
            await self.disconnect(cleanup=False)  # then join again, as discord.py does after a 1006
            await super()._connect(reconnect, timeout, self_deaf, self_mute, resume=False)
            return
        log.info("voice session resumed after the voice server's close")

    async def _resume_session(self) -> None:
        """A new websocket to the same endpoint, RESUME, RESUMED; SSRC, key and UDP socket stay.
        Until RESUMED the state is not `connected`, so discord.py's player holds the frame it read
        and sends nothing the crashed server would lose: the song goes on from the frame the
        listeners heard last."""
        await self.ws.close()  # already closed by the server; this stops its heartbeat thread
        self._resumed.clear()
        self.ws = await self._connect_websocket(resume=True)
        while not self._resumed.is_set():
            await self.ws.poll_event()
        self.state = ConnectionFlowState.connected
