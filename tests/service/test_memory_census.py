"""The soak's memory census: off unless the environment asks, and when asked it names what grew."""

from __future__ import annotations

from musicbox.service.memory_census import (
    MemoryCensus,
    anonymous_by_kind,
    frames_wanted,
    growth,
    kilobytes_in,
    wanted,
)

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


def _mapping(start: int, end: int, permissions: str, name: str, anonymous_kb: int) -> str:
    header = f"{start:x}-{end:x} {permissions} 00000000 00:00 0 {name}"
    return f"{header}\nRss: {anonymous_kb} kB\nAnonymous: {anonymous_kb} kB\n"


def test_anonymous_memory_is_told_by_what_holds_it() -> None:
    mib, arena = 2**20, 2**26
    smaps = "".join(
        (
            _mapping(0x55_0000_0000, 0x55_0000_0000 + 30 * mib, "rw-p", "[heap]", 20 * 1024),
            _mapping(3 * arena, 3 * arena + 2 * mib, "rw-p", "", 1536),  # a thread arena's heap...
            _mapping(3 * arena + 2 * mib, 4 * arena, "---p", "", 0),  # ...and the rest of its 64 MiB
            _mapping(9 * arena, 9 * arena + 4096, "---p", "", 0),  # a stack's guard page
            _mapping(9 * arena + 4096, 9 * arena + 4096 + 8 * mib, "rw-p", "", 256),
            _mapping(12 * arena + 4096, 12 * arena + 4096 + mib, "rw-p", "", 1024),  # pymalloc's
            _mapping(14 * arena, 14 * arena + mib, "r--p", "/usr/lib/libc.so.6", 8),
        )
    )
    assert anonymous_by_kind(smaps) == {
        "main heap": 20.0,
        "thread arenas": 1.5,
        "thread stacks": 0.25,
        "other": 1024 / 1024 + 8 / 1024,
    }


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
    assert 0 < sum(second["anonymous_by_kind"].values()) <= second["anonymous_mb"] + 1
    assert "traced_growth" not in first  # no tracemalloc unless frames are asked for
    assert len(kept) == 5000
