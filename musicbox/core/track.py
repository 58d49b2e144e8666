"""What a track is, and when two tracks are the same one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TrackId:
    """A canonical identity: the same song pasted as a watch URL, a youtu.be link or a shorts link
    has one TrackId, which is what duplicate detection and the cache key on."""

    source: str  # "youtube", "http" (a direct media URL or page), "spotify", ...
    key: str  # the source's own id: a YouTube video id, a normalised URL, a Spotify track id

    def __str__(self) -> str:
        return f"{self.source}:{self.key}"


@dataclass(frozen=True, slots=True)
class Track:
    id: TrackId
    title: str
    # The address a member can open (a watch page, a media page, the file itself).
    page_url: str
    duration_s: float | None = None
    artist: str | None = None
