"""Discord's sharding rules, as its gateway documentation gives them ("Sharding", "Session Start
Limit"; close codes 4010 and 4011 in "Opcodes and Status Codes"). Pure, apart from the clock that
`IdentifyBuckets` is handed.

- A connection's IDENTIFY may carry `shard: [id, count]`; without it the connection is shard 0 of 1.
  An id outside 0..count-1, or a count under 1, closes the connection with 4010 (Invalid shard).
- Shard `id` of `count` receives the guilds, and the events of the guilds, whose
  `(guild_id >> 22) % count` is `id`; events of no guild (DMs, the bot's own user) go to shard 0.
- A connection that would hold more guilds than one shard may (2,500 on Discord) is closed with
  4011 (Sharding required).
- `/gateway/bot` recommends a shard count. Discord does not publish its formula; its guidance (and
  discord.py's, which advises the AutoShardedClient "past 1000 guilds") is a shard per 1,000 guilds,
  and that is the rule here: ceil(guilds / 1000), at least 1, the 1,000 configurable.
- IDENTIFY is limited to `max_concurrency` per 5 seconds, by bucket: a shard's bucket is
  `shard_id % max_concurrency`, and each bucket takes one IDENTIFY per 5 s. Discord answers one over
  the limit with Invalid Session (op 9, `d: false`) and keeps the socket open; the client waits and
  identifies again (discord.py's before_identify_hook sleeps 5 s before every identify but a
  process's first)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

MAX_GUILDS_PER_SHARD = 2500
GUILDS_PER_RECOMMENDED_SHARD = 1000
IDENTIFY_WINDOW_S = 5.0
SESSION_STARTS_A_DAY = 1000

# Events that carry their guild as `id` rather than `guild_id`.
GUILD_IS_ID = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


@dataclass(frozen=True, slots=True)
class Sharding:
    """A simulated Discord's sharding limits. Discord's figures, but for `identify_window_s`: the
    identify limit is off unless a test asks for it (`IDENTIFY_WINDOW_S` is Discord's), so the many
    tests that restart a bot within 5 s of its last IDENTIFY do not each wait out discord.py's
    5-second retry."""

    max_guilds_per_shard: int = MAX_GUILDS_PER_SHARD
    guilds_per_recommended_shard: int = GUILDS_PER_RECOMMENDED_SHARD
    max_concurrency: int = 1
    identify_window_s: float = 0.0


DISCORD = Sharding()


@dataclass(frozen=True, slots=True)
class Shard:
    id: int = 0
    count: int = 1

    def owns(self, guild_id: int) -> bool:
        return (guild_id >> 22) % self.count == self.id

    def receives(self, event: str, data: dict[str, Any]) -> bool:
        guild_id = event_guild(event, data)
        return self.id == 0 if guild_id is None else self.owns(guild_id)


def event_guild(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event is about, or None for one about no guild."""
    raw = data.get("id") if event in GUILD_IS_ID else data.get("guild_id")
    return int(raw) if raw is not None and str(raw).isdigit() else None


def shard_of_identify(raw: Any) -> Shard | str:
    """IDENTIFY's `shard` field as a Shard, or why Discord closes with 4010."""
    if raw is None:
        return Shard()
    if not isinstance(raw, list) or len(raw) != 2 or not all(type(n) is int for n in raw):
        return f"shard must be [shard_id, num_shards], got {raw!r}"
    shard_id, count = raw
    if count < 1 or not 0 <= shard_id < count:
        return f"shard {shard_id} of {count} does not exist"
    return Shard(shard_id, count)


def recommended_shards(guild_count: int, per_shard: int = GUILDS_PER_RECOMMENDED_SHARD) -> int:
    return max(1, math.ceil(guild_count / per_shard))


@dataclass(slots=True)
class IdentifyBuckets:
    """When each rate-limit bucket last let an IDENTIFY through. `window_s` 0 lifts the limit."""

    max_concurrency: int = 1
    window_s: float = IDENTIFY_WINDOW_S
    _last: dict[int, float] = field(default_factory=dict)

    def admit(self, shard: Shard, now: float) -> bool:
        """Whether an IDENTIFY of `shard` at `now` is within the limit (and count it if so)."""
        if self.window_s <= 0:
            return True
        key = shard.id % self.max_concurrency
        last = self._last.get(key)
        if last is not None and now - last < self.window_s:
            return False
        self._last[key] = now
        return True
