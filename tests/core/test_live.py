"""When a live stream that ended is tried again, and when it is given up."""

from __future__ import annotations

import pytest

from musicbox.core.live import LIVE_BACKOFF, STEADY_S, after_end


@pytest.mark.parametrize(
    ("heard_s", "failures_before", "failures", "retried"),
    [
        (3600.0, 0, 1, True),  # an hour, then a drop: tried again
        (3600.0, 3, 1, True),  # a steady run starts a new series
        (STEADY_S, 2, 1, True),
        (0.0, 0, 1, True),  # never answered: tried again
        (0.0, 1, 2, True),
        (2.0, 2, 3, True),  # answers and drops at once: counted like silence
        (0.0, 3, 4, False),  # the fourth failure in a row: given up
        (9.9, 5, 6, False),
    ],
)
def test_after_end(heard_s: float, failures_before: int, failures: int, retried: bool) -> None:
    verdict = after_end(heard_s, failures_before, draw=0.999)
    assert verdict.failures == failures
    assert (verdict.retry_in_s is not None) == retried


def test_a_dead_station_is_given_up_within_seconds() -> None:
    waited, failures = 0.0, 0
    while (verdict := after_end(0.0, failures, draw=0.999)).retry_in_s is not None:
        waited, failures = waited + verdict.retry_in_s, verdict.failures
    assert failures == LIVE_BACKOFF.max_attempts - 1 and waited < 4.0
