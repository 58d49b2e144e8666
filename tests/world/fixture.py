"""The `world` fixture: the Discord simulator, media to play, and the real bot started on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from musicbox.bot.client import MusicBot
from musicbox.sim.discord import DiscordSim
from tests.world.stage import running_bot, sim_config
from tests.world.tones import ToneSources


class ToneMedia:
    """Addresses of tracks, as the media world will give them: track `index` is tone rung `index`."""

    def track_url(self, index: int, *, seconds: float = 2.0) -> str:
        return f"tone:{index}:{seconds:g}"

    def playlist_url(self, count: int, *, first_index: int = 0, seconds: float = 2.0) -> str:
        return f"tones:{first_index}:{count}:{seconds:g}"


@dataclass
class World:
    sim: DiscordSim
    media: ToneMedia
    state_dir: Path

    @asynccontextmanager
    async def bot(self, *, max_guilds: int = 0, **playback: Any) -> AsyncIterator[MusicBot]:
        config = sim_config(self.sim, self.state_dir, max_guilds=max_guilds, **playback)
        async with running_bot(self.sim, config, ToneSources(self.state_dir)) as bot:
            yield bot


@pytest.fixture
async def world(discord_sim: DiscordSim, tmp_path: Path) -> World:
    return World(sim=discord_sim, media=ToneMedia(), state_dir=tmp_path)
