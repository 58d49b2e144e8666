"""How many API requests a token may make: a token bucket per key (BURST at once, then one every
1/PER_S seconds). Pure: the clock is handed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

BURST = 30  # a phone app opening a queue page asks a handful at once
PER_S = 1.0  # then a request a second, 60 a minute, on average
MAX_KEYS = 1024  # buckets kept; a full one is as good as forgotten


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RequestBudget:
    def __init__(self, clock: Callable[[], float], *, burst: int = BURST, per_s: float = PER_S) -> None:
        self._clock = clock
        self._burst = burst
        self._per_s = per_s
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """0 when `key` may make a request now (and it is counted), else the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_KEYS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self._burst), now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._per_s)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self._per_s

    def _forget_full(self, now: float) -> None:
        full_after_s = self._burst / self._per_s
        self._buckets = {key: b for key, b in self._buckets.items() if now - b.at < full_after_s}
