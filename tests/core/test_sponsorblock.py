"""What SponsorBlock's answer makes musicbox leave out of a song, with no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from musicbox.core.sponsorblock import (
    Cut,
    cuts_from_text,
    cuts_to_text,
    cuts_within,
    hash_prefix,
    parse_categories,
    pieces,
    segments_of,
    select_filter,
    source_position,
)

VIDEO = "dQw4w9WgXcQ"


def test_the_lookup_sends_four_hex_digits_of_the_ids_sha256() -> None:
    # sha256("dQw4w9WgXcQ") starts 5f6b (sha256sum of the eleven bytes, no newline).
    assert hash_prefix(VIDEO) == "5f6b"
    assert len(hash_prefix("abcdefghijk")) == 4


def _segment(start: float, end: float, category: str = "music_offtopic", **more: Any) -> dict[str, Any]:
    return {"category": category, "actionType": "skip", "segment": [start, end], "UUID": "u", **more}


@pytest.mark.parametrize(
    ("answer", "categories", "duration", "expected"),
    [
        # Only the video asked about, from a bucket of several.
        (
            [
                {"videoID": "other000000", "segments": [_segment(1, 5)]},
                {"videoID": VIDEO, "segments": [_segment(10, 20)]},
            ],
            ["music_offtopic"],
            60.0,
            [Cut(10, 20)],
        ),
        # Only the categories the server turned on, and only "skip" actions (a mute is not a cut).
        (
            [
                {
                    "videoID": VIDEO,
                    "segments": [
                        _segment(1, 4, "sponsor"),
                        _segment(10, 20),
                        {**_segment(30, 35), "actionType": "mute"},
                    ],
                }
            ],
            ["music_offtopic"],
            60.0,
            [Cut(10, 20)],
        ),
        # Submitted against another length of the video: it does not fit this one.
        (
            [
                {
                    "videoID": VIDEO,
                    "segments": [_segment(10, 20, videoDuration=90.0), _segment(30, 40, videoDuration=60.4)],
                }
            ],
            ["music_offtopic"],
            60.0,
            [Cut(30, 40)],
        ),
        # Malformed parts of a hostile answer are passed over.
        (
            [
                "junk",
                {
                    "videoID": VIDEO,
                    "segments": [{"category": "music_offtopic", "segment": ["a", 3]}, _segment(2, 3), 7],
                },
                {"videoID": VIDEO, "segments": [{"category": "music_offtopic", "segment": [True, 9]}]},
            ],
            ["music_offtopic"],
            60.0,
            [Cut(2, 3)],
        ),
        ({"not": "a list"}, ["music_offtopic"], 60.0, []),
    ],
)
def test_segments_of_an_answer(
    answer: Any, categories: list[str], duration: float, expected: list[Cut]
) -> None:
    assert segments_of(answer, VIDEO, categories, duration) == expected


@pytest.mark.parametrize(
    ("segments", "duration", "expected"),
    [
        ([Cut(10, 20)], 60.0, (Cut(10, 20),)),
        # Overlapping and touching segments merge; order does not matter.
        ([Cut(30, 40), Cut(10, 20), Cut(15, 25), Cut(25, 27)], 60.0, (Cut(10, 27), Cut(30, 40))),
        # Clamped to the song (a hostile answer's infinities too).
        ([Cut(-3, 5), Cut(50, 99)], 60.0, (Cut(0, 5), Cut(50, 60))),
        ([Cut(float("-inf"), 5), Cut(50, float("inf"))], 60.0, (Cut(0, 5), Cut(50, 60))),
        # Slivers and inverted stretches dropped.
        ([Cut(10, 10.4), Cut(20, 15)], 60.0, ()),
        # Leaving under 5 s of a song is a bad submission: nothing is cut.
        ([Cut(0, 56)], 60.0, ()),
        ([Cut(0, 30), Cut(31, 58)], 60.0, ()),
        ([Cut(0, 55)], 60.0, (Cut(0, 55),)),
        # An unknown length cannot be checked.
        ([Cut(10, 20)], None, ()),
    ],
)
def test_what_is_cut_given_the_songs_length(
    segments: list[Cut], duration: float | None, expected: tuple[Cut, ...]
) -> None:
    assert cuts_within(segments, duration) == expected


CUTS = (Cut(10, 20), Cut(30, 35))


@pytest.mark.parametrize(
    ("heard", "source"),
    [(0.0, 0.0), (9.9, 9.9), (10.0, 20.0), (15.0, 25.0), (20.0, 35.0), (40.0, 55.0)],
)
def test_a_heard_position_is_found_in_the_source(heard: float, source: float) -> None:
    assert source_position(CUTS, heard) == pytest.approx(source)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (0.0, 60.0, [(0.0, 10.0), (20.0, 30.0), (35.0, None)]),
        (25.0, 60.0, [(25.0, 30.0), (35.0, None)]),
        (36.0, 60.0, [(36.0, None)]),
        # A cut that runs to the end leaves nothing after it.
        (0.0, 35.0, [(0.0, 10.0), (20.0, 30.0)]),
        (0.0, None, [(0.0, 10.0), (20.0, 30.0), (35.0, None)]),
    ],
)
def test_the_stretches_played_between_seeks(
    start: float, duration: float | None, expected: list[tuple[float, float | None]]
) -> None:
    assert pieces(CUTS, start, duration) == expected


def test_the_filter_that_cuts_at_cache_time() -> None:
    assert select_filter(()) == ""
    assert select_filter(CUTS) == (
        "asetnsamples=n=48:p=0,"
        "aselect='not(between(t,10.000,20.000)+between(t,30.000,35.000))',asetpts=N/SR/TB"
    )


def test_the_index_record_round_trips() -> None:
    assert cuts_to_text(()) == "[]"
    assert cuts_from_text(cuts_to_text(CUTS)) == CUTS


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("music_offtopic", ("music_offtopic",)),
        ("Sponsor, music_offtopic  intro", ("sponsor", "intro", "music_offtopic")),
        ("none", ()),
        ("NONE", ()),
    ],
)
def test_categories_a_manager_names(typed: str, expected: tuple[str, ...]) -> None:
    assert parse_categories(typed) == expected


@pytest.mark.parametrize("typed", ["sponsr", "sponsor, @everyone", "", " , ", "none sponsor"])
def test_a_word_that_is_not_a_category_is_refused(typed: str) -> None:
    assert parse_categories(typed) is None
