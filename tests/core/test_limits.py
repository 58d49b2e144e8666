"""What a member may queue: caps, long tracks and duplicates."""

from __future__ import annotations

from musicbox.core.limits import QueueLimits, Refusal, admit, playlist_over_limit
from musicbox.core.track import Track, TrackId


def track(key: str, duration_s: float | None = 60) -> Track:
    return Track(TrackId("youtube", key), key, f"https://youtu.be/{key}", duration_s=duration_s)


LIMITS = QueueLimits(max_queue=3, max_playlist=5, max_track_s=600)


def test_a_song_already_queued_is_refused_as_duplicate() -> None:
    result = admit([track("a")], held={TrackId("youtube", "a")}, queued=1, limits=LIMITS)
    assert result.accepted == ()
    assert result.first_refusal is Refusal.DUPLICATE


def test_a_playlist_repeating_a_song_keeps_one_copy() -> None:
    result = admit([track("a"), track("b"), track("a")], held=set(), queued=0, limits=LIMITS)
    assert [t.id.key for t in result.accepted] == ["a", "b"]
    assert [r for _, r in result.refused] == [Refusal.DUPLICATE]


def test_the_queue_cap_counts_the_tracks_being_added() -> None:
    result = admit([track(k) for k in "abcd"], held=set(), queued=1, limits=LIMITS)
    assert [t.id.key for t in result.accepted] == ["a", "b"]
    assert {r for _, r in result.refused} == {Refusal.QUEUE_FULL}


def test_too_long_tracks_are_refused_and_unknown_lengths_pass() -> None:
    result = admit([track("long", 601), track("live", None)], held=set(), queued=0, limits=LIMITS)
    assert [t.id.key for t in result.accepted] == ["live"]
    assert result.first_refusal is Refusal.TOO_LONG


def test_a_track_as_long_as_the_limit_in_whole_seconds_is_accepted() -> None:
    """A member reads lengths in whole seconds: 10:00.9 is shown as 10:00, the limit itself."""
    shown_at_the_limit = [track("at", 600.0), track("just-over", 600.9), track("second-more", 601.0)]
    result = admit(shown_at_the_limit, held=set(), queued=0, limits=QueueLimits(max_track_s=600))
    assert [t.id.key for t in result.accepted] == ["at", "just-over"]
    assert [t.id.key for t, _ in result.refused] == ["second-more"]


def test_playlist_limit_is_inclusive() -> None:
    assert not playlist_over_limit(5, LIMITS)
    assert playlist_over_limit(6, LIMITS)
