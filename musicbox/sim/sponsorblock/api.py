"""A fake of SponsorBlock's API (sponsor.ajay.app), served by the media world beside its songs.

`GET /api/skipSegments/<prefix>?categories=[...]&actionTypes=[...]` answers as SponsorBlock's
privacy-preserving lookup does: every video whose id's SHA-256 starts with the 4 to 32 hex digits
of `prefix`, each with its full `hash` and its segments in the categories asked for (`["sponsor"]`
when none are named, as SponsorBlock defaults), and 404 "Not Found" when no video in the bucket has
one. A malformed `categories` is 400, as SponsorBlock answers it. `fail_with(status)` is an outage
answering every request with that status; `hang(True)` one that accepts the connection and answers
nothing (until `hang(False)`, or 30 s). `requests` and `arrivals` are what was asked, and when.

The videos (`VIDEOS`) are the media world's "YouTube videos" (`/video/<id>.ogg`): a tone for the
music and another rung for each marked stretch, so the listener hears whether a stretch was left out."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from dataclasses import dataclass

from aiohttp import web

MALFORMED = "Categories parameter does not match format requirements."
HANG_S = 30.0  # the longest a hanging request is held: every fault is bounded


@dataclass(frozen=True, slots=True)
class SimVideo:
    video_id: str  # 11 characters, as YouTube's
    duration_s: float
    music_rung: int  # the tone heard outside the segments
    # (start, end, category, rung heard in it)
    segments: tuple[tuple[float, float, str, int], ...]

    @property
    def title(self) -> str:
        return f"Sim Video {self.video_id}"


VIDEOS = (
    # A music video with a talking stretch marked "music_offtopic" after its first 2 s, and a
    # "sponsor" read at its end that only a server skipping sponsors leaves out.
    SimVideo("mbxOfftop01", 8.0, 40, ((2.0, 4.0, "music_offtopic", 41), (7.0, 8.0, "sponsor", 42))),
    # The same shape under other ids, so each story has a video no earlier play has cached.
    SimVideo("mbxOfftop02", 8.0, 43, ((2.0, 4.0, "music_offtopic", 44), (7.0, 8.0, "sponsor", 45))),
    SimVideo("mbxOfftop03", 8.0, 46, ((2.0, 4.0, "music_offtopic", 47), (7.0, 8.0, "sponsor", 48))),
)


def video(video_id: str) -> SimVideo:
    for known in VIDEOS:
        if known.video_id == video_id:
            return known
    raise KeyError(video_id)


def _hash(video_id: str) -> str:
    return hashlib.sha256(video_id.encode()).hexdigest()


class SponsorBlockFake:
    def __init__(self) -> None:
        self._failing: int | None = None
        self._hanging = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self.requests: list[str] = []
        self.arrivals: list[float] = []  # when each request came (time.monotonic(), as the listener's)

    def fail_with(self, status: int | None) -> None:
        """Answer every request with `status` (None: answer again)."""
        self._failing = status

    def hang(self, hanging: bool) -> None:
        """Hold every request without an answer (False: answer again, releasing those held)."""
        if hanging:
            self._released.clear()
            self._hanging.set()
        else:
            self._hanging.clear()
            self._released.set()

    async def skip_segments(self, request: web.Request) -> web.Response:
        with self._lock:
            self.requests.append(request.path_qs)
            self.arrivals.append(time.monotonic())
        if self._hanging.is_set():
            await asyncio.to_thread(self._released.wait, HANG_S)
        if self._failing is not None:
            error = web.HTTPException(text="SponsorBlock is having a bad day")
            error.set_status(self._failing)
            raise error
        prefix = request.match_info["prefix"].lower()
        if not 4 <= len(prefix) <= 32 or any(c not in "0123456789abcdef" for c in prefix):
            raise web.HTTPBadRequest(text="Hash prefix does not match format requirements.")
        try:
            categories = json.loads(request.query.get("categories", '["sponsor"]'))
            actions = json.loads(request.query.get("actionTypes", '["skip"]'))
        except ValueError:
            raise web.HTTPBadRequest(text=MALFORMED) from None
        if not isinstance(categories, list) or not isinstance(actions, list):
            raise web.HTTPBadRequest(text=MALFORMED)
        found = []
        for known in VIDEOS:
            digest = _hash(known.video_id)
            segments = [
                {
                    "category": category,
                    "actionType": "skip",
                    "segment": [start, end],
                    "UUID": hashlib.sha256(f"{known.video_id}{start}".encode()).hexdigest(),
                    "videoDuration": known.duration_s,
                    "locked": 0,
                    "votes": 3,
                    "description": "",
                }
                for start, end, category, _ in known.segments
                if category in categories and "skip" in actions
            ]
            if digest.startswith(prefix) and segments:
                found.append({"videoID": known.video_id, "hash": digest, "segments": segments})
        if not found:
            return web.Response(status=404, text="Not Found")
        return web.json_response(found)
