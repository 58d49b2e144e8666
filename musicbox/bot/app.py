"""The composition root: every long-lived object of a running bot is made here and handed in."""

from __future__ import annotations

import asyncio
import sqlite3

import aiohttp
import discord
import yarl

from musicbox.bot.client import MusicBot, ShardedMusicBot
from musicbox.bot.sources import TrackSource
from musicbox.cache.audio import CachedAudio
from musicbox.cache.store import AudioStore
from musicbox.core.config import Config
from musicbox.core.shards import ShardPlan
from musicbox.playback.direct import DirectAudio
from musicbox.playback.session import DEFAULT_MAX_FILTERED, AudioProvider, Sessions
from musicbox.service.metrics import Metrics
from musicbox.sources.egress import EgressGate
from musicbox.sources.lrclib import Lrclib
from musicbox.sources.radio import RadioDirectory
from musicbox.sources.sponsorblock import SponsorBlock
from musicbox.store.database import Database, open_state
from musicbox.store.favorites import FavoriteStore
from musicbox.store.history import HistoryStore
from musicbox.store.playlists import PlaylistStore
from musicbox.store.queues import QueueStore
from musicbox.store.settings import GuildSettings, SettingsStore
from musicbox.store.sql import Connection, open_store

DEFAULT_MAX_GUILDS = 50  # until the tuner sizes it from the hardware


def build_bot(
    config: Config,
    *,
    sources: TrackSource,
    egress: EgressGate,
    audio: AudioProvider | None = None,
    connector: aiohttp.BaseConnector | None = None,
    shards: ShardPlan | None = None,
    database: Database | None = None,
    store: Connection | None = None,
) -> MusicBot:
    """`egress` is the gate `sources` fetch through: ffmpeg's transcodes and streams use it too.
    With `shards` (their count known: `recommended_shard_count`), the bot runs those shards.
    `database` and `store`: the connections the service already holds (else opened here)."""
    address_discord(config)
    if database is None:  # the audio cache's index
        database = open_state(config.paths.state_dir / "musicbox.sqlite3")
    if store is None:  # what the bot keeps: this file or [store] url's server
        store = open_store(config.store.url, database)
    settings = SettingsStore(store, GuildSettings.defaults(config.playback))
    filtered = config.limits.max_filtered
    sessions = Sessions(
        max_guilds=config.limits.max_guilds or DEFAULT_MAX_GUILDS,
        max_filtered=filtered if filtered >= 0 else DEFAULT_MAX_FILTERED,
    )
    bot_class = MusicBot if shards is None else ShardedMusicBot
    return bot_class(
        config,
        sources=sources,
        audio=audio or _audio(config, database, sessions, egress.proxy_url),
        settings=settings,
        queues=QueueStore(store),
        playlists=PlaylistStore(store),
        history=HistoryStore(store),
        favorites=FavoriteStore(store),
        sessions=sessions,
        metrics=Metrics(),
        connector=connector,
        radio=RadioDirectory(config.resolver.radio_directory, egress),
        lyrics=Lrclib(config.resolver.lyrics_api, egress),
        sponsorblock=SponsorBlock(config.resolver.sponsorblock_api, egress),
        shards=shards,
    )


def address_discord(config: Config) -> None:
    # Route.BASE and DEFAULT_GATEWAY are how discord.py addresses REST and the gateway (an unsharded
    # client never asks /gateway/bot, nor does a sharded one told its shard count); pointing them at
    # the configuration is what lets the same bot talk to Discord or to the simulator.
    discord.http.Route.BASE = config.discord.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.discord.gateway_url)


async def recommended_shard_count(config: Config) -> int:
    """The shard count Discord recommends for the bot now (`GET /gateway/bot`), asked through
    discord.py's own HTTP client as AutoShardedClient asks it when given no count."""
    address_discord(config)
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login(config.discord.token)
        count, _, _ = await http.get_bot_gateway()
    finally:
        await http.close()
    return count


def _audio(config: Config, database: sqlite3.Connection, sessions: Sessions, proxy_url: str) -> AudioProvider:
    if config.cache.budget_mb <= 0:
        return DirectAudio(proxy_url)
    store = AudioStore(
        config.paths.cache_dir / "audio", database, budget_bytes=config.cache.budget_mb * 2**20
    )
    return CachedAudio(
        store,
        max_transcodes=config.cache.max_transcodes,
        queued_keys=sessions.queued_keys,
        proxy_url=proxy_url,
        max_track_s=config.playback.max_track_s,
        loudness_lufs=config.playback.loudness_lufs,
    )


def transcoding_ahead(bot: MusicBot) -> CachedAudio | None:
    """What the yt-dlp source begins a direct file's transcode with while probing it: the audio
    cache, when there is one (`YtDlpSource.transcode_ahead`)."""
    return bot.audio if isinstance(bot.audio, CachedAudio) else None


async def serve_until_stopped(bot: MusicBot, token: str, stop: asyncio.Event) -> None:
    """Run the bot until `stop` is set or the connection ends for good, then close every session."""
    async with bot:
        connection = asyncio.get_running_loop().create_task(bot.start(token), name="discord-connection")
        stopping = asyncio.get_running_loop().create_task(stop.wait(), name="stop-signal")
        try:
            await asyncio.wait({connection, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            await bot.close()
            await asyncio.gather(connection, stopping, return_exceptions=True)
        failure = connection.exception() if connection.done() and not connection.cancelled() else None
        if failure is not None:
            raise failure
