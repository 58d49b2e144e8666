"""When to try an upstream call again: exponential backoff with full jitter.

Pure: the caller passes the random draw, so a schedule is reproducible in tests and in the
simulator. Full jitter (a uniform draw between zero and the exponential ceiling) spreads the retries
of many guilds hitting one failed upstream, instead of having them return in lockstep.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0
    max_attempts: int = 3  # attempts in all, the first one included

    def __post_init__(self) -> None:
        if self.first_delay_s <= 0 or self.max_delay_s < self.first_delay_s:
            raise ValueError("backoff delays must satisfy 0 < first_delay_s <= max_delay_s")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def ceiling_s(self, failed_attempts: int) -> float:
        """The longest wait after `failed_attempts` failures (1 after the first failure)."""
        return min(self.max_delay_s, self.first_delay_s * 2.0 ** (failed_attempts - 1))

    def delay_s(self, failed_attempts: int, draw: float) -> float | None:
        """How long to wait before the next attempt, or None when the attempts are spent.

        `draw` is a uniform random number in [0, 1).
        """
        if failed_attempts >= self.max_attempts:
            return None
        return self.ceiling_s(failed_attempts) * draw
