"""The discord.py client: owns the guild sessions, syncs commands, turns stray errors into one line."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from musicbox.bot import text
from musicbox.bot.music import MusicCog
from musicbox.bot.replies import send_error
from musicbox.bot.sources import TrackSource
from musicbox.core.config import Config
from musicbox.playback.session import AudioProvider, GuildSession, SessionCapReached, Sessions
from musicbox.store.queues import QueueStore
from musicbox.store.settings import SettingsStore

log = logging.getLogger(__name__)


class MusicBot(commands.Bot):
    def __init__(
        self,
        config: Config,
        *,
        sources: TrackSource,
        audio: AudioProvider,
        settings: SettingsStore,
        queues: QueueStore,
        max_guilds: int,
        connector: aiohttp.BaseConnector | None = None,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.voice_states = True
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, connector=connector, tree_cls=MusicTree
        )
        self.config = config
        self.sources = sources
        self.audio = audio
        self.settings = settings
        self.queues = queues
        self.sessions = Sessions(max_guilds=max_guilds)
        self._joining: dict[int, asyncio.Task[GuildSession]] = {}

    async def setup_hook(self) -> None:
        await self.add_cog(MusicCog(self))
        guild_id = self.config.discord.dev_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def join(self, channel: discord.VoiceChannel | discord.StageChannel) -> GuildSession:
        """The guild's session, connecting to `channel` if none exists. Concurrent /play commands of
        one guild share one connection attempt."""
        existing = self.sessions.get(channel.guild.id)
        if existing is not None:
            return existing
        pending = self._joining.get(channel.guild.id)
        if pending is None:
            pending = asyncio.get_running_loop().create_task(self._connect(channel))
            self._joining[channel.guild.id] = pending
            pending.add_done_callback(lambda _: self._joining.pop(channel.guild.id, None))
        return await asyncio.shield(pending)

    async def _connect(self, channel: discord.VoiceChannel | discord.StageChannel) -> GuildSession:
        stale = channel.guild.voice_client
        if stale is not None:
            await stale.disconnect(force=True)
        voice: discord.VoiceClient = await channel.connect(self_deaf=True, timeout=20)
        settings = self.settings.cached(channel.guild.id)
        if settings is None:
            settings = await asyncio.to_thread(self.settings.get, channel.guild.id)
        session = GuildSession(
            channel.guild.id,
            voice,
            audio=self.audio,
            locator=self.sources,
            volume=settings.default_volume,
            idle_timeout_s=self.config.playback.idle_timeout_s,
            on_closed=self.sessions.forget,
        )
        try:
            self.sessions.add(session)
        except SessionCapReached:
            await voice.disconnect(force=True)
            raise
        saved = await asyncio.to_thread(self.queues.take, channel.guild.id)
        if saved:
            session.queue.add_many(saved)
            session.enqueued()
        return session

    async def close(self) -> None:
        for pending in list(self._joining.values()):
            pending.cancel()
        for guild_id in self.sessions.guild_ids:
            session = self.sessions.get(guild_id)
            if session is not None:
                playing = [session.queue.current] if session.queue.current else []
                await asyncio.to_thread(self.queues.save, guild_id, [*playing, *session.queue.upcoming])
        await self.sessions.aclose()
        await super().close()


class MusicTree(app_commands.CommandTree[MusicBot]):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        name = interaction.command.name if interaction.command else "?"
        log.error("command /%s failed", name, exc_info=error)
        await send_error(interaction, text.GENERIC_ERROR)
