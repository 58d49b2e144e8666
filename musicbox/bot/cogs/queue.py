"""Looking at and arranging the queue: /queue, /remove, /move, /shuffle, /loop, /clear. All in-memory,
so each answers with its one and only response."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from musicbox.bot import text
from musicbox.bot.access import controlled
from musicbox.bot.options import CheckedCog
from musicbox.bot.views import QueuePager
from musicbox.core.permissions import Action
from musicbox.core.queue import LoopMode

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

# The largest queue an owner's config allows (core/config_rules.py): no position in /queue is beyond it.
QueuePosition = app_commands.Range[int, 1, 10_000]


class QueueCog(CheckedCog, name="Queue"):
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(name="queue", description="Show the queue, ten tracks a page.")
    async def show_queue(self, interaction: discord.Interaction) -> None:
        session = self.bot.sessions.get(interaction.guild.id) if interaction.guild else None
        if session is None or (session.queue.current is None and len(session.queue) == 0):
            await interaction.response.send_message(text.QUEUE_EMPTY, ephemeral=True)
            return

        guild_id = session.guild_id

        def render(page: int) -> str:
            # By guild id, not the session: the pager lives for minutes in discord.py's view store
            # and must not keep a session (its voice client, its queue) alive after a /leave.
            now = self.bot.sessions.get(guild_id)
            if now is None:
                return text.QUEUE_EMPTY
            return text.queue_page(now.queue.current, now.queue.page(page), now.queue.loop)

        page_count = session.queue.page(0).page_count
        if page_count == 1:
            await interaction.response.send_message(render(0))
            return
        await interaction.response.send_message(render(0), view=QueuePager(render, page_count))

    @app_commands.command(description="Remove a track from the queue.")
    @app_commands.describe(position="Its position in /queue")
    async def remove(self, interaction: discord.Interaction, position: QueuePosition) -> None:
        session = await controlled(self.bot, interaction, Action.REMOVE)
        if session is None:
            return
        if position > len(session.queue):
            message = text.POSITION_OUT_OF_RANGE.format(position=position, count=len(session.queue))
            await interaction.response.send_message(message, ephemeral=True)
            return
        removed = session.queue.remove(position - 1)
        await interaction.response.send_message(text.removed(removed.track))

    @app_commands.command(description="Move a track to another position in the queue.")
    @app_commands.describe(source="Its position now", destination="Where it should go")
    async def move(
        self,
        interaction: discord.Interaction,
        source: QueuePosition,
        destination: QueuePosition,
    ) -> None:
        session = await controlled(self.bot, interaction, Action.MOVE)
        if session is None:
            return
        count = len(session.queue)
        if source > count or destination > count:
            bad = source if source > count else destination
            message = text.POSITION_OUT_OF_RANGE.format(position=bad, count=count)
            await interaction.response.send_message(message, ephemeral=True)
            return
        moved = session.queue.move(source - 1, destination - 1)
        await interaction.response.send_message(text.moved(moved.track, destination))

    @app_commands.command(description="Shuffle the upcoming tracks.")
    async def shuffle(self, interaction: discord.Interaction) -> None:
        session = await controlled(self.bot, interaction, Action.SHUFFLE)
        if session is None:
            return
        if len(session.queue) == 0:
            await interaction.response.send_message(text.QUEUE_EMPTY, ephemeral=True)
            return
        session.queue.shuffle()
        await interaction.response.send_message(text.SHUFFLED.format(count=len(session.queue)))

    @app_commands.command(description="Repeat nothing, the current track, or the whole queue.")
    async def loop(self, interaction: discord.Interaction, mode: Literal["off", "track", "queue"]) -> None:
        session = await controlled(self.bot, interaction, Action.LOOP)
        if session is None:
            return
        session.queue.loop = LoopMode(mode)
        await interaction.response.send_message(text.LOOP_SET.format(mode=mode))

    @app_commands.command(description="Clear the upcoming tracks (the current one keeps playing).")
    async def clear(self, interaction: discord.Interaction) -> None:
        session = await controlled(self.bot, interaction, Action.CLEAR)
        if session is None:
            return
        await interaction.response.send_message(text.CLEARED.format(count=session.queue.clear()))
