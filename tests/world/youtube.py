"""YouTube's part in the simulator, for the media world's videos (`musicbox.sim.sponsorblock.VIDEOS`).

There is no YouTube here, and yt-dlp's YouTube extractor cannot be pointed at a fake (it speaks
YouTube's own web and player APIs over HTTPS and runs YouTube's player scripts). So for a watch link
of one of the sim's videos, this source gives what that extractor's answer becomes in musicbox: the
identity `recognise()` gives the link (`TrackId("youtube", <video id>)`, as for any YouTube link), the
video's title and length, and as its media URL the media world's file of it (where yt-dlp would give
a googlevideo address). Everything else a member types goes to the real sources. From there on the
bot is the real one: it asks SponsorBlock about the video id through the egress gate, cuts while
caching, seeks when uncached."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from musicbox.bot.sources import Progress, TrackSource
from musicbox.core.track import Track
from musicbox.sim.media import MediaWorld
from musicbox.sim.sponsorblock import VIDEOS, SimVideo, video
from musicbox.sources.query import YouTubeVideo, recognise, track_id

CHANNEL = "Sim Channel"


class SimYouTube:
    def __init__(self, media: MediaWorld, others: TrackSource) -> None:
        self._media = media
        self._others = others

    async def resolve(self, query: str, *, progress: Progress | None = None) -> Sequence[Track]:
        known = _known_video(query)
        if known is None:
            return await self._others.resolve(query, progress=progress)
        recognised, found = known
        return [Track(track_id(recognised), found.title, recognised.url, found.duration_s, CHANNEL)]

    async def batches(
        self, query: str, *, progress: Progress | None = None
    ) -> AsyncIterator[Sequence[Track]]:
        if _known_video(query) is None:
            async for batch in self._others.batches(query, progress=progress):
                yield batch
            return
        yield await self.resolve(query, progress=progress)

    async def search(self, words: str, *, limit: int) -> Sequence[Track]:
        return await self._others.search(words, limit=limit)

    async def media_url(self, track: Track) -> str:
        if track.id.source == "youtube" and track.id.key in {v.video_id for v in VIDEOS}:
            return self._media.video_url(track.id.key)
        return await self._others.media_url(track)


def _known_video(query: str) -> tuple[YouTubeVideo, SimVideo] | None:
    recognised = recognise(query)
    if not isinstance(recognised, YouTubeVideo):
        return None
    try:
        return recognised, video(recognised.video_id)
    except KeyError:
        return None
