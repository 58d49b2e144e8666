"""What the bot needs from the sources layer, as a Protocol so the composition root can hand in the
yt-dlp resolver (or the Spotify-aware one in front of it) and the bot never imports either."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

from musicbox.core.track import Track

Progress = Callable[[int, int], Awaitable[None]]


class QueryFailed(Exception):
    """A query could not become tracks; `reason` is a short phrase a member can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
