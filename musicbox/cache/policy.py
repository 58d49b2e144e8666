"""Which cached songs to drop when the cache is over its byte budget: S3-FIFO (Yang et al., SOSP
2023), sized in bytes. Pure: no files, no clock.

Why S3-FIFO and not LRU: a guild's requests are a few favourites played again and again plus a long
tail heard once (a shuffled playlist, a one-off search). LRU lets every one-off push a favourite
out; S3-FIFO puts new songs in a small probation queue and only those asked for again move to the
main queue, so one-offs leave quickly. docs/benchmarks.md measures it against LRU and Belady's optimum.

A pinned song (playing or queued in some guild) is never chosen; if everything is pinned the cache
stays over budget until something is unpinned rather than cutting a song mid-play.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

SMALL_SHARE = 0.10
MAX_FREQUENCY = 3
# The ghost queue remembers as many evicted keys as the cache holds songs (the paper's sizing): a
# longer memory lets one-offs that merely came back once skip probation and crowd the main queue.
MIN_GHOST_ENTRIES = 16


@dataclass(slots=True)
class Entry:
    size: int
    frequency: int = 0
    main: bool = False


class S3Fifo:
    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._small: OrderedDict[str, Entry] = OrderedDict()
        self._main: OrderedDict[str, Entry] = OrderedDict()
        self._ghost: OrderedDict[str, None] = OrderedDict()
        self._small_bytes = 0
        self._main_bytes = 0

    @property
    def used_bytes(self) -> int:
        return self._small_bytes + self._main_bytes

    def __contains__(self, key: str) -> bool:
        return key in self._small or key in self._main

    def __len__(self) -> int:
        return len(self._small) + len(self._main)

    def entry(self, key: str) -> Entry | None:
        return self._small.get(key) or self._main.get(key)

    def hit(self, key: str) -> None:
        found = self.entry(key)
        if found is not None:
            found.frequency = min(found.frequency + 1, MAX_FREQUENCY)

    def restore(self, key: str, entry: Entry) -> None:
        """Put back an entry as it was before a restart (in its queue, with its frequency)."""
        self._place(key, entry)

    def admit(self, key: str, size: int) -> None:
        if key in self:
            return
        seen_before = key in self._ghost
        self._ghost.pop(key, None)
        self._place(key, Entry(size, main=seen_before))

    def forget(self, key: str) -> None:
        for queue in (self._small, self._main):
            entry = queue.pop(key, None)
            if entry is not None:
                self._account(entry, -entry.size)

    def evict(self, pinned: Iterable[str] = ()) -> list[str]:
        """Keys to delete, in order, until the cache fits its budget (or only pinned songs are left)."""
        keep = set(pinned)
        victims: list[str] = []
        # Each pass over a queue moves every unpinned entry at most MAX_FREQUENCY times, so this ends.
        budget_of_moves = (len(self) + 1) * (MAX_FREQUENCY + 2)
        while self.used_bytes > self.budget_bytes and budget_of_moves > 0:
            budget_of_moves -= 1
            victim = self._evict_one(keep)
            if victim is None:
                break
            victims.append(victim)
        return victims

    def _evict_one(self, keep: set[str]) -> str | None:
        use_small = self._small and (self._small_bytes > self.budget_bytes * SMALL_SHARE or not self._main)
        order = (self._evict_small, self._evict_main) if use_small else (self._evict_main, self._evict_small)
        for step in order:
            victim = step(keep)
            if victim is not None:
                return victim
        return None

    def _evict_small(self, keep: set[str]) -> str | None:
        for _ in range(len(self._small)):
            key, entry = self._small.popitem(last=False)
            self._account(entry, -entry.size)
            if key in keep:
                self._place(key, entry)
            elif entry.frequency > 0:  # asked for again while on probation: promote
                entry.frequency, entry.main = 0, True
                self._place(key, entry)
            else:
                self._ghost[key] = None
                while len(self._ghost) > max(len(self), MIN_GHOST_ENTRIES):
                    self._ghost.popitem(last=False)
                return key
        return None

    def _evict_main(self, keep: set[str]) -> str | None:
        for _ in range(len(self._main) * (MAX_FREQUENCY + 1)):
            if not self._main:
                break
            key, entry = self._main.popitem(last=False)
            self._account(entry, -entry.size)
            if key in keep or entry.frequency > 0:
                if key not in keep:
                    entry.frequency -= 1
                self._place(key, entry)
                continue
            return key
        return None

    def _place(self, key: str, entry: Entry) -> None:
        (self._main if entry.main else self._small)[key] = entry
        self._account(entry, entry.size)

    def _account(self, entry: Entry, delta: int) -> None:
        if entry.main:
            self._main_bytes += delta
        else:
            self._small_bytes += delta
