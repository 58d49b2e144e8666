"""Faults in the middle of a song: what the listener hears and what is left of the queue."""

from __future__ import annotations

import asyncio

from musicbox.bot import text
from musicbox.sim.media import entry
from musicbox.sim.voice import Recording
from tests.world.fixture import World
from tests.world.stage import reply_text, stage


async def heard_for(recording: Recording, rung: int, ms: int, within_s: float = 20) -> None:
    for _ in range(int(within_s / 0.02)):
        if recording.heard_ms(rung) >= ms:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"rung {rung} heard {recording.heard_ms(rung)} ms, wanted {ms}")


async def test_a_dropped_gateway_does_not_interrupt_the_song_and_commands_work_after(world: World) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        await (
            await home.alice.run_command("play", home.text, query=world.media.track_url(20, seconds=4))
        ).reply()
        await (
            await home.alice.run_command("play", home.text, query=world.media.track_url(21, seconds=1.5))
        ).reply()
        heard = home.voice.heard()
        await heard_for(heard, 20, 1000)
        await world.sim.drop_gateway()
        await heard.wait_for_rungs([20, 21], timeout=20)
        await heard_for(heard, 21, 1400)
        said, _ = await reply_text(await home.alice.run_command("queue", home.text))
        assert said == text.QUEUE_EMPTY or entry(21).title in said
    assert world.sim.gateway.resumes == 1
    assert 3800 <= heard.heard_ms(20) <= 4200, heard.heard_ms(20)
    assert max(heard.arrival_gaps_ms()[60:150]) < 200  # the drop at ~1 s cost the listener nothing


async def test_a_voice_outage_loses_only_the_outage_and_the_queue_plays_on(world: World) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        await (
            await home.alice.run_command("play", home.text, query=world.media.track_url(22, seconds=4))
        ).reply()
        await (
            await home.alice.run_command("play", home.text, query=world.media.track_url(23, seconds=1.5))
        ).reply()
        heard = home.voice.heard()
        await heard_for(heard, 22, 600)
        world.sim.voice.blackhole_udp(home.guild.id, 1.5)  # type: ignore[union-attr]
        await heard.wait_for_rungs([22, 23], timeout=20)
        await heard_for(heard, 23, 1400)
    # The track went on while nobody heard it: not restarted, not stalled.
    assert 2200 <= heard.heard_ms(22) <= 2800, heard.heard_ms(22)
    assert heard.blackholed >= 60
    assert 1300 <= heard.heard_ms(23) <= 1700
