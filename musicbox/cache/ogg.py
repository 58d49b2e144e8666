"""Opus packets out of an Ogg file (RFC 3533 pages, RFC 7845 Opus mapping), including one that is
still being written: the cache plays a track while ffmpeg fills it.

Pure parsing over bytes plus a small reader that waits for more bytes while the writer is busy."""

from __future__ import annotations

import struct
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CAPTURE = b"OggS"
_HEADER = struct.Struct("<4sBBqIIIB")  # capture, version, flags, granule, serial, sequence, crc, segments
_CONTINUED = 0x01
_ID_HEADER = b"OpusHead"
_COMMENT_HEADER = b"OpusTags"
_READ_SIZE = 64 * 1024


class NotOgg(ValueError):
    """The bytes are not an Ogg stream: a corrupt cache entry."""


@dataclass(frozen=True, slots=True)
class Page:
    continued: bool
    packets: list[bytes]  # the last one is unfinished when `open_end`
    open_end: bool
    size: int  # bytes the page took in the stream


def parse_page(buffer: bytes | bytearray | memoryview, offset: int = 0) -> Page | None:
    """The page starting at `offset`, or None when the buffer does not hold all of it yet."""
    if len(buffer) - offset < _HEADER.size:
        return None
    capture, _version, flags, _granule, _serial, _sequence, _crc, count = _HEADER.unpack_from(buffer, offset)
    if capture != CAPTURE:
        raise NotOgg(f"no Ogg capture pattern at byte {offset}")
    lacing_at = offset + _HEADER.size
    if len(buffer) < lacing_at + count:
        return None
    lacing = bytes(buffer[lacing_at : lacing_at + count])
    body_at = lacing_at + count
    if len(buffer) < body_at + sum(lacing):
        return None
    packets, current, at = [], bytearray(), body_at
    for length in lacing:
        current += buffer[at : at + length]
        at += length
        if length < 255:  # a lacing value under 255 ends a packet
            packets.append(bytes(current))
            current = bytearray()
    open_end = bool(lacing) and lacing[-1] == 255
    if open_end:
        packets.append(bytes(current))
    return Page(bool(flags & _CONTINUED), packets, open_end, at - offset)


def starts_as_opus(head: bytes) -> bool:
    """Whether a file beginning with `head` (its first few hundred bytes) is an Ogg Opus stream:
    a first page whose first packet is the Opus identification header."""
    try:
        page = parse_page(head)
    except NotOgg:
        return False
    return page is not None and bool(page.packets) and page.packets[0].startswith(_ID_HEADER)


def whole_pages(buffer: bytes) -> int:
    """How many complete pages `buffer` (the start of a stream) holds; 0 past anything not Ogg."""
    count, offset = 0, 0
    try:
        while (page := parse_page(buffer, offset)) is not None:
            count, offset = count + 1, offset + page.size
    except NotOgg:
        return 0
    return count


class PacketAssembler:
    """Joins packets split across pages and drops the two Opus header packets."""

    def __init__(self) -> None:
        self._pending = b""
        self._headers_left = 2

    def feed(self, page: Page) -> Iterator[bytes]:
        packets = list(page.packets)
        if page.continued and packets:
            packets[0] = self._pending + packets[0]
        elif self._pending:
            packets.insert(0, self._pending)  # a writer that did not flag continuation: keep the bytes
        self._pending = packets.pop() if page.open_end else b""
        for packet in packets:
            if self._headers_left and packet.startswith((_ID_HEADER, _COMMENT_HEADER)):
                self._headers_left -= 1
                continue
            yield packet


class OggOpusReader:
    """Opus packets from a file in order; while `still_growing()` is true, a short read waits for the
    writer rather than ending the track. Blocking: discord.py calls it on its player thread."""

    def __init__(
        self,
        file: BinaryIO,
        still_growing: Callable[[], bool] = lambda: False,
        *,
        poll_s: float = 0.005,
        stall_timeout_s: float = 20.0,
    ) -> None:
        self._file = file
        self._still_growing = still_growing
        self._poll_s = poll_s
        self._stall_timeout_s = stall_timeout_s
        self._buffer = bytearray()
        self._assembler = PacketAssembler()
        self._ready: deque[bytes] = deque()
        self._closed = False

    @classmethod
    def open(cls, path: Path, still_growing: Callable[[], bool] = lambda: False) -> OggOpusReader:
        return cls(path.open("rb"), still_growing)

    def next_packet(self) -> bytes | None:
        """The next Opus packet, or None at the end (or when the writer stalled past the timeout)."""
        waited_since: float | None = None
        while not self._ready:
            if self._closed:
                return None
            if self._take_page():
                continue
            growing = self._still_growing()
            chunk = self._file.read(_READ_SIZE)
            if chunk:
                self._buffer += chunk
                waited_since = None
                continue
            if not growing:
                return None
            waited_since = waited_since or time.monotonic()
            if time.monotonic() - waited_since > self._stall_timeout_s:
                return None
            time.sleep(self._poll_s)
        return self._ready.popleft()

    def packet_ready(self) -> bool:
        """Whether `next_packet()` has one without waiting: False at the end, while the writer is
        behind, and where the file stops being Ogg (`next_packet()` says which)."""
        try:
            while not self._ready:
                if self._closed:
                    return False
                if self._take_page():
                    continue
                chunk = self._file.read(_READ_SIZE)
                if not chunk:
                    return False
                self._buffer += chunk
        except ValueError:  # NotOgg, or a read of the file closed meanwhile
            return False
        return True

    def skip(self, count: int) -> int:
        """Drop `count` packets (a seek: each is 20 ms); how many were actually there."""
        skipped = 0
        while skipped < count and self.next_packet() is not None:
            skipped += 1
        return skipped

    def skip_written(self, count: int) -> int:
        """Drop up to `count` packets of what the file holds now, never waiting for the writer; how
        many were dropped (fewer than `count`: the writer has not got that far yet)."""
        skipped = 0
        while skipped < count:
            if self._ready:
                self._ready.popleft()
                skipped += 1
            elif not self._take_page():
                chunk = self._file.read(_READ_SIZE)
                if not chunk:
                    break
                self._buffer += chunk
        return skipped

    def close(self) -> None:
        self._closed = True  # a reader waiting for the writer gives up at its next poll
        self._file.close()

    def _take_page(self) -> bool:
        page = parse_page(self._buffer)
        if page is None:
            return False
        del self._buffer[: page.size]
        self._ready.extend(self._assembler.feed(page))
        return True
