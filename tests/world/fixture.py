"""The `world` fixture: the Discord simulator, the local media world, and the real bot (with the
real yt-dlp source, as `musicbox run` builds it) started on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from musicbox.bot.app import transcoding_ahead
from musicbox.bot.client import MusicBot
from musicbox.core.config import LibraryConfig, SpotifyConfig
from musicbox.sim.discord import DiscordSim
from musicbox.sim.media import MediaWorld
from musicbox.sim.media.network import SimNetwork
from musicbox.sources.egress import EgressGate
from musicbox.sources.local import LocalSource, with_local_music
from musicbox.sources.spotify import spotify_aware
from musicbox.sources.ytdlp import YtDlpSource
from musicbox.store.database import connect
from tests.world.stage import running_bot, sim_config
from tests.world.tones import ToneSources
from tests.world.youtube import SimYouTube


@dataclass
class World:
    sim: DiscordSim
    media: MediaWorld
    state_dir: Path
    # The names and public addresses the bot's egress gate sees; a story adds its own.
    network: SimNetwork = field(default_factory=SimNetwork)
    egress: EgressGate | None = None  # the running bot's, while it runs

    @asynccontextmanager
    async def bot(
        self,
        *,
        max_guilds: int = 0,
        resolver_workers: int = 4,
        spotify: SpotifyConfig | None = None,
        library: LibraryConfig | None = None,
        youtube: bool = False,
        **playback: Any,
    ) -> AsyncIterator[MusicBot]:
        """`youtube`: watch links of the media world's videos play (`tests/world/youtube.py`)."""
        config = sim_config(
            self.sim,
            self.state_dir,
            media=self.media,
            max_guilds=max_guilds,
            workers=resolver_workers,
            **playback,
        )
        if spotify is not None:
            # The fake Spotify API is on 127.0.0.1 too: allowed, as an owner would allow a NAS.
            spotify_hosts = tuple(urlsplit(base).netloc for base in (spotify.api_base, spotify.accounts_base))
            resolver = replace(
                config.resolver, allowed_private_hosts=config.resolver.allowed_private_hosts + spotify_hosts
            )
            config = replace(config, spotify=spotify, resolver=resolver)
        if library is not None:
            config = replace(config, library=library)
        database = connect(self.state_dir / "sources.sqlite3")
        egress = EgressGate(
            config.resolver.allowed_private_hosts, resolve=self.network.resolve, dial=self.network.dial
        )
        resolver = YtDlpSource(config, database, egress=egress)
        sources = with_local_music(spotify_aware(resolver, config, database), config.library, database)
        if isinstance(sources, LocalSource):
            sources.start_indexing()  # what warm() does first; yt-dlp's warm-up is not wanted here
        self.egress = egress
        try:
            served = SimYouTube(self.media, sources) if youtube else sources
            async with running_bot(self.sim, config, served, egress=egress) as bot:
                resolver.transcode_ahead = transcoding_ahead(bot)  # as `musicbox run` wires it
                yield bot
        finally:
            await sources.aclose()
            egress.close()
            self.egress = None
            database.close()


class ToneMedia:
    """Addresses of generated tones: track `index` is tone rung `index`."""

    def track_url(self, index: int, *, seconds: float = 2.0) -> str:
        return f"tone:{index}:{seconds:g}"


@dataclass
class ToneWorld:
    """The simulator and the real bot over generated tones instead of yt-dlp.

    For the crowd stories: they measure the bot's acknowledgements, ordering and cleanup under load.
    With 200 yt-dlp resolves in the same process the listener side (decrypt, decode, FFT of every
    packet, sharing one GIL with the bot) falls behind the kernel buffer and loses packets a real
    Discord would have received, so the failure would be the simulator's, not the bot's.
    """

    sim: DiscordSim
    media: ToneMedia
    state_dir: Path

    @asynccontextmanager
    async def bot(self, *, max_guilds: int = 0, **playback: Any) -> AsyncIterator[MusicBot]:
        config = sim_config(self.sim, self.state_dir, max_guilds=max_guilds, **playback)
        async with running_bot(self.sim, config, ToneSources(self.state_dir)) as bot:
            yield bot


@pytest.fixture
async def tone_world(discord_sim: DiscordSim, tmp_path: Path) -> ToneWorld:
    return ToneWorld(sim=discord_sim, media=ToneMedia(), state_dir=tmp_path)


@pytest.fixture
async def world(discord_sim: DiscordSim, media_world: MediaWorld, tmp_path: Path) -> World:
    return World(sim=discord_sim, media=media_world, state_dir=tmp_path)
