"""The figures the web page graphs, worked out from two readings of the bot's running totals."""

from __future__ import annotations

import math

import pytest

from musicbox.core.vitals import Totals, downsample, quantile, sample

INF = math.inf


def totals(
    at: float,
    buckets: tuple[tuple[float, float], ...],
    first_audio: tuple[tuple[float, float], ...] = (),
    **figures: float,
) -> Totals:
    defaults: dict[str, float] = {"cache_hits": 0, "cache_misses": 0, "cpu_s": 0.0, "errors": 0.0}
    defaults.update(figures)
    return Totals(
        at=at,
        command_buckets=buckets,
        cache_hits=int(defaults["cache_hits"]),
        cache_misses=int(defaults["cache_misses"]),
        cpu_s=defaults["cpu_s"],
        errors=defaults["errors"],
        first_audio_buckets=first_audio,
    )


@pytest.mark.parametrize(
    ("buckets", "p95"),
    [
        (((0.01, 0.0), (0.05, 0.0), (INF, 0.0)), None),  # no command at all
        (((0.01, 100.0), (0.05, 100.0), (INF, 100.0)), 0.0095),  # all under 10 ms
        (((0.01, 90.0), (0.05, 100.0), (INF, 100.0)), 0.03),  # the 95th in the 10-50 ms bucket, half way
        (((0.01, 0.0), (0.05, 0.0), (INF, 10.0)), 0.05),  # beyond the last bound: the last bound
    ],
)
def test_the_95th_percentile_comes_from_the_histograms_buckets(
    buckets: tuple[tuple[float, float], ...], p95: float | None
) -> None:
    found = quantile(buckets, 0.95)
    assert found == pytest.approx(p95) if p95 is not None else found is None


def test_a_sample_counts_only_what_happened_since_the_last_reading() -> None:
    before = totals(0, ((0.01, 50.0), (0.1, 50.0), (INF, 50.0)), cache_hits=10, cpu_s=5.0, errors=2)
    # Since: 20 fast commands and 20 slow ones, 3 hits and 1 miss, 6 s of CPU in a minute, 1 error.
    now = totals(
        60, ((0.01, 70.0), (0.1, 90.0), (INF, 90.0)), cache_hits=13, cache_misses=1, cpu_s=11.0, errors=3
    )
    taken = sample(before, now, streams=2, rss_mb=88.04)
    assert taken.command_p95_ms == pytest.approx(91.0)  # 38th of 40: 90 % into the 10-100 ms bucket
    assert (taken.cache_hit_ratio, taken.cpu_percent, taken.errors) == (0.75, 10.0, 1)
    assert (taken.streams, taken.rss_mb, taken.at) == (2, 88.0, 60)


def test_a_quiet_minute_has_no_command_time_and_no_hit_ratio_rather_than_zero() -> None:
    still = totals(0, ((0.01, 5.0), (INF, 5.0)), cache_hits=4)
    taken = sample(still, totals(60, ((0.01, 5.0), (INF, 5.0)), cache_hits=4), streams=0, rss_mb=80)
    assert taken.command_p95_ms is None and taken.cache_hit_ratio is None and taken.errors == 0


def test_a_day_of_minutes_becomes_a_graphs_worth_of_points_keeping_gaps() -> None:
    minutes: list[tuple[float, float | None]] = [(60.0 * i, float(i % 2)) for i in range(1440)]
    points = downsample(minutes, 240)
    assert len(points) == 240
    assert points[0] == (300.0, 0.5) and points[-1][0] == 60.0 * 1439
    assert downsample([(0.0, None), (60.0, None), (120.0, 3.0)], 2) == [(60.0, None), (120.0, 3.0)]


def test_time_to_first_audio_is_the_p95_of_the_songs_started_since_the_last_reading() -> None:
    # Before: 10 starts under 0.5 s. Since: 19 more under 0.5 s and one cold start of 2-3 s.
    before = totals(0, (), ((0.5, 10.0), (3.0, 10.0), (INF, 10.0)))
    now = totals(60, (), ((0.5, 29.0), (3.0, 30.0), (INF, 30.0)))
    assert sample(before, now, streams=1, rss_mb=80).first_audio_p95_ms == pytest.approx(500.0)
    assert (
        sample(now, totals(120, (), now.first_audio_buckets), streams=1, rss_mb=80).first_audio_p95_ms is None
    )
