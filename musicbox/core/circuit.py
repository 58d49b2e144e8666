"""A circuit breaker per upstream (an extractor, a media host, the Spotify API).

While an upstream keeps failing, members get a fast, clear answer instead of each waiting out the
same timeout; after a cool-down one probe call is let through (half-open) and its outcome decides
whether the circuit closes again. Pure state transitions over an injected clock reading.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class CircuitState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True, slots=True)
class CircuitPolicy:
    failure_threshold: int = 5  # consecutive failures that open the circuit
    cool_down_s: float = 30.0  # how long it stays open before one probe is allowed


@dataclass(frozen=True, slots=True)
class Circuit:
    state: CircuitState = CircuitState.CLOSED
    consecutive_failures: int = 0
    opened_at: float = 0.0
    probe_in_flight: bool = False

    def admits(self, now: float, policy: CircuitPolicy) -> bool:
        """Whether a call may go upstream now (see `before_call` for the state it leaves)."""
        if self.state is CircuitState.CLOSED:
            return True
        if self.state is CircuitState.OPEN:
            return now - self.opened_at >= policy.cool_down_s
        return not self.probe_in_flight

    def before_call(self, now: float, policy: CircuitPolicy) -> Circuit:
        """The state once an admitted call starts: an open circuit past its cool-down goes half-open
        with this call as its single probe."""
        if self.state is CircuitState.OPEN and self.admits(now, policy):
            return replace(self, state=CircuitState.HALF_OPEN, probe_in_flight=True)
        if self.state is CircuitState.HALF_OPEN:
            return replace(self, probe_in_flight=True)
        return self

    def after_success(self) -> Circuit:
        return Circuit()

    def after_abandon(self) -> Circuit:
        """The call was cancelled before its outcome: a probe it was leaves room for the next one."""
        return replace(self, probe_in_flight=False)

    def after_failure(self, now: float, policy: CircuitPolicy) -> Circuit:
        if self.state is CircuitState.HALF_OPEN:
            return Circuit(CircuitState.OPEN, self.consecutive_failures + 1, opened_at=now)
        failures = self.consecutive_failures + 1
        if failures >= policy.failure_threshold:
            return Circuit(CircuitState.OPEN, failures, opened_at=now)
        return replace(self, consecutive_failures=failures)

    def retry_in_s(self, now: float, policy: CircuitPolicy) -> float:
        """For the member's message: how long until the next probe may run."""
        if self.state is not CircuitState.OPEN:
            return 0.0
        return max(0.0, policy.cool_down_s - (now - self.opened_at))
