"""`musicbox run`: the bot with everything a long-running service needs around it.

systemd learns READY once the gateway is up and gets a watchdog ping only while the event loop turns
and the gateway answers heartbeats; SIGTERM closes every guild session (their queues are kept for
the next start) before the process exits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
import sqlite3
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import discord

from musicbox.bot.app import build_bot, serve_until_stopped
from musicbox.bot.client import MusicBot
from musicbox.core.config import Config
from musicbox.core.tuning import overrides_from, tune, with_tuning
from musicbox.service import control, health, metrics
from musicbox.service.notify import Notifier
from musicbox.service.probe import probe
from musicbox.sources.egress import EgressGate
from musicbox.sources.ytdlp import YtDlpSource
from musicbox.store.config_file import config_path
from musicbox.store.database import open_state

if TYPE_CHECKING:
    from musicbox.sources.spotify import SpotifySource

log = logging.getLogger(__name__)

# While connecting for the first time the gateway cannot be healthy yet; systemd's own start timeout
# bounds that phase, so the watchdog is fed through it.
STARTUP_GRACE_S = 120.0


class TokenRejected(Exception):
    """Discord refused the token: the owner must run `musicbox setup` again."""


async def run_service(config: Config, environment: Mapping[str, str]) -> None:
    errors = health.RecentErrors()
    logging.getLogger().addHandler(errors)
    tuning = tune(probe(config.paths.cache_dir), overrides_from(config))
    config = with_tuning(config, tuning)
    log.info(
        "tuned: %d resolver workers, %d voice sessions, %d MB cache, prefetch %d",
        tuning.resolver_workers,
        tuning.max_guilds,
        tuning.cache_budget_mb,
        tuning.prefetch_depth,
    )
    notifier = Notifier(environment)
    started_at = time.time()
    config_file = str(config_path(environment))
    database = open_state(config.paths.state_dir / "musicbox.sqlite3")
    egress = EgressGate(config.resolver.allowed_private_hosts)
    resolver = YtDlpSource(config, database, egress=egress)
    sources = _with_spotify(resolver, config, database) if config.spotify.configured else resolver
    await sources.warm()  # a second or two on a Pi, before READY, instead of on the first /play
    bot = build_bot(config, sources=sources, egress=egress)
    bot.metrics.watch_upstreams(resolver.upstreams)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    try:
        async with (
            control.serving(
                config.paths.runtime_dir,
                lambda: health.snapshot(
                    bot,
                    upstreams=resolver.upstreams,
                    started_at=started_at,
                    errors=errors,
                    config_file=config_file,
                ),
            ),
            _metrics_endpoint(bot, config),
            asyncio.TaskGroup() as group,
        ):
            watchers = [
                group.create_task(_announce_ready(bot, notifier), name="sd-ready"),
                group.create_task(_feed_watchdog(bot, notifier), name="sd-watchdog"),
            ]
            try:
                await serve_until_stopped(bot, config.discord.token, stop)
            finally:
                notifier.stopping()
                for watcher in watchers:
                    watcher.cancel()
    except* discord.LoginFailure as refused:
        raise TokenRejected("Discord refused the bot token") from refused.exceptions[0]
    finally:
        await sources.aclose()
        egress.close()
        database.close()


def _with_spotify(
    resolver: YtDlpSource, config: Config, database: sqlite3.Connection
) -> SpotifySource | YtDlpSource:
    # Imported only when the owner set Spotify up: spotipy and what it pulls in (requests, redis)
    # are about 7 MiB the bot does not hold otherwise.
    from musicbox.sources.spotify import spotify_aware

    return spotify_aware(resolver, config, database)


def _metrics_endpoint(bot: MusicBot, config: Config) -> contextlib.AbstractAsyncContextManager[None]:
    if not config.observability.metrics_enabled:
        return contextlib.nullcontext()
    log.info("metrics on http://%s/metrics", config.observability.metrics_endpoint)
    return metrics.serving(bot.metrics, config.observability.metrics_endpoint)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)


async def _announce_ready(bot: MusicBot, notifier: Notifier) -> None:
    await bot.wait_until_ready()
    notifier.ready(f"online as {bot.user} in {len(bot.guilds)} servers")
    log.info("online as %s in %d servers", bot.user, len(bot.guilds))


async def _feed_watchdog(bot: MusicBot, notifier: Notifier) -> None:
    if not notifier.watchdog_interval_s:
        return
    started = time.monotonic()
    while True:
        starting = not bot.is_ready() and time.monotonic() - started < STARTUP_GRACE_S
        if starting or _gateway_healthy(bot):
            notifier.watchdog()
        await asyncio.sleep(notifier.watchdog_interval_s)


def _gateway_healthy(bot: MusicBot) -> bool:
    # discord.py's latency turns infinite when heartbeats stop being acknowledged.
    return bot.is_ready() and not bot.is_closed() and math.isfinite(bot.latency)
