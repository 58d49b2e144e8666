"""A listener in a process of its own: it reads the voice server's UDP socket, decrypts every packet
and notes when it came, for load benchmarks of hundreds of streams.

In the simulator's process, decrypting 12,500 packets a second (250 streams) would take most of a
core and share the GIL and the event loop with the simulated Discord: its own lag would look like
the bot's lateness. Apart, it has a core's worth of time to itself and the clock it reads
(`time.monotonic()`, the system's) is the simulator's. It answers nothing by itself: IP discovery
requests go back to the simulator, which decides who they are from, and it learns each session's
SSRC and key from the simulator when they are issued. It only times packets (no decoding: the
in-process listener, `Recording`, is what checks what a member heard).

The parent speaks JSON lines on the child's stdin and reads JSON lines from its stdout:
  {"session": [ssrc, guild_id, mode, key_hex]}      a session's key (again after every new key)
  {"report": [since, until, late_ms]}               -> {"guilds": {guild_id: [packets, late, timed]},
                                                         "undecryptable": n, "unknown": n}
  child -> parent: {"discovery": [ssrc, host, port]} an IP discovery request to answer
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from musicbox.sim.signature import SAMPLE_RATE
from musicbox.sim.voice import rtp
from musicbox.sim.voice.transport import discovery_ssrc

_MAX_DATAGRAM = 65_535
_DRAIN_BATCH = 256
# A packet's arrival is when the kernel queued it on the socket (SO_TIMESTAMPNS), not when this
# process got round to reading it: on a busy box the listener waits for a core too, and its wait
# made every guild's packets look late at once (docs/benchmarks.md, `bench pi`). Linux's values
# (asm-generic, so x86-64 and arm64 alike); the socket module does not name them.
_SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")  # struct timespec on a 64-bit kernel: seconds, nanoseconds
_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)


@dataclass(frozen=True, slots=True)
class Hearing:
    """One guild's packets: all that authenticated, and of those that arrived in the window asked
    about, how many (`timed`) and how many late."""

    packets: int
    late: int
    timed: int


@dataclass(slots=True)
class _Stream:
    guild_id: int
    mode: str
    key: bytes
    first_timestamp: int | None = None
    arrivals: list[float] = field(default_factory=list)
    # Each packet's arrival minus the time its RTP timestamp says it is for (see Recording).
    offsets: list[float] = field(default_factory=list)

    def hear(self, packet: rtp.RtpPacket, arrival: float) -> bool:
        try:
            rtp.open_payload(self.mode, self.key, packet)
        except rtp.DecryptionFailed:
            return False
        if self.first_timestamp is None:
            self.first_timestamp = packet.timestamp
        audio_s = ((packet.timestamp - self.first_timestamp) & 0xFFFFFFFF) / SAMPLE_RATE
        self.arrivals.append(arrival)
        self.offsets.append(arrival - audio_s)
        return True


def late_in_window(
    arrivals: list[float], offsets: list[float], since: float, until: float, late_ms: float
) -> tuple[int, int]:
    """(late, timed) among the packets that arrived in [since, until]: late ones came more than
    `late_ms` after their place in the stream, measured from the stream's most punctual packet."""
    if not offsets:
        return 0, 0
    punctual = min(offsets)
    late = timed = 0
    for arrival, offset in zip(arrivals, offsets, strict=True):
        if since <= arrival <= until:
            timed += 1
            late += (offset - punctual) * 1000 > late_ms
    return late, timed


def queued_at(ancillary: list[tuple[int, int, bytes]], wall_to_monotonic: float) -> float:
    """When the kernel queued the packet, on the monotonic clock (now, if it did not say)."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return float(seconds + nanoseconds / 1e9 + wall_to_monotonic)
    return time.monotonic()


class _Ear:
    """The child's state: every stream it was told of, and what it heard of each."""

    def __init__(self, udp: socket.socket, say: Callable[[dict[str, Any]], None]) -> None:
        self._udp = udp
        self._say = say
        self._streams: dict[int, _Stream] = {}
        self.undecryptable = 0
        self.unknown = 0

    def drain(self) -> None:
        # The kernel stamps packets on the wall clock; the window asked about is on the monotonic one.
        wall_to_monotonic = time.monotonic() - time.time()
        for _ in range(_DRAIN_BATCH):
            try:
                data, ancillary, _, addr = self._udp.recvmsg(_MAX_DATAGRAM, _ANCILLARY)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            self._datagram(data, addr, queued_at(ancillary, wall_to_monotonic))

    def _datagram(self, data: bytes, addr: tuple[str, int], arrival: float) -> None:
        ssrc = discovery_ssrc(data)
        if ssrc is not None:
            self._say({"discovery": [ssrc, str(addr[0]), int(addr[1])]})
            return
        packet = rtp.parse(data)
        stream = self._streams.get(packet.ssrc) if packet is not None else None
        if packet is None or stream is None:
            self.unknown += 1
        elif not stream.hear(packet, arrival):
            self.undecryptable += 1

    def command(self, message: dict[str, Any]) -> None:
        if "session" in message:
            ssrc, guild_id, mode, key = message["session"]
            self._streams[int(ssrc)] = _Stream(int(guild_id), str(mode), bytes.fromhex(key))
        elif "report" in message:
            since, until, late_ms = message["report"]
            self._say(self._report(float(since), float(until), float(late_ms)))

    def _report(self, since: float, until: float, late_ms: float) -> dict[str, Any]:
        guilds: dict[int, list[int]] = {}
        for stream in self._streams.values():
            late, timed = late_in_window(stream.arrivals, stream.offsets, since, until, late_ms)
            totals = guilds.setdefault(stream.guild_id, [0, 0, 0])
            totals[0] += len(stream.arrivals)
            totals[1] += late
            totals[2] += timed
        return {"guilds": guilds, "undecryptable": self.undecryptable, "unknown": self.unknown}


async def _listen(fd: int) -> None:
    udp = socket.socket(fileno=fd)
    udp.setblocking(False)
    udp.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    loop = asyncio.get_running_loop()
    stdout = sys.stdout.buffer

    def say(message: dict[str, Any]) -> None:
        stdout.write(json.dumps(message).encode() + b"\n")
        stdout.flush()

    ear = _Ear(udp, say)
    loop.add_reader(udp.fileno(), ear.drain)
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := await commands.readline():
        ear.command(json.loads(line))
    loop.remove_reader(udp.fileno())
    udp.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 0)
    udp.detach()  # the parent's socket: it reads it again


class ListenerApart:
    """The parent's handle on the child (see `VoiceServer.listener_apart`)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._reports: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    @property
    def pid(self) -> int:
        return self._process.pid

    def tell(self, message: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(message).encode() + b"\n")

    async def report(self, since: float, until: float, late_ms: float) -> dict[int, Hearing]:
        """What each guild's listener heard: all packets, and which of those in [since, until] were
        more than `late_ms` late."""
        self.tell({"report": [since, until, late_ms]})
        answer = await asyncio.wait_for(self._reports.get(), timeout=30)
        return {int(guild): Hearing(*totals) for guild, totals in answer["guilds"].items()}

    async def serve(self, on_discovery: Callable[[int, str, int], None]) -> None:
        assert self._process.stdout is not None
        while line := await self._process.stdout.readline():
            message = json.loads(line)
            if "discovery" in message:
                on_discovery(*message["discovery"])
            else:
                await self._reports.put(message)


@contextlib.asynccontextmanager
async def start_listener(
    udp: socket.socket, on_discovery: Callable[[int, str, int], None]
) -> AsyncIterator[ListenerApart]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from musicbox.sim.voice.listener import main; main(int(sys.argv[1]))",
        str(udp.fileno()),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        pass_fds=(udp.fileno(),),
    )
    listener = ListenerApart(process)
    serving = asyncio.get_running_loop().create_task(listener.serve(on_discovery))
    try:
        yield listener
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)


def main(fd: int) -> None:
    """The child's entry point: `fd` is the voice server's UDP socket, inherited."""
    asyncio.run(_listen(fd))
