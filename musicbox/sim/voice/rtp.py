"""Discord's voice transport as a listener sees it: RTP packets sealed with an AEAD "rtpsize" mode.

Pure functions, bytes in and out. In both rtpsize modes the sender appends a 32-bit big-endian counter
to the packet; the AEAD nonce is that counter followed by zero bytes. The associated data is the RTP
header, including the 4-byte extension header (profile + length) when the X bit is set; the extension
body itself travels encrypted and is the first part of the plaintext.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

XCHACHA: Final = "aead_xchacha20_poly1305_rtpsize"
AES_GCM: Final = "aead_aes256_gcm_rtpsize"
# What Discord offers today, in its order. The legacy xsalsa20 modes are gone from Discord.
MODES: Final = (AES_GCM, XCHACHA)

_FIXED_HEADER = 12
_NONCE_SUFFIX = 4
_TAG = 16
_NONCE_SIZES: Final = {XCHACHA: 24, AES_GCM: 12}

# RTCP packet types 200-204 share the port with RTP; discord.py sends none, but a listener skips them.
_RTCP_TYPES = range(200, 205)


class DecryptionFailed(Exception):
    """The packet did not authenticate under the session key: a wrong key, mode or tampered packet."""


@dataclass(frozen=True, slots=True)
class RtpPacket:
    sequence: int
    timestamp: int
    ssrc: int
    payload_type: int
    header: bytes  # authenticated, not encrypted
    extension_words: int  # length of the encrypted extension body, in 32-bit words
    sealed: bytes  # ciphertext + tag
    nonce_counter: int


def is_rtp(data: bytes) -> bool:
    return len(data) >= _FIXED_HEADER and data[0] >> 6 == 2 and data[1] not in _RTCP_TYPES


def parse(data: bytes) -> RtpPacket | None:
    """Split a datagram into header, sealed payload and nonce counter; None if it is not RTP."""
    if not is_rtp(data):
        return None
    csrc_count = data[0] & 0x0F
    header_end = _FIXED_HEADER + 4 * csrc_count
    extension_words = 0
    if data[0] & 0x10:
        if len(data) < header_end + 4:
            return None
        (extension_words,) = struct.unpack_from(">H", data, header_end + 2)
        header_end += 4
    if len(data) < header_end + _TAG + _NONCE_SUFFIX:
        return None
    sequence, timestamp, ssrc = struct.unpack_from(">HII", data, 2)
    (nonce_counter,) = struct.unpack_from(">I", data, len(data) - _NONCE_SUFFIX)
    return RtpPacket(
        sequence=sequence,
        timestamp=timestamp,
        ssrc=ssrc,
        payload_type=data[1] & 0x7F,
        header=bytes(data[:header_end]),
        extension_words=extension_words,
        sealed=bytes(data[header_end : len(data) - _NONCE_SUFFIX]),
        nonce_counter=nonce_counter,
    )


def nonce(mode: str, counter: int) -> bytes:
    return struct.pack(">I", counter) + bytes(_NONCE_SIZES[mode] - _NONCE_SUFFIX)


def open_payload(mode: str, key: bytes, packet: RtpPacket) -> bytes:
    """The Opus payload of `packet` (extension body stripped); DecryptionFailed if it does not verify."""
    plain = _decrypt(mode, key, nonce(mode, packet.nonce_counter), packet.sealed, packet.header)
    return plain[4 * packet.extension_words :]


def _decrypt(mode: str, key: bytes, box_nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        if mode == XCHACHA:
            plain: bytes = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                sealed, aad, box_nonce, key
            )
            return plain
        if mode == AES_GCM:
            return AESGCM(key).decrypt(box_nonce, sealed, aad)
    except (nacl.exceptions.CryptoError, InvalidTag) as error:
        raise DecryptionFailed(str(error) or "authentication tag mismatch") from error
    raise DecryptionFailed(f"unknown mode {mode!r}")
