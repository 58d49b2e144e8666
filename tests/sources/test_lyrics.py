"""Which LRCLIB record is the song playing, its LRC lines, and their pages (pure: no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from musicbox.core.track import Track, TrackId
from musicbox.sources.lyrics import (
    LyricLine,
    best_record,
    current_line,
    lyrics_of,
    page_breaks,
    parse_lrc,
)


def record(
    name: str, artist: str, duration: float, *, synced: str | None = None, plain: str | None = "la"
) -> Any:
    return {
        "trackName": name,
        "artistName": artist,
        "albumName": "Album",
        "duration": duration,
        "plainLyrics": plain,
        "syncedLyrics": synced,
    }


def track(title: str, artist: str | None, duration: float | None) -> Track:
    return Track(TrackId("http", title), title, "http://x/", duration, artist)


@pytest.mark.parametrize(
    ("lrc", "expected"),
    [
        ("[00:01.00] one\n[00:02.50] two", [(1.0, "one"), (2.5, "two")]),
        ("[01:02] no fraction", [(62.0, "no fraction")]),
        ("[00:03.123] millis", [(3.123, "millis")]),
        ("[00:05.0]chorus\n[00:01.00][00:09.00] again", [(1.0, "again"), (5.0, "chorus"), (9.0, "again")]),
        ("[ar:Someone]\n[ti:Song]\nuntimed\n[00:04.00] timed", [(4.0, "timed")]),
        ("[00:02.00]", [(2.0, "")]),
        ("", []),
    ],
)
def test_lrc_lines_are_read_in_the_order_they_are_sung(lrc: str, expected: list[tuple[float, str]]) -> None:
    lines = parse_lrc(lrc)
    assert [line.words for line in lines] == [words for _, words in expected]
    assert [line.at_s for line in lines] == pytest.approx([at for at, _ in expected])


def test_synced_lyrics_are_preferred_and_plain_ones_kept_when_there_are_none() -> None:
    synced = lyrics_of(record("Song", "Band", 10, synced="[00:01.00] timed", plain="plain"))
    assert synced is not None and synced.synced and synced.lines == (LyricLine(1.0, "timed"),)
    plain = lyrics_of(record("Song", "Band", 10, synced=None, plain="\n first \n\n second\n\n"))
    assert plain is not None and not plain.synced
    assert [line.words for line in plain.lines] == ["first", "", "second"]


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        "text",
        {"trackName": "Song"},
        record("Song", "Band", 10, plain=None),  # an instrumental
        record("Song", "Band", 10, plain="\n \n"),
        record("Song", "Band", 10, plain="x\n" * 2001),
    ],
)
def test_records_without_lyrics_to_show_have_none(bad: Any) -> None:
    assert lyrics_of(bad) is None


SONG = record("Blue Harbour", "The Lanterns", 40)
LIVE = record("Blue Harbour (Live)", "The Lanterns", 245)
NAMESAKE = record("Blue Harbour", "Someone Else", 40)
INSTRUMENTAL = record("Blue Harbour", "The Lanterns", 40, plain=None)
LONG = record("Blue Harbour", "The Lanterns", 245)


@pytest.mark.parametrize(
    ("playing", "records", "chosen"),
    [
        (track("Blue Harbour", "The Lanterns", 40), [LIVE, SONG], SONG),
        (track("Blue Harbour", "The Lanterns", 41.5), [NAMESAKE, SONG], SONG),
        # The artist only in the title, as many uploads have it.
        (track("The Lanterns - Blue Harbour (Official Video)", None, 40), [LIVE, SONG], SONG),
        # The same names at another length are another recording.
        (track("Blue Harbour", "The Lanterns", 40), [LONG], None),
        (track("Blue Harbour", "The Lanterns", 40), [record("Red Skyline", "Mira Vale", 40)], None),
        (track("Blue Harbour", "The Lanterns", 40), [INSTRUMENTAL], None),
        (track("Blue Harbour", "The Lanterns", None), [SONG], SONG),
        (track("Blue Harbour", "The Lanterns", 40), [], None),
    ],
)
def test_the_record_chosen_is_the_song_playing(playing: Track, records: list[Any], chosen: Any) -> None:
    assert best_record(playing, records) is chosen


def test_the_line_sung_is_the_last_one_begun() -> None:
    lines = parse_lrc("[00:01.00] a\n[00:02.00] b\n[00:04.00] c")
    assert [current_line(lines, at) for at in (0.0, 1.0, 1.9, 2.0, 3.9, 100.0)] == [None, 0, 0, 1, 1, 2]
    assert current_line((LyricLine(None, "plain"),), 50.0) is None


@pytest.mark.parametrize(
    ("sizes", "budget", "most_lines", "pages"),
    [
        ([10, 10, 10], 100, 2, [range(0, 2), range(2, 3)]),
        ([60, 60, 60], 100, 10, [range(0, 1), range(1, 2), range(2, 3)]),
        ([40, 40, 40, 40], 100, 10, [range(0, 2), range(2, 4)]),
        ([500, 10], 100, 10, [range(0, 1), range(1, 2)]),  # an oversized line is a page of its own
        ([], 100, 10, []),
    ],
)
def test_lines_fall_into_pages_within_both_limits(
    sizes: list[int], budget: int, most_lines: int, pages: list[range]
) -> None:
    assert page_breaks(sizes, budget=budget, most_lines=most_lines) == pages
