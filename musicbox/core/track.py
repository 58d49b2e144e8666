"""What a track is, and when two tracks are the same one."""

from __future__ import annotations

from dataclasses import dataclass

# The source of every live stream (internet radio, an HLS live playlist, a page yt-dlp marks live),
# whatever site it is on: a stream has no end and no file, so it is played as it comes and never
# cached, and saying so in its identity keeps that through the metadata cache and saved queues.
LIVE = "live"


@dataclass(frozen=True, slots=True)
class TrackId:
    """A canonical identity: the same song pasted as a watch URL, a youtu.be link or a shorts link
    has one TrackId, which is what duplicate detection and the cache key on."""

    source: str  # "youtube", "http" (a direct media URL or page), "spotify", LIVE, ...
    key: str  # the source's own id: a YouTube video id, a normalised URL, a Spotify track id

    def __str__(self) -> str:
        return f"{self.source}:{self.key}"

    @property
    def live(self) -> bool:
        return self.source == LIVE


@dataclass(frozen=True, slots=True)
class Track:
    id: TrackId
    title: str
    # The address a member can open (a watch page, a media page, the file itself).
    page_url: str
    duration_s: float | None = None
    artist: str | None = None

    @property
    def live(self) -> bool:
        return self.id.live
