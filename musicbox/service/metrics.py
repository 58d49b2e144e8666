"""The bot's figures in Prometheus' text format, on 127.0.0.1 when the owner turns it on
(`[observability] metrics_enabled = true`, `metrics_endpoint = "127.0.0.1:9464"`, path /metrics).

Command timings and errors are counted as they happen; everything else (guilds, voice sessions,
queues, the cache, upstream circuits, memory and CPU) is read from the running bot at scrape time, so a
figure can never drift from the state `musicbox status` shows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from musicbox.bot.client import MusicBot
    from musicbox.sources.upstreams import Upstreams

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Acknowledgements sit in the milliseconds; a /play that resolves a playlist takes seconds.
COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A cached song starts in about a tenth of a second, a cold link in one to a few (yt-dlp, the probe).
FIRST_AUDIO_BUCKETS = (0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.command_seconds = Histogram(
            "musicbox_command_seconds",
            "Time from a slash command reaching the bot to its handler finishing.",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=self.registry,
        )
        self.first_audio_seconds = Histogram(
            "musicbox_first_audio_seconds",
            "Time from a /play that starts a song at once to the song's first voice packet sent.",
            buckets=FIRST_AUDIO_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "musicbox_errors",
            "Errors by kind (command failures, unplayable tracks).",
            ["kind"],
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)  # RSS, CPU seconds, open fds of this process

    def watch(self, bot: MusicBot) -> None:
        self.registry.register(_BotCollector(bot))

    def watch_upstreams(self, upstreams: Upstreams) -> None:
        self.registry.register(_UpstreamCollector(upstreams))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _BotCollector(Collector):
    def __init__(self, bot: MusicBot) -> None:
        self._bot = bot

    def collect(self) -> Iterator[Metric]:
        bot = self._bot
        sessions = [bot.sessions.get(guild_id) for guild_id in bot.sessions.guild_ids]
        yield _gauge("musicbox_guilds", "Servers the bot is in.", len(bot.guilds))
        yield _gauge("musicbox_voice_sessions", "Guilds with an active voice session.", len(sessions))
        yield _gauge(
            "musicbox_voice_sessions_max", "The cap on active voice sessions.", bot.sessions.max_guilds
        )
        queued = sum(len(session.queue) for session in sessions if session is not None)
        yield _gauge("musicbox_queued_tracks", "Tracks waiting in all queues.", queued)
        latency = bot.latency
        if latency == latency and latency != float("inf"):  # NaN or inf before the first heartbeat
            yield _gauge("musicbox_gateway_latency_seconds", "Gateway heartbeat round trip.", latency)
        yield from _cache_metrics(bot)


class _UpstreamCollector(Collector):
    def __init__(self, upstreams: Upstreams) -> None:
        self._upstreams = upstreams

    def collect(self) -> Iterator[Metric]:
        upstreams = self._upstreams
        yield CounterMetricFamily(
            "musicbox_upstream_retries", "Upstream calls tried again after a failure.", upstreams.retries
        )
        yield CounterMetricFamily(
            "musicbox_upstream_failures",
            "Upstream calls that failed (the upstream's fault).",
            upstreams.failures,
        )
        circuits = GaugeMetricFamily(
            "musicbox_upstream_circuit",
            "1 for each upstream whose circuit is in that state (closed ones with failures, open, "
            "half-open); an upstream that answers drops out.",
            labels=["upstream", "state"],
        )
        for health in upstreams.health():
            circuits.add_metric([health.name, health.state.value], 1)
        yield circuits


def _cache_metrics(bot: MusicBot) -> Iterator[Metric]:
    from musicbox.cache.audio import CachedAudio

    if not isinstance(bot.audio, CachedAudio):
        return
    figures = bot.audio.store.stats()
    yield _gauge("musicbox_cache_songs", "Songs in the audio cache.", figures.entries)
    yield _gauge("musicbox_cache_bytes", "Bytes the audio cache holds.", figures.used_bytes)
    yield _gauge("musicbox_cache_budget_bytes", "The audio cache's byte budget.", figures.budget_bytes)
    yield _gauge("musicbox_cache_hits", "Plays served from the cache since start.", figures.hits)
    yield _gauge("musicbox_cache_misses", "Plays that had to transcode since start.", figures.misses)
    yield _gauge(
        "musicbox_transcodes", "ffmpeg transcodes started since start.", bot.audio.transcodes_started
    )
    yield _gauge(
        "musicbox_cache_disk_full",
        "1 while the cache disk has no room for another song (songs play uncached).",
        int(bot.audio.disk_full),
    )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


@contextlib.asynccontextmanager
async def serving(metrics: Metrics, endpoint: str) -> AsyncIterator[None]:
    """GET /metrics on `endpoint` ("host:port") until the block ends."""
    host, _, port = endpoint.rpartition(":")

    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host or "127.0.0.1", int(port)).start()
        yield
    finally:
        await runner.cleanup()
