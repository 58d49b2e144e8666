"""What members listened to and loved: /like and /now's ❤ (a member's favourites, theirs in every
server), /favorites (pages, or all queued), /history (what this server heard, who asked, when)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from musicbox.bot import text
from musicbox.bot.access import member_channel, play_refusal
from musicbox.bot.enqueueing import Enqueuer
from musicbox.bot.options import CheckedCog
from musicbox.bot.replies import send_error
from musicbox.bot.views import QueuePager

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

PER_PAGE = 10


class ListeningCog(CheckedCog, name="Listening"):
    def __init__(self, bot: MusicBot, enqueuer: Enqueuer) -> None:
        self.bot = bot
        self.enqueuer = enqueuer

    @app_commands.command(name="like", description="Add the song playing now to your favourites.")
    async def like_command(self, interaction: discord.Interaction) -> None:
        await self.like(interaction)

    async def like(self, interaction: discord.Interaction) -> None:
        """/like and /now's ❤: only the member reads the answer, it is theirs."""
        session = self.bot.sessions.get(interaction.guild.id) if interaction.guild else None
        current = session.queue.current if session else None
        if current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        added = await asyncio.to_thread(
            self.bot.favorites.like, interaction.user.id, current.track, time.time()
        )
        await interaction.edit_original_response(content=text.liked(current.track, already=not added))

    @app_commands.command(description="Page through your favourites, or queue them all.")
    @app_commands.describe(play="Queue them all (you must be in a voice channel)")
    async def favorites(self, interaction: discord.Interaction, play: bool = False) -> None:
        if play:
            refusal = play_refusal(self.bot, interaction)
            if refusal is not None:
                await interaction.response.send_message(refusal, ephemeral=True)
                return
        await interaction.response.defer(thinking=True, ephemeral=not play)
        songs = await asyncio.to_thread(self.bot.favorites.liked, interaction.user.id)
        if not songs:
            await send_error(interaction, text.NO_FAVORITES)
            return
        if not play:
            page_count = -(-len(songs) // PER_PAGE)

            def render(page: int) -> str:
                return text.favorites_page(songs, page, PER_PAGE)

            view = QueuePager(render, page_count) if page_count > 1 else discord.utils.MISSING
            await interaction.edit_original_response(content=render(0), view=view)
            return
        channel = member_channel(interaction)
        assert channel is not None and interaction.guild is not None  # checked by play_refusal
        with self.enqueuer.adding(interaction.guild.id):
            session = await self.enqueuer.joined(channel, interaction)
            if session is None:
                return
            session.text_channel_id = interaction.channel_id
            settings = await asyncio.to_thread(self.bot.settings.get, interaction.guild.id)
            message = await self.enqueuer.enqueue(interaction, session, songs, settings, "your favourites")
        if message is not None:
            await interaction.edit_original_response(content=message)

    @app_commands.command(description="Show what this server heard lately, who asked for it and when.")
    async def history(self, interaction: discord.Interaction) -> None:
        if interaction.guild is None:
            await send_error(interaction, text.NOT_IN_GUILD)
            return
        await interaction.response.defer(thinking=True)
        recent = await asyncio.to_thread(self.bot.history.recent, interaction.guild.id, text.HISTORY_SHOWN)
        if not recent:
            await send_error(interaction, text.NO_HISTORY)
            return
        said = text.history([(p.track, p.requester_id, p.played_at) for p in recent])
        await interaction.edit_original_response(content=said)
