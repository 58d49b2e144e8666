"""The stage every story on the simulator plays on: a guild with a text channel, a voice channel and
members, and the real musicbox bot built by the composition root `musicbox run` uses, pointed at the
simulator by configuration alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from musicbox.bot.app import build_bot, serve_until_stopped
from musicbox.bot.client import MusicBot
from musicbox.bot.sources import TrackSource
from musicbox.core.config import Config
from musicbox.playback.session import AudioProvider
from musicbox.sim.discord import DiscordSim, Interaction, Member, SimGuild, SimTextChannel, SimVoiceChannel
from musicbox.sim.rig import rig_config as sim_config  # noqa: F401 (what the test worlds call it)
from musicbox.sources.egress import EgressGate


@dataclass
class Stage:
    guild: SimGuild
    text: SimTextChannel
    voice: SimVoiceChannel
    alice: Member
    bob: Member


def stage(sim: DiscordSim, name: str = "home") -> Stage:
    guild = sim.create_guild(name)
    return Stage(
        guild=guild,
        text=guild.create_text_channel("music"),
        voice=guild.create_voice_channel("Lounge"),
        alice=guild.create_member(f"alice-{name}"),
        bob=guild.create_member(f"bob-{name}"),
    )


@asynccontextmanager
async def running_bot(
    sim: DiscordSim,
    config: Config,
    sources: TrackSource,
    audio: AudioProvider | None = None,
    egress: EgressGate | None = None,
) -> AsyncIterator[MusicBot]:
    gate = egress or EgressGate(config.resolver.allowed_private_hosts)
    bot = build_bot(config, sources=sources, egress=gate, audio=audio, connector=sim.connector())
    stop = asyncio.Event()
    serving = asyncio.get_running_loop().create_task(serve_until_stopped(bot, config.discord.token, stop))
    try:
        await sim.wait_until_ready(timeout=15)
        await _until_synced(sim, serving)
        yield bot
    finally:
        stop.set()
        await asyncio.wait_for(serving, timeout=20)
        if egress is None:
            gate.close()


async def _until_synced(sim: DiscordSim, serving: asyncio.Task[None]) -> None:
    for _ in range(500):
        if sim.registered_commands() or any(sim.commands.values()):
            return
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    raise TimeoutError("the bot never synced its commands")


async def reply_text(interaction: Interaction) -> tuple[str, bool]:
    """What the member finally read and whether only they saw it (errors after a defer arrive as an
    ephemeral follow-up)."""
    message = await interaction.reply(timeout=20)
    ephemeral = [m for m in interaction.messages if m.ephemeral]
    if ephemeral:
        return ephemeral[-1].text(), True
    return message.text(), message.ephemeral
