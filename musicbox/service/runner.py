"""`musicbox run`: the bot with everything a long-running service needs around it.

systemd learns READY once the gateway is up and gets a watchdog ping only while the event loop turns
and the gateway answers heartbeats; SIGTERM closes every guild session (their queues are kept for
the next start) before the process exits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import resource
import signal
import socket
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import discord
import psutil

from musicbox.bot.app import build_bot, recommended_shard_count, serve_until_stopped, transcoding_ahead
from musicbox.bot.client import MusicBot
from musicbox.bot.remote import FleetRemote, RemoteControl, answer_forwarded
from musicbox.cache.audio import CachedAudio
from musicbox.core.config import Config
from musicbox.core.shards import ShardPlan, shard_count_text
from musicbox.core.tuning import overrides_from, tune, with_tuning
from musicbox.service import allocator, control, fleet, health, memory_census, metrics
from musicbox.service.notify import Notifier
from musicbox.service.probe import probe
from musicbox.service.vitals import Vitals, read_totals
from musicbox.sources.egress import EgressGate
from musicbox.sources.local import with_local_music
from musicbox.sources.ytdlp import YtDlpSource
from musicbox.store.api_tokens import ApiTokenStore
from musicbox.store.config_file import config_path
from musicbox.store.database import open_state
from musicbox.store.sql import Connection, is_postgresql, open_store
from musicbox.store.vitals import VitalsStore
from musicbox.web import server as web_page
from musicbox.web.api import ApiAccess
from musicbox.web.discord_login import DiscordLogin

if TYPE_CHECKING:
    from musicbox.sources.spotify import SpotifySource

log = logging.getLogger(__name__)

# While connecting for the first time the gateway cannot be healthy yet; systemd's own start timeout
# bounds that phase, so the watchdog is fed through it.
STARTUP_GRACE_S = 120.0


def _bounded_sizes(
    bot: MusicBot, log_tail: health.RecentErrors, errors: health.RecentErrors
) -> dict[str, int]:
    """How full the bot's own bounded structures and discord.py's caches are, for the memory census."""
    state = bot._connection
    return {
        "sessions": len(bot.sessions.guild_ids),
        "start_times": len(bot.start_times.as_json()),
        "log_tail": len(log_tail.records),
        "last_errors": len(errors.records),
        "discord_messages": len(bot.cached_messages),
        "discord_users": len(state._users),
        "discord_guilds": len(state._guilds),
        "discord_views": len(state._view_store._views),
        "discord_message_views": len(state._view_store._synced_message_views),
    }


class TokenRejected(Exception):
    """Discord refused the token: the owner must run `musicbox setup` again."""


class ShardsMisfit(Exception):
    """The shard ids asked for do not exist with the count Discord recommends."""


async def run_service(
    config: Config, environment: Mapping[str, str], shards: ShardPlan | None = None
) -> None:
    """With `shards`, this process runs only those (their count asked of Discord when not given);
    its control socket is named after them, so processes of one box do not take each other's, and
    only the one holding shard 0 serves the box's web page and metrics (one port each)."""
    if shards is not None and shards.count is None:
        shards = await _with_recommended_count(config, shards)
    _open_files_raised()
    errors = health.RecentErrors()
    log_tail = health.RecentErrors(logging.INFO, keep=health.LOG_TAIL)
    logging.getLogger().addHandler(errors)
    logging.getLogger().addHandler(log_tail)
    tuning = tune(probe(config.paths.cache_dir), overrides_from(config))
    config = with_tuning(config, tuning)
    log.info(
        "tuned: %d resolver workers, %d voice sessions, %d MB cache, prefetch %d, %d filtered streams",
        tuning.resolver_workers,
        tuning.max_guilds,
        tuning.cache_budget_mb,
        tuning.prefetch_depth,
        tuning.max_filtered,
    )
    notifier = Notifier(environment)
    started_at = time.time()
    config_file = str(config_path(environment))
    database = open_state(config.paths.state_dir / "musicbox.sqlite3")
    store = open_store(config.store.url, database)
    egress = EgressGate(config.resolver.allowed_private_hosts)
    resolver = YtDlpSource(config, database, egress=egress)
    with_spotify = _with_spotify(resolver, config, store) if config.spotify.configured else resolver
    sources = with_local_music(with_spotify, config.library, store)
    await sources.warm()  # a second or two on a Pi, before READY, instead of on the first /play
    bot = build_bot(config, sources=sources, egress=egress, shards=shards, database=database, store=store)
    resolver.transcode_ahead = transcoding_ahead(bot)
    bot.metrics.watch_upstreams(resolver.upstreams)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    box_wide = shards is None or 0 in shards.ids
    web_url = web_page.page_url(config.web, socket.gethostname()) if config.web.enabled and box_wide else None

    def status() -> dict[str, Any]:
        return health.snapshot(
            bot,
            upstreams=resolver.upstreams,
            started_at=started_at,
            errors=errors,
            config_file=config_file,
            web=None if web_url is None else {"url": web_url, "problem": web.problem},
            shards=shards,
        )

    process = psutil.Process()
    vitals = Vitals(
        VitalsStore(store),
        lambda at: read_totals(bot.metrics, bot.audio, process, at),
        lambda: len(bot.sessions.guild_ids),
    )
    api_access = ApiAccess(ApiTokenStore(store))
    await api_access.load()
    web = web_page.WebState(
        config.web,
        status,
        vitals=lambda: vitals.samples,
        log=lambda: log_tail.records,
        purge_cache=bot.audio.purge_unused if isinstance(bot.audio, CachedAudio) else None,
        api=api_access,
        remote=RemoteControl(bot),
        discord_login=_discord_login(config, bot, web_url),
    )
    others: dict[str, control.Answer] = {
        "web-link": lambda _: _web_link(web, web_url),
        "api-token": api_access.answer,
        "starts": lambda _: bot.start_times.as_json(),
    }
    if memory_census.wanted(environment):  # the soak bench's, off in service
        census = memory_census.MemoryCensus(
            lambda: _bounded_sizes(bot, log_tail, errors), memory_census.frames_wanted(environment)
        )
        others["memory"] = census.answer
    try:
        async with (
            control.serving(
                config.paths.runtime_dir, status, name=control.socket_name(shards), others=others
            ),
            _metrics_endpoint(bot, config) if box_wide else contextlib.nullcontext(),
            _in_fleet(config, shards, bot, web),
            _web_page(web, web_url),
            asyncio.TaskGroup() as group,
        ):
            watchers = [
                group.create_task(_announce_ready(bot, notifier), name="sd-ready"),
                group.create_task(_feed_watchdog(bot, notifier), name="sd-watchdog"),
                group.create_task(allocator.trim_periodically(), name="malloc-trim"),
            ]
            if web_url is not None:  # the graphs' figures: a database write a minute, for the page only
                watchers.append(group.create_task(vitals.run(), name="web-vitals"))
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
        if store is not database:
            store.close()
        database.close()


def _open_files_raised() -> None:
    """The soft limit on open files raised to the hard one. systemd starts services at 1024, for
    programs that still wait with select(); each voice connection holds about four (its UDP socket,
    its websocket, its reader's wake-up pair), so a bot in a few hundred voice channels ran out.
    Nothing here waits with select() (voice_recovery.py, recovery 7)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        log.debug("open files: the soft limit raised from %d to %d", soft, hard)


async def _with_recommended_count(config: Config, shards: ShardPlan) -> ShardPlan:
    try:
        count = await recommended_shard_count(config)
    except discord.LoginFailure as refused:
        raise TokenRejected("Discord refused the bot token") from refused
    known = shards.with_count(count)
    if isinstance(known, str):
        raise ShardsMisfit(
            f"Discord recommends {shard_count_text(count)}, and {known}, or give --shard-count"
        )
    log.info("shards %s of %d (the count Discord recommends)", known.label, count)
    return known


def _with_spotify(resolver: YtDlpSource, config: Config, store: Connection) -> SpotifySource | YtDlpSource:
    # Imported only when the owner set Spotify up: spotipy and what it pulls in (requests, redis)
    # are about 7 MiB the bot does not hold otherwise.
    from musicbox.sources.spotify import spotify_aware

    return spotify_aware(resolver, config, store)


def _metrics_endpoint(bot: MusicBot, config: Config) -> contextlib.AbstractAsyncContextManager[None]:
    if not config.observability.metrics_enabled:
        return contextlib.nullcontext()
    log.info("metrics on http://%s/metrics", config.observability.metrics_endpoint)
    return metrics.serving(bot.metrics, config.observability.metrics_endpoint)


@contextlib.asynccontextmanager
async def _in_fleet(
    config: Config, shards: ShardPlan | None, bot: MusicBot, web: web_page.WebState
) -> AsyncIterator[None]:
    """On a PostgreSQL store: this process beats in the fleet's table and answers the actions other
    processes forward for its servers, and its page and API reach every server of the fleet."""
    if not is_postgresql(config.store.url):
        yield
        return
    local = RemoteControl(bot)
    async with fleet.joined(
        config.store.url,
        shards,
        lambda request: answer_forwarded(local, request),
        lambda: (len(bot.guilds), len(bot.sessions.guild_ids)),
    ) as link:
        web.remote = FleetRemote(local, shards, link)
        yield


def _web_page(web: web_page.WebState, url: str | None) -> contextlib.AbstractAsyncContextManager[None]:
    if url is None:
        return contextlib.nullcontext()
    log.info("web page on %s", url)
    return web_page.serving(web)


def _discord_login(config: Config, bot: MusicBot, url: str | None) -> DiscordLogin | None:
    if url is None or not config.web.oauth_client_secret:
        return None
    return DiscordLogin(
        client_id=lambda: bot.application_id,
        client_secret=config.web.oauth_client_secret,
        api_base=config.discord.api_base,
        redirect_uri=f"{url}login/discord/callback",
    )


def _web_link(web: web_page.WebState, url: str | None) -> dict[str, Any]:
    """A one-time login link for `musicbox web link`."""
    if url is None:
        return {
            "error": "the web page is off: turn it on with `musicbox setup --web` or [web] enabled = true"
        }
    return {"url": f"{url}login/link/{web.links.issue()}"}


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
