"""SponsorBlock (sponsor.ajay.app): which stretches of a YouTube video its viewers marked to skip.

Asked by the privacy-preserving lookup the API offers: `GET /api/skipSegments/<4 hex digits of
the video id's SHA-256>?categories=[...]&actionTypes=["skip"]` answers the segments of every video
in that bucket, so SponsorBlock never learns which video a server plays; `core.sponsorblock` picks
this one's out. Through the egress gate as a document job (its answer capped) and through its own
`Upstreams`: no retries and a circuit that opens after two failures, because a song never waits
for SponsorBlock: a lookup that fails, is refused, or has not answered within `LOOKUP_S` leaves the
song uncut (`None`: not known), and once the circuit is open songs do not wait at all."""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import quote

from musicbox.bot.sources import QueryFailed
from musicbox.core.backoff import BackoffPolicy
from musicbox.core.circuit import CircuitPolicy
from musicbox.core.sponsorblock import Cuts, cuts_within, hash_prefix, segments_of
from musicbox.core.track import Track
from musicbox.sources.egress import EgressGate
from musicbox.sources.json_api import JsonApi
from musicbox.sources.upstreams import Upstreams, upstream_of

log = logging.getLogger(__name__)

# The longest a song's start may wait for SponsorBlock: the lookup runs beside the song's own
# resolution (a YouTube extraction takes longer), so a healthy answer costs nothing.
LOOKUP_S = 2.0
FAILING = "SponsorBlock is not answering"
# A bucket with every category is some tens of kB.
_API = JsonApi(failing=FAILING, answer_bytes=1 * 2**20, timeout_s=LOOKUP_S)
# Answers kept (video and categories -> cuts) so a replay, or another server, asks nothing.
REMEMBERED = 512
REMEMBERED_S = 3600.0
# Failures in a row that open the circuit, and for how long.
CIRCUIT = CircuitPolicy(failure_threshold=2, cool_down_s=60.0)


def video_id_of(track: Track) -> str | None:
    """The id SponsorBlock knows a track by: a YouTube video's own (what yt-dlp's YouTube extractor
    calls its id, and musicbox's TrackId keeps); no other site is in SponsorBlock."""
    return track.id.key if track.id.source == "youtube" and not track.live else None


class SponsorBlock:
    def __init__(self, base_url: str, egress: EgressGate, upstreams: Upstreams | None = None) -> None:
        self._base_url = base_url.rstrip("/")
        self._egress = egress
        self._upstreams = upstreams or Upstreams(circuit=CIRCUIT, backoff=BackoffPolicy(max_attempts=1))
        self._remembered: OrderedDict[tuple[str, tuple[str, ...]], tuple[float, Cuts]] = OrderedDict()

    async def cuts(self, track: Track, categories: tuple[str, ...]) -> Cuts | None:
        """What to leave out of `track` for a server skipping `categories`: () for nothing (not a
        YouTube video, nothing marked, no categories on), None when SponsorBlock could not say."""
        video_id = video_id_of(track)
        if video_id is None or not categories or track.duration_s is None:
            return ()
        key = (video_id, categories)
        remembered = self._remembered.get(key)
        if remembered is not None and time.monotonic() - remembered[0] < REMEMBERED_S:
            return remembered[1]
        try:
            answer = await self._lookup(video_id, categories)
        except QueryFailed as failed:
            log.info("SponsorBlock: no answer for %s (%s); it plays as it is", video_id, failed.reason)
            return None
        found = cuts_within(segments_of(answer, video_id, categories, track.duration_s), track.duration_s)
        self._remembered[key] = (time.monotonic(), found)
        self._remembered.move_to_end(key)
        while len(self._remembered) > REMEMBERED:
            self._remembered.popitem(last=False)
        return found

    async def _lookup(self, video_id: str, categories: tuple[str, ...]) -> Any:
        listed = quote(json.dumps(list(categories), separators=(",", ":")))
        skip_only = quote('["skip"]')
        bucket = hash_prefix(video_id)
        url = f"{self._base_url}/api/skipSegments/{bucket}?categories={listed}&actionTypes={skip_only}"
        return await self._upstreams.call(upstream_of(url), lambda: self._get(url))

    async def _get(self, url: str) -> Any:
        found = await _API.get(self._egress, url, missing_ok=True)
        return [] if found is None else found  # 404: SponsorBlock's answer for a bucket with no segments
