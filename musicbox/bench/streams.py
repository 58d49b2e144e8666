"""The `streams` scenario: many guilds hearing cached songs at once, all from one bot process.

One song is cached first; then every guild's member plays it. The bot joins their voice channels
at the pace Discord's gateway allows (about 50 a minute once many are open), so the song is long
enough to be still playing in the first guild when the last one joins. Once all play, the bot's CPU
time is read over a window (a cached stream runs no ffmpeg, so it is all the bot's own) and every
packet that arrived in the window is held against its place in the stream: a packet more than
LATE_MS behind is one a listener's jitter buffer would have to stretch for.

The listener (decrypting and timing every packet) runs in a process of its own, neither the bot's
nor the simulator's (sim/voice/listener.py): at 250 streams it decrypts 12,500 packets a second,
and sharing a process would bill that to the one it shares and take its lag for the bot's."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import aiohttp
import psutil

from musicbox.bench.figures import Figure, at_most
from musicbox.bench.rig import REPLY_TIMEOUT_S, Rig, rig, room, wait_heard_ms
from musicbox.bench.runner import BenchOptions
from musicbox.core.gateway_budget import GatewayBudget, next_join_at
from musicbox.sim.discord.seen import Interaction
from musicbox.sim.signature import LADDER_SIZE
from musicbox.sim.voice.listener import Hearing, ListenerApart

SONG = 500
COULD_NOT_JOIN = "couldn't join"  # what the bot tells a member whose voice join timed out
MAX_ASKED_AGAIN = 20
STREAMS, QUICK_STREAMS = 250, 20
WINDOW_S, QUICK_WINDOW_S = 20.0, 6.0
LATE_MS = 60.0  # three frames: the gap target; a jitter buffer rides out less
SETTLE_S = 2.0  # after every stream started: connection set-up is not steady state
STARTED_PACKETS = 50  # a second of a guild's song heard: it plays
MARGIN_S = 90.0  # of song left after the window: a slow start must not end songs inside it


Replay = Callable[[int], Awaitable[Interaction]]


def last_join_s(joins: int, budget: GatewayBudget) -> float:
    """When the last of `joins` voice joins made at once goes out, paced as the bot paces them
    (core/gateway_budget.py), counting the caching guild's join and leave before them."""
    sent = [0.0, 0.0]
    for opened in range(1, joins + 1):
        sent.append(next_join_at(sent, 0.0, open_sessions=opened, budget=budget))
    return sent[-1]


async def streams_scenario(options: BenchOptions) -> list[Figure]:
    streams, window_s = (QUICK_STREAMS, QUICK_WINDOW_S) if options.quick else (STREAMS, WINDOW_S)
    joining_s = last_join_s(streams, GatewayBudget())  # the bot's own
    song_s = joining_s + SETTLE_S + window_s + MARGIN_S
    # The cap is the owner's (or the tuner's) choice; this measures what one process can send.
    async with rig(max_guilds=streams + 1) as world:
        rooms = [await room(world.sim, f"stream{n}") for n in range(streams + 1)]
        first, rest = rooms[0], rooms[1:]
        url = world.media.track_url(SONG, seconds=song_s)
        await _made(url)
        await first.play(url)  # the transcode that caches it, heard decoded: what plays is the song
        await wait_heard_ms(first.heard, SONG % LADDER_SIZE, 1000, timeout_s=120)
        await _cached(world, song_s)
        await (await first.member.run_command("leave", first.text)).reply(timeout=REPLY_TIMEOUT_S)
        transcodes = (await world.status())["cache"]["transcodes_started"]
        assert world.sim.voice is not None
        async with world.sim.voice.listener_apart() as listener:
            listener_process = psutil.Process(listener.pid)
            by_guild = {here.guild_id: here for here in rest}

            async def replay(guild: int) -> Interaction:
                here = by_guild[guild]
                return await here.member.run_command("play", here.text, query=url)

            asked = {guild: await replay(guild) for guild in by_guild}
            asked_again = await _all_playing(listener, asked, replay, joining_s + 120)
            await asyncio.sleep(SETTLE_S)
            load_before = os.getloadavg()[0]
            cpu_before, listener_before = _cpu_s(world.bot), _cpu_s(listener_process)
            since = time.monotonic()
            await asyncio.sleep(window_s)
            until = time.monotonic()
            cpu_s = _cpu_s(world.bot) - cpu_before
            listener_s = _cpu_s(listener_process) - listener_before
            load = max(load_before, os.getloadavg()[0])
            status = await world.status()
            await asyncio.sleep(1.0)  # for the window's last packets, late ones included
            heard = await listener.report(since, until, LATE_MS)
    playing = sum(1 for s in status["voice_sessions"] if s.get("now_playing"))
    if playing < streams or status["cache"]["transcodes_started"] != transcodes:
        raise RuntimeError(f"only {playing} of {streams} streams were playing, or one transcoded")
    late = sum(heard[here.guild_id].late for here in rest)
    timed = sum(heard[here.guild_id].timed for here in rest)
    elapsed_s = until - since
    note = (
        f"{streams} guilds playing one cached song; {timed} packets in {elapsed_s:.0f} s; "
        f"{asked_again} members asked again after 'couldn't join'"
    )
    return [
        Figure("streams", "concurrent streams", streams, "streams", note=note),
        Figure("streams", f"packets over {LATE_MS:g} ms late", 100 * late / timed, "%", at_most(0.5), note),
        Figure("streams", "CPU per stream", 100 * cpu_s / elapsed_s / streams, "% of a core", note=note),
        Figure("streams", "CPU of the bot", 100 * cpu_s / elapsed_s, "% of a core", note=note),
        Figure("streams", "CPU of the listener", 100 * listener_s / elapsed_s, "% of a core", note=note),
        Figure("streams", "box load (1 min)", load, "runnable", note="other work on the box meanwhile"),
    ]


async def _made(url: str) -> None:
    """The media world makes a song's file on its first request: minutes of it take longer than
    the bot waits for a site to answer, on a busy box."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, timeout=aiohttp.ClientTimeout(total=300)) as got,
    ):
        got.raise_for_status()
        await got.read()


async def _cached(world: Rig, song_s: float) -> None:
    """Until the song's transcode is in the cache (it runs at many times real time)."""
    async with asyncio.timeout(30 + song_s / 10):
        while not (await world.status())["cache"]["songs"]:  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def _all_playing(
    listener: ListenerApart, asked: dict[int, Interaction], replay: Replay, timeout_s: float
) -> int:
    """Until every guild hears its song; a member told the bot could not join (its connection timed
    out on a busy box) asks again, as told. Returns how many asked again."""
    deadline, nothing, again = time.monotonic() + timeout_s, Hearing(0, 0, 0), 0
    while True:
        heard = await listener.report(0.0, 0.0, LATE_MS)
        silent = [guild for guild in asked if heard.get(guild, nothing).packets < STARTED_PACKETS]
        if not silent:
            return again
        for guild in silent:
            if again < MAX_ASKED_AGAIN and COULD_NOT_JOIN in _last_words(asked[guild]):
                asked[guild] = await replay(guild)
                again += 1
        if time.monotonic() > deadline:
            told = Counter(_last_words(asked[guild]) for guild in silent)
            raise TimeoutError(
                f"{len(silent)} of {len(asked)} guilds heard nothing in {timeout_s:.0f} s; their "
                f"members were told: {'; '.join(f'{n} x {text!r}' for text, n in told.most_common(3))}"
            )
        await asyncio.sleep(0.5)


def _last_words(interaction: Interaction) -> str:
    messages = interaction.messages
    return messages[-1].content[:120] if messages else "(nothing)"


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system
