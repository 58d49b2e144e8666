"""What the bot needs from the sources layer, as a Protocol so the composition root can hand in the
yt-dlp resolver (or the Spotify-aware one in front of it) and the bot never imports either."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from enum import Enum
from typing import Protocol

from musicbox.core.track import Track

Progress = Callable[[int, int], Awaitable[None]]


class UpstreamFault(Enum):
    """Whose fault a failed query was, which decides whether it is tried again."""

    NONE = "none"  # the upstream answered: the link itself is bad (404, private, not audio)
    FAILING = "failing"  # a server error, a refused or reset connection, a 429: worth another try
    SLOW = "slow"  # it did not answer in time: counts against the upstream, but a member waited enough


class QueryFailed(Exception):
    """A query could not become tracks; `reason` is a short phrase a member can read. `upstream`,
    when set, is the host at fault when it is not the one the query named (a playlist's entry on
    another host that trickled past the deadline)."""

    def __init__(
        self, reason: str, fault: UpstreamFault = UpstreamFault.NONE, *, upstream: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fault = fault
        self.upstream = upstream


class TrackSource(Protocol):
    async def resolve(self, query: str, *, progress: Progress | None = None) -> Sequence[Track]:
        """URL, playlist URL or search words -> tracks in order. Raises QueryFailed."""
        ...

    def batches(self, query: str, *, progress: Progress | None = None) -> AsyncIterator[Sequence[Track]]:
        """The same tracks as `resolve`, as they are read (a long Spotify playlist page by page), so the
        first song can start while the rest is still being read. Raises QueryFailed."""
        ...

    async def search(self, words: str, *, limit: int) -> Sequence[Track]: ...

    async def media_url(self, track: Track) -> str: ...


async def collected(batches: AsyncIterator[Sequence[Track]]) -> list[Track]:
    """Every track of `batches`: `resolve` for a source whose `batches` is the way it reads."""
    return [track async for batch in batches for track in batch]
