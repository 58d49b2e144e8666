"""Vote skip counts only members still listening; the share is of those present."""

from __future__ import annotations

import pytest

from musicbox.core.votes import tally


@pytest.mark.parametrize(
    ("voters", "listeners", "share", "counted", "needed", "carried"),
    [
        ({1}, {1, 2}, 50, 1, 1, True),  # half of two is one
        ({1}, {1, 2, 3}, 50, 1, 2, False),  # half of three, rounded up
        ({1, 2}, {1, 2, 3}, 50, 2, 2, True),
        ({1, 2}, {2, 3, 4}, 50, 1, 2, False),  # member 1 left: their vote no longer counts
        ({1}, {1, 2, 3, 4}, 100, 1, 4, False),
        ({1}, {1, 2, 3, 4}, 1, 1, 1, True),  # at least one vote, however small the share
        (set(), {1, 2}, 50, 0, 1, False),
    ],
)
def test_a_vote_counts_while_its_member_listens(
    voters: set[int], listeners: set[int], share: int, counted: int, needed: int, carried: bool
) -> None:
    result = tally(voters, listeners, share)
    assert (result.counted, result.needed, result.carried) == (counted, needed, carried)
    assert result.more_needed == max(0, needed - counted)
