"""The voice UDP endpoint: IP discovery, then every RTP packet decrypted, decoded and heard.

The discovery exchange is the one discord.py performs (gateway.py `discover_ip`): a 74-byte request
(type 1, length 70, SSRC) answered by a 74-byte response (type 2, length 70, SSRC, the sender's
address as NUL-padded ASCII, its port big-endian in the last two bytes).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable
from typing import Final

from discord.opus import OPUS_SILENCE, OpusError

from musicbox.sim.signature import CHANNELS, FRAME_SAMPLES, analyse_frame
from musicbox.sim.voice import rtp
from musicbox.sim.voice.recording import Recording
from musicbox.sim.voice.session import VoiceSession

DISCOVERY_SIZE: Final = 74
_REQUEST, _RESPONSE = 1, 2
_ADDRESS_FIELD = 64
_FRAME_BYTES = FRAME_SAMPLES * CHANNELS * 2
_MAX_DATAGRAM = 65_535
# Datagrams read per readiness: many per turn of the loop, but a backlog of thousands (each decoded
# and analysed) must not keep the bot sharing the loop from answering its commands meanwhile.
_DRAIN_BATCH = 64


def discovery_ssrc(data: bytes) -> int | None:
    """The SSRC of an IP discovery request, or None if `data` is not one."""
    if len(data) != DISCOVERY_SIZE:
        return None
    kind, length, ssrc = struct.unpack_from(">HHI", data, 0)
    return ssrc if kind == _REQUEST and length == DISCOVERY_SIZE - 4 else None


def discovery_response(ssrc: int, host: str, port: int) -> bytes:
    address = host.encode("ascii")[: _ADDRESS_FIELD - 1].ljust(_ADDRESS_FIELD, b"\0")
    return struct.pack(">HHI", _RESPONSE, DISCOVERY_SIZE - 4, ssrc) + address + struct.pack(">H", port)


def discovery_request(ssrc: int) -> bytes:
    """The request discord.py sends (tests speak it too)."""
    return struct.pack(">HHI", _REQUEST, DISCOVERY_SIZE - 4, ssrc) + bytes(DISCOVERY_SIZE - 8)


def hear(
    session: VoiceSession, recording: Recording, packet: rtp.RtpPacket, arrival: float, *, decode: bool = True
) -> None:
    """Decrypt, decode and analyse one packet the way a listener's client would; without `decode`,
    only decrypt it and note its place and arrival (what a load test of many streams needs)."""
    if session.mode is None or session.secret_key is None:
        recording.note_undecryptable(arrival)
        return
    try:
        payload = rtp.open_payload(session.mode, session.secret_key, packet)
    except rtp.DecryptionFailed:
        recording.note_undecryptable(arrival)
        return
    if not decode:
        recording.note_packet(packet.ssrc, packet.sequence, packet.timestamp, FRAME_SAMPLES, arrival)
        return
    try:
        pcm = session.decoder(packet.ssrc).decode(payload, fec=False)
    except OpusError:
        recording.note_packet(packet.ssrc, packet.sequence, packet.timestamp, FRAME_SAMPLES, arrival)
        recording.note_undecodable()
        return
    samples = len(pcm) // (CHANNELS * 2)
    recording.note_packet(packet.ssrc, packet.sequence, packet.timestamp, samples, arrival)
    silence_packet = payload == OPUS_SILENCE
    for start in range(0, len(pcm) - _FRAME_BYTES + 1, _FRAME_BYTES):
        frame = pcm[start : start + _FRAME_BYTES]
        recording.note_frame(analyse_frame(frame), arrival, silence_packet=silence_packet)
        if recording.keep_pcm:
            recording.pcm += frame


class UdpEndpoint:
    """Routes datagrams to the session owning their SSRC; the server decides who that is.

    It reads every datagram waiting each time the socket is readable, where asyncio's datagram
    transport reads one per turn of the loop: the loop is shared with the bot under test, and when
    the bot's threads hold the GIL it turns fewer times a second than ten guilds send packets (500),
    so a listener taking one per turn falls further behind until its socket overflows."""

    def __init__(
        self,
        session_for: Callable[[int], VoiceSession | None],
        on_packet: Callable[[VoiceSession, rtp.RtpPacket, float], None],
    ) -> None:
        self._session_for = session_for
        self._on_packet = on_packet
        self._socket: socket.socket | None = None
        self.unknown_packets = 0

    def open(self, udp: socket.socket) -> None:
        self._socket = udp
        asyncio.get_running_loop().add_reader(udp.fileno(), self._drain)

    def hand_over(self) -> socket.socket:
        """Stop reading the socket (another process reads it now); its answers still go out here."""
        if self._socket is None:
            raise RuntimeError("the UDP endpoint is not open")
        asyncio.get_running_loop().remove_reader(self._socket.fileno())
        return self._socket

    def take_back(self) -> None:
        if self._socket is not None:
            asyncio.get_running_loop().add_reader(self._socket.fileno(), self._drain)

    def close(self) -> None:
        if self._socket is not None:
            asyncio.get_running_loop().remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = None

    def _drain(self) -> None:
        for _ in range(_DRAIN_BATCH):
            if self._socket is None:
                return
            try:
                data, addr = self._socket.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error from an earlier reply: the next datagram is still there
                continue
            self.datagram_received(data, addr)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        arrival = time.monotonic()
        host, port = str(addr[0]), int(addr[1])
        ssrc = discovery_ssrc(data)
        if ssrc is not None:
            self.answer_discovery(ssrc, host, port)
            return
        packet = rtp.parse(data)
        session = self._session_for(packet.ssrc) if packet is not None else None
        if packet is None or session is None:
            self.unknown_packets += 1
            return
        self._on_packet(session, packet, arrival)

    def answer_discovery(self, ssrc: int, host: str, port: int) -> None:
        session = self._session_for(ssrc)
        if session is None or self._socket is None:
            self.unknown_packets += 1  # Discord does not answer discovery for an SSRC it never issued
            return
        session.client_address = (host, port)
        self._socket.sendto(discovery_response(ssrc, host, port), (host, port))
