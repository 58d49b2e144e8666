"""When a voice join may go out: within Discord's gateway budget, keeping room for the leaves."""

from __future__ import annotations

import pytest

from musicbox.core.gateway_budget import GatewayBudget, next_join_at

BUDGET = GatewayBudget(sends=10, window_s=60.0)


@pytest.mark.parametrize(
    ("sent_at", "now", "open_sessions", "expected"),
    [
        ([], 100.0, 1, 100.0),  # nothing sent: at once
        ([10.0 * i for i in range(4)], 100.0, 1, 100.0),  # all of it older than the window
        ([90.0] * 8, 100.0, 1, 100.0),  # 8 + this join + its leave = 10: fits
        ([90.0] * 9, 100.0, 1, 150.0),  # one more: wait until those leave the window
        ([90.0] * 5, 100.0, 4, 100.0),  # 5 + this join + 4 leaves kept = 10: fits
        ([90.0] * 6, 100.0, 4, 150.0),  # one more and it waits
        ([41.0, 50.0, *[95.0 + i / 2 for i in range(8)]], 100.0, 1, 110.0),  # both oldest must go
        ([90.0, 120.0], 100.0, 1, 120.0),  # a join already booked later: this one comes after it
        ([90.0] * 5, 100.0, 40, 150.0),  # leaves keep at most half the budget: room for 4 sends
    ],
)
def test_a_join_waits_until_the_window_has_room_for_it_and_its_leave(
    sent_at: list[float], now: float, open_sessions: int, expected: float
) -> None:
    assert next_join_at(sent_at, now, open_sessions=open_sessions, budget=BUDGET) == expected


def test_joins_booked_one_after_another_never_crowd_a_window() -> None:
    """Twenty joins (with their leaves right after) asked for at once, booked in turn: no window of
    60 s ever holds more than the budget."""
    sent: list[float] = []
    for _ in range(20):
        at = next_join_at(sent, 0.0, open_sessions=1, budget=BUDGET)
        sent += [at, at]  # the join, and its leave at once (the worst case for the window)
    for start in sent:
        assert sum(1 for t in sent if start - 60.0 < t <= start) <= BUDGET.sends
