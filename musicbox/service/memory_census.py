"""A census of the bot's memory, for the soak bench to tell a cache filling to its bound from a leak.

Off unless MUSICBOX_MEMORY_CENSUS is set in the bot's environment (the bench sets it): then the bot
answers the control request `memory` with where its memory is (the kernel's anonymous and
file-backed pages, glibc's arenas, the objects alive by type and their growth since the first
census, SQLite's own allocations, and the sizes of the bot's bounded structures). With
MUSICBOX_MEMORY_CENSUS_FRAMES=N too, the bot starts tracemalloc as it starts (N frames a traceback)
and adds the Python heap it sees and its growth by traceback. Off, nothing is started and the
request is not served: the service pays nothing. tracemalloc slows allocation, adds its own memory
(reported as `tracemalloc_mb`, to subtract) and its snapshots hold the event loop for a second or
more on a loaded box: an attribution run, not one whose slope or latency is the figure."""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import gc
import os
import tracemalloc
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ENVIRONMENT_VARIABLE = "MUSICBOX_MEMORY_CENSUS"
FRAMES_VARIABLE = "MUSICBOX_MEMORY_CENSUS_FRAMES"
TOP = 15
MIB = 2**20


def wanted(environment: Mapping[str, str]) -> bool:
    return bool(environment.get(ENVIRONMENT_VARIABLE))


def frames_wanted(environment: Mapping[str, str]) -> int:
    frames = environment.get(FRAMES_VARIABLE, "0")
    return int(frames) if frames.isdigit() else 0


def kilobytes_in(smaps_rollup: str) -> dict[str, int]:
    """The `Name:   123 kB` lines of /proc/PID/smaps_rollup, as {name: kB}. Pure."""
    fields: dict[str, int] = {}
    for line in smaps_rollup.splitlines():
        name, _, rest = line.partition(":")
        value, _, unit = rest.strip().partition(" ")
        if unit == "kB" and value.isdigit():
            fields[name] = int(value)
    return fields


def growth(before: Mapping[str, int], after: Mapping[str, int], top: int = TOP) -> list[tuple[str, int]]:
    """The `top` names whose count rose most from `before` to `after`, with the rise. Pure."""
    rises = ((name, count - before.get(name, 0)) for name, count in after.items())
    return sorted((rise for rise in rises if rise[1] > 0), key=lambda rise: -rise[1])[:top]


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


class MemoryCensus:
    """Started with the bot when wanted; `answer` is the control request's handler."""

    def __init__(self, sizes: Callable[[], dict[str, int]], frames: int) -> None:
        self._sizes = sizes
        if frames:
            tracemalloc.start(frames)
        self._first: tracemalloc.Snapshot | None = None
        self._first_types: collections.Counter[str] | None = None

    def answer(self, _: str) -> dict[str, Any]:
        types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
        if self._first_types is None:
            self._first_types = types
        rollup = kilobytes_in(Path(f"/proc/{os.getpid()}/smaps_rollup").read_text())
        return {
            "rss_mb": rollup.get("Rss", 0) / 1024,
            "anonymous_mb": rollup.get("Anonymous", 0) / 1024,
            "file_mb": (rollup.get("Rss", 0) - rollup.get("Anonymous", 0)) / 1024,
            "malloc": _mallinfo2(),
            "sqlite_mb": _sqlite_memory_used() / MIB,
            "objects": sum(types.values()),
            "objects_growth": growth(self._first_types, types),
            "sizes": self._sizes(),
            **(self._traced() if tracemalloc.is_tracing() else {}),
        }

    def _traced(self) -> dict[str, Any]:
        ours = tracemalloc.Filter(False, tracemalloc.__file__)
        snapshot = tracemalloc.take_snapshot().filter_traces((ours,))
        if self._first is None:
            self._first = snapshot
        return {
            "traced_mb": sum(stat.size for stat in snapshot.statistics("filename")) / MIB,
            "tracemalloc_mb": tracemalloc.get_tracemalloc_memory() / MIB,
            "traced_growth": [
                {
                    "kib": round(stat.size_diff / 1024, 1),
                    "blocks": stat.count_diff,
                    "where": [f"{frame.filename}:{frame.lineno}" for frame in stat.traceback],
                }
                for stat in snapshot.compare_to(self._first, "traceback")[:TOP]
            ],
        }


def _mallinfo2() -> dict[str, float]:
    """glibc's arenas in MiB: `arena` taken from the system by brk, `hblkhd` by mmap, `uordblks` in
    use, `fordblks` free but kept (fragmentation), `keepcost` trimmable at the top."""
    name = ctypes.util.find_library("c")
    try:
        mallinfo2 = ctypes.CDLL(name).mallinfo2
    except (OSError, AttributeError):  # not glibc, or glibc before 2.33
        return {}
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    fields = ("arena", "hblkhd", "uordblks", "fordblks", "keepcost")
    return {field: getattr(info, field) / MIB for field in fields}


def _sqlite_memory_used() -> int:
    """Bytes SQLite's allocator holds now (page caches of every connection included), process-wide."""
    try:
        used = ctypes.CDLL("libsqlite3.so.0").sqlite3_memory_used
    except (OSError, AttributeError):
        return 0
    used.restype = ctypes.c_int64
    return int(used())
