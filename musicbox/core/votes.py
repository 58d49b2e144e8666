"""Vote skip: how many of the listeners present must agree. Pure: the bot passes in who voted and
who is in the channel now, so a vote of someone who left no longer counts."""

from __future__ import annotations

import math
from collections.abc import Set
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tally:
    counted: int  # votes of members still listening
    needed: int

    @property
    def carried(self) -> bool:
        return self.counted >= self.needed

    @property
    def more_needed(self) -> int:
        return max(0, self.needed - self.counted)


def tally(voters: Set[int], listeners: Set[int], share_percent: int) -> Tally:
    """`share_percent` of the listeners, rounded up, and at least one vote."""
    needed = max(1, math.ceil(len(listeners) * share_percent / 100))
    return Tally(counted=len(voters & listeners), needed=needed)
