"""One bot's voice connection in one guild, as the voice server keeps it across websockets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from aiohttp import web
from discord.opus import Decoder


@dataclass(frozen=True, slots=True)
class Expected:
    """What the gateway promised the bot in VOICE_STATE_UPDATE / VOICE_SERVER_UPDATE."""

    guild_id: int
    channel_id: int
    user_id: int
    session_id: str
    token: str
    # The voice server ("host:port") the token is for; "" before any move: every endpoint.
    endpoint: str = ""


@dataclass
class VoiceSession:
    expected: Expected
    ssrc: int
    mode: str | None = None
    secret_key: bytes | None = None
    speaking: int = 0
    sent_seq: int = 0  # v8: every sequenced server message carries the next number
    seq_ack: int = -1  # the last server seq the client acknowledged in a heartbeat
    resumes: int = 0
    # Closed 4015 ("voice server crashed") and not resumed yet: the media it is sent is lost.
    crashed: bool = False
    websocket: web.WebSocketResponse | None = None
    client_address: tuple[str, int] | None = None
    dave_messages: list[int] = field(default_factory=list)  # DAVE opcodes received at version 0
    decoders: dict[int, Decoder] = field(default_factory=dict)

    @property
    def guild_id(self) -> int:
        return self.expected.guild_id

    def next_seq(self) -> int:
        self.sent_seq += 1
        return self.sent_seq

    def decoder(self, ssrc: int) -> Decoder:
        """libopus decoder state per sender: Opus frames depend on the ones before them."""
        if ssrc not in self.decoders:
            self.decoders[ssrc] = Decoder()  # type: ignore[no-untyped-call]  # discord.py leaves it untyped
        return self.decoders[ssrc]


def new_secret_key() -> bytes:
    return secrets.token_bytes(32)


def new_ssrc(taken: set[int]) -> int:
    while True:
        ssrc = secrets.randbelow(0xFFFFFFFE) + 1
        if ssrc not in taken:
            return ssrc
