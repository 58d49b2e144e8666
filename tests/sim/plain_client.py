"""A small discord.py bot written the ordinary way, to hold the simulator to what the real client
sends and expects (independent of musicbox's own bot)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal, TypeVar

import discord
import yarl
from discord import app_commands

from musicbox.sim.discord import DiscordSim

AnyClient = TypeVar("AnyClient", bound=discord.Client)


class Echo(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.pressed = 0

    @discord.ui.button(label="Again", custom_id="again")
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button[Echo]) -> None:
        self.pressed += 1
        await interaction.response.edit_message(content=f"pressed {self.pressed}")


class PlainBot(discord.Client):
    def __init__(self, sim: DiscordSim, *, guild_id: int, intents: discord.Intents | None = None) -> None:
        if intents is None:
            intents = discord.Intents.none()
            intents.guilds = True
            intents.voice_states = True
        super().__init__(intents=intents, connector=sim.connector())
        self.tree = app_commands.CommandTree(self)
        self.guild_id = guild_id
        self.voice_updates: list[tuple[int, int | None]] = []
        self._declare()

    def _declare(self) -> None:
        tree = self.tree

        @tree.command(description="Say it back")
        async def echo(interaction: discord.Interaction, words: str, times: int = 1) -> None:
            await interaction.response.send_message(" ".join([words] * times), view=Echo())

        @tree.command(description="Think, then answer")
        async def slow(interaction: discord.Interaction, seconds: float) -> None:
            await interaction.response.defer(thinking=True)
            await asyncio.sleep(seconds)
            await interaction.edit_original_response(content=f"done after {seconds}")

        @tree.command(description="Answer only to you")
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("only you", ephemeral=True)
            await interaction.followup.send("and a follow-up", ephemeral=True)

        @tree.command(description="Answer too late")
        async def late(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.5)
            await interaction.response.send_message("too late")

        @tree.command(description="Answer twice")
        async def twice(interaction: discord.Interaction) -> None:
            # Two answers racing past discord.py's own guard: what reaches Discord is a second ack.
            first = interaction.response.send_message("first")
            second = interaction.response.send_message("second")
            await asyncio.gather(first, second, return_exceptions=True)

        @tree.command(description="Say too much")
        async def flood(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("x" * 2001)

        @tree.command(description="Pick a colour")
        async def colour(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"colour {name}")

        @colour.autocomplete("name")
        async def colour_names(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            names = ["red", "green", "blue", "rebeccapurple"]
            return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

        @tree.command(description="Say it back, within bounds")
        async def repeat(
            interaction: discord.Interaction,
            words: app_commands.Range[str, 1, 10],
            times: app_commands.Range[int, 1, 5],
            mood: Literal["calm", "loud"] = "calm",
        ) -> None:
            await interaction.response.send_message(f"{mood}: " + " ".join([words] * times))

        @tree.command(description="Post in the channel")
        async def announce(interaction: discord.Interaction, words: str) -> None:
            await interaction.response.send_message("posting", ephemeral=True)
            assert isinstance(interaction.channel, discord.TextChannel)
            await interaction.channel.send(words)

        @tree.command(description="Play a file in your voice channel")
        async def tone(interaction: discord.Interaction, path: str) -> None:
            assert isinstance(interaction.user, discord.Member) and interaction.user.voice is not None
            channel = interaction.user.voice.channel
            assert isinstance(channel, discord.VoiceChannel)
            await interaction.response.defer(thinking=True)
            voice = await channel.connect(self_deaf=True, timeout=10)
            voice.play(discord.FFmpegOpusAudio(path))
            await interaction.edit_original_response(content=f"playing in {channel.name}")

        @tree.command(description="Leave voice")
        async def leave(interaction: discord.Interaction) -> None:
            assert interaction.guild is not None and interaction.guild.voice_client is not None
            await interaction.guild.voice_client.disconnect(force=True)
            await interaction.response.send_message("left")

    async def setup_hook(self) -> None:
        guild = discord.Object(self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        self.voice_updates.append((member.id, after.channel.id if after.channel else None))


@asynccontextmanager
async def connected(
    sim: DiscordSim, guild_id: int, *, intents: discord.Intents | None = None
) -> AsyncIterator[PlainBot]:
    async with online(sim, PlainBot(sim, guild_id=guild_id, intents=intents)) as bot:
        # The simulator has sent the guild; on a busy box discord.py may not have read it yet.
        async with asyncio.timeout(10):
            while bot.get_guild(guild_id) is None:  # noqa: ASYNC110 (discord.py's reading task sets it)
                await asyncio.sleep(0.01)
        yield bot


@asynccontextmanager
async def online(sim: DiscordSim, bot: AnyClient) -> AsyncIterator[AnyClient]:
    """`bot` pointed at the simulator, logged in and connected until the block ends."""
    discord.http.Route.BASE = sim.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sim.gateway_url)
    async with bot:
        await bot.login(sim.bot_token)
        running = asyncio.get_running_loop().create_task(bot.connect(reconnect=True))
        try:
            await sim.wait_until_ready(timeout=10)
            yield bot
        finally:
            await bot.close()
            await asyncio.gather(running, return_exceptions=True)
