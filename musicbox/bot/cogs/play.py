"""Adding music: /play (with its suggestions) and /search. Checks that need only the client's cache
answer at once; resolving and joining run after a defer and edit it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from musicbox import start_times
from musicbox.bot import text
from musicbox.bot.access import VoiceChannel, member_channel, play_refusal
from musicbox.bot.enqueueing import (
    JOIN_FAILURES,
    Enqueuer,
    ProgressEditor,
    answer_cut_off,
    could_not_play,
    tell_join_failed,
)
from musicbox.bot.options import CheckedCog
from musicbox.bot.replies import send_error
from musicbox.bot.sources import QueryFailed
from musicbox.bot.views import SearchPicker
from musicbox.core.track import Track

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

log = logging.getLogger(__name__)

AUTOCOMPLETE_BUDGET_S = 2.0  # Discord drops autocomplete answers after 3 s
# Searches that outlasted their answer, kept running so the member's next keystroke finds them done
# (the first search after a quiet minute starts an extraction worker: seconds on a busy box or a Pi).
AUTOCOMPLETE_KEPT = 8


class PlayCog(CheckedCog, name="Play"):
    def __init__(self, bot: MusicBot, enqueuer: Enqueuer) -> None:
        self.bot = bot
        self.enqueuer = enqueuer
        self._searching: dict[str, asyncio.Task[Sequence[Track]]] = {}

    @app_commands.command(description="Play a song or playlist: a link, or words to search for.")
    @app_commands.describe(query="A link (video, playlist, media file) or search words")
    async def play(self, interaction: discord.Interaction, query: str) -> None:
        refusal = play_refusal(self.bot, interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        assert interaction.guild is not None  # checked by play_refusal
        self.bot.start_times.begin(interaction.guild.id)
        await interaction.response.defer(thinking=True)
        channel = member_channel(interaction)
        assert channel is not None  # checked by play_refusal
        with self.enqueuer.adding(interaction.guild.id):
            try:
                await self._resolve_and_enqueue(interaction, channel, query)
            except asyncio.CancelledError:
                if self.bot.stopping:  # cut off at stop (see RepliesInFlight): HTTP still works meanwhile
                    await answer_cut_off(interaction, "stopping", channel)
                raise

    async def _resolve_and_enqueue(
        self, interaction: discord.Interaction, channel: VoiceChannel, query: str
    ) -> None:
        assert interaction.guild is not None
        guild_id = interaction.guild.id
        settings = await asyncio.to_thread(self.bot.settings.get, guild_id)
        progress = ProgressEditor(interaction)
        # Joining voice and resolving overlap: the member hears the first song sooner.
        joining = asyncio.get_running_loop().create_task(
            self.enqueuer.join(channel, interaction), name=f"join-{guild_id}"
        )
        stream = aiter(self.bot.sources.batches(query, progress=progress.update))
        try:
            none: Sequence[Track] = []
            tracks = await anext(stream, none)
            start_times.mark("resolved")
        except QueryFailed as failure:
            await asyncio.gather(joining, return_exceptions=True)
            await self.enqueuer.release_if_unused(guild_id)
            await send_error(interaction, could_not_play(query, failure))
            return
        except BaseException:
            joining.cancel()
            await asyncio.gather(joining, return_exceptions=True)
            raise
        try:
            session = await joining
            if session.closed:  # a concurrent failed /play released it meanwhile
                session = await self.enqueuer.join(channel, interaction)
        except JOIN_FAILURES as failure:
            await tell_join_failed(interaction, channel, failure)
            return
        session.text_channel_id = interaction.channel_id
        message = await self.enqueuer.enqueue(
            interaction, session, tracks, settings, query, announced=progress.total
        )
        if message is None:
            return
        rest = await self.enqueuer.enqueue_rest(interaction, session, stream, tracks, settings, query)
        await interaction.edit_original_response(content=rest or message)

    @play.autocomplete("query")
    async def play_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        words = current.strip()
        if len(words) < 3 or words.startswith(("http://", "https://")):
            return []
        search = self._search_for(words)
        try:
            async with asyncio.timeout(AUTOCOMPLETE_BUDGET_S):
                found = await asyncio.shield(search)
        except (TimeoutError, QueryFailed):
            return []
        return [app_commands.Choice(name=text.choice_label(t), value=t.page_url[:100]) for t in found]

    def _search_for(self, words: str) -> asyncio.Task[Sequence[Track]]:
        """The search for `words`: the one still running for an earlier keystroke, or a new one,
        remembered while it runs (at most AUTOCOMPLETE_KEPT at once)."""
        running = self._searching.get(words)
        if running is not None:
            return running
        search = asyncio.get_running_loop().create_task(self.bot.sources.search(words, limit=5))
        search.add_done_callback(_outcome_read)
        if len(self._searching) < AUTOCOMPLETE_KEPT:
            self._searching[words] = search
            search.add_done_callback(lambda _: self._searching.pop(words, None))
        return search

    @app_commands.command(description="Search and pick one of five results.")
    @app_commands.describe(query="Words to search for")
    async def search(self, interaction: discord.Interaction, query: str) -> None:
        refusal = play_refusal(self.bot, interaction)
        if refusal is not None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            found = list(await self.bot.sources.search(query, limit=5))[:5]
        except QueryFailed as failure:
            await send_error(interaction, could_not_play(query, failure))
            return
        if not found:
            await send_error(interaction, text.no_results(query))
            return
        picker = SearchPicker(found, self.enqueuer.pick)
        await interaction.edit_original_response(content=text.search_results(query, found), view=picker)


def _outcome_read(search: asyncio.Task[Sequence[Track]]) -> None:
    # A search that failed after its answer was given up on: nobody is left to be told.
    if not search.cancelled():
        search.exception()
