"""The soak's short form (CI): a minute of steady use by eight members in four guilds against the
bot in its own process, while four more guilds join voice and leave. No command fails, and nothing
the bot holds grows while it runs."""

from __future__ import annotations

import pytest

from musicbox.bench.figures import Figure
from musicbox.bench.load import Footprint, kept_for_minutes
from musicbox.bench.playback import RECOGNISED
from musicbox.bench.runner import BenchOptions
from musicbox.bench.soak import (
    Sample,
    floor_growth,
    held_for_good,
    slope_per_minute,
    soak_figures,
    soak_scenario,
)


def test_a_slope_is_the_least_squares_trend_per_minute() -> None:
    assert slope_per_minute([(0, 10.0), (30, 10.5), (60, 11.0)]) == pytest.approx(1.0)
    assert slope_per_minute([(0, 5.0), (60, 5.0), (120, 5.0)]) == 0.0
    with pytest.raises(ValueError):
        slope_per_minute([(0, 1.0)])


def test_a_floor_grows_only_when_the_lowest_values_rise() -> None:
    assert floor_growth([30, 41, 29, 38, 30, 45, 29, 33, 30]) == 0  # busy, but back to 29 each time
    assert floor_growth([30, 41, 29, 38, 30, 45, 31, 33, 32]) == 2  # two held for good


def test_what_a_grown_floor_holds_is_what_every_late_sample_holds_beyond_the_emptiest_early_one() -> None:
    early = [("db", "gateway", "voice 1"), ("db", "gateway"), ("db", "gateway", "voice 2")]
    assert held_for_good(early, [("db", "gateway", "leak"), ("db", "gateway", "leak", "voice 3")]) == ["leak"]
    assert held_for_good(early, [("db", "gateway", "voice 1"), ("db", "gateway", "voice 2")]) == []
    assert held_for_good(early, [("db", "db", "gateway"), ("db", "db", "gateway")]) == ["db"]


def test_the_extraction_workers_count_as_the_bots_and_an_ffmpeg_does_not() -> None:
    assert kept_for_minutes(["/venv/bin/python", "-m", "musicbox.sources.extraction"])
    assert not kept_for_minutes(["ffmpeg", "-i", "http://127.0.0.1/song.ogg", "-af", "loudnorm"])
    assert not kept_for_minutes(["ffprobe", "-of", "json", "http://127.0.0.1/song.ogg"])


def _sample(minute: float, kept_mb: float, with_every_child_mb: float) -> Sample:
    footprint = Footprint(with_every_child_mb, 40, 30, 0, 10, own_rss_mb=kept_mb, kept_rss_mb=kept_mb)
    return Sample(minute * 60, footprint)


def _slopes(samples: list[Sample]) -> dict[str, Figure]:
    figures = soak_figures(samples, [5.0], [{RECOGNISED: 0.1}], 0, 100, 1200.0, 10, 0.1)
    return {f.name: f for f in figures}


def test_a_fill_caught_by_a_late_sample_is_no_growth_but_a_bot_that_grows_misses() -> None:
    flat = [_sample(minute, 70.0, 70.0) for minute in range(21)]
    flat[-2] = _sample(19, 70.0, 230.0)  # an ffmpeg normalising a song, alive at that sample only
    figures = _slopes(flat)
    assert figures["RSS slope"].passed and figures["RSS slope"].value == pytest.approx(0.0)
    assert figures["RSS slope, with every ffmpeg and ffprobe"].value > 1.0
    assert figures["ffmpegs' and ffprobes' RSS, largest sample"].value == pytest.approx(160.0)
    growing = _slopes([_sample(minute, 70.0 + 0.3 * minute, 70.0 + 0.3 * minute) for minute in range(21)])
    assert not growing["RSS slope"].passed and growing["RSS slope"].value == pytest.approx(0.3)


async def test_a_minute_of_steady_use_grows_nothing() -> None:
    figures = {f.name: f for f in await soak_scenario(BenchOptions(quick=True))}
    print()
    for figure in figures.values():
        print(f"soak {figure.name}: {figure.value:.3g} {figure.unit}")
    held: list[Figure] = [
        figures[name]
        for name in (
            "error rate",
            "RSS slope",
            "open files floor growth",
            "tasks floor growth",
            "children floor growth",
        )
    ]
    assert [(f.name, f.value, f.note) for f in held if not f.passed] == []
    assert figures["commands/s held"].value > 3
    assert figures["voice connections churned"].value >= 4  # four guilds came and went at least once
