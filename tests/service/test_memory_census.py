"""The soak's memory census: off unless the environment asks, and when asked it names what grew."""

from __future__ import annotations

from musicbox.service.memory_census import MemoryCensus, frames_wanted, growth, kilobytes_in, wanted

ROLLUP = """557a63b03000-7ffc07290000 ---p 00000000 00:00 0                          [rollup]
Rss:                1784 kB
Pss_Anon:            112 kB
Anonymous:           112 kB
"""


def test_the_census_is_off_unless_the_environment_asks_for_it() -> None:
    assert not wanted({})
    assert not wanted({"MUSICBOX_MEMORY_CENSUS": ""})
    assert wanted({"MUSICBOX_MEMORY_CENSUS": "/tmp/census.jsonl"})
    assert frames_wanted({}) == 0
    assert frames_wanted({"MUSICBOX_MEMORY_CENSUS_FRAMES": "many"}) == 0
    assert frames_wanted({"MUSICBOX_MEMORY_CENSUS_FRAMES": "6"}) == 6


def test_smaps_rollup_is_read_as_kilobytes_by_name() -> None:
    assert kilobytes_in(ROLLUP) == {"Rss": 1784, "Pss_Anon": 112, "Anonymous": 112}


def test_growth_names_what_rose_most_and_leaves_out_what_fell() -> None:
    before = {"dict": 100, "Track": 10, "Ratelimit": 5}
    after = {"dict": 90, "Track": 60, "Ratelimit": 6, "Session": 2}
    assert growth(before, after) == [("Track", 50), ("Session", 2), ("Ratelimit", 1)]
    assert growth(before, after, top=1) == [("Track", 50)]


class Kept:
    """Something a process keeps for good between two censuses."""


def test_a_second_census_names_the_objects_kept_since_the_first_and_how_full_the_bounds_are() -> None:
    census = MemoryCensus(lambda: {"start_times": 64}, frames=0)
    first = census.answer("")
    kept = [Kept() for _ in range(5000)]
    second = census.answer("")
    assert second["objects_growth"][0] == ("Kept", 5000)
    assert second["sizes"] == {"start_times": 64}
    assert second["anonymous_mb"] + second["file_mb"] == second["rss_mb"] > 0
    assert "traced_growth" not in first  # no tracemalloc unless frames are asked for
    assert len(kept) == 5000
