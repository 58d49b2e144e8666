"""The `streams` scenario: many guilds hearing cached songs at once, all from one bot process.

One song is cached first; then every guild's member plays it at the same moment. While they all
play, the bot's CPU time is read (a cached stream runs no ffmpeg, so it is all the bot's own) and
every packet's arrival is held against its place in the stream: a packet more than LATE_MS behind
is one a listener's jitter buffer would have to stretch for."""

from __future__ import annotations

import asyncio
import time

import psutil

from musicbox.bench.figures import Figure, at_most
from musicbox.bench.rig import Room, rig, room, wait_heard_ms
from musicbox.bench.runner import BenchOptions
from musicbox.sim.signature import FRAME_MS, LADDER_SIZE

SONG = 500
LATE_MS = 60.0  # three frames: the gap target; a jitter buffer rides out less
SETTLE_S = 2.0  # after every stream started: connection set-up is not steady state


async def streams_scenario(options: BenchOptions) -> list[Figure]:
    count, song_s, window_s = (20, 15.0, 8.0) if options.quick else (100, 40.0, 20.0)
    rung = SONG % LADDER_SIZE
    async with rig() as world:
        rooms = [await room(world.sim, f"stream{n}") for n in range(count)]
        url = world.media.track_url(SONG, seconds=song_s)
        await rooms[0].play(url)  # the transcode that caches it, heard and decoded in full
        await wait_heard_ms(rooms[0].heard, rung, song_s * 1000 - 300, timeout_s=song_s + 30)
        transcodes = (await world.status())["cache"]["transcodes_started"]
        assert world.sim.voice is not None
        world.sim.voice.decode_audio = False  # from here on: decrypted and timed, not decoded

        async def listen(here: Room) -> None:
            await here.play(url)
            await _packets_at_least(here, 50)

        await asyncio.gather(*(listen(here) for here in rooms[1:]))
        await asyncio.sleep(SETTLE_S)
        cpu_before, started = _cpu_s(world.bot), time.monotonic()
        await asyncio.sleep(window_s)
        cpu_s, elapsed_s = _cpu_s(world.bot) - cpu_before, time.monotonic() - started
        playing = sum(1 for s in (await world.status())["voice_sessions"] if s.get("now_playing"))
        cached = (await world.status())["cache"]["transcodes_started"] == transcodes
        for here in rooms[1:]:
            await _packets_at_least(here, int(song_s * 1000 / FRAME_MS) - 15)
        late, total = _late(rooms[1:])
    streams = count - 1
    note = f"{streams} guilds playing one cached song; {total} packets"
    if playing < streams or not cached:
        raise RuntimeError(f"only {playing} of {streams} streams were playing, or one transcoded")
    return [
        Figure("streams", "concurrent streams", streams, "streams", note=note),
        Figure("streams", f"packets over {LATE_MS:g} ms late", 100 * late / total, "%", at_most(0.5), note),
        Figure("streams", "CPU per stream", 100 * cpu_s / elapsed_s / streams, "% of a core", note=note),
        Figure("streams", "CPU of the bot", 100 * cpu_s / elapsed_s, "% of a core", note=note),
    ]


async def _packets_at_least(here: Room, packets: int, timeout_s: float = 90.0) -> None:
    async with asyncio.timeout(timeout_s):
        while here.heard.packets < packets:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def _late(rooms: list[Room]) -> tuple[int, int]:
    late = total = 0
    for here in rooms:
        room_late, room_total = here.heard.late_packets(LATE_MS)
        late, total = late + room_late, total + room_total
    return late, total
