"""The SponsorBlock client against the simulator's fake, through a real egress gate: a video's cuts
by hash prefix, remembered; nothing asked for what SponsorBlock cannot know; an outage (refused or
hanging) is "not known" within the deadline, and its circuit then answers at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from musicbox.core.sponsorblock import Cut
from musicbox.core.track import LIVE, Track, TrackId
from musicbox.sim.media import MediaWorld
from musicbox.sources import sponsorblock
from musicbox.sources.egress import EgressGate
from musicbox.sources.sponsorblock import SponsorBlock


@pytest.fixture
def gate(media_world: MediaWorld) -> Iterator[EgressGate]:
    egress = EgressGate((media_world.host,))
    yield egress
    egress.close()


def youtube(video_id: str, duration_s: float | None = 8.0) -> Track:
    return Track(TrackId("youtube", video_id), "A video", f"https://youtu.be/{video_id}", duration_s)


async def test_a_videos_cuts_by_hash_prefix_in_the_servers_categories_remembered(
    media_world: MediaWorld, gate: EgressGate
) -> None:
    client = SponsorBlock(media_world.sponsorblock_api, gate)
    before = len(media_world.sponsorblock.requests)
    assert await client.cuts(youtube("mbxOfftop01"), ("music_offtopic",)) == (Cut(2.0, 4.0),)
    assert await client.cuts(youtube("mbxOfftop01"), ("sponsor", "music_offtopic")) == (
        Cut(2.0, 4.0),
        Cut(7.0, 8.0),
    )
    assert await client.cuts(youtube("mbxOfftop01"), ("music_offtopic",)) == (Cut(2.0, 4.0),)  # remembered
    assert await client.cuts(youtube("mbxNothing1"), ("music_offtopic",)) == ()  # 404: nothing marked
    # Nothing to ask: not YouTube, live, no length to check the cuts against, no categories on.
    for track in (
        Track(TrackId("http", "http://x/a.ogg"), "a", "http://x/a.ogg", 8.0),
        Track(TrackId(LIVE, "http://x/radio"), "radio", "http://x/radio"),
        youtube("mbxOfftop01", None),
    ):
        assert await client.cuts(track, ("music_offtopic",)) == ()
    assert await client.cuts(youtube("mbxOfftop02"), ()) == ()
    assert len(media_world.sponsorblock.requests) - before == 3


async def test_an_outage_is_not_known_within_the_deadline_and_then_the_circuit_answers_at_once(
    media_world: MediaWorld, gate: EgressGate
) -> None:
    client = SponsorBlock(media_world.sponsorblock_api, gate)
    fake = media_world.sponsorblock
    fake.fail_with(503)
    try:
        assert await client.cuts(youtube("mbxOfftop01"), ("music_offtopic",)) is None
    finally:
        fake.fail_with(None)
    fake.hang(True)
    try:
        began = time.monotonic()
        assert await client.cuts(youtube("mbxOfftop02"), ("music_offtopic",)) is None
        waited = time.monotonic() - began
        asked = len(fake.requests)
        # Two failures in a row: the circuit is open, and the next lookup is not even sent.
        began = time.monotonic()
        assert await client.cuts(youtube("mbxOfftop03"), ("music_offtopic",)) is None
        refused_in = time.monotonic() - began
    finally:
        fake.hang(False)
    assert sponsorblock.LOOKUP_S - 0.1 <= waited < sponsorblock.LOOKUP_S + 1.5, waited
    assert refused_in < 0.2 and len(fake.requests) == asked
