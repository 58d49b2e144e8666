"""Members steer what plays: skip, pause, queue pages, loop, seek, DJ role, settings, leave."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from musicbox.bot import text
from musicbox.playback.session import GuildSession
from musicbox.sim.discord import SeenMessage
from musicbox.sim.discord.world import MANAGE_GUILD
from tests.world.stage import reply_text, stage

SHORT = 2.0


def queued(message: SeenMessage) -> bool:
    """The /play answer once the playlist is in (not one of its "Resolving n/m…" progress edits)."""
    return message.text().startswith("Queued")


async def play(world: Any, member: Any, channel: Any, index: int, seconds: float = SHORT) -> None:
    asked = await member.run_command("play", channel, query=world.media.track_url(index, seconds=seconds))
    await asked.reply(timeout=20)


async def test_controls_on_an_empty_guild_say_what_to_do(world: Any) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        for command in ("queue", "now", "skip", "pause", "stop", "clear"):
            said, ephemeral = await reply_text(await home.alice.run_command(command, home.text))
            assert ephemeral and said in {text.QUEUE_EMPTY, text.NOTHING_PLAYING}, (command, said)


async def test_skip_moves_on_to_the_next_song(world: Any) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        await play(world, home.alice, home.text, 10, seconds=8)
        await play(world, home.alice, home.text, 11)
        await home.voice.heard().wait_for_rungs([10], timeout=20)
        said, ephemeral = await reply_text(await home.alice.run_command("skip", home.text))
        assert said.startswith("Skipped") and not ephemeral
        await home.voice.heard().wait_for_rungs([10, 11], timeout=20)


async def test_a_non_dj_votes_to_skip_and_only_present_listeners_count(world: Any) -> None:
    home = stage(world.sim)
    dave = home.guild.create_member("dave")
    async with world.bot(dj_role="DJ") as bot:
        for member in (home.alice, home.bob, dave):
            await member.join_voice(home.voice)
        await play(world, home.alice, home.text, 12, seconds=30)
        await play(world, home.alice, home.text, 13, seconds=4)
        await home.voice.heard().wait_for_rungs([12], timeout=20)
        for _ in range(2):  # the same member twice is one vote
            said, ephemeral = await reply_text(await home.bob.run_command("skip", home.text))
            assert said == text.vote_counted(1, 2) and not ephemeral  # half of three, rounded up
        session = bot.sessions.get(home.guild.id)
        assert session is not None and session.queue.current is not None
        assert "/media/12/" in session.queue.current.track.page_url  # not skipped yet
        await home.bob.leave_voice()  # his vote leaves with him: two listeners, one vote needed
        said, _ = await reply_text(await dave.run_command("skip", home.text))
        assert said.startswith("Skipped") and said.endswith("1 of 2 listeners voted.")
        await home.voice.heard().wait_for_rungs([12, 13], timeout=20)


async def test_a_member_alone_with_the_bot_may_skip_without_the_dj_role(world: Any) -> None:
    home = stage(world.sim)
    async with world.bot(dj_role="DJ"):
        await home.bob.join_voice(home.voice)
        await play(world, home.bob, home.text, 13, seconds=8)
        said, _ = await reply_text(await home.bob.run_command("skip", home.text))
        assert said.startswith("Skipped")


async def test_seek_past_the_end_is_refused(world: Any) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        await play(world, home.alice, home.text, 14, seconds=4)
        said, ephemeral = await reply_text(await home.alice.run_command("seek", home.text, position="10:00"))
        assert ephemeral and (said.startswith("That's past the end") or said == text.SEEK_UNKNOWN_LENGTH)


async def test_pause_resume_and_volume(world: Any) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        await play(world, home.alice, home.text, 15, seconds=8)
        assert (await reply_text(await home.alice.run_command("pause", home.text)))[0] == text.PAUSED
        said, ephemeral = await reply_text(await home.alice.run_command("pause", home.text))
        assert said == text.ALREADY_PAUSED and ephemeral
        assert (await reply_text(await home.alice.run_command("resume", home.text)))[0] == text.RESUMED
        heard = home.voice.heard()
        before_ms = heard.heard_ms(15)
        said, ephemeral = await reply_text(await home.alice.run_command("volume", home.text, percent=40))
        assert said == text.VOLUME_SET.format(volume=40) and not ephemeral
        async with asyncio.timeout(10):  # the song goes on (now through ffmpeg, which scales it)
            while heard.heard_ms(15) < before_ms + 500:  # noqa: ASYNC110
                await asyncio.sleep(0.05)


async def test_queue_pages_turn_with_buttons(world: Any) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        url = world.media.playlist_url(14, first_index=30, seconds=SHORT)
        await (await home.alice.run_command("play", home.text, query=url)).reply(queued, timeout=30)
        shown = await (await home.alice.run_command("queue", home.text)).reply(timeout=10)
        assert "Page 1/2" in shown.text()
        paged = await (await home.alice.press(shown, "queue:next")).reply(timeout=10)
        assert "Page 2/2" in paged.text()  # the pager edited its own message
        turned = await (await home.alice.run_command("queue", home.text)).reply(timeout=10)
        assert "Page 1/2" in turned.text()  # a fresh /queue starts on page one again


async def released_within(seconds: float, guild_id: int) -> bool:
    """Whether no GuildSession of the guild is left in memory within `seconds` (gc'd each look)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        gc.collect()
        if not any(isinstance(o, GuildSession) and o.guild_id == guild_id for o in gc.get_objects()):
            return True
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.05)


async def test_a_queue_pager_outliving_its_session_shows_an_empty_queue_and_holds_nothing(
    world: Any,
) -> None:
    """A pager stays clickable for minutes; after /leave it must neither show the old queue nor keep
    the guild's session (voice client, queue, tasks) alive in memory until it times out."""
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        url = world.media.playlist_url(14, first_index=30, seconds=SHORT)
        await (await home.alice.run_command("play", home.text, query=url)).reply(queued, timeout=30)
        shown = await (await home.alice.run_command("queue", home.text)).reply(timeout=10)
        await (await home.alice.run_command("leave", home.text)).reply(timeout=10)
        # /leave's handler holds the session until its reply's request returns, a moment after the
        # channel sees the reply (longer on a busy box); the pager must not hold it for minutes.
        assert await released_within(5.0, home.guild.id)
        paged = await (await home.alice.press(shown, "queue:next")).reply(timeout=10)
        assert paged.text() == text.QUEUE_EMPTY


async def test_remove_move_shuffle_clear_and_loop(world: Any) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        url = world.media.playlist_url(5, first_index=40, seconds=6)
        await (await home.alice.run_command("play", home.text, query=url)).reply(queued, timeout=30)
        run = home.alice.run_command
        assert (await reply_text(await run("remove", home.text, position=9)))[1] is True
        assert (await reply_text(await run("remove", home.text, position=1)))[0].startswith("Removed")
        assert (await reply_text(await run("move", home.text, source=3, destination=1)))[0].startswith(
            "Moved"
        )
        assert (await reply_text(await run("shuffle", home.text)))[0] == text.SHUFFLED.format(count=3)
        assert (await reply_text(await run("loop", home.text, mode="queue")))[0] == text.LOOP_SET.format(
            mode="queue"
        )
        assert (await reply_text(await run("clear", home.text)))[0] == text.CLEARED.format(count=3)


async def test_settings_persist_and_only_managers_change_them(world: Any) -> None:
    home = stage(world.sim)
    manager = home.guild.create_member(
        "carol", roles=[home.guild.create_role("Mods", permissions=MANAGE_GUILD)]
    )
    async with world.bot():
        said, ephemeral = await reply_text(
            await home.bob.run_command("settings", home.text, default_volume=50)
        )
        assert said == text.SETTINGS_NOT_ALLOWED and ephemeral
        said, _ = await reply_text(await manager.run_command("settings", home.text, max_queue=20))
        assert said.startswith("Settings saved") and "queue limit 20" in said
    async with world.bot():
        said, _ = await reply_text(await home.bob.run_command("settings", home.text))
        assert "queue limit 20" in said


async def test_leave_releases_the_guild(world: Any) -> None:
    home = stage(world.sim)
    async with world.bot() as bot:
        await home.alice.join_voice(home.voice)
        await play(world, home.alice, home.text, 16, seconds=8)
        said, _ = await reply_text(await home.alice.run_command("leave", home.text))
        assert said == text.LEFT
        assert bot.sessions.get(home.guild.id) is None
