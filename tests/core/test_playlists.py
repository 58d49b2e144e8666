"""Saved playlists' rules, as a table."""

from __future__ import annotations

import pytest

from musicbox.core.playlists import add_to_playlist, clean_name
from musicbox.core.track import Track, TrackId


def song(n: int) -> Track:
    return Track(TrackId("http", f"song-{n}"), f"Song {n}", f"http://x/{n}")


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("road trip", "road trip"),
        ("  road   trip ", "road trip"),
        ("", None),
        ("   ", None),
        ("x" * 50, "x" * 50),
        ("x" * 51, None),
        ("line\nbreak", "line break"),
    ],
)
def test_a_name_is_kept_tidy_or_refused(typed: str, kept: str | None) -> None:
    assert clean_name(typed) == kept


@pytest.mark.parametrize(
    ("held", "offered", "max_songs", "added", "already_in", "over"),
    [
        ([], [1, 2, 3], 10, [1, 2, 3], 0, 0),
        ([1], [1, 2], 10, [2], 1, 0),
        ([1, 2], [3, 4, 5], 3, [3], 0, 2),
        ([1, 2, 3], [4], 3, [], 0, 1),
        ([], [1, 1, 2], 10, [1, 2], 1, 0),  # the same song twice in what is offered
        ([1, 2, 3, 4], [5], 3, [], 0, 1),  # a limit lowered after the playlist grew
    ],
)
def test_what_goes_into_a_playlist(
    held: list[int], offered: list[int], max_songs: int, added: list[int], already_in: int, over: int
) -> None:
    addition = add_to_playlist([song(n) for n in held], [song(n) for n in offered], max_songs)
    assert addition.added == tuple(song(n) for n in added)
    assert (addition.already_in, addition.over_limit) == (already_in, over)
