"""Members read lyrics: the song playing's, synced, opening at the line being sung and paged with
buttons; a song they name; a song LRCLIB has no lyrics for; and LRCLIB down."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from musicbox.bot import text
from musicbox.sim.media import entry
from musicbox.sources import lrclib
from tests.world.fixture import World
from tests.world.stage import reply_text, stage

SYNCED, INSTRUMENTAL, PLAIN = 60, 61, 62  # the LRCLIB fake's songs (sim/lyrics)


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.1)


async def test_lyrics_page_through_open_where_the_song_is_and_say_so_when_there_are_none(
    world: World,
) -> None:
    home = stage(world.sim)
    async with world.bot() as bot:
        nothing, private = await reply_text(await home.alice.run_command("lyrics", home.text))
        assert private and nothing == text.LYRICS_NOTHING_PLAYING

        await home.alice.join_voice(home.voice)
        url = world.media.track_url(SYNCED, seconds=40)
        await (await home.alice.run_command("play", home.text, query=url)).reply(
            lambda m: "Playing" in m.text()
        )
        song = entry(SYNCED)
        session = bot.sessions.get(home.guild.id)
        assert session is not None
        await _until(lambda: session.position_s >= 2)
        shown = await (await home.alice.run_command("lyrics", home.text)).reply(timeout=20)
        heading = f"Lyrics of **{song.title}** by {song.artist} (synced)"
        # 40 lines, fifteen a page, one a second: seconds in, the line being sung is on the first page.
        assert shown.text().startswith(f"{heading} · page 1/3\n"), shown.text()
        assert "▶ **line " in shown.text() and "line 15 of" in shown.text()
        # Lyrics are someone else's text: the mass mention and markdown show as typed, acting on nothing.
        assert "@\u200beveryone \\*\\*sing along\\*\\* \\<@123456789>" in shown.text(), shown.text()
        assert "wrong version" not in shown.text()  # the live namesake (another length) was not taken

        paged = await (await home.alice.press(shown, "queue:next")).reply(timeout=10)
        assert paged.text().startswith(f"{heading} · page 2/3\nline 16 of"), paged.text()
        paged = await (await home.alice.press(paged, "queue:next")).reply(timeout=10)
        assert paged.text().startswith(f"{heading} · page 3/3\n") and paged.text().endswith(
            "line 40 of " + song.title + ", la la la"
        )
        paged = await (await home.alice.press(paged, "queue:previous")).reply(timeout=10)
        assert paged.text().startswith(f"{heading} · page 2/3\n")

        # Twenty seconds in, /lyrics opens at the second page, on the line being sung.
        await (await home.alice.run_command("seek", home.text, position="20")).reply(timeout=10)
        await _until(lambda: session.position_s >= 20)
        later = await (await home.alice.run_command("lyrics", home.text)).reply(timeout=20)
        assert later.text().startswith(f"{heading} · page 2/3\n"), later.text()
        sung = [line for line in later.text().splitlines() if line.startswith("▶")]
        assert len(sung) == 1 and 20 <= int(sung[0].split()[2]) <= 30, sung

        named, private = await reply_text(
            await home.alice.run_command(
                "lyrics", home.text, song=f"{entry(PLAIN).title} {entry(PLAIN).artist}"
            )
        )
        assert not private and named == (
            f"Lyrics of **{entry(PLAIN).title}** by {entry(PLAIN).artist} · page 1/1\n"
            "a plain first line\n\na plain second line"
        )

        none, private = await reply_text(
            await home.alice.run_command("lyrics", home.text, song="Humming Nothing")
        )
        assert private and none == text.no_lyrics("Humming Nothing")

        instrumental = entry(INSTRUMENTAL).title
        # The instrumental, playing: LRCLIB has its record and no words.
        await (
            await home.alice.run_command("play", home.text, query=world.media.track_url(INSTRUMENTAL))
        ).reply()
        await (await home.alice.run_command("skip", home.text)).reply(timeout=10)
        await _until(
            lambda: session.queue.current is not None and session.queue.current.track.title == instrumental
        )
        none, private = await reply_text(await home.alice.run_command("lyrics", home.text))
        assert private and none == text.no_lyrics(instrumental)

        world.media.lyrics.fail_with(503)
        try:
            down, private = await reply_text(await home.alice.run_command("lyrics", home.text))
        finally:
            world.media.lyrics.fail_with(None)
        assert private and down == text.lyrics_failed(instrumental, lrclib.LRCLIB.failing), down
        assert session.queue.current is not None  # the song played on meanwhile
