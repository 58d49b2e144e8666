"""The bench's verdicts: a figure passes or fails against its target, and percentiles are exact."""

import pytest

from musicbox.bench.figures import Figure, at_least, at_most, percentile, verdict


def test_nearest_rank_percentiles() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) == 50.0
    assert percentile(samples, 0.95) == 95.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_a_latency_over_its_ceiling_fails_and_says_by_how_much() -> None:
    figure = Figure("ack", "p99", 130.0, "ms", at_most(100.0))
    assert figure.passed is False
    assert figure.target is not None and figure.target.margin(130.0) == -30.0
    assert figure.as_json()["target"] == "<= 100" and figure.as_json()["missed_by"] == 30.0
    assert "missed_by" not in Figure("ack", "p99", 70.0, "ms", at_most(100.0)).as_json()


def test_a_hit_ratio_over_its_floor_passes() -> None:
    assert Figure("cache", "hit ratio gain", 7.5, "points", at_least(5.0)).passed is True


def test_the_run_fails_when_any_target_is_missed_and_figures_without_target_do_not_count() -> None:
    informative = Figure("memory", "rss before", 80.0, "MiB")
    good = Figure("gap", "p95", 40.0, "ms", at_most(60.0))
    bad = Figure("gap", "max", 90.0, "ms", at_most(60.0))
    assert verdict([informative, good])
    assert not verdict([informative, good, bad])
