"""/settings: a server's music settings, shown to anyone and changed by server managers. A SQLite
read or write, so it defers first."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from musicbox.bot import text
from musicbox.bot.access import member_channel, standing
from musicbox.bot.options import CheckedCog
from musicbox.core.permissions import Action, may
from musicbox.core.sponsorblock import CATEGORIES, parse_categories
from musicbox.store.settings import GuildSettings

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot


class SettingsCog(CheckedCog, name="Settings"):
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(description="Show or change this server's music settings.")
    @app_commands.describe(
        dj_role="Only this role may skip, stop, clear, remove, move and set volume",
        no_dj_role="Let everyone control playback again",
        default_volume="Volume new sessions start at, 0 to 200",
        max_queue="Most tracks the queue holds, 1 to 500",
        max_playlist="Most tracks one playlist may add, 1 to 1000",
        max_track_minutes="Longest track allowed, in minutes",
        max_saved_songs="Most songs one saved playlist holds, 1 to 1000",
        max_saved_playlists="Most saved playlists a member (or the server) keeps, 1 to 100",
        autoplay="When the queue runs out, play from this server's history and favourites",
        skip_share="Percent of listeners whose votes skip a song (members without the DJ role)",
        stay_in_voice="24/7: stay in your voice channel, even idle or alone, and come back after a restart",
        only_text_channel="Take music commands only in this text channel",
        only_voice_channel="Play only in this voice channel",
        any_channel="Take commands and play in any channel again",
        loudness="Even out loudness between songs (on by default)",
        skip_segments="SponsorBlock categories left out of YouTube videos (music_offtopic…), or none",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        dj_role: discord.Role | None = None,
        no_dj_role: bool = False,
        default_volume: app_commands.Range[int, 0, 200] | None = None,
        max_queue: app_commands.Range[int, 1, 500] | None = None,
        max_playlist: app_commands.Range[int, 1, 1000] | None = None,
        max_track_minutes: app_commands.Range[int, 1, 600] | None = None,
        max_saved_songs: app_commands.Range[int, 1, 1000] | None = None,
        max_saved_playlists: app_commands.Range[int, 1, 100] | None = None,
        autoplay: bool | None = None,
        skip_share: app_commands.Range[int, 1, 100] | None = None,
        stay_in_voice: bool | None = None,
        only_text_channel: discord.TextChannel | None = None,
        only_voice_channel: discord.VoiceChannel | None = None,
        any_channel: bool = False,
        loudness: bool | None = None,
        skip_segments: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = interaction.guild
        if guild is None or not isinstance(interaction.user, discord.Member):
            await interaction.edit_original_response(content=text.NOT_IN_GUILD)
            return
        current = await asyncio.to_thread(self.bot.settings.get, guild.id)
        changing = any(
            v is not None
            for v in (
                dj_role,
                default_volume,
                max_queue,
                max_playlist,
                max_track_minutes,
                max_saved_songs,
                max_saved_playlists,
                autoplay,
                skip_share,
                stay_in_voice,
                only_text_channel,
                only_voice_channel,
                loudness,
                skip_segments,
            )
        )
        if not (changing or no_dj_role or any_channel):
            await interaction.edit_original_response(content=_describe(text.SETTINGS_SHOWN, current))
            return
        if not may(Action.SETTINGS, standing(interaction.user, None), dj_role=current.dj_role):
            await interaction.edit_original_response(content=text.SETTINGS_NOT_ALLOWED)
            return
        updated = current.changed(
            dj_role="" if no_dj_role else (dj_role.name if dj_role else None),
            default_volume=default_volume,
            max_queue=max_queue,
            max_playlist=max_playlist,
            max_track_s=max_track_minutes * 60 if max_track_minutes else None,
            max_saved_songs=max_saved_songs,
            max_saved_playlists=max_saved_playlists,
            autoplay=autoplay,
            skip_share=skip_share,
            text_channel_id=0 if any_channel else (only_text_channel.id if only_text_channel else None),
            voice_channel_id=0 if any_channel else (only_voice_channel.id if only_voice_channel else None),
            loudness=loudness,
        )
        if skip_segments is not None:
            categories = parse_categories(skip_segments)
            if categories is None:
                refusal = text.SKIP_CATEGORIES_UNKNOWN.format(categories=", ".join(CATEGORIES))
                await interaction.edit_original_response(content=refusal)
                return
            updated = updated.changed(skip_categories=categories)
        if stay_in_voice is not None:
            staying_in = self._voice_channel_of(interaction) if stay_in_voice else 0
            if staying_in is None:
                await interaction.edit_original_response(content=text.STAY_NEEDS_VOICE)
                return
            updated = updated.changed(always_in_channel_id=staying_in)
        await asyncio.to_thread(self.bot.settings.put, guild.id, updated)
        await interaction.edit_original_response(content=_describe(text.SETTINGS_SAVED, updated))

    def _voice_channel_of(self, interaction: discord.Interaction) -> int | None:
        """Where 24/7 stays: the bot's voice channel, or else the member's; None when neither is in one."""
        session = self.bot.sessions.get(interaction.guild_id) if interaction.guild_id else None
        if session is not None and session.voice.channel is not None:
            return session.voice.channel.id
        channel = member_channel(interaction)
        return channel.id if channel is not None else None


def _describe(template: str, settings: GuildSettings) -> str:
    return text.settings(
        template,
        dj_role=settings.dj_role,
        volume=settings.default_volume,
        max_queue=settings.max_queue,
        max_playlist=settings.max_playlist,
        max_track_s=settings.max_track_s,
        max_saved_songs=settings.max_saved_songs,
        max_saved_playlists=settings.max_saved_playlists,
        autoplay=settings.autoplay,
        skip_share=settings.skip_share,
        always_in=settings.always_in_channel_id,
        text_channel=settings.text_channel_id,
        voice_channel=settings.voice_channel_id,
        loudness=settings.loudness,
        skipped=settings.skip_categories,
    )
