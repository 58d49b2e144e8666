"""Rate limits the simulator applies to REST routes, answered the way Discord answers them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Bucket:
    prefix: str
    limit: int
    per_s: float
    used: int = 0
    window_start: float = field(default_factory=time.monotonic)
    limited: int = 0  # 429 answers served

    def take(self, now: float) -> tuple[bool, dict[str, str]]:
        """Whether a request may pass now, and the X-RateLimit headers of the answer."""
        if now - self.window_start >= self.per_s:
            self.window_start, self.used = now, 0
        reset_after = max(0.0, self.per_s - (now - self.window_start))
        allowed = self.used < self.limit
        if allowed:
            self.used += 1
        else:
            self.limited += 1
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - self.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"sim-{abs(hash(self.prefix)):x}",
        }
        if not allowed:
            headers |= {"Retry-After": f"{reset_after:.3f}", "X-RateLimit-Scope": "user"}
        return allowed, headers


class RateLimits:
    def __init__(self) -> None:
        self.buckets: list[Bucket] = []

    def set(self, prefix: str, *, limit: int, per_s: float) -> None:
        self.buckets = [b for b in self.buckets if b.prefix != prefix] + [Bucket(prefix, limit, per_s)]

    def bucket_for(self, path: str) -> Bucket | None:
        matching = [b for b in self.buckets if path.startswith(b.prefix)]
        return max(matching, key=lambda b: len(b.prefix)) if matching else None

    @property
    def limited(self) -> int:
        return sum(b.limited for b in self.buckets)
