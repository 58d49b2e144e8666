"""Rate limits the simulator applies to REST routes, answered the way Discord answers them: one bucket
per route (method and path template, the major parameters channel, guild and webhook kept), a global
limit per bot, and 429s that carry `Via` (discord.py retries only a 429 with it: without it the answer
comes from Cloudflare, not from the API)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

GLOBAL_LIMIT_PER_S = 50
# discord.py sleeps exactly retry_after; a retry this much early is timer noise, not impatience.
EARLY_RETRY_SLACK_S = 0.02
_MAJOR = ("channels", "guilds", "webhooks")


def route_key(method: str, path: str) -> str:
    """`method /template` of a request path (after /api/v10/): ids replaced by `{id}` except the major
    parameters (channel, guild, webhook id and token), which give a route its own bucket."""
    parts = path.strip("/").split("/")
    kept = []
    for i, part in enumerate(parts):
        major = (i > 0 and parts[i - 1] in _MAJOR) or (i == 2 and parts[0] == "webhooks")
        an_id = part.isdigit() or (i == 2 and parts[0] == "interactions")  # an interaction's token
        kept.append("{id}" if an_id and not major else part)
    return f"{method} /{'/'.join(kept)}"


def counts_globally(path: str) -> bool:
    # Interaction endpoints (callbacks, and the webhook token of follow-ups) are not bound to the
    # global limit (rate-limits.md).
    return not path.startswith(("interactions/", "webhooks/"))


@dataclass
class Window:
    limit: int
    per_s: float
    used: int = 0
    start: float = field(default_factory=time.monotonic)
    limited: int = 0  # 429 answers served

    def take(self, now: float) -> tuple[bool, float]:
        """Whether a request may pass now, and how long until the window resets."""
        if now - self.start >= self.per_s:
            self.start, self.used = now, 0
        reset_after = max(0.0, self.per_s - (now - self.start))
        allowed = self.used < self.limit
        if allowed:
            self.used += 1
        else:
            self.limited += 1
        return allowed, reset_after


@dataclass(frozen=True, slots=True)
class Answer:
    allowed: bool
    headers: dict[str, str]
    body: dict[str, object] | None  # the 429's JSON body when not allowed
    early_retry: float | None  # seconds early, when this repeats a 429'd request before retry_after


@dataclass
class RateLimits:
    global_limit_per_s: int = GLOBAL_LIMIT_PER_S
    rules: dict[str, tuple[int, float]] = field(default_factory=dict)  # path prefix -> (limit, per_s)
    buckets: dict[str, Window] = field(default_factory=dict)  # route key -> its window
    global_window: Window | None = None
    # A 429'd request (route key and body) -> the monotonic time before which its retry is early.
    retry_not_before: dict[tuple[str, bytes], float] = field(default_factory=dict)

    def set(self, prefix: str, *, limit: int, per_s: float) -> None:
        self.rules[prefix] = (limit, per_s)
        self.buckets = {}

    def _bucket(self, key: str, path: str) -> Window | None:
        matching = [p for p in self.rules if path.startswith(p)]
        if not matching:
            return None
        if key not in self.buckets:
            limit, per_s = self.rules[max(matching, key=len)]
            self.buckets[key] = Window(limit, per_s)
        return self.buckets[key]

    def take(self, method: str, path: str, body: bytes, now: float) -> Answer:
        key = route_key(method, path)
        retry = (f"{method} {path}", body)
        not_before = self.retry_not_before.pop(retry, None)
        early = None
        if not_before is not None and now < not_before - EARLY_RETRY_SLACK_S:
            early = not_before - now
        if counts_globally(path):
            if self.global_window is None:
                self.global_window = Window(self.global_limit_per_s, 1.0, start=now)
            allowed, reset_after = self.global_window.take(now)
            if not allowed:
                self.retry_not_before[retry] = now + reset_after
                headers = {
                    "Retry-After": f"{reset_after:.3f}",
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    "Via": "1.1 google",
                }
                return Answer(False, headers, _too_many(reset_after, is_global=True), early)
        bucket = self._bucket(key, path)
        if bucket is None:
            return Answer(True, {}, None, early)
        allowed, reset_after = bucket.take(now)
        headers = {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(0, bucket.limit - bucket.used)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            # Discord's bucket hash names the route template; the major parameters split it further.
            "X-RateLimit-Bucket": hashlib.sha1(route_key(method, _template(path)).encode()).hexdigest()[:16],
        }
        if allowed:
            return Answer(True, headers, None, early)
        self.retry_not_before[retry] = now + reset_after
        headers |= {"Retry-After": f"{reset_after:.3f}", "X-RateLimit-Scope": "user", "Via": "1.1 google"}
        return Answer(False, headers, _too_many(reset_after, is_global=False), early)

    @property
    def limited(self) -> int:
        windows = [*self.buckets.values(), *([self.global_window] if self.global_window else [])]
        return sum(w.limited for w in windows)


def _template(path: str) -> str:
    return "/".join("{id}" if p.isdigit() else p for p in path.split("/"))


def _too_many(retry_after: float, *, is_global: bool) -> dict[str, object]:
    return {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
