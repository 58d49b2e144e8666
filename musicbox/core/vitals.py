"""The bot's last day in figures, for the web page's graphs: what one sample holds and how it is
worked out from the running totals the bot keeps (command timings, cache hits, CPU seconds,
errors). Pure: the shell reads the totals once a minute and hands in two readings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SAMPLE_EVERY_S = 60.0
KEEP_S = 24 * 3600.0
# A graph of a day at one point per 6 minutes: 240 points, a few kilobytes of SVG, on a phone too.
POINTS_PER_GRAPH = 240

Buckets = tuple[tuple[float, float], ...]  # (upper bound in s, cumulative count), the last bound inf


@dataclass(frozen=True, slots=True)
class Totals:
    """Running totals since the bot started, read at `at` (seconds since the epoch)."""

    at: float
    command_buckets: Buckets  # command timings, summed over commands
    cache_hits: int
    cache_misses: int
    cpu_s: float
    errors: float
    first_audio_buckets: Buckets = ()  # the time from /play to a song's first packet, summed


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    command_p95_ms: float | None  # None: no command in the interval
    cache_hit_ratio: float | None  # None: nothing played in the interval (or the cache is off)
    streams: int
    rss_mb: float
    cpu_percent: float  # of one core
    errors: int
    first_audio_p95_ms: float | None = None  # None: no song was started by a /play in the interval


SERIES = (
    "command_p95_ms",
    "cache_hit_ratio",
    "streams",
    "rss_mb",
    "cpu_percent",
    "errors",
    "first_audio_p95_ms",
)


def sample(before: Totals, now: Totals, *, streams: int, rss_mb: float) -> Sample:
    elapsed = max(now.at - before.at, 1e-9)
    hits = now.cache_hits - before.cache_hits
    asked = hits + now.cache_misses - before.cache_misses
    return Sample(
        at=now.at,
        command_p95_ms=_milliseconds(
            quantile(_difference(before.command_buckets, now.command_buckets), 0.95)
        ),
        cache_hit_ratio=round(hits / asked, 3) if asked > 0 else None,
        streams=streams,
        rss_mb=round(rss_mb, 1),
        cpu_percent=round(100 * max(0.0, now.cpu_s - before.cpu_s) / elapsed, 1),
        errors=max(0, round(now.errors - before.errors)),
        first_audio_p95_ms=_milliseconds(
            quantile(_difference(before.first_audio_buckets, now.first_audio_buckets), 0.95)
        ),
    )


def quantile(buckets: Buckets, q: float) -> float | None:
    """The q-quantile of a histogram's cumulative buckets, interpolated inside its bucket as
    Prometheus' histogram_quantile does; the largest finite bound when it falls in the last one."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    wanted = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= wanted:
            if math.isinf(bound):
                return lower_bound
            share = (wanted - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def downsample(points: Sequence[tuple[float, float | None]], most: int) -> list[tuple[float, float | None]]:
    """At most `most` points: runs of neighbours averaged (gaps, None, stay gaps)."""
    if len(points) <= most:
        return list(points)
    size = math.ceil(len(points) / most)
    merged: list[tuple[float, float | None]] = []
    for start in range(0, len(points), size):
        run = points[start : start + size]
        values = [value for _, value in run if value is not None]
        merged.append((run[-1][0], sum(values) / len(values) if values else None))
    return merged


def _difference(before: Buckets, now: Buckets) -> Buckets:
    earlier = dict(before)
    return tuple((bound, count - earlier.get(bound, 0.0)) for bound, count in now)


def _milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
