"""The egress gate: the one way out to the internet for everything a member's link can make musicbox
fetch. yt-dlp (its `proxy` option), ffprobe and ffmpeg (`-http_proxy`) and the Spotify client all
send their requests through this small HTTP forward proxy, bound to 127.0.0.1 on a port of its own.

For each request, and so for every redirect hop and every HLS or DASH segment (each is a new request
to the proxy), the gate looks the name up once, judges every address with `core.egress.permitted`,
and connects to an address it judged, never to the name: a name that answers differently the second
time (DNS rebinding) cannot slip past. HTTPS is `CONNECT host:port`, judged the same way.

Each extraction, probe or transcode is a `Job` with a token of its own in the proxy address
(`http://musicbox:TOKEN@127.0.0.1:PORT`). The token tells the gate whose request it is, so it can
say afterwards that a job was refused (and the member reads one sentence, whatever stood behind the
refused address), cap the bytes a job that reads documents may receive, and cut every connection
of a job that overran its deadline, which ends yt-dlp's wait at once instead of leaving it blocked
in a thread. A request without a known token is not served: the proxy is no open relay for the
box's other users.

It runs on a thread with its own event loop, so the bytes it copies for ffmpeg and the pages it
relays for yt-dlp never hold up the bot's loop, and the worker threads and child processes that use
it need nothing from that loop either."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import itertools
import logging
import os
import secrets
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from musicbox.core.egress import Destination, IpAddress, literal, permitted
from musicbox.sources.upstreams import upstream_of

log = logging.getLogger(__name__)

# The one sentence a member reads for every destination the gate will not reach: the same for a
# closed port, an open one, a 404 behind it or a name that does not resolve, so replies cannot be
# used to map the owner's network.
REFUSED = "that link does not lead to a public website, and musicbox fetches nothing else; use a public link"
TOO_LARGE = "the page is too large to read (over {mb} MB); link to the song itself"

# What one lookup may receive, as yt-dlp reads each document whole into memory: an http:// page,
# feed or playlist (one response per connection, its head readable) up to PAGE_BYTES, which is
# small because much of what yt-dlp held of a cut page stays in the bot's RSS (glibc keeps it; at
# a 4 MB cap five cut pages added about 25 MB) and the web's big documents come over HTTPS; an HTTPS tunnel,
# which carries several documents on one connection (YouTube's watch page, its 2.7 MB player
# JavaScript and its API answers) and shows the gate only ciphertext, up to TUNNEL_BYTES.
# A transcode's media is bounded by ffmpeg's -t and -fs instead.
PAGE_BYTES = 2 * 2**20
TUNNEL_BYTES = 16 * 2**20
HEAD_BYTES = 64 * 2**10
HEAD_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
CHUNK_BYTES = 64 * 2**10
# An http:// document still arriving after PACE_AFTER_S at under PACE_BYTES_PER_S is a drip (a host
# sending a byte every few seconds to hold a resolver): cut. A real page is whole by then. Not
# applied to HTTPS tunnels, which sit idle between documents; those end at the lookup's deadline.
PACE_AFTER_S = 10.0
PACE_BYTES_PER_S = 1024
USER = "musicbox"
# ffmpeg and ffprobe honour no_proxy even when told -http_proxy: an owner's `no_proxy=*` (or one
# naming the LAN) in the service's environment would let every child connect around the gate.
BYPASSES = ("no_proxy", "NO_PROXY")

Resolve = Callable[[str, int], Awaitable[Sequence[IpAddress]]]
Dial = Callable[[IpAddress, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


async def system_resolve(host: str, port: int) -> Sequence[IpAddress]:
    """Every address `host` resolves to ([] when it does not): the one lookup of a request."""
    address = literal(host)
    if address is not None:
        return [address]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found = (literal(str(info[4][0]).partition("%")[0]) for info in infos)  # drop an IPv6 zone
    return list(dict.fromkeys(address for address in found if address is not None))


async def open_connection(address: IpAddress, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(str(address), port, limit=CHUNK_BYTES)


@dataclass(eq=False)
class Job:
    """One extraction, probe or transcode: what the gate saw of its requests."""

    token: str
    proxy_url: str
    document: bool  # its connections are capped; media is bounded by ffmpeg instead
    refused: bool = False
    too_large: int = 0  # the cap a connection of it went over, in bytes
    dripping: str | None = None  # the upstream whose document arrived too slowly to be real
    cancelled: bool = False
    _open: dict[asyncio.WriteTransport, str] = field(default_factory=dict)

    @property
    def failure(self) -> str | None:
        """The sentence for the member when the gate stopped this job, else None."""
        if self.refused:
            return REFUSED
        if self.too_large:
            return TOO_LARGE.format(mb=self.too_large // 2**20)
        return None


def close_bypasses(environ: MutableMapping[str, str]) -> None:
    """Take the variables that route a child around the gate out of `environ` (every child inherits it)."""
    for name in BYPASSES:
        environ.pop(name, None)


class EgressGate:
    def __init__(
        self,
        allowed_hosts: Iterable[str] = (),
        *,
        resolve: Resolve = system_resolve,
        dial: Dial = open_connection,
        page_bytes: int = PAGE_BYTES,
        tunnel_bytes: int = TUNNEL_BYTES,
    ) -> None:
        self._allowed = tuple(allowed_hosts)
        self._resolve = resolve
        self._dial = dial
        self._page_bytes = page_bytes
        self._tunnel_bytes = tunnel_bytes
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._port = 0
        self._standing: Job | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def _started(self) -> int:
        """The proxy's port, starting it on first use: a bot that never resolves never runs it."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="egress-gate", daemon=True)
                thread.start()
                self._server = asyncio.run_coroutine_threadsafe(self._listen(), loop).result(timeout=10)
                self._port = self._server.sockets[0].getsockname()[1]
                self._loop, self._thread = loop, thread
                close_bypasses(os.environ)
            return self._port

    async def _listen(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=HEAD_BYTES)

    def close(self) -> None:
        with self._lock:
            loop, thread, server = self._loop, self._thread, self._server
            self._loop = None
        if loop is None or thread is None or server is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(server), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()

    async def _shutdown(self, server: asyncio.Server) -> None:
        server.close()
        for job in list(self._jobs.values()):
            _abort_all(job)
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    # -- jobs ------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def job(self, *, document: bool) -> Iterator[Job]:
        """A job for one extraction or probe (`document`: its responses are capped) whose token is
        valid until the block ends; then every connection it still has is cut."""
        job = self._new_job(document)
        try:
            yield job
        finally:
            with self._lock:
                self._jobs.pop(job.token, None)
            self.cancel(job)

    @property
    def proxy_url(self) -> str:
        """The standing proxy address, valid while the gate runs, for what is not one member's
        lookup: ffmpeg's transcodes and direct streams (bounded by ffmpeg's -t and -fs) and the
        Spotify client (whose API address is the owner's configuration)."""
        with self._lock:
            standing = self._standing
        if standing is None:
            standing = self._new_job(False)
            with self._lock:
                self._standing = standing
        return standing.proxy_url

    def _new_job(self, document: bool) -> Job:
        port = self._started()
        token = secrets.token_hex(12)
        job = Job(token, f"http://{USER}:{token}@127.0.0.1:{port}", document)
        with self._lock:
            self._jobs[token] = job
        return job

    def cancel(self, job: Job) -> list[str]:
        """Refuse the job anything more and cut what it has open; the upstreams it was still
        waiting on, by name, so their circuits (not an innocent one's) are charged."""
        job.cancelled = True
        waiting = sorted(set(dict(job._open).values()))  # a copy: the gate's thread changes it
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_abort_all, job)
        return waiting

    async def refuses(self, url: str) -> bool:
        """Whether the gate would refuse `url`'s first request: checked before starting yt-dlp, so a
        member hears at once. The gate checks again, with its own lookup, when yt-dlp asks."""
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return True
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return True
        destination = Destination(parts.hostname, port)
        return not permitted(destination, await self._resolve(destination.host, port), self._allowed)

    # -- the proxy -------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handle(reader, writer)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            writer.transport.abort()
        except asyncio.CancelledError:
            # The gate is closing. Ended, not re-raised: Python 3.11's start_server logs a cancelled
            # connection handler as an error with its traceback.
            writer.transport.abort()
        else:
            writer.close()  # what is still buffered for the client is sent first

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(HEAD_TIMEOUT_S):
            head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = [line for line in header_lines if line]
        job = self._job_of(headers)
        if job is None:
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="musicbox"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            return
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            destination = Destination(host.strip("[]"), int(port_text))
            upstream = upstream_of(f"https://{target}" if destination.port != 443 else f"https://{host}/")
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                raise ValueError("not an absolute http URL")
            destination = Destination(parts.hostname, parts.port or 80)
            upstream = upstream_of(target)
        connected = await self._connect(job, destination)
        if connected is None:
            writer.write(_refusal_response())
            await writer.drain()
            return
        upstream_reader, upstream_writer = connected
        try:
            if method.upper() == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream_writer.write(_origin_head(method, target, version, headers))
            await self._relay(
                job,
                upstream,
                (reader, writer),
                (upstream_reader, upstream_writer),
                plain=method.upper() != "CONNECT",
            )
        finally:
            upstream_writer.transport.abort()

    def _job_of(self, headers: Sequence[str]) -> Job | None:
        for line in headers:
            name, _, value = line.partition(":")
            if name.strip().lower() != "proxy-authorization":
                continue
            scheme, _, encoded = value.strip().partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                _, _, token = base64.b64decode(encoded.strip()).decode("latin-1").partition(":")
            except (binascii.Error, ValueError):
                return None
            with self._lock:
                return self._jobs.get(token)
        return None

    async def _connect(
        self, job: Job, destination: Destination
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """An open connection to an address judged for `destination`, or None when refused (the job
        is marked; nothing is ever connected to an address that was not judged)."""
        if job.cancelled:
            return None
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                addresses = await self._resolve(destination.host, destination.port)
        except TimeoutError:
            addresses = []  # a name that does not resolve in time is refused like one that does not
        if not permitted(destination, addresses, self._allowed):
            job.refused = True
            log.info(
                "egress refused %s (%s)", destination.spelled, ", ".join(map(str, addresses)) or "no address"
            )
            return None
        failure: BaseException | None = None
        for address in addresses:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    connected = await self._dial(address, destination.port)
            except (OSError, TimeoutError) as error:
                failure = error
                continue
            return connected
        raise failure or OSError("no address to connect to")

    async def _relay(
        self,
        job: Job,
        upstream: str,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        origin: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        *,
        plain: bool,
    ) -> None:
        """Copy both ways until the origin is done. `plain`: an http:// request, whose response
        head the gate can read (through a CONNECT tunnel it sees only ciphertext)."""
        (client_reader, client_writer), (upstream_reader, upstream_writer) = client, origin
        if job.cancelled:
            return
        job._open[client_writer.transport] = upstream
        job._open[upstream_writer.transport] = upstream
        # The request's body (if any) goes up while the response comes down; the response's end
        # (the origin closing, as asked) ends both.
        sending = asyncio.get_running_loop().create_task(
            _copy(_reads(client_reader), upstream_writer, None, job)
        )
        try:
            cap = (self._page_bytes if plain else self._tunnel_bytes) if job.document else None
            paced = plain and job.document
            if plain:
                head = await upstream_reader.readuntil(b"\r\n\r\n")
                if cap is not None and _declared_length(head) > cap and not _is_media(head):
                    # A document that says it is over the cap is cut before a byte of it is relayed.
                    job.too_large = cap
                    raise ConnectionAbortedError("document declared over the cap")
                client_writer.write(_closing(head))
            reads = _PacedReads(upstream_reader, job, upstream) if paced else _reads(upstream_reader)
            await _copy(reads, client_writer, cap, job)
        finally:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await sending
            job._open.pop(client_writer.transport, None)
            job._open.pop(upstream_writer.transport, None)


async def _copy(
    read: Callable[[], Awaitable[bytes]], sink: asyncio.StreamWriter, cap: int | None, job: Job
) -> None:
    copied = 0
    while chunk := await read():
        copied += len(chunk)
        if cap is not None and copied > cap:
            job.too_large = cap
            # Cut, not ended: a page cut short must read as broken, never as a shorter page.
            raise ConnectionAbortedError("document over the cap")
        sink.write(chunk)
        await sink.drain()


def _reads(source: asyncio.StreamReader) -> Callable[[], Awaitable[bytes]]:
    return functools.partial(source.read, CHUNK_BYTES)


class _PacedReads:
    """Reads of an http:// document, cut when it turns out to be a drip: past PACE_AFTER_S, less
    than PACE_BYTES_PER_S on average (checked at least once a second, also while nothing comes)."""

    def __init__(self, source: asyncio.StreamReader, job: Job, upstream: str) -> None:
        self._source = source
        self._job = job
        self._upstream = upstream
        self._started = asyncio.get_running_loop().time()
        self._received = 0

    async def __call__(self) -> bytes:
        loop = asyncio.get_running_loop()
        while True:
            waited = loop.time() - self._started
            try:
                async with asyncio.timeout(max(0.1, PACE_AFTER_S - waited) if waited < PACE_AFTER_S else 1.0):
                    chunk: bytes | None = await self._source.read(CHUNK_BYTES)
            except TimeoutError:
                chunk = None
            elapsed = loop.time() - self._started
            if elapsed >= PACE_AFTER_S and self._received < PACE_BYTES_PER_S * elapsed:
                self._job.dripping = self._upstream
                raise ConnectionAbortedError("document arriving too slowly")
            if chunk is not None:
                self._received += len(chunk)
                return chunk


def _closing(head: bytes) -> bytes:
    """The response head saying the connection closes after it, as it will: the client then never
    sends a second request down a connection the gate is about to close."""
    lines = head.split(b"\r\n")
    kept = [
        line
        for line in lines[1:]
        if line.partition(b":")[0].strip().lower() not in (b"connection", b"keep-alive")
    ]
    return b"\r\n".join([lines[0], *[line for line in kept if line], b"Connection: close", b"", b""])


def _is_media(head: bytes) -> bool:
    """A media file, which yt-dlp only looks at the head of (a 3-hour song declares 170 MB)."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-type":
            return value.strip().lower().startswith((b"audio/", b"video/"))
    return False


def _declared_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value)
    return 0


def _abort_all(job: Job) -> None:
    for transport in list(job._open):
        transport.abort()


def _refusal_response() -> bytes:
    body = (REFUSED + "\n").encode()
    return (
        b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\n".encode()
        + b"Connection: close\r\n\r\n"
        + body
    )


_HOP_BY_HOP = frozenset({"proxy-authorization", "proxy-connection", "connection", "keep-alive"})


def _origin_head(method: str, target: str, version: str, headers: Sequence[str]) -> bytes:
    """The request as the origin expects it: its path, no proxy headers, one request per connection
    (the gate then knows a response ended when the origin closes)."""
    parts = urlsplit(target)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kept = (line for line in headers if line.partition(":")[0].strip().lower() not in _HOP_BY_HOP)
    lines = itertools.chain([f"{method} {path} {version}"], kept, ["Connection: close", "", ""])
    return "\r\n".join(lines).encode("latin-1")
