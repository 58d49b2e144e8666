"""musicbox's voice recovery overrides private parts of discord.py: an upgrade that changes any of them
fails here, loudly, so the override is re-read against the new code (see voice_recovery.py)."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import discord
from discord import gateway, player, voice_client, voice_state

from musicbox.playback import voice_recovery

# What voice_recovery.py relies on, fingerprinted in discord.py 2.7.1: the methods it overrides, the
# ones that call them (the 4015 branch, the socket closes) and the ones whose behaviour it assumes.
RELIED_ON: dict[Callable[..., Any], str] = {
    voice_client.VoiceClient.create_connection_state: "8ca2096ce7ec8823",
    voice_state.VoiceConnectionState.__init__: "eaf651b7c215d114",  # hook=, _socket_reader
    voice_state.VoiceConnectionState._create_socket: "bcec8a1862dcb710",  # copied, with our socket
    voice_state.VoiceConnectionState._connect: "fe4abbbdb02adc53",  # overridden for resume=True
    voice_state.VoiceConnectionState._poll_voice_ws: "cb47293e408fb053",  # 4015 -> _connect(resume=True)
    voice_state.VoiceConnectionState.disconnect: "5cb8a51b51c4f8b9",  # closes the UDP socket
    voice_state.VoiceConnectionState.soft_disconnect: "e73245f3728df64c",  # closes it too
    voice_state.VoiceConnectionState.add_socket_listener: "8025c0920c00435d",  # overridden
    voice_state.VoiceConnectionState.remove_socket_listener: "b6d947a722ae9f67",  # overridden
    # Reads only state.socket, selects for 30 s, runs only while a listener is registered.
    voice_state.SocketReader: "d0d802ba8dcfb7a8",
    gateway.DiscordVoiceWebSocket.discover_ip: "15e552d6ea25de0a",  # sends, then listens
    gateway.DiscordVoiceWebSocket.received_message: "b780f45eb5f739e9",  # RESUMED, then the hook
    gateway.DiscordVoiceWebSocket.from_connection_state: "cf80d0595f253482",  # RESUME, seq_ack
    player.AudioPlayer._do_run: "b1bf9536f93365d9",  # sends while the state is `connected`
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


def test_the_socket_discord_py_gets_wakes_a_reader_waiting_on_it_when_closed() -> None:
    """Recovery 2 in a nutshell: a thread in select() on the socket returns when it is closed, where
    a plain socket keeps it waiting out the timeout (discord.py's reader: 30 s)."""
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    waited: dict[str, float] = {}

    def wait_on(name: str, udp: socket.socket) -> threading.Thread:
        def run() -> None:
            started = time.monotonic()
            with contextlib.suppress(OSError, ValueError):
                select.select([udp], [], [], 1.5)
            waited[name] = time.monotonic() - started

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    waking = voice_recovery._ReaderWakingSocket(socket.AF_INET, socket.SOCK_DGRAM)
    for udp in (plain, waking):
        udp.setblocking(False)
        udp.connect(peer.getsockname())
    threads = [wait_on("plain", plain), wait_on("waking", waking)]
    time.sleep(0.2)
    plain.close()
    waking.close()
    for thread in threads:
        thread.join()
    peer.close()
    assert waited["waking"] < 1.0 <= waited["plain"], waited
