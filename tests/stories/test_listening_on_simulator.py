"""Members love songs and go back to them: ❤ on /now and /like fill their favourites, /favorites
pages and plays them, /history says who asked for what and when, /previous and /replay are heard.
One bot serves the whole story."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from musicbox.bot import text
from musicbox.sim.media import entry
from musicbox.sim.signature import LADDER_SIZE
from tests.world.fixture import World
from tests.world.stage import reply_text, stage


async def said(member: Any, channel: Any, command: str, **options: object) -> tuple[str, bool]:
    return await reply_text(await member.run_command(command, channel, **options))


async def heard_after(voice: Any, index: int, after: float, within_s: float = 30) -> float:
    deadline = time.monotonic() + within_s
    while (at := voice.heard().first_heard_at(index % LADDER_SIZE, after=after)) is None:
        assert time.monotonic() < deadline, f"song {index} was not heard within {within_s} s"
        await asyncio.sleep(0.05)
    return float(at)


def song_in(line: str) -> int:
    """Which of the story's songs a line names."""
    (index,) = [i for i in (50, 51, 52) if entry(i).title in line]
    return index


async def test_favourites_history_previous_and_replay(world: World) -> None:
    home = stage(world.sim)
    async with world.bot():
        reply, private = await said(home.alice, home.text, "history")
        assert private and reply == text.NO_HISTORY
        await home.alice.join_voice(home.voice)
        await home.bob.join_voice(home.voice)
        for index, seconds in ((50, 2), (51, 3), (52, 30)):
            song = world.media.track_url(index, seconds=seconds)
            await (await home.alice.run_command("play", home.text, query=song)).reply(timeout=20)
        await heard_after(home.voice, 52, after=0)
        reply, private = await said(home.bob, home.text, "replay")
        assert not private and reply.startswith(f"Playing **{entry(52).title}") and "again" in reply

        now = await (await home.alice.run_command("now", home.text)).reply(timeout=20)
        assert [b.custom_id for b in now.buttons] == ["now:pause", "now:skip", "now:loop", "now:like"]
        pressed = await home.alice.press(now, "now:like")
        reply, private = await reply_text(pressed)
        assert private and reply.startswith(f"Added **{entry(52).title}") and "favourites" in reply
        reply, private = await said(home.alice, home.text, "like")
        assert private and reply.endswith("is in your favourites already.")

        asked = time.monotonic()
        reply, private = await said(home.alice, home.text, "previous")
        assert not private and reply.startswith(f"Going back to **{entry(51).title}")
        await heard_after(home.voice, 51, after=asked)
        reply, _ = await said(home.alice, home.text, "like")
        assert reply.startswith(f"Added **{entry(51).title}")

        await asyncio.sleep(1.5)  # well into the second hearing of 51
        reply, private = await said(home.alice, home.text, "replay")
        assert not private and reply.startswith(f"Playing **{entry(51).title}") and "again" in reply
        await heard_after(home.voice, 52, after=time.monotonic())
        # Heard whole, whole again after /previous, 1.5 s and whole once more after /replay.
        assert home.voice.heard().heard_ms(51 % LADDER_SIZE) >= 3000 + 3000 + 1000

        shown, private = await said(home.bob, home.text, "history")
        lines = shown.splitlines()[1:]
        # Newest first; each start from the beginning counts (the replays too), a seek would not.
        assert not private and [song_in(line) for line in lines] == [52, 51, 51, 52, 52, 51, 50]
        assert all(f"asked by <@{home.alice.id}>" in line and "<t:" in line for line in lines)

        reply, private = await said(home.bob, home.text, "favorites")
        assert private and reply == text.NO_FAVORITES
        reply, private = await said(home.alice, home.text, "favorites")
        assert private and [song_in(line) for line in reply.splitlines()[1:3]] == [52, 51]
        await said(home.alice, home.text, "leave")

        asked = time.monotonic()
        reply, private = await said(home.alice, home.text, "favorites", play=True)
        assert not private and reply == text.queued_many(2, 0)
        await heard_after(home.voice, 52, after=asked)
        reply, private = await said(home.alice, home.text, "previous")
        assert private and reply == text.NOTHING_BEFORE
