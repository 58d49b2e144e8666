"""The queue as members experience it: order, looping, paging."""

from __future__ import annotations

import random

import pytest

from musicbox.core.queue import LoopMode, Queue, QueuedTrack
from musicbox.core.track import Track, TrackId


def entry(n: int) -> QueuedTrack:
    return QueuedTrack(Track(TrackId("http", f"t{n}"), f"Song {n}", f"http://x/{n}"), requester_id=1)


def titles(queue: Queue) -> list[str]:
    return [e.track.title for e in queue.upcoming]


def filled(count: int) -> Queue:
    queue = Queue()
    queue.add_many(entry(n) for n in range(count))
    return queue


def test_tracks_play_in_the_order_they_were_added() -> None:
    queue = filled(3)
    played = []
    while (now := queue.advance()) is not None:
        played.append(now.track.title)
    assert played == ["Song 0", "Song 1", "Song 2"]
    assert queue.current is None


def test_add_reports_the_position_a_member_sees() -> None:
    queue = filled(2)
    assert queue.add(entry(9)) == 3


@pytest.mark.parametrize(
    ("loop", "skipped", "expected"),
    [
        (LoopMode.OFF, False, ["Song 0", "Song 1", None]),
        (LoopMode.TRACK, False, ["Song 0", "Song 0", "Song 0"]),
        (LoopMode.TRACK, True, ["Song 0", "Song 1", None]),
        (LoopMode.QUEUE, False, ["Song 0", "Song 1", "Song 0"]),
    ],
)
def test_loop_modes_choose_what_comes_next(loop: LoopMode, skipped: bool, expected: list[str | None]) -> None:
    queue = filled(2)
    queue.loop = loop
    first = queue.advance()
    seen = [first.track.title if first else None]
    for _ in range(2):
        now = queue.advance(skipped=skipped)
        seen.append(now.track.title if now else None)
    assert seen == expected


def test_remove_and_move_reorder_upcoming_tracks() -> None:
    queue = filled(4)
    assert queue.remove(1).track.title == "Song 1"
    queue.move(2, 0)
    assert titles(queue) == ["Song 3", "Song 0", "Song 2"]


@pytest.mark.parametrize(("source", "destination"), [(5, 0), (0, 5), (-1, 0)])
def test_move_out_of_range_is_refused_and_loses_nothing(source: int, destination: int) -> None:
    queue = filled(3)
    with pytest.raises(IndexError):
        queue.move(source, destination)
    assert titles(queue) == ["Song 0", "Song 1", "Song 2"]


def test_shuffle_keeps_every_track() -> None:
    queue = filled(20)
    queue.shuffle(random.Random(4))
    assert sorted(titles(queue)) == sorted(f"Song {n}" for n in range(20))
    assert titles(queue) != [f"Song {n}" for n in range(20)]


def test_clear_keeps_the_playing_track() -> None:
    queue = filled(3)
    queue.advance()
    assert queue.clear() == 2
    assert queue.current is not None and queue.current.track.title == "Song 0"


def test_ids_include_the_playing_track_for_duplicate_detection() -> None:
    queue = filled(2)
    queue.advance()
    assert queue.ids() == {TrackId("http", "t0"), TrackId("http", "t1")}


@pytest.mark.parametrize(
    ("count", "page", "positions", "page_count"),
    [
        (0, 0, [], 1),
        (25, 0, list(range(1, 11)), 3),
        (25, 2, list(range(21, 26)), 3),
        (25, 9, list(range(21, 26)), 3),
    ],
)
def test_pages_show_ten_positions_at_a_time(
    count: int, page: int, positions: list[int], page_count: int
) -> None:
    shown = filled(count).page(page)
    assert [position for position, _ in shown.entries] == positions
    assert shown.page_count == page_count


@pytest.mark.parametrize(
    ("loop", "after_rewind", "then_playing"),
    [
        (LoopMode.OFF, ["Song 1", "Song 2", "Song 3"], ["Song 1", "Song 2", "Song 3"]),
        # loop queue had put Song 1 back at the end: going back takes that copy, nothing is doubled
        (LoopMode.QUEUE, ["Song 1", "Song 2", "Song 3", "Song 0"], ["Song 1", "Song 2", "Song 3", "Song 0"]),
        (LoopMode.TRACK, ["Song 1", "Song 2", "Song 3"], ["Song 1", "Song 2", "Song 3"]),
    ],
)
def test_previous_plays_the_song_before_then_the_one_that_was_playing(
    loop: LoopMode, after_rewind: list[str], then_playing: list[str]
) -> None:
    queue = filled(4)
    queue.loop = loop
    queue.advance()
    queue.advance(skipped=True)  # Song 1 plays, Song 0 was before it
    queue.advance(skipped=True)  # Song 2 plays
    assert queue.rewind() == entry(1)
    assert queue.current is None and titles(queue) == after_rewind
    played = []
    for _ in range(len(then_playing)):
        now = queue.advance(skipped=True)
        assert now is not None
        played.append(now.track.title)
    assert played == then_playing


def test_previous_with_nothing_played_before_changes_nothing() -> None:
    queue = filled(2)
    queue.advance()
    assert queue.rewind() is None
    assert queue.current == entry(0) and titles(queue) == ["Song 1"]


def test_previous_steps_back_one_song_at_a_time_and_stop_forgets() -> None:
    queue = filled(3)
    for _ in range(3):
        queue.advance(skipped=True)  # Song 2 plays
    assert queue.rewind() == entry(1)
    queue.advance(skipped=True)  # Song 1 again
    assert queue.rewind() == entry(0)
    queue.stop()
    assert queue.rewind() is None
