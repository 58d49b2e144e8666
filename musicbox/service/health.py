"""What `musicbox status` shows about a running bot, gathered from the live objects in one call."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import os
import time
from typing import Any

import psutil

from musicbox import __version__, log_context
from musicbox.bot.client import MusicBot
from musicbox.cache.audio import CachedAudio
from musicbox.core.shards import ShardPlan
from musicbox.service.allocator import allocator_in_use
from musicbox.service.update_state import last_update
from musicbox.sources.local import LocalSource
from musicbox.sources.upstreams import Upstreams

RECENT_ERRORS = 10
LOG_TAIL = 500  # lines the web page can show: a busy evening's worth, ~100 KB


class RecentErrors(logging.Handler):
    """Keeps the last few records at `level` and above in memory, so `status` (warnings and errors)
    and the web page's log (everything logged) show them without reading the journal, which the
    service's sandbox does not let the bot read. Records reach handlers already redacted
    (service/secret_keeping.py)."""

    def __init__(self, level: int = logging.WARNING, keep: int = RECENT_ERRORS) -> None:
        super().__init__(level=level)
        self.records: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(
            {
                "at": record.created,
                "level": record.levelname,
                "guild": log_context.guild.get(),
                "message": record.getMessage(),
            }
        )


def snapshot(
    bot: MusicBot,
    *,
    upstreams: Upstreams,
    started_at: float,
    errors: RecentErrors,
    config_file: str,
    web: dict[str, Any] | None,
    shards: ShardPlan | None = None,
) -> dict[str, Any]:
    process = psutil.Process()
    children = process.children(recursive=True)
    latency = bot.latency
    return {
        "state": "online" if bot.is_ready() and not bot.is_closed() else "connecting",
        "version": __version__,
        "pid": os.getpid(),
        "config": config_file,  # what the bot read, which may differ from what the owner's shell finds
        "uptime_s": round(time.time() - started_at, 1),
        "user": str(bot.user) if bot.user else None,
        "gateway_latency_ms": round(latency * 1000, 1) if math.isfinite(latency) else None,
        "guilds": len(bot.guilds),
        "voice_sessions": [_session(bot, guild_id) for guild_id in sorted(bot.sessions.guild_ids)],
        "max_voice_sessions": bot.sessions.max_guilds,
        # The bot's own and its children's (extraction workers, ffmpeg, ffprobe): what it costs the box.
        "rss_mb": round(rss_with_children(process, children) / 2**20, 1),
        "allocator": allocator_in_use(),
        "children": len(children),
        **task_counts(),
        "last_errors": list(errors.records),
        "cache": _cache(bot),
        "upstreams": _upstreams(upstreams),
        "web": web,  # {"url", "problem"} of the web page, None while it is off
        "music_folders": _music_folders(bot),
        "update": last_update(),  # what the last `musicbox update` did; None: it never ran here
        # The shards this process runs ({"ids": "0-3", "count": 16}), None when unsharded.
        "shards": None if shards is None else {"ids": shards.label, "count": shards.count},
    }


def _music_folders(bot: MusicBot) -> list[dict[str, Any]]:
    """What the bot itself, inside its sandbox, last found in each of the owner's folders."""
    if not isinstance(bot.sources, LocalSource):
        return []
    return [
        {"folder": state.folder, "songs": state.songs, "problem": state.problem}
        for state in bot.sources.folders
    ]


def rss_with_children(process: psutil.Process, children: list[psutil.Process]) -> int:
    total = process.memory_info().rss
    for child in children:
        with contextlib.suppress(psutil.Error):  # it ended meanwhile
            total += child.memory_info().rss
    return total


def _upstreams(upstreams: Upstreams) -> dict[str, Any]:
    """Retries so far and every upstream whose circuit is not healthy (failing, open, probing)."""
    return {
        "retries": upstreams.retries,
        "failures": upstreams.failures,
        "troubled": [
            {
                "name": health.name,
                "circuit": health.state.value,
                "consecutive_failures": health.consecutive_failures,
                "retry_in_s": health.retry_in_s,
            }
            for health in upstreams.health()
        ],
    }


def _cache(bot: MusicBot) -> dict[str, Any] | None:
    if not isinstance(bot.audio, CachedAudio):
        return None  # playing straight from the source: the cache budget is 0
    figures = bot.audio.store.stats()
    asked = figures.hits + figures.misses
    return {
        "songs": figures.entries,
        "used_mb": round(figures.used_bytes / 2**20, 1),
        "budget_mb": round(figures.budget_bytes / 2**20, 1),
        "hit_ratio": round(figures.hits / asked, 3) if asked else None,
        "transcodes_started": bot.audio.transcodes_started,
        "disk_full": bot.audio.disk_full,
        "directory": str(bot.audio.store.directory),
    }


def _session(bot: MusicBot, guild_id: int) -> dict[str, Any]:
    session = bot.sessions.get(guild_id)
    guild = bot.get_guild(guild_id)
    if session is None:
        return {"guild_id": guild_id}
    current = session.queue.current
    channel = getattr(session.voice, "channel", None)
    return {
        "guild_id": guild_id,
        "guild": guild.name if guild else None,
        "channel": getattr(channel, "name", None),
        "now_playing": current.track.title if current else None,
        "position_s": round(session.position_s, 1),
        "filter": session.playing_filter.label if session.playing_filter is not None else None,
        "paused": session.paused,
        "queue_length": len(session.queue),
        "loop": str(session.queue.loop),
    }


def task_counts() -> dict[str, int]:
    """The loop's tasks, discord.py's view timers apart: each message whose buttons time out (a
    /queue pager: 300 s) has a timer task that ends with its view. Counted on their own, `tasks`
    is what the bot holds for good (the soak's floor), `view_timers` what its messages hold a while."""
    tasks = asyncio.all_tasks()
    timers = sum(1 for task in tasks if _is_view_timer(task))
    return {"tasks": len(tasks) - timers, "view_timers": timers}


def _is_view_timer(task: asyncio.Task[Any]) -> bool:
    # discord.py's BaseView.__timeout_task_impl, the one coroutine it runs per view with a timeout.
    return getattr(task.get_coro(), "__qualname__", "").endswith("__timeout_task_impl")
