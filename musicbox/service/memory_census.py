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
import re
import tracemalloc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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


_MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")
# glibc reserves each thread arena's heap 64 MiB at a time, aligned to its size, and puts a page of
# guard before each thread's stack.
ARENA_HEAP = 64 * MIB
STACK_GUARD = 4096


@dataclass(slots=True)
class _Mapping:
    start: int
    end: int
    permissions: str
    name: str
    anonymous_kb: int = 0


def anonymous_by_kind(smaps: str) -> dict[str, float]:
    """The anonymous memory of /proc/PID/smaps in MiB by what holds it: glibc's main heap (`[heap]`),
    its thread arenas' heaps, thread stacks, and the rest (pymalloc's 1 MiB arenas, malloc's
    mmapped blocks, other mmaps). Pure."""
    mappings: list[_Mapping] = []
    for line in smaps.splitlines():
        found = _MAPPING.match(line)
        if found:
            start, end, permissions, name = found.groups()
            mappings.append(_Mapping(int(start, 16), int(end, 16), permissions, name.strip()))
        elif line.startswith("Anonymous:") and mappings:
            mappings[-1].anonymous_kb = int(line.split()[1])
    kinds = dict.fromkeys(("main heap", "thread arenas", "thread stacks", "other"), 0.0)
    for before, mapping, after in zip([None, *mappings[:-1]], mappings, [*mappings[1:], None], strict=True):
        kinds[_kind(before, mapping, after)] += mapping.anonymous_kb / 1024
    return kinds


def _kind(before: _Mapping | None, mapping: _Mapping, after: _Mapping | None) -> str:
    if mapping.name == "[heap]":
        return "main heap"
    if mapping.name:
        return "other"
    if (
        mapping.start % ARENA_HEAP == 0
        and after is not None
        and after.permissions.startswith("---")
        and after.end - mapping.start == ARENA_HEAP
    ):
        return "thread arenas"
    if (
        before is not None
        and before.permissions.startswith("---")
        and before.end - before.start == STACK_GUARD
    ):
        return "thread stacks"
    return "other"


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
            "anonymous_by_kind": anonymous_by_kind(Path(f"/proc/{os.getpid()}/smaps").read_text()),
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
