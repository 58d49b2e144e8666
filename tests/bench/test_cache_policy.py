"""The cache scenario's simulation: the reference policies are right on small traces, and on the
music-shaped traces the cache's S3-FIFO sits between LRU and Belady's bound."""

from __future__ import annotations

from musicbox.bench.cache_policy import Trace, belady_hits, guild_trace, lru_hits, s3fifo_hits, zipf_trace


def unit_trace(requests: list[int]) -> Trace:
    return Trace("unit", requests, {song: 1 for song in set(requests)})


def test_lru_and_belady_on_a_trace_worked_by_hand() -> None:
    # Two slots. LRU: a b c a b c misses every time; Belady keeps one of them and hits it.
    trace = unit_trace([1, 2, 3, 1, 2, 3])
    assert lru_hits(trace, budget=2) == 0
    assert belady_hits(trace, budget=2) == 2
    repeated = unit_trace([1, 1, 2, 1, 2])
    assert lru_hits(repeated, budget=2) == 3


def test_traces_are_the_same_every_run() -> None:
    assert zipf_trace(500, 2_000).requests == zipf_trace(500, 2_000).requests
    assert guild_trace(5, 2_000).requests == guild_trace(5, 2_000).requests


def test_on_music_traces_s3fifo_beats_lru_and_belady_bounds_both() -> None:
    for trace in (zipf_trace(2_000, 20_000), guild_trace(20, 20_000)):
        budget = trace.catalog_bytes // 10
        lru, s3, best = lru_hits(trace, budget), s3fifo_hits(trace, budget), belady_hits(trace, budget)
        assert lru < s3 <= best, (trace.name, lru, s3, best)
