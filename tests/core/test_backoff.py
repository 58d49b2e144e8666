"""Retries of a failing upstream: spaced out, bounded, never in lockstep."""

import pytest

from musicbox.core.backoff import BackoffPolicy


def test_ceilings_double_until_the_cap() -> None:
    policy = BackoffPolicy(first_delay_s=0.5, max_delay_s=3.0, max_attempts=6)
    assert [policy.ceiling_s(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_the_delay_is_the_draw_scaled_to_the_ceiling() -> None:
    policy = BackoffPolicy(first_delay_s=1.0, max_delay_s=8.0, max_attempts=4)
    assert policy.delay_s(3, draw=0.5) == pytest.approx(2.0)
    assert policy.delay_s(1, draw=0.0) == 0.0


def test_no_delay_once_the_attempts_are_spent() -> None:
    policy = BackoffPolicy(max_attempts=3)
    assert policy.delay_s(2, draw=0.9) is not None
    assert policy.delay_s(3, draw=0.9) is None


def test_two_guilds_with_different_draws_do_not_retry_together() -> None:
    policy = BackoffPolicy(first_delay_s=1.0, max_delay_s=8.0, max_attempts=4)
    assert policy.delay_s(2, draw=0.1) != policy.delay_s(2, draw=0.7)


@pytest.mark.parametrize(("first", "cap", "attempts"), [(0.0, 1.0, 3), (2.0, 1.0, 3), (0.5, 1.0, 0)])
def test_nonsense_policies_are_refused(first: float, cap: float, attempts: int) -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(first_delay_s=first, max_delay_s=cap, max_attempts=attempts)
