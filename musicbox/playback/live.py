"""Live streams: internet radio and HLS live playlists, played as they come and never cached.

An internet radio's stream is read here, through the egress gate, and piped into ffmpeg with its
ICY metadata taken out: the station's title reaches `/now` as it changes, and what ffmpeg decodes
is plain audio. An HLS live playlist (a live video's audio too) is opened by ffmpeg itself, through
the gate, which reloads the playlist as it grows. Either way nothing is written to disk, and memory
holds one read (`READ_BYTES`), one metadata block and the pipes' buffers, whatever the station
sends and however long it plays. A stream that ends is tried again by the session
(`core/live.py`), not here: one place decides when a station is dead.

The reads block, on discord.py's pipe-writer thread: `cleanup()` shuts the socket down, which ends
a read waiting on it at once."""

from __future__ import annotations

import base64
import collections
import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import discord

from musicbox.core.icy import IcyDemuxer, metaint_of

log = logging.getLogger(__name__)

FRAME_S = 0.020  # what discord.py's player takes per read
READ_BYTES = 16 * 2**10
HEAD_BYTES = 16 * 2**10
# A station silent this long has dropped (one that sends nothing but holds the socket, too).
SILENT_S = 10.0
MAX_REDIRECTS = 3
TITLES_KEPT = 8
HLS_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl")


class StationRefused(Exception):
    """The station (or the gate) answered something other than a stream."""


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes  # what came with the head


class StationFeed:
    """One connection to a live stream, read like a file (discord.py's pipe writer calls `read`)."""

    def __init__(self, url: str, proxy_url: str | None) -> None:
        self._url = url
        self._proxy_url = proxy_url
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._demuxer = IcyDemuxer(None)
        self._pending = b""
        self.content_type = ""
        self._bytes_per_s: int | None = None  # from icy-br; None: titles shown as they arrive
        self._audio_bytes = 0  # read so far
        # (audio byte where it starts, title): a few, since what is read runs ahead of what is heard
        self._titles: collections.deque[tuple[int, str]] = collections.deque(maxlen=TITLES_KEPT)

    def open(self) -> None:
        """Connect (following at most MAX_REDIRECTS redirects) and read the answer's head."""
        url = self._url
        for _ in range(MAX_REDIRECTS + 1):
            answer = self._request(url)
            if answer.status in (301, 302, 303, 307, 308) and "location" in answer.headers:
                self._drop_socket()
                url = urljoin(url, answer.headers["location"])
                continue
            if answer.status != 200:
                raise StationRefused(f"the stream answered {answer.status}")
            self.content_type = answer.headers.get("content-type", "").split(";")[0].strip().lower()
            self._demuxer = IcyDemuxer(metaint_of(answer.headers.get("icy-metaint")))
            self._bytes_per_s = _bytes_per_s(answer.headers.get("icy-br"))
            self._pending = answer.body
            return
        raise StationRefused("the stream redirected too many times")

    def title_at(self, heard_s: float) -> str | None:
        """The station's title for what the listener hears `heard_s` into this connection (untrusted
        text). What is read runs seconds ahead of what is heard (the pipes into and out of ffmpeg
        hold that much), so a title counts from the audio byte it came before, not from its arrival."""
        heard = heard_s * self._bytes_per_s if self._bytes_per_s else float("inf")
        with self._lock:
            on_air = [title for start, title in self._titles if start <= heard]
        return on_air[-1] if on_air else None

    @property
    def is_hls(self) -> bool:
        return self.content_type in HLS_TYPES or self._pending.lstrip().startswith(b"#EXTM3U")

    def read(self, size: int = READ_BYTES) -> bytes:
        while True:
            data, self._pending = self._pending, b""
            if not data:
                data = self._receive(min(size, READ_BYTES))
            if not data:
                return b""
            audio, titles = self._demuxer.feed(data)
            with self._lock:
                self._titles.extend((self._audio_bytes + offset, title) for offset, title in titles)
            self._audio_bytes += len(audio)
            if audio:
                return audio

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._drop_socket()

    def _receive(self, size: int) -> bytes:
        connection = self._socket
        if connection is None:
            return b""
        try:
            return connection.recv(size)
        except (OSError, ValueError):  # dropped, silent for SILENT_S, or closed by cleanup()
            return b""

    def _drop_socket(self) -> None:
        connection, self._socket = self._socket, None
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _request(self, url: str) -> _Answer:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StationRefused("a stream is read from the web only")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname if port in (80, 443) else f"{parts.hostname}:{port}"
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        connection, credentials = self._dial(parts.hostname, port)
        try:
            target = url if parts.scheme == "http" and self._proxy_url else path
            if parts.scheme == "https":
                if self._proxy_url is not None:
                    connect = f"CONNECT {parts.hostname}:{port} HTTP/1.1\r\nHost: {parts.hostname}:{port}\r\n"
                    connection.sendall(f"{connect}{credentials}\r\n".encode("latin-1"))
                    tunnel = _read_answer(connection)
                    if tunnel.status != 200:
                        raise StationRefused(f"the gate answered {tunnel.status}")
                connection = ssl.create_default_context().wrap_socket(
                    connection, server_hostname=parts.hostname
                )
                credentials = ""
            request = (
                f"GET {target} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: musicbox\r\nAccept: */*\r\n"
                f"Icy-MetaData: 1\r\n{credentials}\r\n"
            )
            connection.sendall(request.encode("latin-1"))
            answer = _read_answer(connection)
        except BaseException:
            connection.close()
            raise
        with self._lock:
            if self._closed:
                connection.close()
                raise StationRefused("closed while connecting")
            self._socket = connection
        return answer

    def _dial(self, host: str, port: int) -> tuple[socket.socket, str]:
        """A socket to the gate (or, with no gate, as in tests of local files, to the host), and the
        header that names this box's job to the gate."""
        if self._proxy_url is None:
            return socket.create_connection((host, port), timeout=SILENT_S), ""
        proxy = urlsplit(self._proxy_url)
        assert proxy.hostname is not None and proxy.port is not None
        token = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode()
        connection = socket.create_connection((proxy.hostname, proxy.port), timeout=SILENT_S)
        return connection, f"Proxy-Authorization: Basic {token}\r\n"


def _bytes_per_s(icy_br: str | None) -> int | None:
    """A station's bitrate (its `icy-br`, kb/s; some send "128,128") in bytes a second."""
    first = (icy_br or "").split(",")[0].strip()
    return int(first) * 125 if first.isdigit() and 8 <= int(first) <= 1024 else None


def _read_answer(connection: socket.socket) -> _Answer:
    """The head of an HTTP answer (Shoutcast's `ICY 200 OK` too) and what came with it."""
    received = b""
    while b"\r\n\r\n" not in received:
        if len(received) > HEAD_BYTES:
            raise StationRefused("the stream's head is too large")
        chunk = connection.recv(4096)
        if not chunk:
            raise StationRefused("the stream closed before answering")
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    words = status_line.split()
    if len(words) < 2 or not words[1].isdigit() or not words[0].startswith(("HTTP/", "ICY")):
        raise StationRefused("the stream did not answer in HTTP")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return _Answer(int(words[1]), headers, body)


class LiveSource(discord.AudioSource):
    """ffmpeg's Opus from a live stream, and the station's title as it changes."""

    def __init__(self, audio: discord.AudioSource, feed: StationFeed | None) -> None:
        self._audio = audio
        self._feed = feed
        self._frames = 0

    @property
    def station_title(self) -> str | None:
        return self._feed.title_at(self._frames * FRAME_S) if self._feed is not None else None

    def is_opus(self) -> bool:
        return True

    def read(self) -> bytes:
        data = self._audio.read()
        if data:
            self._frames += 1
        return data

    def cleanup(self) -> None:
        if self._feed is not None:
            self._feed.close()  # first: ends the pipe writer's read, so ffmpeg's stdin closes
        self._audio.cleanup()


# ffmpeg straight from a web address, through the gate (DirectAudio.open): how an HLS stream plays.
OpenDirect = Callable[[str, int], discord.AudioSource]


class LiveAudio:
    """Opens live streams (`open` blocks: call it from a thread)."""

    def __init__(self, proxy_url: str | None, open_direct: OpenDirect) -> None:
        self._proxy_url = proxy_url
        self._open_direct = open_direct

    def open(self, url: str, *, volume: int = 100) -> LiveSource:
        options = "-vn" if volume == 100 else f"-vn -filter:a volume={volume / 100:.2f}"
        feed = StationFeed(url, self._proxy_url)
        try:
            feed.open()
        except BaseException:
            feed.close()
            raise
        if feed.is_hls:
            # ffmpeg reads the playlist and its segments itself, through the gate, reloading it.
            feed.close()
            return LiveSource(self._open_direct(url, volume), None)
        piped = discord.FFmpegOpusAudio(feed, pipe=True, before_options="-nostdin", options=options)  # type: ignore[arg-type]
        return LiveSource(piped, feed)
