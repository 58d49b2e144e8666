"""Members love songs and go back to them: ❤ on /now and /like fill their favourites, /favorites
pages and plays them, /history says who asked for what and when, /previous and /replay are heard.
One bot serves the whole story."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from musicbox.bot import text
from musicbox.core.autoplay import WINDOW
from musicbox.sim.discord.world import MANAGE_GUILD
from musicbox.sim.media import entry
from musicbox.sim.signature import LADDER_SIZE
from musicbox.store.history import Played
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
        for index, seconds in ((50, 1), (51, 2), (52, 30)):
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

        await asyncio.sleep(1.2)  # well into the second hearing of 51
        reply, private = await said(home.alice, home.text, "replay")
        assert not private and reply.startswith(f"Playing **{entry(51).title}") and "again" in reply
        await heard_after(home.voice, 52, after=time.monotonic())
        # Heard whole, whole again after /previous, 1.2 s and whole once more after /replay.
        assert home.voice.heard().heard_ms(51 % LADDER_SIZE) >= 2000 + 2000 + 700

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


async def test_autoplay_goes_on_from_the_servers_history_and_never_repeats_its_window(world: World) -> None:
    home = stage(world.sim)
    carol = home.guild.create_member(
        "carol", roles=[home.guild.create_role("Mods", permissions=MANAGE_GUILD)]
    )
    async with world.bot() as bot:
        # What this server heard yesterday, as /history keeps it.
        yesterday = time.time() - 24 * 3600
        heard_before = await bot.sources.resolve(
            world.media.playlist_url(6, kind="xspf", first_index=40, seconds=1)
        )
        for n, track in enumerate(heard_before):
            bot.history.record(home.guild.id, Played(track, home.alice.id, yesterday + n * 60))
        reply, _ = await said(carol, home.text, "settings", autoplay=True)
        assert "autoplay on" in reply

        await home.alice.join_voice(home.voice)
        asked = time.monotonic()
        song = world.media.track_url(46, seconds=1)
        await (await home.alice.run_command("play", home.text, query=song)).reply(timeout=20)
        await heard_after(home.voice, 46, after=asked)
        deadline = time.monotonic() + 30
        while len(after_46 := rungs_after(home.voice.heard().heard_rungs(), 46)) < 3:
            assert time.monotonic() < deadline, f"autoplay played {after_46}"
            await asyncio.sleep(0.1)
        # In the order heard: yesterday's six, the /play, three autoplayed; the window before each
        # autoplayed song is the WINDOW songs heard just before it.
        sequence = [40, 41, 42, 43, 44, 45, 46, *after_46[:3]]
        for position in range(7, 10):
            window = sequence[position - WINDOW : position]
            assert sequence[position] in range(40, 46) and sequence[position] not in window, sequence

        await said(home.alice, home.text, "stop")  # /stop means stop: autoplay waits for the next /play
        stopped_at = len(home.voice.heard().heard_rungs())
        await asyncio.sleep(2.5)
        assert len(home.voice.heard().heard_rungs()) <= stopped_at + 1


def rungs_after(rungs: list[int], index: int) -> list[int]:
    """The songs heard after the last hearing of song `index`."""
    last = len(rungs) - 1 - rungs[::-1].index(index % LADDER_SIZE)
    return rungs[last + 1 :]


async def test_a_server_keeps_the_bot_to_chosen_channels(world: World) -> None:
    home = stage(world.sim)
    carol = home.guild.create_member(
        "carol", roles=[home.guild.create_role("Mods", permissions=MANAGE_GUILD)]
    )
    chat = home.guild.create_text_channel("chat")
    stage_room = home.guild.create_voice_channel("Stage")
    async with world.bot():
        reply, _ = await said(
            carol, home.text, "settings", only_text_channel=home.text, only_voice_channel=stage_room
        )
        assert f"commands in <#{home.text.id}>" in reply and f"plays in <#{stage_room.id}>" in reply
        reply, private = await said(home.alice, chat, "queue")
        assert private and reply == text.ONLY_IN_TEXT.format(channel=home.text.id)
        await home.alice.join_voice(home.voice)
        reply, private = await said(home.alice, home.text, "play", query=world.media.track_url(47, seconds=1))
        assert private and reply == text.ONLY_IN_VOICE.format(channel=stage_room.id)
        reply, _ = await said(carol, chat, "settings", any_channel=True)  # /settings works anywhere
        assert "commands in any channel" in reply and "plays in any voice channel" in reply
        reply, private = await said(home.alice, chat, "queue")
        assert private and reply == text.QUEUE_EMPTY


async def test_in_24_7_mode_the_bot_stays_alone_and_idle_and_comes_back_after_a_restart(world: World) -> None:
    home = stage(world.sim)
    carol = home.guild.create_member(
        "carol", roles=[home.guild.create_role("Mods", permissions=MANAGE_GUILD)]
    )
    async with world.bot(idle_timeout_s=1) as bot:
        assert bot.user is not None
        bot_id = bot.user.id
        reply, private = await said(carol, home.text, "settings", stay_in_voice=True)
        assert private and reply == text.STAY_NEEDS_VOICE  # in no voice channel: nowhere to stay
        await home.alice.join_voice(home.voice)
        await (
            await home.alice.run_command("play", home.text, query=world.media.track_url(48, seconds=1))
        ).reply()
        reply, _ = await said(carol, home.text, "settings", stay_in_voice=True)
        assert f"24/7 in <#{home.voice.id}>" in reply
        await home.alice.leave_voice()
        await asyncio.sleep(3.5)  # idle and alone for over three idle timeouts
        assert home.voice.member_ids == [bot_id]
    assert bot_id not in home.voice.member_ids  # stopped
    async with world.bot(idle_timeout_s=1):
        deadline = time.monotonic() + 15
        while bot_id not in home.voice.member_ids:  # back, though nobody listens
            assert time.monotonic() < deadline, "the bot did not come back to its 24/7 channel"
            await asyncio.sleep(0.1)
        await home.alice.join_voice(home.voice)
        dead = world.media.track_url(49, fault="not_found")
        reply, private = await said(home.alice, home.text, "play", query=dead)
        assert private and reply.startswith("I couldn't play")
        await asyncio.sleep(0.5)
        assert bot_id in home.voice.member_ids  # a failed /play is no reason to leave a 24/7 channel
        reply, _ = await said(carol, home.text, "settings", stay_in_voice=False)
        assert "24/7 off" in reply
