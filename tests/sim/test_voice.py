"""The voice server, held to the wire format discord.py 2.7 speaks.

The client below is written from discord.py's own voice code (gateway.py DiscordVoiceWebSocket,
voice_client.py `_get_voice_packet`): the same payloads, the same IP discovery packet, the same RTP
header, the same AEAD sealing. It lets a test do what the real client never does on purpose (a wrong
key, a bad token, a stale resume)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import ssl
import struct
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import nacl.secret
import numpy as np
import pytest
import trustme
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from discord.opus import OPUS_SILENCE, Encoder

from musicbox.sim.signature import FRAME_SAMPLES, SAMPLE_RATE, tone_hz
from musicbox.sim.voice import VoiceServer

GUILD, CHANNEL, USER = 1001, 2002, 3003
XCHACHA, AES_GCM = "aead_xchacha20_poly1305_rtpsize", "aead_aes256_gcm_rtpsize"


@dataclass
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def tls() -> Tls:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Tls(server, client)


@pytest.fixture
async def voice(tls: Tls) -> AsyncIterator[VoiceServer]:
    server = VoiceServer(tls.server)
    await server.start()
    server.expect_session(guild_id=GUILD, channel_id=CHANNEL, user_id=USER, session_id="sess", token="tok")
    try:
        yield server
    finally:
        await server.aclose()


def tone_pcm(rung: int, frame: int) -> bytes:
    """20 ms of 16-bit stereo PCM of the rung's tone, continuous across frames."""
    t = (np.arange(FRAME_SAMPLES) + frame * FRAME_SAMPLES) / SAMPLE_RATE
    mono = (0.3 * 32767 * np.sin(2 * np.pi * tone_hz(rung) * t)).astype("<i2")
    return np.repeat(mono, 2).tobytes()


@dataclass
class HandClient:
    """One bot voice connection, spoken by hand."""

    tls: Tls
    endpoint: str
    http: aiohttp.ClientSession = field(default_factory=aiohttp.ClientSession)
    ws: aiohttp.ClientWebSocketResponse | None = None
    udp: socket.socket | None = None
    ssrc: int = 0
    mode: str = ""
    key: bytes = b""
    discovered: tuple[str, int] = ("", 0)
    seq_ack: int = -1
    sequence: int = 0
    timestamp: int = 0
    counter: int = 0
    encoder: Encoder = field(default_factory=Encoder)

    async def open(self) -> aiohttp.ClientWebSocketResponse:
        self.ws = await self.http.ws_connect(f"wss://{self.endpoint}/?v=8", ssl=self.tls.client, compress=15)
        return self.ws

    async def send(self, op: int, data: Any) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps({"op": op, "d": data}))

    async def receive(self, op: int, within_s: float = 5) -> dict[str, Any]:
        """The next message with opcode `op` (others are skipped, their seq acknowledged)."""
        assert self.ws is not None
        async with asyncio.timeout(within_s):
            while True:
                message = await self.ws.receive()
                assert message.type is aiohttp.WSMsgType.TEXT, f"socket closed: {message}"
                payload: dict[str, Any] = json.loads(message.data)
                self.seq_ack = payload.get("seq", self.seq_ack)
                if payload["op"] == op:
                    return payload

    async def closed_with(self, within_s: float = 5) -> int | None:
        assert self.ws is not None
        async with asyncio.timeout(within_s):
            while not self.ws.closed:
                await self.ws.receive()
        return self.ws.close_code

    async def identify(self, *, token: str = "tok", session_id: str = "sess") -> None:
        await self.open()
        await self.send(
            0,
            {
                "server_id": str(GUILD),
                "user_id": str(USER),
                "session_id": session_id,
                "token": token,
                "max_dave_protocol_version": 1,
            },
        )

    async def connect(self, mode: str = XCHACHA, *, token: str = "tok") -> None:
        """IDENTIFY, READY, IP discovery, SELECT_PROTOCOL, SESSION_DESCRIPTION, as discord.py does."""
        await self.identify(token=token)
        ready = (await self.receive(2))["d"]
        self.ssrc = ready["ssrc"]
        assert set(ready["modes"]) == {XCHACHA, AES_GCM}
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(self.udp, (ready["ip"], ready["port"]))
        request = bytearray(74)
        struct.pack_into(">HHI", request, 0, 1, 70, self.ssrc)
        await loop.sock_sendall(self.udp, request)
        async with asyncio.timeout(5):
            response = await loop.sock_recv(self.udp, 2048)
        assert response[1] == 0x02 and len(response) == 74
        ip = response[8 : response.index(0, 8)].decode("ascii")
        self.discovered = (ip, struct.unpack_from(">H", response, 72)[0])
        await self.send(
            1, {"protocol": "udp", "data": {"address": ip, "port": self.discovered[1], "mode": mode}}
        )
        description = (await self.receive(4))["d"]
        self.mode, self.key = description["mode"], bytes(description["secret_key"])
        assert description["dave_protocol_version"] == 0
        await self.send(5, {"speaking": 1, "delay": 0, "ssrc": self.ssrc})

    def packet(self, opus: bytes, key: bytes | None = None) -> bytes:
        header = bytearray(12)
        header[0], header[1] = 0x80, 0x78
        struct.pack_into(">HII", header, 2, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc)
        self.sequence += 1
        self.timestamp += FRAME_SAMPLES
        nonce = struct.pack(">I", self.counter)
        self.counter += 1
        secret = key or self.key
        if self.mode == XCHACHA:
            sealed = nacl.secret.Aead(secret).encrypt(opus, bytes(header), nonce + bytes(20)).ciphertext
        else:
            sealed = AESGCM(secret).encrypt(nonce + bytes(8), opus, bytes(header))
        return bytes(header) + sealed + nonce

    async def play(self, rung: int, seconds: float, *, paced: bool = False, key: bytes | None = None) -> None:
        assert self.udp is not None
        for frame in range(round(seconds * 1000 / 20)):
            self.udp.send(self.packet(self.encoder.encode(tone_pcm(rung, frame), FRAME_SAMPLES), key))
            if paced:
                await asyncio.sleep(0.02)
            elif frame % 10 == 9:
                await asyncio.sleep(0)  # let the server read: a UDP buffer is not infinite

    async def silence(self, frames: int = 5) -> None:
        """What discord.py sends when a source ends."""
        assert self.udp is not None
        for _ in range(frames):
            self.udp.send(self.packet(OPUS_SILENCE))
        await asyncio.sleep(0)

    def skip(self, packets: int) -> None:
        """Packets the sender counted but the network lost."""
        self.sequence += packets
        self.timestamp += packets * FRAME_SAMPLES

    async def aclose(self) -> None:
        if self.udp is not None:
            self.udp.close()
        await self.http.close()


@pytest.fixture
async def client(voice: VoiceServer, tls: Tls) -> AsyncIterator[HandClient]:
    hand = HandClient(tls, voice.endpoint)
    try:
        yield hand
    finally:
        await hand.aclose()


async def settle(voice: VoiceServer, packets: int) -> None:
    """Until the server has seen `packets` datagrams for the channel (bounded)."""
    recording = voice.recording(GUILD, CHANNEL)
    for _ in range(250):
        seen = recording.packets + recording.decryption_failures + recording.blackholed
        if seen >= packets:
            return
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("mode", [XCHACHA, AES_GCM])
async def test_a_listener_hears_the_tone_for_as_long_as_it_played(
    voice: VoiceServer, client: HandClient, mode: str
) -> None:
    await client.connect(mode)
    await client.play(rung=7, seconds=1.0)
    await client.silence()
    await settle(voice, 55)

    heard = voice.recording(GUILD, CHANNEL)
    assert heard.heard_rungs() == [7]
    assert 940 <= heard.heard_ms(7) <= 1060  # Opus look-ahead shifts a frame or so
    assert (heard.packets, heard.decryption_failures, heard.silence_frames) == (55, 0, 5)
    assert heard.decoded_ms() == 1100
    assert heard.first_audio_at is not None
    assert heard.sequence_gaps == [] and heard.timestamp_jumps == []
    session = voice.session(GUILD)
    assert session is not None and session.mode == mode and session.speaking == 1


async def test_ip_discovery_answers_with_the_address_the_packets_came_from(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    assert client.udp is not None
    assert client.discovered == client.udp.getsockname()


async def test_packets_sealed_with_another_key_are_counted_and_never_heard(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect(AES_GCM)
    await client.play(rung=3, seconds=0.4, key=secrets.token_bytes(32))
    await settle(voice, 20)

    heard = voice.recording(GUILD, CHANNEL)
    assert heard.decryption_failures == 20
    assert heard.packets == 0 and heard.frames == [] and heard.heard_rungs() == []


async def test_wait_for_rungs_names_what_was_heard_when_it_gives_up(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    await client.play(rung=2, seconds=0.4)
    with pytest.raises(TimeoutError, match=r"heard rungs \[2\].*not \[2, 9\]"):
        await voice.recording(GUILD, CHANNEL).wait_for_rungs([2, 9], timeout=0.5)


async def test_the_silence_between_two_tracks_is_measured_at_the_listener(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    await client.play(rung=2, seconds=0.4, paced=True)
    await client.silence()
    await asyncio.sleep(0.3)
    await client.play(rung=4, seconds=0.4, paced=True)
    heard = voice.recording(GUILD, CHANNEL)
    await heard.wait_for_rungs([2, 4], timeout=5)

    assert heard.heard_rungs() == [2, 4]
    # 5 silence frames sent at once + 300 ms of nothing: what a listener hears between the songs.
    assert 250 <= heard.max_silence_ms_between_tracks() <= 700
    assert max(heard.arrival_gaps_ms()) >= 250


@pytest.mark.parametrize(("token", "session_id", "code"), [("wrong", "sess", 4004), ("tok", "stale", 4006)])
async def test_a_bad_identify_is_refused_with_discords_close_code(
    voice: VoiceServer, client: HandClient, token: str, session_id: str, code: int
) -> None:
    await client.identify(token=token, session_id=session_id)
    assert await client.closed_with() == code


async def test_the_bot_may_not_connect_after_leaving(voice: VoiceServer, client: HandClient) -> None:
    voice.end_session(GUILD)
    await client.identify()
    assert await client.closed_with() == 4011


async def test_an_encryption_mode_discord_dropped_is_refused(voice: VoiceServer, client: HandClient) -> None:
    await client.identify()
    await client.receive(2)
    await client.send(
        1, {"protocol": "udp", "data": {"address": "127.0.0.1", "port": 1, "mode": "xsalsa20_poly1305"}}
    )
    assert await client.closed_with() == 4016
    assert [(c.guild_id, c.code) for c in voice.closures] == [(GUILD, 4016)]


async def test_speaking_before_identify_is_refused(voice: VoiceServer, client: HandClient) -> None:
    await client.open()
    await client.send(5, {"speaking": 1, "delay": 0, "ssrc": 1})
    assert await client.closed_with() == 4003


async def test_heartbeats_are_acknowledged_with_their_nonce_and_messages_are_sequenced(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.open()
    hello = await client.receive(8)
    assert hello["d"]["heartbeat_interval"] == 13_750 and "seq" not in hello
    await client.connect()
    assert client.seq_ack == 2  # READY = 1, SESSION_DESCRIPTION = 2

    await client.send(3, {"t": 1234, "seq_ack": client.seq_ack})
    ack = await client.receive(6)
    assert ack["d"] == {"t": 1234}
    session = voice.session(GUILD)
    assert session is not None and session.seq_ack == 2


async def test_a_socket_that_stops_heartbeating_is_closed(tls: Tls) -> None:
    server = VoiceServer(tls.server, heartbeat_interval_ms=100)
    await server.start()
    hand = HandClient(tls, server.endpoint)
    try:
        await hand.open()
        assert await hand.closed_with(within_s=5) == 4009
    finally:
        await hand.aclose()
        await server.aclose()


async def test_after_a_crash_close_the_session_resumes_with_the_same_key(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    await client.play(rung=5, seconds=0.3)
    await settle(voice, 15)  # heard before the crash: what arrives after it is lost
    await voice.drop_voice(GUILD, code=4015)
    assert await client.closed_with() == 4015

    await client.open()
    await client.send(
        7, {"token": "tok", "server_id": str(GUILD), "session_id": "sess", "seq_ack": client.seq_ack}
    )
    resumed = await client.receive(9)
    assert resumed["seq"] == 3
    await client.play(rung=6, seconds=0.3)
    heard = voice.recording(GUILD, CHANNEL)
    await heard.wait_for_rungs([5, 6], timeout=5)
    assert heard.decryption_failures == 0
    session = voice.session(GUILD)
    assert session is not None and session.resumes == 1


async def test_what_a_crashed_voice_server_is_sent_before_the_resume_is_lost(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    await client.play(rung=5, seconds=0.2)
    await settle(voice, 10)
    await voice.drop_voice(GUILD, code=4015)
    await client.closed_with()
    await client.play(rung=5, seconds=0.2)  # into the crash
    await settle(voice, 20)
    await client.open()
    await client.send(
        7, {"token": "tok", "server_id": str(GUILD), "session_id": "sess", "seq_ack": client.seq_ack}
    )
    await client.receive(9)
    await client.play(rung=5, seconds=0.2)
    await settle(voice, 30)
    heard = voice.recording(GUILD, CHANNEL)
    assert (heard.packets, heard.blackholed) == (20, 10)
    assert heard.decoded_ms() == 400


async def test_a_crash_that_lost_the_session_refuses_its_resume(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    await voice.drop_voice(GUILD, code=4015, resumable=False)
    assert await client.closed_with() == 4015
    await client.open()
    await client.send(
        7, {"token": "tok", "server_id": str(GUILD), "session_id": "sess", "seq_ack": client.seq_ack}
    )
    assert await client.closed_with() == 4006
    assert voice.session(GUILD) is None


async def test_a_resume_with_another_token_is_refused(voice: VoiceServer, client: HandClient) -> None:
    await client.connect()
    await voice.drop_voice(GUILD, code=4015)
    await client.closed_with()
    await client.open()
    await client.send(7, {"token": "forged", "server_id": str(GUILD), "session_id": "sess", "seq_ack": 2})
    assert await client.closed_with() == 4006


async def test_a_network_drop_cuts_the_socket_without_a_close_frame(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    await voice.drop_voice(GUILD)
    assert await client.closed_with() == aiohttp.WSCloseCode.ABNORMAL_CLOSURE


async def test_packets_sent_into_a_blackhole_are_lost_and_the_gap_is_seen(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    await client.play(rung=1, seconds=0.3)
    await settle(voice, 15)
    voice.blackhole_udp(GUILD, 10)
    await client.play(rung=1, seconds=0.2)
    await settle(voice, 25)
    voice.blackhole_udp(GUILD, 0)
    await client.play(rung=1, seconds=0.3)
    await settle(voice, 40)

    heard = voice.recording(GUILD, CHANNEL)
    assert (heard.packets, heard.blackholed) == (30, 10)
    assert heard.sequence_gaps == [10]
    assert heard.decoded_ms() == 600


async def test_dave_messages_at_protocol_version_0_are_tolerated(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    assert client.ws is not None
    await client.ws.send_bytes(bytes([26]) + b"key package")
    await client.send(23, {"transition_id": 0})
    await client.send(3, {"t": 1, "seq_ack": client.seq_ack})
    await client.receive(6)
    session = voice.session(GUILD)
    assert session is not None and session.dave_messages == [26, 23]


async def test_leaving_voice_closes_the_socket_and_stops_listening(
    voice: VoiceServer, client: HandClient
) -> None:
    await client.connect()
    voice.end_session(GUILD)
    assert await client.closed_with() == 4014
    await client.play(rung=1, seconds=0.1)
    for _ in range(100):
        if voice.unknown_packets == 5:
            break
        await asyncio.sleep(0.02)
    assert voice.unknown_packets == 5 and voice.recording(GUILD, CHANNEL).packets == 0


# Ten guilds each send a packet every 20 ms: the load the crowd stories put on the listener.
TEN_GUILDS_PPS = 500


async def test_a_listener_sharing_a_busy_loop_keeps_up_with_ten_guilds(
    voice: VoiceServer, client: HandClient
) -> None:
    """The bot under test shares the simulator's event loop; here each turn of it costs 4 ms, so it
    turns fewer times a second than ten guilds send packets. The listener still hears each packet as
    it comes, not seconds later (by when its socket would overflow and a song go unheard)."""
    await client.connect()
    assert client.udp is not None
    udp, seconds = client.udp, 3
    frames = [client.encoder.encode(tone_pcm(5, frame), FRAME_SAMPLES) for frame in range(50)]
    packets = [client.packet(frames[n % len(frames)]) for n in range(TEN_GUILDS_PPS * seconds)]

    def ten_guilds_sending() -> None:
        started = time.monotonic()
        for tick in range(seconds * 50):
            for packet in packets[tick * 10 : tick * 10 + 10]:
                udp.send(packet)
            time.sleep(max(0.0, started + (tick + 1) * 0.02 - time.monotonic()))

    sender = threading.Thread(target=ten_guilds_sending)
    sender.start()
    busy_until = time.monotonic() + seconds + 0.5
    while time.monotonic() < busy_until:
        time.sleep(0.004)  # noqa: ASYNC251  # the bot's work in this turn of the loop, blocking it
        await asyncio.sleep(0)
    sender.join()

    heard = voice.recording(GUILD, CHANNEL)
    assert heard.sequence_gaps == []
    assert heard.packets == len(packets), (
        f"half a second after the last packet was sent the listener had heard {heard.packets} "
        f"of {len(packets)}"
    )
    assert heard.heard_rungs() == [5]


async def test_a_stalled_listener_loses_none_of_thirty_seconds_of_ten_guilds(
    voice: VoiceServer, client: HandClient
) -> None:
    """While the loop is stalled (the bot's threads holding the GIL), what ten guilds send waits in
    the listener's socket: a real Discord would have received it."""
    voice.decode_audio = False  # this counts packets; decoding 15,000 would only slow the test
    await client.connect()
    assert client.udp is not None
    opus = client.encoder.encode(tone_pcm(1, 0), FRAME_SAMPLES)
    packets = [client.packet(opus) for _ in range(TEN_GUILDS_PPS * 30)]
    for packet in packets:  # the loop does not turn meanwhile: nothing is read until the end
        client.udp.send(packet)
    await settle(voice, len(packets))

    heard = voice.recording(GUILD, CHANNEL)
    assert (heard.packets, heard.sequence_gaps) == (len(packets), [])


async def test_after_a_move_only_the_new_voice_server_takes_the_session(
    voice: VoiceServer, client: HandClient, tls: Tls
) -> None:
    """A failover: the token is for the new endpoint alone, and the old session cannot be resumed
    anywhere, so a client that stays on the old server or RESUMEs fails as on Discord."""
    await client.connect()
    moved_to = await voice.add_endpoint()
    assert moved_to != voice.endpoint
    voice.expect_session(
        guild_id=GUILD, channel_id=CHANNEL, user_id=USER, session_id="sess", token="new", endpoint=moved_to
    )
    stale = HandClient(tls, voice.endpoint)
    resuming = HandClient(tls, moved_to)
    fresh = HandClient(tls, moved_to)
    try:
        await stale.identify(token="new")
        assert await stale.closed_with() == 4004
        await resuming.open()
        await resuming.send(7, {"token": "new", "server_id": str(GUILD), "session_id": "sess", "seq_ack": 2})
        assert await resuming.closed_with() == 4006
        await fresh.connect(token="new")
        session = voice.session(GUILD)
        assert session is not None and session.expected.endpoint == moved_to and session.mode is not None
    finally:
        for hand in (stale, resuming, fresh):
            await hand.aclose()


async def test_a_listener_apart_times_every_packet_in_its_own_process(
    voice: VoiceServer, client: HandClient
) -> None:
    """The benchmarks' listener, in a process of its own: the connection (IP discovery included) is
    made as ever; every packet is decrypted and counted there, and those that came more than 60 ms
    after their place in the stream are told apart, within the window asked about."""
    async with voice.listener_apart() as listener:
        assert listener.pid != os.getpid()
        await client.connect()
        assert client.udp is not None
        opus = client.encoder.encode(tone_pcm(1, 0), FRAME_SAMPLES)
        # The child takes its orders in turn: once it answers this, it knows the session's key (told
        # at connect), so no packet below reaches it before it can tell whose it is.
        await listener.report(0.0, 0.0, 60.0)
        before = time.monotonic()
        # Sent at once: 30 packets for one place in the stream, then 10 for 200 ms before it, which
        # therefore came 200 ms after their time. Timed by stream position, not by the sender's
        # sleeps, the figure holds on a busy box.
        for place in [20] * 30 + [10] * 10:
            client.timestamp = place * FRAME_SAMPLES
            client.udp.send(client.packet(opus))
        client.udp.send(client.packet(opus, key=bytes(32)))  # one that does not authenticate
        for _ in range(100):  # its process reads them when a loaded box gives it a core
            # The window's end well ahead: the child may read a packet after this call is made.
            heard = await listener.report(before, before + 60, 60.0)
            if heard[GUILD].packets >= 40:
                break
            await asyncio.sleep(0.1)
        earlier = await listener.report(before - 10, before, 60.0)
    assert heard[GUILD].packets == 40 and heard[GUILD].timed == 40
    assert 10 <= heard[GUILD].late < 40  # a stall mid-burst could make a few more late, never all
    assert earlier[GUILD].timed == 0
    assert voice.recording(GUILD, CHANNEL).packets == 0  # nothing went to the in-process listener


async def test_a_listener_kept_from_its_core_does_not_call_packets_late_that_came_on_time(
    voice: VoiceServer, client: HandClient
) -> None:
    """On a busy box the listener waits for a core too; the packets that came meanwhile are timed by
    when they reached its socket, not when it read them, so its own wait is not the bot's lateness."""
    async with voice.listener_apart() as listener:
        await client.connect()
        assert client.udp is not None
        opus = client.encoder.encode(tone_pcm(1, 0), FRAME_SAMPLES)
        await listener.report(0.0, 0.0, 60.0)  # it knows the session's key (see above)
        started = time.monotonic()
        client.timestamp = 0
        client.udp.send(client.packet(opus))
        for _ in range(100):  # until it has read the first (a loaded box gives it a core late)
            if (await listener.report(started, started + 60, 60.0))[GUILD].packets:
                break
            await asyncio.sleep(0.1)
        os.kill(listener.pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(0.2)
            # Stamped with its true place in the stream, however long the sleep took: on time.
            client.timestamp = round((time.monotonic() - started) / 0.02) * FRAME_SAMPLES
            client.udp.send(client.packet(opus))
            await asyncio.sleep(0.5)  # read at least 500 ms after it came
        finally:
            os.kill(listener.pid, signal.SIGCONT)
        for _ in range(100):
            heard = await listener.report(started, started + 60, 60.0)
            if heard[GUILD].packets >= 2:
                break
            await asyncio.sleep(0.1)
    assert heard[GUILD].timed == 2
    assert heard[GUILD].late == 0
