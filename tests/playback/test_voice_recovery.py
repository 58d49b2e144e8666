"""musicbox's voice recovery overrides private parts of discord.py: an upgrade that changes any of them
fails here, loudly, so the override is re-read against the new code (see voice_recovery.py)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import os
import queue
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import discord
import psutil
import pytest
from discord import gateway, player, voice_client, voice_state
from discord.voice_state import ConnectionFlowState, VoiceConnectionState

from musicbox.playback import voice_recovery
from musicbox.sim.voice import rtp

# What voice_recovery.py and clock.py rely on, fingerprinted in discord.py 2.7.1: the methods they
# override, the ones that call them (the 4015 branch, the socket closes) and the ones whose behaviour
# they assume.
RELIED_ON: dict[Callable[..., Any], str] = {
    voice_client.VoiceClient.create_connection_state: "8ca2096ce7ec8823",
    voice_state.VoiceConnectionState.__init__: "eaf651b7c215d114",  # hook=, _socket_reader
    voice_state.VoiceConnectionState._create_socket: "bcec8a1862dcb710",  # a new socket per connection
    voice_state.VoiceConnectionState._connect: "fe4abbbdb02adc53",  # overridden for resume=True
    voice_state.VoiceConnectionState._poll_voice_ws: "cb47293e408fb053",  # 4015 -> _connect(resume=True)
    voice_state.VoiceConnectionState._connect_websocket: "04641fd6df28e1c5",  # RESUME, seq_ack, state
    # Closes the UDP socket; releases waiters by setting and clearing _connected; overridden.
    voice_state.VoiceConnectionState.disconnect: "5cb8a51b51c4f8b9",
    voice_state.VoiceConnectionState.wait: "d522d1b94e1e1778",  # overridden
    voice_client.VoiceClient.wait_until_connected: "2c2c9ab0a0c65a8d",  # the player's wait
    voice_state.VoiceConnectionState.soft_disconnect: "e73245f3728df64c",  # closes it too
    voice_state.VoiceConnectionState.add_socket_listener: "8025c0920c00435d",  # overridden: its own reader
    voice_state.VoiceConnectionState.remove_socket_listener: "b6d947a722ae9f67",  # unregisters on the reader
    # Reads only state.socket, selects for 30 s, runs only while a listener is registered.
    voice_state.SocketReader: "d0d802ba8dcfb7a8",
    gateway.DiscordVoiceWebSocket.discover_ip: "15e552d6ea25de0a",  # sends, then listens
    gateway.DiscordVoiceWebSocket.received_message: "b780f45eb5f739e9",  # RESUMED, then the hook
    gateway.DiscordVoiceWebSocket.from_connection_state: "cf80d0595f253482",  # RESUME, seq_ack
    player.AudioPlayer._do_run: "b1bf9536f93365d9",  # sends while the state is `connected`
    # The packet clock (clock.py) drives discord.py's player from outside its thread: the events,
    # speaking calls and silence it reuses, the player thread it hands the rest of a song to, and the
    # checks of VoiceClient.play it repeats.
    player.AudioPlayer.__init__: "a89d6a6153c55216",  # _end, _resumed, _current_error; a Thread
    player.AudioPlayer.run: "058d53409c0baec6",  # _do_run, then after() and cleanup()
    player.AudioPlayer.stop: "6ba394cb5aff3188",
    player.AudioPlayer.pause: "977d996ca2d44dd1",
    player.AudioPlayer.resume: "a3bcc753490c2bf4",
    player.AudioPlayer._speak: "48365c8cdc20722c",  # overridden: the thread taking over speaks already
    player.AudioPlayer.send_silence: "8274c103f1d476cf",
    voice_client.VoiceClient.play: "76dd227ecfc98ab4",  # overridden: checks repeated, _player set
    voice_client.VoiceClient.send_audio_packet: "6bdfa9ac74be6d21",  # what the clock sends with
    # Recovery 6 seals packets as this does (overridden), called by name from the one below.
    voice_client.VoiceClient._encrypt_aead_xchacha20_poly1305_rtpsize: "92397ec610272a30",
    voice_client.VoiceClient._get_voice_packet: "ef355f5a0f121013",
}


def fingerprint(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def test_the_discord_py_internals_the_voice_recovery_relies_on_are_those_it_was_checked_against() -> None:
    changed = [f.__qualname__ for f, known in RELIED_ON.items() if fingerprint(f) != known]
    assert not changed, (
        f"discord.py {discord.__version__} changed {', '.join(changed)}, which "
        "musicbox/playback/voice_recovery.py relies on (checked against 2.7.1): re-read the override "
        "against the new code, then update the fingerprints here"
    )


def _sending_client(cls: type[discord.VoiceClient], key: list[int]) -> discord.VoiceClient:
    """A voice client as far as sealing a packet needs: a connection in the mode Discord offers."""
    client = object.__new__(cls)
    client._connection = cast(
        Any,
        SimpleNamespace(dave_session=None, ssrc=4321, mode="aead_xchacha20_poly1305_rtpsize", secret_key=key),
    )
    client.sequence, client.timestamp, client._incr_nonce = 7, 960, 0
    return client


def test_a_packet_is_sealed_as_discord_py_seals_it_and_under_each_new_key() -> None:
    first, second = [3 * i % 256 for i in range(32)], [5 * i % 256 for i in range(32)]
    ours = _sending_client(voice_recovery.RecoveringVoiceClient, first)
    theirs = _sending_client(discord.VoiceClient, first)
    for index in range(5):
        if index == 3:  # a new session description: a new key, as a new list
            ours._connection.secret_key = theirs._connection.secret_key = second
        opus = bytes([index]) * (100 + index)
        ours.sequence = theirs.sequence = index
        packet = ours._get_voice_packet(opus)
        assert packet == theirs._get_voice_packet(opus)
        sealed = rtp.parse(bytes(packet))
        assert sealed is not None
        key = bytes(second if index >= 3 else first)
        assert rtp.open_payload("aead_xchacha20_poly1305_rtpsize", key, sealed) == opus
    assert ours._incr_nonce == theirs._incr_nonce == 5


def new_socket(state: VoiceConnectionState, peer: socket.socket) -> None:
    """What discord.py does for each connection: a socket (VOICE_SERVER_UPDATE), connected to the
    voice server (READY)."""
    state._create_socket()
    state.socket.connect(peer.getsockname())


def test_after_a_reconnect_the_new_socket_is_read_though_the_old_reader_still_waits() -> None:
    """Recovery 2 as discord.py's reconnect goes: the reader sits in select() on the first socket
    when discord.py closes it and makes a second one, whose discovery answer comes back before the
    listener for it is registered. The answer must still reach that listener at once (discord.py
    alone leaves it unread until the old select times out, 30 s later)."""
    state = voice_recovery._RecoveringConnectionState(cast(discord.VoiceClient, object()))
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    first: queue.Queue[bytes] = queue.Queue()
    second: queue.Queue[bytes] = queue.Queue()
    try:
        new_socket(state, peer)
        state.add_socket_listener(first.put)
        peer.sendto(b"first answer", state.socket.getsockname())
        assert first.get(timeout=2) == b"first answer"
        time.sleep(0.1)  # the reader is back in select() on the first socket, waiting for more
        state.socket.close()
        state.remove_socket_listener(first.put)
        new_socket(state, peer)
        peer.sendto(b"second answer", state.socket.getsockname())
        state.add_socket_listener(second.put)
        assert second.get(timeout=2) == b"second answer"
    finally:
        state._socket_reader.stop()
        state.socket.close()
        peer.close()


def test_a_connection_s_reader_thread_ends_as_soon_as_the_connection_is_left() -> None:
    """Recovery 4: after IP discovery the reader goes back into its 30 s select(); a leave must end
    that thread at once, not 30 s later (dozens of such threads at once, each with its own malloc
    arena, were most of the RSS that voice churn added)."""
    state = voice_recovery._RecoveringConnectionState(cast(discord.VoiceClient, LoneVoiceClient()))
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    answers: queue.Queue[bytes] = queue.Queue()
    try:
        new_socket(state, peer)
        state.add_socket_listener(answers.put)
        reader = state._socket_reader
        peer.sendto(b"discovery answer", state.socket.getsockname())
        assert answers.get(timeout=2) == b"discovery answer"
        time.sleep(0.1)  # back in select(), as discord.py's reader is after discovery
        state.remove_socket_listener(answers.put)
        reader.stop()  # what disconnect() does, before it closes the socket
        state.socket.close()
        reader.join(timeout=2)
        assert not reader.is_alive(), "the reader still waits in select() on a connection left"
    finally:
        state._socket_reader.stop()
        state.socket.close()
        peer.close()


def test_a_voice_socket_numbered_past_select_s_limit_is_read_and_a_closed_one_is_not_spun_on() -> None:
    """Recovery 7: a bot in a few hundred voice channels numbers its new sockets past 1023, where
    select() refuses them: discord.py's reader then retried at once, for ever, holding the GIL (and
    IP discovery's answer never came). The answer must arrive, and a reader whose socket is closed
    under it must wait, not spin."""
    state = voice_recovery._RecoveringConnectionState(cast(discord.VoiceClient, LoneVoiceClient()))
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    answers: queue.Queue[bytes] = queue.Queue()
    with descriptors_taken_up_to(1100):
        new_socket(state, peer)
    try:
        assert state.socket.fileno() > 1100
        state.add_socket_listener(answers.put)
        reader = state._socket_reader
        peer.sendto(b"discovery answer", state.socket.getsockname())
        assert answers.get(timeout=2) == b"discovery answer"
        state.socket.close()  # its listener still registered, as in a reconnect
        before = thread_cpu_s(reader)
        time.sleep(0.5)
        assert thread_cpu_s(reader) - before < 0.1, "the reader spins on its closed socket"
    finally:
        state._socket_reader.stop()
        state.socket.close()
        peer.close()


@contextlib.contextmanager
def descriptors_taken_up_to(highest: int) -> Iterator[None]:
    """Every descriptor up to `highest` open, so the next socket is numbered past it (the soft limit
    raised as far as needed, as `musicbox run` raises it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = highest + 64
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"this box lets a process hold only {hard} descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    taken: list[int] = []
    try:
        while not taken or taken[-1] < highest:
            taken.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for descriptor in taken:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def thread_cpu_s(thread: threading.Thread) -> float:
    (times,) = [t for t in psutil.Process().threads() if t.id == thread.native_id]
    return times.user_time + times.system_time


class LoneVoiceClient:
    """Enough of a VoiceClient for a connection state that never reaches a gateway: leaving without
    one fails inside disconnect()'s own try, as a leave during a gateway drop does."""

    def stop(self) -> None:
        pass

    def cleanup(self) -> None:
        pass


def waiting_player(state: VoiceConnectionState) -> tuple[threading.Thread, list[bool]]:
    """discord.py's player thread when the connection is lost: it waits for it to come back."""
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(state.wait(5)))
    thread.start()
    return thread, outcome


async def test_the_leave_half_of_a_reconnect_does_not_make_the_player_give_up_its_song() -> None:
    state = voice_recovery._RecoveringConnectionState(cast(discord.VoiceClient, LoneVoiceClient()))
    state.state = ConnectionFlowState.disconnected  # a 1006: discord.py leaves, then joins again
    player, outcome = waiting_player(state)
    await asyncio.sleep(0.1)
    await state.disconnect(cleanup=False)
    await asyncio.sleep(0.3)
    assert player.is_alive(), "the player was released mid-reconnect: it would give its song up"
    state.state = ConnectionFlowState.connected
    await asyncio.to_thread(player.join, 2)
    assert outcome == [True]
    state._socket_reader.stop()


async def test_a_final_leave_still_releases_the_waiting_player() -> None:
    state = voice_recovery._RecoveringConnectionState(cast(discord.VoiceClient, LoneVoiceClient()))
    state.state = ConnectionFlowState.disconnected
    player, _ = waiting_player(state)
    await asyncio.sleep(0.1)
    await state.disconnect()
    await asyncio.to_thread(player.join, 1)
    assert not player.is_alive()
