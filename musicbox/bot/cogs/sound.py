"""How the music sounds: /filter (nightcore, vaporwave, bassboost, 8d, speed, off), kept per server.

A control command like /volume (the DJ role may reserve it), but the choice outlives the session, so
it is written to the server's settings: it defers first."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands

from musicbox.bot import text
from musicbox.bot.access import controlled
from musicbox.bot.options import CheckedCog
from musicbox.core.filters import FASTEST, SLOWEST, FilterMistake, chosen_filter, stored_filter
from musicbox.core.permissions import Action

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

EffectChoice = Literal["nightcore", "vaporwave", "bassboost", "8d", "speed", "off"]


class SoundCog(CheckedCog, name="Sound"):
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(name="filter", description="Put a filter on the music, or take it off.")
    @app_commands.describe(
        effect="nightcore, vaporwave, bassboost, 8d, speed (give a speed), or off",
        speed=f"For speed: {SLOWEST:g} to {FASTEST:g} (1.25 plays a quarter faster, pitch kept)",
    )
    async def filter_(
        self,
        interaction: discord.Interaction,
        effect: EffectChoice,
        speed: app_commands.Range[float, SLOWEST, FASTEST] | None = None,
    ) -> None:
        session = await controlled(self.bot, interaction, Action.FILTER)
        if session is None:
            return
        picked = chosen_filter(effect, speed)
        if isinstance(picked, FilterMistake):
            await interaction.response.send_message(text.FILTER_MISTAKES[picked], ephemeral=True)
            return
        slots = self.bot.sessions.filter_slots
        if picked is not None and not slots.take(session.guild_id):
            # Refused rather than accepted and not heard: the member learns now, and the song goes on.
            said = text.FILTERS_BUSY.format(most=slots.most) if slots.most else text.FILTERS_NONE
            await interaction.response.send_message(said, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        settings = await asyncio.to_thread(self.bot.settings.get, session.guild_id)
        if stored_filter(settings.audio_filter) != picked:
            kept = settings.changed(audio_filter=picked.stored if picked is not None else "")
            await asyncio.to_thread(self.bot.settings.put, session.guild_id, kept)
        # The song restarts through the new chain only when it would sound different: the same filter
        # again is no restart, and one kept but not heard (no slot when the song began) is heard now.
        if session.playing_filter != picked:
            session.refilter()
        current = session.queue.current
        live = current is not None and current.track.live
        said = text.FILTER_OFF
        if picked is not None:
            said = (text.FILTER_SET_LIVE if live else text.FILTER_SET).format(label=picked.label)
        await interaction.edit_original_response(content=said)
