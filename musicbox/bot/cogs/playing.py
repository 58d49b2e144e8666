"""Controlling what plays: /now and its buttons, /skip, /previous, /replay, /pause, /resume, /stop,
/leave, /seek, /volume.
All act on in-memory state, so each answers with its one and only response (/leave defers: it waits
for Discord)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from musicbox.bot import text
from musicbox.bot.access import (
    cached_settings,
    control_refusal,
    controlled,
    listening_session,
    member_channel,
    skip_or_vote,
    standing,
)
from musicbox.bot.options import CheckedCog
from musicbox.bot.views import now_controls
from musicbox.core.permissions import Action, may
from musicbox.core.queue import LoopMode

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot

log = logging.getLogger(__name__)

# "10:00:00", the longest time a track allowed anywhere can be sought to.
SeekPosition = app_commands.Range[str, 1, 8]
# discord.py's voice resume and its player wait out the same timeout: they give up within this.
LOST_VOICE_SETTLE_S = 1.5


def parse_position(value: str) -> float | None:
    """ "90", "1:30" or "1:02:03" -> seconds; None when it is none of those."""
    parts = value.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(part.isdigit() for part in parts):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return float(seconds)


class PlayingCog(CheckedCog, name="Playing"):
    def __init__(self, bot: MusicBot) -> None:
        self.bot = bot

    @app_commands.command(description="Show what is playing, with pause, skip and loop buttons.")
    async def now(self, interaction: discord.Interaction) -> None:
        session = self.bot.sessions.get(interaction.guild.id) if interaction.guild else None
        current = session.queue.current if session else None
        if session is None or current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
            return
        message = text.now_playing(
            current,
            session.position_s,
            session.paused,
            session.queue.loop,
            session.station_title,
            session.playing_filter,
            session.left_out_s,
        )
        await interaction.response.send_message(message, view=now_controls())

    async def now_button(self, interaction: discord.Interaction, control: str) -> None:
        if control == "skip":
            await self._skip(interaction)
        elif control == "loop":
            session = await controlled(self.bot, interaction, Action.LOOP)
            if session is None:
                return
            modes = list(LoopMode)
            session.queue.loop = modes[(modes.index(session.queue.loop) + 1) % len(modes)]
            await interaction.response.send_message(text.LOOP_SET.format(mode=session.queue.loop.value))
        else:
            session = await controlled(self.bot, interaction, Action.PAUSE)
            if session is None:
                return
            if session.paused:
                session.resume()
                await interaction.response.send_message(text.RESUMED)
            else:
                session.pause()
                await interaction.response.send_message(text.PAUSED)

    @app_commands.command(description="Skip the current track.")
    async def skip(self, interaction: discord.Interaction) -> None:
        await self._skip(interaction)

    async def _skip(self, interaction: discord.Interaction) -> None:
        session, refusal = listening_session(self.bot, interaction)
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        if session.queue.current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
            return
        assert isinstance(interaction.user, discord.Member)  # by listening_session
        await interaction.response.send_message(skip_or_vote(self.bot, session, interaction.user))

    @app_commands.command(description="Go back to the song before this one (this one plays after it).")
    async def previous(self, interaction: discord.Interaction) -> None:
        session = await controlled(self.bot, interaction, Action.SKIP)
        if session is None:
            return
        went_back = session.previous()
        if went_back is None:
            await interaction.response.send_message(text.NOTHING_BEFORE, ephemeral=True)
            return
        await interaction.response.send_message(text.went_back(went_back.track))

    @app_commands.command(description="Start the current song again from the beginning.")
    async def replay(self, interaction: discord.Interaction) -> None:
        session = await controlled(self.bot, interaction, Action.SEEK)
        if session is None:
            return
        current = session.queue.current
        if current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
            return
        session.seek(0.0)
        await interaction.response.send_message(text.replayed(current.track))

    @app_commands.command(description="Pause playback.")
    async def pause(self, interaction: discord.Interaction) -> None:
        session = await controlled(self.bot, interaction, Action.PAUSE)
        if session is None:
            return
        if session.queue.current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
        elif session.paused:
            await interaction.response.send_message(text.ALREADY_PAUSED, ephemeral=True)
        else:
            session.pause()
            await interaction.response.send_message(text.PAUSED)

    @app_commands.command(description="Resume playback.")
    async def resume(self, interaction: discord.Interaction) -> None:
        session = await controlled(self.bot, interaction, Action.PAUSE)
        if session is None:
            return
        if not session.paused:
            await interaction.response.send_message(text.NOT_PAUSED, ephemeral=True)
            return
        session.resume()
        await interaction.response.send_message(text.RESUMED)

    @app_commands.command(description="Stop playback and clear the queue.")
    async def stop(self, interaction: discord.Interaction) -> None:
        session = await controlled(self.bot, interaction, Action.STOP)
        if session is None:
            return
        session.stop()
        await interaction.response.send_message(text.STOPPED)

    @app_commands.command(description="Leave the voice channel and forget the queue.")
    async def leave(self, interaction: discord.Interaction) -> None:
        session, refusal = control_refusal(self.bot, interaction, Action.STOP)
        if session is None and refusal == text.NOTHING_PLAYING:
            refusal, private = self._cancel_join(interaction)
            await interaction.response.send_message(refusal, ephemeral=private)
            return
        if session is None:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        await session.aclose()
        await interaction.edit_original_response(content=text.LEFT)

    def _cancel_join(self, interaction: discord.Interaction) -> tuple[str, bool]:
        """/leave with no session: call off the join a /play waits for (its turn in the gateway
        budget), if the member may. What to answer, and whether privately."""
        assert interaction.guild is not None and isinstance(interaction.user, discord.Member)
        channel = self.bot.joining(interaction.guild.id)
        if channel is None:
            return text.NOTHING_PLAYING, True
        listening = member_channel(interaction)
        if listening is None or listening.id != channel.id:
            return text.NOT_WITH_BOT, True
        settings = cached_settings(self.bot, interaction.guild.id)
        if not may(Action.STOP, standing(interaction.user, channel), dj_role=settings.dj_role):
            return text.not_allowed(settings.dj_role), True
        self.bot.call_off_join(interaction.guild.id, "leave")
        return text.join_cancelled(channel.name), False

    @app_commands.command(description="Jump to a time in the current track.")
    @app_commands.describe(position="Seconds, or m:ss")
    async def seek(self, interaction: discord.Interaction, position: SeekPosition) -> None:
        session = await controlled(self.bot, interaction, Action.SEEK)
        if session is None:
            return
        current = session.queue.current
        seconds = parse_position(position)
        if current is None:
            await interaction.response.send_message(text.NOTHING_PLAYING, ephemeral=True)
        elif seconds is None:
            await interaction.response.send_message(text.SEEK_FORMAT, ephemeral=True)
        elif current.track.duration_s is None:
            await interaction.response.send_message(text.SEEK_UNKNOWN_LENGTH, ephemeral=True)
        elif seconds >= current.track.duration_s:
            message = text.SEEK_PAST_END.format(length=text.duration(current.track.duration_s))
            await interaction.response.send_message(message, ephemeral=True)
        else:
            session.seek(seconds)
            await interaction.response.send_message(text.SOUGHT.format(position=text.duration(seconds)))

    @app_commands.command(description="Set the playback volume.")
    @app_commands.describe(percent="0 to 200")
    async def volume(
        self, interaction: discord.Interaction, percent: app_commands.Range[int, 0, 200]
    ) -> None:
        session = await controlled(self.bot, interaction, Action.VOLUME)
        if session is None:
            return
        session.set_volume(percent)
        await interaction.response.send_message(text.VOLUME_SET.format(volume=percent))

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        if self.bot.user is None or member.id != self.bot.user.id or after.channel is not None:
            return
        session = self.bot.sessions.get(member.guild.id)
        if session is None or session.closed:
            return
        # The bot's voice state also goes to "no channel" when discord.py reconnects by itself (it
        # leaves, then joins again, keeping its voice client) and when it gives a connection up that
        # it could not resume (its player gives the song up at the same moment and the session
        # connects afresh). Give those a moment to show before taking this for a moderator.
        stopped = session.snapshot()  # before the player takes the song cut off for one that ended
        await asyncio.sleep(LOST_VOICE_SETTLE_S)
        reconnecting = member.guild.voice_client is session.voice or session.recovering_voice
        if session.closed or session.voice.is_connected() or reconnecting:
            return
        if before.channel is not None and member.guild.get_channel(before.channel.id) is None:
            # Nobody asked for the music to stop: the queue waits for the next /play elsewhere.
            entries, playback = stopped
            log.info("guild %s: voice channel deleted; keeping %d tracks", member.guild.id, len(entries))
            await session.aclose()
            await asyncio.to_thread(self.bot.queues.save, member.guild.id, entries, playback)
            self.bot.announce(session, text.voice_channel_deleted(before.channel.name, len(entries)))
            return
        # Disconnected by a moderator: release everything it held.
        await session.aclose()
