"""An API token may burst, then is held to its rate; other tokens are not slowed by it."""

from __future__ import annotations

import pytest

from musicbox.core.request_budget import RequestBudget


def test_a_burst_then_one_request_per_second_and_others_unaffected() -> None:
    now = [0.0]
    budget = RequestBudget(lambda: now[0], burst=3, per_s=1.0)
    assert [budget.take("phone") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.take("phone") == pytest.approx(1.0)
    assert budget.take("laptop") == 0.0
    now[0] = 0.5
    assert budget.take("phone") == pytest.approx(0.5)
    now[0] = 1.0
    assert budget.take("phone") == 0.0
    now[0] = 100.0  # refilled, but never beyond the burst
    assert [budget.take("phone") for _ in range(4)][-1] > 0
