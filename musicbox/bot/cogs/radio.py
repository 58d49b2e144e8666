"""/radio: internet radio stations found by name in the Radio Browser directory, picked with buttons
like /search's results, and played as live streams (`playback/live.py`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from musicbox.bot import text
from musicbox.bot.access import play_refusal
from musicbox.bot.enqueueing import Enqueuer
from musicbox.bot.options import CheckedCog
from musicbox.bot.replies import send_error
from musicbox.bot.sources import QueryFailed
from musicbox.bot.views import SearchPicker
from musicbox.sources.radio import RadioDirectory

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

STATIONS_SHOWN = 5


class RadioCog(CheckedCog, name="Radio"):
    def __init__(self, bot: MusicBot, enqueuer: Enqueuer, directory: RadioDirectory) -> None:
        self.bot = bot
        self.enqueuer = enqueuer
        self._directory = directory

    @app_commands.command(description="Find an internet radio station by name and pick one to play.")
    @app_commands.describe(words="Words from the station's name")
    async def radio(self, interaction: discord.Interaction, words: app_commands.Range[str, 2, 100]) -> None:
        refusal = play_refusal(self.bot, interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        if not words.strip():
            await interaction.response.send_message(text.NO_STATION_WORDS, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            found = await self._directory.search(words.strip(), limit=STATIONS_SHOWN)
        except QueryFailed as failure:
            await send_error(interaction, text.could_not_play(words, failure.reason, link_at_fault=False))
            return
        if not found:
            await send_error(interaction, text.no_stations(words))
            return
        picker = SearchPicker(found, self.enqueuer.pick)
        await interaction.edit_original_response(content=text.station_results(words, found), view=picker)
