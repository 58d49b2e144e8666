"""A station's stream read as musicbox reads it, from hosts that misbehave: one that floods the
listener with audio and metadata cannot grow what the bot holds, one whose answer never ends its
head is refused, and Shoutcast's own status line is understood."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import psutil
import pytest

from musicbox.playback.live import HEAD_BYTES, READ_BYTES, StationFeed, StationRefused

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
FLOOD_MB = 24
BLOCK = bytes([255]) + (b"StreamTitle='" + b"@everyone " * 500)[: 255 * 16 - 2] + b"';"
PIECE = (b"\xff\xfb" * 128 + BLOCK) * 64
PIECES = FLOOD_MB * 2**20 // len(PIECE) + 1


@contextlib.asynccontextmanager
async def host(handler: Handler) -> AsyncIterator[str]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            await reader.readuntil(b"\r\n\r\n")
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/stream"
    finally:
        server.close()


async def flood(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """FLOOD_MB as fast as the listener reads: after every 256 bytes of audio the longest metadata block."""
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-metaint: 256\r\nicy-br: 128\r\n\r\n")
    for _ in range(PIECES):
        writer.write(PIECE)
        await writer.drain()


async def test_a_flooding_station_never_grows_what_the_bot_holds() -> None:
    async with host(flood) as url:
        feed = StationFeed(url, None)
        await asyncio.to_thread(feed.open)
        process = psutil.Process()

        def read_all() -> tuple[int, int, int]:
            start = peak = process.memory_info().rss
            total = largest = 0
            while True:
                audio = feed.read(READ_BYTES)
                if not audio:
                    break
                total, largest = total + len(audio), max(largest, len(audio))
                if total % (4 * 2**20) < READ_BYTES:
                    peak = max(peak, process.memory_info().rss)
            return total, largest, peak - start

        total, largest, growth = await asyncio.to_thread(read_all)
        feed.close()
    assert total == PIECES * 64 * 256 and largest <= READ_BYTES  # every byte of audio, none of the rest
    assert growth < 16 * 2**20, f"RSS grew {growth / 2**20:.1f} MB"
    assert (feed.title_at(0.0) or "") == ""  # nothing heard yet: no title
    on_air = feed.title_at(3600.0)  # the title of what is heard an hour in: bounded, as sent
    assert on_air is not None and len(on_air) <= 255 * 16


async def endless_head(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.0 200 OK\r\n")
    for _ in range(HEAD_BYTES // 100 + 10):
        writer.write(b"X-Filler: " + b"a" * 88 + b"\r\n")
        await writer.drain()


async def test_a_head_that_never_ends_is_refused() -> None:
    async with host(endless_head) as url:
        feed = StationFeed(url, None)
        with pytest.raises(StationRefused, match="head is too large"):
            await asyncio.to_thread(feed.open)
        feed.close()


async def shoutcast(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"ICY 200 OK\r\nicy-name: Old School\r\nicy-metaint: 256\r\n\r\n")
    writer.write(b"\x00" * 256 + bytes([2]) + b"StreamTitle='A - B';".ljust(32, b"\0") + b"\x01" * 100)
    await writer.drain()


async def test_shoutcast_s_own_status_line_is_understood() -> None:
    async with host(shoutcast) as url:
        feed = StationFeed(url, None)
        await asyncio.to_thread(feed.open)
        audio = b""
        while chunk := await asyncio.to_thread(feed.read, READ_BYTES):
            audio += chunk
        feed.close()
    assert audio == b"\x00" * 256 + b"\x01" * 100
    assert feed.title_at(0.0) == "A - B"  # no icy-br: shown as it arrives
