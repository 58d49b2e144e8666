"""The Opus cache as members meet it: a song played a second time starts from the cache with no
ffmpeg process at all, and the channel hears all of it both times."""

from __future__ import annotations

import asyncio

import psutil

from musicbox.bot.client import MusicBot
from tests.world.fixture import World
from tests.world.stage import stage

SONG_S = 2.0


def ffmpeg_children() -> list[psutil.Process]:
    return [child for child in psutil.Process().children(recursive=True) if child.name() == "ffmpeg"]


def idle(bot: MusicBot, guild_id: int) -> bool:
    session = bot.sessions.get(guild_id)
    return session is not None and session.queue.current is None and not ffmpeg_children()


async def test_a_song_played_again_comes_from_the_cache_without_ffmpeg(world: World) -> None:
    home = stage(world.sim)
    song = world.media.track_url(21, seconds=SONG_S)
    async with world.bot() as bot:
        await home.alice.join_voice(home.voice)
        await (await home.alice.run_command("play", home.text, query=song)).reply()
        heard = home.voice.heard()
        await heard.wait_for_rungs([21], timeout=20)
        async with asyncio.timeout(20):
            # Until the song is over for the bot too (a song still playing counts as queued).
            while heard.heard_ms(21) < SONG_S * 1000 - 100 or not idle(bot, home.guild.id):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        assert ffmpeg_children() == []
        first_time_ms = heard.heard_ms(21)

        again = await home.alice.run_command("play", home.text, query=song)
        assert "Playing" in (await again.reply()).text()
        ffmpeg_seen = []
        async with asyncio.timeout(20):
            while heard.heard_ms(21) < first_time_ms + SONG_S * 1000 - 100:
                ffmpeg_seen += ffmpeg_children()
                await asyncio.sleep(0.05)
        assert ffmpeg_seen == []
        stats = bot.audio.store.stats()  # type: ignore[attr-defined]
        assert (stats.hits, stats.entries) == (1, 1)
