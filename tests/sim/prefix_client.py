"""A second, ordinary discord.py bot: prefix commands on `discord.ext.commands`, the way most music
bots outside this project are written (independent of musicbox's code). It reads a member's
`!play <url>` (message content intent), joins their voice channel, plays the file through ffmpeg,
and manages its own messages (reply, edit, delete): the simulator must serve it like Discord."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord
from discord.ext import commands

from musicbox.sim.discord import DiscordSim
from tests.sim.plain_client import online


class PrefixBot(commands.Bot):
    def __init__(self, sim: DiscordSim) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.voice_states = True
        intents.guild_messages = True
        intents.message_content = True
        super().__init__(command_prefix="!", intents=intents, connector=sim.connector(), help_command=None)
        self.errors: list[BaseException] = []
        self.add_command(play)
        self.add_command(stop)

    async def on_command_error(self, ctx: commands.Context[PrefixBot], error: Exception) -> None:  # type: ignore[override]
        self.errors.append(error)


@commands.command()
async def play(ctx: commands.Context[PrefixBot], url: str) -> None:
    author = ctx.author
    if not isinstance(author, discord.Member) or author.voice is None or author.voice.channel is None:
        await ctx.reply("join a voice channel first")
        return
    channel = author.voice.channel
    note = await ctx.send(f"joining {channel.name}…")
    voice = ctx.voice_client or await channel.connect(timeout=10, self_deaf=True)
    assert isinstance(voice, discord.VoiceClient)
    voice.play(discord.FFmpegPCMAudio(url))
    await note.delete()
    said = await ctx.reply(f"queued <{url}>", mention_author=False)
    await said.edit(content=f"now playing in {channel.name}")


@commands.command()
async def stop(ctx: commands.Context[PrefixBot]) -> None:
    if ctx.voice_client is not None:
        await ctx.voice_client.disconnect(force=False)
    await ctx.send("stopped")


@asynccontextmanager
async def connected(sim: DiscordSim) -> AsyncIterator[PrefixBot]:
    async with online(sim, PrefixBot(sim)) as bot:
        yield bot
