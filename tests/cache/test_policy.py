"""S3-FIFO eviction: one-off songs leave before favourites, pinned songs never leave."""

from __future__ import annotations

from musicbox.cache.policy import S3Fifo

MB = 2**20


def test_the_cache_is_brought_back_under_its_budget() -> None:
    cache = S3Fifo(10 * MB)
    for n in range(15):
        cache.admit(f"song{n}", MB)
        cache.evict()
    assert cache.used_bytes <= 10 * MB
    assert len(cache) == 10


def test_a_favourite_played_again_outlives_a_stream_of_one_offs() -> None:
    cache = S3Fifo(10 * MB)
    cache.admit("favourite", MB)
    cache.hit("favourite")
    for n in range(50):
        cache.admit(f"one-off{n}", MB)
        cache.evict()
        if n % 5 == 0:
            cache.hit("favourite")
    assert "favourite" in cache


def test_a_pinned_song_is_never_evicted_even_if_the_budget_stays_exceeded() -> None:
    cache = S3Fifo(2 * MB)
    for name in ("playing", "queued", "old"):
        cache.admit(name, MB)
    victims = cache.evict(pinned={"playing", "queued"})
    assert victims == ["old"]
    assert cache.evict(pinned={"playing", "queued"}) == []  # only pinned left: nothing more to drop
    assert {"playing", "queued"} <= {k for k in ("playing", "queued") if k in cache}


def test_a_song_evicted_from_probation_and_asked_for_again_goes_straight_to_main() -> None:
    cache = S3Fifo(3 * MB)
    for name in ("a", "b", "c", "d"):
        cache.admit(name, MB)
        cache.evict()
    assert "a" not in cache
    cache.admit("a", MB)
    entry = cache.entry("a")
    assert entry is not None and entry.main
