"""The `cache` scenario: hit ratio of the audio cache's S3-FIFO against LRU and Belady's furthest-
next-use on two request traces, at the same byte budget. Pure simulation: no files, no bot.

The traces:
- zipf: a catalog where song k is asked for with weight 1/k^0.8, the textbook shape of popularity;
- guilds: what a music bot sees: each guild loops its own playlist (shuffled each round, playlists
  overlapping on a shared popular pool) while a third of requests are one-off searches from the long
  tail, all guilds interleaved.
Song sizes are those of 128 kb/s Opus for 2:30 to 6:00 minutes (2.4 to 5.8 MB).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from musicbox.bench.figures import Figure, at_least
from musicbox.bench.runner import BenchOptions
from musicbox.cache.policy import S3Fifo

BYTES_PER_S = 16_000  # 128 kb/s
TARGET_GAIN_POINTS = 5.0


@dataclass(frozen=True, slots=True)
class Trace:
    name: str
    requests: list[int]
    sizes: dict[int, int]

    @property
    def catalog_bytes(self) -> int:
        return sum(self.sizes[song] for song in set(self.requests))


def song_sizes(songs: int, rng: random.Random) -> dict[int, int]:
    return {song: rng.randint(150, 360) * BYTES_PER_S for song in range(songs)}


def zipf_trace(songs: int, requests: int, seed: int = 1, alpha: float = 0.8) -> Trace:
    rng = random.Random(seed)
    weights = list(itertools.accumulate(1 / (rank + 1) ** alpha for rank in range(songs)))
    asked = [bisect.bisect_left(weights, rng.random() * weights[-1]) for _ in range(requests)]
    return Trace("zipf", asked, song_sizes(songs, rng))


def guild_trace(guilds: int, requests: int, seed: int = 2, tail_songs: int = 20_000) -> Trace:
    rng = random.Random(seed)
    popular = list(range(2_000))
    playlists = [rng.sample(popular, rng.randint(40, 200)) for _ in range(guilds)]
    rounds: list[list[int]] = [[] for _ in range(guilds)]
    asked = []
    for _ in range(requests):
        guild = rng.randrange(guilds)
        if rng.random() < 1 / 3:
            asked.append(len(popular) + rng.randrange(tail_songs))  # a one-off search
            continue
        if not rounds[guild]:
            rounds[guild] = rng.sample(playlists[guild], len(playlists[guild]))
        asked.append(rounds[guild].pop())
    return Trace("guilds", asked, song_sizes(len(popular) + tail_songs, rng))


def s3fifo_hits(trace: Trace, budget: int) -> int:
    cache, hits = S3Fifo(budget), 0
    for song in trace.requests:
        key = str(song)
        if key in cache:
            hits += 1
            cache.hit(key)
            continue
        cache.admit(key, trace.sizes[song])
        cache.evict(pinned={key})  # the song being played is pinned, as in the bot
    return hits


def lru_hits(trace: Trace, budget: int) -> int:
    cache: OrderedDict[int, int] = OrderedDict()
    used = hits = 0
    for song in trace.requests:
        if song in cache:
            hits += 1
            cache.move_to_end(song)
            continue
        cache[song] = trace.sizes[song]
        used += trace.sizes[song]
        while used > budget and len(cache) > 1:
            _, size = cache.popitem(last=False)
            used -= size
    return hits


def belady_hits(trace: Trace, budget: int) -> int:
    """Evict the song asked for furthest in the future (optimal for equal sizes; with sizes, the
    usual reference bound rather than the exact optimum, which is NP-hard)."""
    upcoming: defaultdict[int, list[int]] = defaultdict(list)
    for at in range(len(trace.requests) - 1, -1, -1):
        upcoming[trace.requests[at]].append(at)
    never = len(trace.requests)
    cached: dict[int, int] = {}
    furthest: list[tuple[int, int]] = []  # (-next use, song), stale entries skipped lazily
    used = hits = 0
    for song in trace.requests:
        upcoming[song].pop()
        next_use = upcoming[song][-1] if upcoming[song] else never
        if song in cached:
            hits += 1
        else:
            cached[song] = trace.sizes[song]
            used += trace.sizes[song]
        while used > budget and furthest:
            negative_use, victim = heapq.heappop(furthest)
            current = upcoming[victim][-1] if upcoming[victim] else never
            if victim in cached and -negative_use == current:  # else a stale entry: skip it
                used -= cached.pop(victim)
        # Pushed after evicting: the song playing now is never its own victim, as in the bot.
        heapq.heappush(furthest, (-next_use, song))
    return hits


POLICIES: dict[str, Callable[[Trace, int], int]] = {
    "s3-fifo": s3fifo_hits,
    "lru": lru_hits,
    "belady": belady_hits,
}


def hit_ratios(trace: Trace, budget: int) -> dict[str, float]:
    return {name: policy(trace, budget) / len(trace.requests) for name, policy in POLICIES.items()}


def figures_for(trace: Trace, budget_share: float) -> list[Figure]:
    budget = int(trace.catalog_bytes * budget_share)
    ratios = hit_ratios(trace, budget)
    where = f"{trace.name} trace, cache {budget_share:.0%} of the songs asked for"
    figures = [
        Figure("cache", f"{trace.name}: {name} hit ratio", ratio * 100, "%", note=where)
        for name, ratio in ratios.items()
    ]
    gain = (ratios["s3-fifo"] - ratios["lru"]) * 100
    figures.append(
        Figure(
            "cache", f"{trace.name}: s3-fifo over lru", gain, "points", at_least(TARGET_GAIN_POINTS), where
        )
    )
    return figures


async def cache_scenario(options: BenchOptions) -> list[Figure]:
    requests = 20_000 if options.quick else 200_000
    traces: Sequence[Trace] = (
        zipf_trace(songs=5_000, requests=requests),
        guild_trace(guilds=50, requests=requests),
    )
    return [figure for trace in traces for figure in figures_for(trace, budget_share=0.1)]
