"""A guild's queue: what plays now, what comes next, and how looping changes "next".

Plain data and plain methods, no I/O: the playback session asks `advance()` when a track ends and the
bot's commands call the rest. Positions a member types are 1-based; the methods here take 0-based
indices and the bot converts at the edge."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from musicbox.core.track import Track, TrackId

PLAYED_KEPT = 50  # songs /previous can step back through in a session


class LoopMode(StrEnum):
    OFF = "off"
    TRACK = "track"
    QUEUE = "queue"


@dataclass(frozen=True, slots=True)
class QueuedTrack:
    track: Track
    requester_id: int


@dataclass(frozen=True, slots=True)
class QueuePage:
    entries: tuple[tuple[int, QueuedTrack], ...]  # (1-based position, entry)
    page: int  # 0-based, clamped into range
    page_count: int
    total: int


class Queue:
    """Upcoming tracks plus the one playing now. `current` is not part of `upcoming`."""

    def __init__(self) -> None:
        self._upcoming: list[QueuedTrack] = []
        self._played: list[QueuedTrack] = []  # newest last, at most PLAYED_KEPT: what /previous goes back to
        self.current: QueuedTrack | None = None
        self.loop: LoopMode = LoopMode.OFF

    def __len__(self) -> int:
        return len(self._upcoming)

    @property
    def upcoming(self) -> Sequence[QueuedTrack]:
        return tuple(self._upcoming)

    def ids(self) -> set[TrackId]:
        """Every track held, playing or waiting: what duplicate detection compares against."""
        held = {entry.track.id for entry in self._upcoming}
        if self.current is not None:
            held.add(self.current.track.id)
        return held

    def add(self, entry: QueuedTrack) -> int:
        """Append; returns the 1-based position in the upcoming list."""
        self._upcoming.append(entry)
        return len(self._upcoming)

    def add_many(self, entries: Iterable[QueuedTrack]) -> int:
        before = len(self._upcoming)
        self._upcoming.extend(entries)
        return len(self._upcoming) - before

    def remove(self, index: int) -> QueuedTrack:
        if not 0 <= index < len(self._upcoming):
            raise IndexError(index)
        return self._upcoming.pop(index)

    def move(self, source: int, destination: int) -> QueuedTrack:
        if not 0 <= source < len(self._upcoming) or not 0 <= destination < len(self._upcoming):
            raise IndexError((source, destination))
        entry = self._upcoming.pop(source)
        self._upcoming.insert(destination, entry)
        return entry

    def shuffle(self, rng: random.Random | None = None) -> None:
        (rng or random.Random()).shuffle(self._upcoming)

    def clear(self) -> int:
        """Drop every upcoming track (the playing one keeps playing); returns how many went."""
        dropped = len(self._upcoming)
        self._upcoming.clear()
        return dropped

    def advance(self, *, skipped: bool = False) -> QueuedTrack | None:
        """The current track ended (or was skipped): choose and return the new current one.

        Loop track repeats the current one unless the member skipped it; loop queue puts the finished
        track back at the end."""
        finished = self.current
        if finished is not None and self.loop is LoopMode.TRACK and not skipped:
            return finished
        if finished is not None:
            self._played = [*self._played[-(PLAYED_KEPT - 1) :], finished]
        if finished is not None and self.loop is LoopMode.QUEUE:
            self._upcoming.append(finished)
        self.current = self._upcoming.pop(0) if self._upcoming else None
        return self.current

    def rewind(self) -> QueuedTrack | None:
        """Put the song played before the current one first in line, the current one right after it
        (the caller ends the current song, so the next advance plays the previous one); None when
        nothing was played before. With loop queue, the previous song's copy at the end is taken."""
        if not self._played:
            return None
        previous = self._played.pop()
        if self.loop is LoopMode.QUEUE and self._upcoming and self._upcoming[-1] is previous:
            self._upcoming.pop()
        if self.current is not None:
            self._upcoming.insert(0, self.current)
        self._upcoming.insert(0, previous)
        self.current = None
        return previous

    def peek(self, count: int) -> tuple[QueuedTrack, ...]:
        """The next `count` tracks that will play, for prefetch."""
        return tuple(self._upcoming[:count])

    def stop(self) -> None:
        self._upcoming.clear()
        self._played.clear()
        self.current = None

    def page(self, page: int, per_page: int = 10) -> QueuePage:
        total = len(self._upcoming)
        page_count = max(1, -(-total // per_page))
        page = min(max(page, 0), page_count - 1)
        start = page * per_page
        entries = tuple(
            (start + offset + 1, entry)
            for offset, entry in enumerate(self._upcoming[start : start + per_page])
        )
        return QueuePage(entries=entries, page=page, page_count=page_count, total=total)
