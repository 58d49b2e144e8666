"""What members read when things go right and wrong: duplicates, bad links, dead and non-audio
media, playlists with progress and over the limit, /search picks, /now buttons, a bot without voice
permission, a full box, long titles, leaving an empty channel, and suggestions while typing.
The real bot, the simulator's Discord and the yt-dlp source over the media world."""

from __future__ import annotations

import asyncio

from musicbox.bot import text
from musicbox.sim.discord import SeenMessage
from musicbox.sim.discord.world import CONNECT, SPEAK
from musicbox.sim.media import entry
from musicbox.sim.signature import LADDER_SIZE
from tests.world.fixture import World
from tests.world.stage import reply_text, stage


def rung(index: int) -> int:
    """The tone a listener hears for catalog song `index` (the ladder repeats every LADDER_SIZE)."""
    return index % LADDER_SIZE


def queued(message: SeenMessage) -> bool:
    return message.text().startswith("Queued")


async def test_the_same_song_twice_is_refused_only_to_the_member(world: World) -> None:
    home = stage(world.sim)
    song = world.media.track_url(60, seconds=8)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        await (await home.alice.run_command("play", home.text, query=song)).reply(timeout=20)
        again = await home.alice.run_command("play", home.text, query=song)
        said, private = await reply_text(again)
        assert private and said == f"“{entry(60).title}” is already in the queue; add a different song."
        async with asyncio.timeout(5):  # the public "thinking" placeholder goes right after the error
            while not all(m.ephemeral for m in again.messages):  # noqa: ASYNC110
                await asyncio.sleep(0.02)


async def test_bad_dead_and_non_audio_links_each_get_one_private_sentence(world: World) -> None:
    home = stage(world.sim)
    cases = {
        "ftp://127.0.0.1/song.mp3": "ftp:// links are not played",
        world.media.track_url(61, fault="not_found"): "the link leads nowhere (404 Not Found)",
        world.media.track_url(62, fault="not_audio"): "the link is not audio",
        world.media.track_url(63, fault="server_error"): "the site is failing right now",
    }
    async with world.bot():
        await home.alice.join_voice(home.voice)
        for query, expected in cases.items():
            said, private = await reply_text(await home.alice.run_command("play", home.text, query=query))
            assert private and expected in said, (query, said)
            assert "Traceback" not in said and "\n" not in said


async def test_a_playlist_reports_progress_then_what_it_queued(world: World) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        url = world.media.playlist_url(3, kind="xspf", first_index=64, seconds=2)
        asked = await home.alice.run_command("play", home.text, query=url)
        done = await asked.reply(queued, timeout=30)
        assert done.text() == text.queued_many(3, 0) and not done.ephemeral
        await home.voice.heard().wait_for_rungs([rung(64), rung(65), rung(66)], timeout=30)


async def test_a_playlist_over_the_limit_is_refused(world: World) -> None:
    home = stage(world.sim)
    async with world.bot(max_playlist=5):
        await home.alice.join_voice(home.voice)
        url = world.media.playlist_url(6, kind="xspf", first_index=70, seconds=2)
        said, private = await reply_text(await home.alice.run_command("play", home.text, query=url))
        assert private and said == text.PLAYLIST_TOO_LONG.format(count=6, limit=5)


async def test_search_offers_five_and_a_pick_plays(world: World) -> None:
    home = stage(world.sim)
    words = entry(80).artist
    async with world.bot():
        await home.alice.join_voice(home.voice)
        offered = await (await home.alice.run_command("search", home.text, query=words)).reply(timeout=20)
        assert not offered.ephemeral and offered.text().count("\n") >= 5
        picked = await home.alice.press(offered, "search:1")
        said = await picked.reply(timeout=20)
        assert said.text().startswith("Playing")


async def test_now_shows_the_song_and_its_skip_button_skips(world: World) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        for index in (81, 82):
            song = world.media.track_url(index, seconds=8)
            await (await home.alice.run_command("play", home.text, query=song)).reply(timeout=20)
        await home.voice.heard().wait_for_rungs([rung(81)], timeout=20)
        now = await (await home.alice.run_command("now", home.text)).reply(timeout=20)
        assert now.text().startswith(f"Playing **{entry(81).title}") and "loop off" in now.text()
        pressed = await (await home.alice.press(now, "now:skip")).reply(timeout=20)
        assert pressed.text().startswith("Skipped")
        await home.voice.heard().wait_for_rungs([rung(81), rung(82)], timeout=20)


async def test_now_buttons_hold_nothing_per_message_and_work_after_a_restart(world: World) -> None:
    """A busy server sends /now all day: its buttons must not each keep an object and a timeout task
    in the bot, and a /now message from before a restart still pauses the song."""
    home = stage(world.sim)
    async with world.bot() as bot:
        await home.alice.join_voice(home.voice)
        song = world.media.track_url(83, seconds=20)
        await (await home.alice.run_command("play", home.text, query=song)).reply(timeout=20)
        await home.voice.heard().wait_for_rungs([rung(83)], timeout=20)
        tasks_before = len(asyncio.all_tasks())
        shown = [await (await home.alice.run_command("now", home.text)).reply(timeout=20) for _ in range(5)]
        assert len(asyncio.all_tasks()) <= tasks_before
        assert bot._connection._view_store.persistent_views == []  # no view kept for any message
    heard_before = home.voice.heard().heard_ms(rung(83))
    async with world.bot():  # restarted: the queue resumes, the old message's buttons still work
        async with asyncio.timeout(20):
            while home.voice.heard().heard_ms(rung(83)) < heard_before + 500:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        pressed = await (await home.alice.press(shown[0], "now:pause")).reply(timeout=20)
        assert pressed.text() == text.PAUSED


async def test_a_bot_that_may_not_connect_says_so_and_who_can_fix_it(world: World) -> None:
    home = stage(world.sim)
    home.guild.deny_bot(home.voice, CONNECT | SPEAK)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        said, private = await reply_text(
            await home.alice.run_command("play", home.text, query=world.media.track_url(83))
        )
        assert private and said == text.BOT_LACKS_PERMISSION.format(channel=home.voice.name)


async def test_a_full_box_turns_a_new_guild_away_politely(world: World) -> None:
    first, second = stage(world.sim, "first"), stage(world.sim, "second")
    async with world.bot(max_guilds=1):
        await first.alice.join_voice(first.voice)
        song = world.media.track_url(84, seconds=8)
        await (await first.alice.run_command("play", first.text, query=song)).reply(timeout=20)
        await second.alice.join_voice(second.voice)
        said, private = await reply_text(
            await second.alice.run_command("play", second.text, query=world.media.track_url(85))
        )
        assert private and said == text.TOO_MANY_GUILDS


async def test_a_queue_of_very_long_titles_still_fits_one_discord_message(world: World) -> None:
    home = stage(world.sim)
    async with world.bot():
        await home.alice.join_voice(home.voice)
        url = world.media.playlist_url(12, kind="html", first_index=90, seconds=30)
        await (await home.alice.run_command("play", home.text, query=url)).reply(queued, timeout=30)
        shown = await (await home.alice.run_command("queue", home.text)).reply(timeout=20)
        # The simulator rejects any message over Discord's 2,000 characters, so reaching here is the check.
        assert "Page 1/2" in shown.text() and len(shown.text()) <= 2000


async def test_the_bot_stays_while_someone_listens_and_leaves_an_empty_channel(world: World) -> None:
    home = stage(world.sim)
    async with world.bot(idle_timeout_s=1) as bot:
        await home.alice.join_voice(home.voice)
        song = world.media.track_url(95, seconds=30)
        await (await home.alice.run_command("play", home.text, query=song)).reply(timeout=20)
        await asyncio.sleep(2.0)
        assert bot.sessions.get(home.guild.id) is not None, "left while Alice was listening"
        await home.alice.leave_voice()
        # The session closes first, then its voice disconnect reaches Discord: wait for both.
        async with asyncio.timeout(10):
            while (  # noqa: ASYNC110
                bot.sessions.get(home.guild.id) is not None or world.sim.bot_user_id in home.voice.member_ids
            ):
                await asyncio.sleep(0.05)


async def test_typing_search_words_offers_results_and_links_offer_nothing(world: World) -> None:
    home = stage(world.sim)
    words = entry(96).title
    async with world.bot():
        offered = await home.alice.autocomplete("play", "query", words, home.text)
        if not offered:  # a busy box: the search outlasted Discord's wait; it is found by the next key
            await asyncio.sleep(2)
            offered = await home.alice.autocomplete("play", "query", f"{words} ", home.text)
        assert offered and any(entry(96).title in choice["name"] for choice in offered)
        assert all(choice["value"].startswith(world.media.base_url) for choice in offered)
        assert await home.alice.autocomplete("play", "query", world.media.track_url(96), home.text) == []
