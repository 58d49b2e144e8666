"""The whole world on 127.0.0.1 in one process: the simulated Discord, the media world and the real
bot built by the same composition root `musicbox run` uses. `musicbox demo` and `musicbox bench`
run on it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from musicbox.bot.app import build_bot, serve_until_stopped, transcoding_ahead
from musicbox.bot.client import MusicBot
from musicbox.core.config import (
    CacheConfig,
    Config,
    DiscordConfig,
    LimitsConfig,
    PathsConfig,
    PlaybackConfig,
    ResolverConfig,
)
from musicbox.sim.discord import DiscordSim
from musicbox.sim.media import MediaWorld
from musicbox.sources.egress import EgressGate
from musicbox.sources.ytdlp import YtDlpSource
from musicbox.store.database import connect

READY_TIMEOUT_S = 30.0


def rig_config(
    sim: DiscordSim,
    directory: Path,
    *,
    media: MediaWorld | None = None,
    cache_mb: int = 256,
    max_guilds: int = 0,
    workers: int = 2,
    **playback: Any,
) -> Config:
    """What `musicbox run` would run with after tuning, pointed at the simulator (and the media world,
    when given); `cache_mb=0` plays without the cache."""
    resolver = ResolverConfig(workers=workers)
    if media is not None:
        resolver = dataclasses.replace(
            resolver,
            search_template=media.search_template,
            allowed_private_hosts=(media.host,),
            radio_directory=media.radio_directory,
            lyrics_api=media.lyrics_api,
            sponsorblock_api=media.sponsorblock_api,
        )
    return Config(
        discord=DiscordConfig(token=sim.bot_token, api_base=sim.api_base, gateway_url=sim.gateway_url),
        playback=dataclasses.replace(PlaybackConfig(idle_timeout_s=60), **playback),
        resolver=resolver,
        cache=CacheConfig(budget_mb=cache_mb, max_transcodes=2, prefetch_depth=2 if cache_mb else 0),
        limits=LimitsConfig(max_guilds=max_guilds),
        paths=PathsConfig(state_dir=directory, cache_dir=directory / "cache", runtime_dir=directory),
    )


@contextlib.asynccontextmanager
async def running_bot(sim: DiscordSim, config: Config) -> AsyncIterator[MusicBot]:
    """The bot online at the simulator with its commands synced; closed (queues kept) on exit."""
    database = connect(config.paths.state_dir / "sources.sqlite3")
    egress = EgressGate(config.resolver.allowed_private_hosts)
    sources = YtDlpSource(config, database, egress=egress)
    await sources.warm()
    bot = build_bot(config, sources=sources, egress=egress, connector=sim.connector())
    sources.transcode_ahead = transcoding_ahead(bot)
    stop = asyncio.Event()
    serving = asyncio.get_running_loop().create_task(serve_until_stopped(bot, config.discord.token, stop))
    try:
        await sim.wait_until_ready(timeout=READY_TIMEOUT_S)
        await _until(lambda: bool(sim.registered_commands()), serving)
        await bot.wait_until_ready()  # closing before discord.py's own ready task ran leaves it dangling
        yield bot
    finally:
        stop.set()
        await asyncio.wait_for(serving, timeout=30)
        await sources.aclose()
        egress.close()
        database.close()


async def _until(condition: Callable[[], bool], serving: asyncio.Task[None]) -> None:
    for _ in range(int(READY_TIMEOUT_S / 0.01)):
        if condition():
            return
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    raise TimeoutError("the bot never synced its commands with the simulator")
