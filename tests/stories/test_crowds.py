"""Many members at once: nobody waits past Discord's 3 s, each member's songs play in the order they
asked, and 200 join/play/leave cycles leave no task, session or voice connection behind.

Through discord.py's real interaction code with a fast-forward voice (see recording_discord.py);
the same stories against the simulator's decoded audio wait for the simulator."""

from __future__ import annotations

import asyncio
import gc
import os
import random
from collections.abc import Callable
from pathlib import Path

import psutil

from musicbox.playback.session import GuildSession
from tests.stories.recording_discord import GUILD_ID, RecordingDiscord, Reply, TextWorld, start_world

MEMBERS = range(100, 120)  # 20 members
PLAYS_PER_MEMBER = 10  # 200 /play


async def test_200_plays_from_20_members_are_acknowledged_in_time_and_played_in_their_order(
    tmp_path: Path,
) -> None:
    fake = RecordingDiscord()
    await fake.start()
    # Every resolve takes a quarter second, as a warm yt-dlp does on a small box.
    world = await start_world(fake, tmp_path, resolve_delay_s=0.25)
    voice = world.seat_bot()
    voice.seconds = 0.002
    for who in MEMBERS:
        world.joins_voice(who)

    async def member_plays(who: int) -> list[Reply]:
        replies = []
        await asyncio.sleep(random.Random(who).uniform(0, 0.05))
        for n in range(PLAYS_PER_MEMBER):
            reply = world.send(who, "play", query=f"m{who}-song{n}")
            await asyncio.wait_for(reply.done.wait(), timeout=30)
            replies.append(reply)
        return replies

    replies = [r for batch in await asyncio.gather(*(member_plays(who) for who in MEMBERS)) for r in batch]
    latencies = sorted(r.ack_latency_s or 99.0 for r in replies)
    print(f"\n200 /play: slowest acknowledgement {latencies[-1] * 1000:.0f} ms")
    assert len(replies) == 200 and latencies[-1] < 3.0
    assert all(not r.final()[1] for r in replies), "no /play failed"

    await _until(lambda: len(voice.played) == 200)
    for who in MEMBERS:
        mine = [key for key in voice.played if key.startswith(f"m{who}-")]
        assert mine == [f"m{who}-song{n}" for n in range(PLAYS_PER_MEMBER)]
    await world.bot.close()
    await fake.aclose()


async def test_200_join_play_leave_cycles_leave_nothing_behind(tmp_path: Path) -> None:
    fake = RecordingDiscord()
    await fake.start()
    world = await start_world(fake, tmp_path)
    process = psutil.Process(os.getpid())
    voices = [world.seat_bot()]
    await _play_and_leave(world, 0)  # warm up before measuring
    gc.collect()
    rss_before = process.memory_info().rss
    for n in range(1, 201):
        voices.append(world.seat_bot())
        await _play_and_leave(world, n)
    gc.collect()
    rss_after = process.memory_info().rss
    print(f"\n200 join/play/leave cycles: RSS {(rss_after - rss_before) / 2**20:+.1f} MiB")
    guild_tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith(f"guild-{GUILD_ID}-")]
    assert guild_tasks == []
    assert len(world.bot.sessions) == 0
    assert [o for o in gc.get_objects() if isinstance(o, GuildSession)] == []
    assert all(v.disconnected and not v.is_playing() for v in voices)
    await world.bot.close()
    await fake.aclose()


async def _play_and_leave(world: TextWorld, n: int) -> None:
    said, _ = await world.run(11, "play", query=f"song{n}")
    assert said.startswith("Playing"), said
    said, _ = await world.run(11, "leave")
    assert said.startswith("Left"), said


async def _until(condition: Callable[[], bool], within_s: float = 20) -> None:
    for _ in range(int(within_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never happened")
