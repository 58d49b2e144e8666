"""The SponsorBlock fake answers as SponsorBlock's hash-prefix lookup does."""

from __future__ import annotations

import hashlib
from typing import Any

import aiohttp

from musicbox.sim.media import MediaWorld


async def _get(world: MediaWorld, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{world.sponsorblock_api}{path}") as response:
        body = await response.read()
        is_json = response.content_type == "application/json"
        return response.status, (await response.json()) if is_json else body.decode()


async def test_a_bucket_lists_its_videos_segments_in_the_categories_asked(media_world: MediaWorld) -> None:
    digest = hashlib.sha256(b"mbxOfftop01").hexdigest()
    status, answer = await _get(
        media_world, f"/api/skipSegments/{digest[:4]}?categories=%5B%22music_offtopic%22%5D"
    )
    assert status == 200
    [video] = [v for v in answer if v["videoID"] == "mbxOfftop01"]
    assert video["hash"] == digest
    assert [(s["category"], s["segment"], s["actionType"]) for s in video["segments"]] == [
        ("music_offtopic", [2.0, 4.0], "skip")
    ]
    # No categories named: SponsorBlock's default, sponsors only; a longer prefix narrows the bucket.
    status, answer = await _get(media_world, f"/api/skipSegments/{digest[:12]}")
    assert status == 200 and [s["category"] for s in answer[0]["segments"]] == ["sponsor"]


async def test_an_empty_bucket_is_404_and_malformed_asks_are_400(media_world: MediaWorld) -> None:
    digest = hashlib.sha256(b"mbxOfftop01").hexdigest()
    assert (await _get(media_world, f"/api/skipSegments/{digest[:4]}?categories=%5B%22filler%22%5D"))[
        0
    ] == 404
    assert (await _get(media_world, "/api/skipSegments/zz"))[0] == 400
    assert (await _get(media_world, f"/api/skipSegments/{digest[:4]}?categories=sponsor"))[0] == 400
