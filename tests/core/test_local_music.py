"""Which of the owner's songs some words find, and in what order (no files: the index is data)."""

from __future__ import annotations

import pytest

from musicbox.core.local_music import LocalSong, find_local, key_of_address, searchable

SONGS = (
    LocalSong("a1", "Blue Monday", "New Order", "Substance"),
    LocalSong("a2", "Monday Morning", "Fleetwood Mac", "Fleetwood Mac"),
    LocalSong("a3", "Blue", "Joni Mitchell", "Blue"),
    LocalSong("a4", "Ceremony", "New Order", "Substance"),
    LocalSong("a5", "Café Olé", None, None),
)
LIBRARY = tuple(searchable(song) for song in SONGS)


@pytest.mark.parametrize(
    ("words", "keys"),
    [
        ("blue monday", ["a1"]),  # every word must be found
        ("monday", ["a1", "a2"]),  # both titles hold it in full: by title
        ("blue", ["a3", "a1"]),  # the whole title typed comes first
        ("new order", ["a1", "a4"]),  # by artist
        ("substance", ["a1", "a4"]),  # by album
        ("cere", ["a4"]),  # a word being typed: its start is enough
        ("fleetwood", ["a2"]),
        ("MONDAY morn", ["a2"]),  # case does not matter
        ("café", ["a5"]),  # nor accents as typed
        ("order ceremony", ["a4"]),
        ("zebra", []),
        ("", []),
        ("!!!", []),  # no word at all
        ("mon", ["a1", "a2"]),  # a started word in the title: by title
    ],
)
def test_words_find_local_songs_best_first(words: str, keys: list[str]) -> None:
    assert [song.key for song in find_local(words, LIBRARY, limit=5)] == keys


def test_the_limit_keeps_the_best() -> None:
    assert [song.key for song in find_local("new", LIBRARY, limit=1)] == ["a1"]


def test_a_local_track_is_addressed_by_its_key_never_a_path() -> None:
    track = SONGS[0].track()
    assert (track.id.source, track.id.key, track.page_url) == ("local", "a1", "local:a1")
    assert track.artist == "New Order"
    assert key_of_address("local:a1") == "a1"
    assert key_of_address("local:../../etc/passwd") is None
    assert key_of_address("blue monday") is None
