"""/lyrics: the words of the song playing (or of a song a member names) from LRCLIB, paged with
buttons like /queue, opening at the line being sung when LRCLIB has the lyrics synced."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from musicbox.bot import text
from musicbox.bot.options import CheckedCog
from musicbox.bot.replies import send_error
from musicbox.bot.sources import QueryFailed
from musicbox.bot.views import QueuePager
from musicbox.sources.lrclib import Lrclib
from musicbox.sources.lyrics import Lyrics, current_line

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot


class LyricsCog(CheckedCog, name="Lyrics"):
    def __init__(self, bot: MusicBot, lrclib: Lrclib) -> None:
        self.bot = bot
        self._lrclib = lrclib

    @app_commands.command(description="Show the lyrics of the song playing, or of the song you name.")
    @app_commands.describe(song="A song's title and artist (leave out for the song playing)")
    async def lyrics(
        self, interaction: discord.Interaction, song: app_commands.Range[str, 2, 100] | None = None
    ) -> None:
        if song is not None:
            await self._named(interaction, song)
            return
        session = self.bot.sessions.get(interaction.guild.id) if interaction.guild else None
        current = session.queue.current if session is not None else None
        if session is None or current is None or current.track.live:
            await interaction.response.send_message(text.LYRICS_NOTHING_PLAYING, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            found = await self._lrclib.for_track(current.track)
        except QueryFailed as failure:
            await send_error(interaction, text.lyrics_failed(current.track.title, failure.reason))
            return
        # The line sung now, read after the lookup: the song went on while LRCLIB answered.
        same_song = session.queue.current is current
        sung = current_line(found.lines, session.position_s) if found and same_song else None
        await self._show(interaction, current.track.title, found, sung)

    async def _named(self, interaction: discord.Interaction, song: str) -> None:
        if not song.strip():
            await interaction.response.send_message(text.LYRICS_NOTHING_PLAYING, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            found = await self._lrclib.for_words(song.strip())
        except QueryFailed as failure:
            await send_error(interaction, text.lyrics_failed(song, failure.reason))
            return
        await self._show(interaction, song, found, None)

    async def _show(
        self, interaction: discord.Interaction, asked: str, found: Lyrics | None, sung: int | None
    ) -> None:
        if found is None:
            await send_error(interaction, text.no_lyrics(asked))
            return
        pages, first = text.lyrics_pages(found, sung)
        if len(pages) == 1:
            await interaction.edit_original_response(content=pages[0])
            return
        pager = QueuePager(pages.__getitem__, len(pages), first_page=first)
        await interaction.edit_original_response(content=pages[first], view=pager)
