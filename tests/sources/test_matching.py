"""The matcher picks the recording a listener meant, in confusions seen with real Spotify links."""

from __future__ import annotations

import pytest

from musicbox.sources.matching import Candidate, Wanted, best_match, search_words

CASES = [
    pytest.param(
        Wanted("Hello", ("Adele",), 295.0),
        [
            Candidate("Lionel Richie - Hello", "LionelRichieVEVO", 250.0),
            Candidate("Hello", "Adele - Topic", 296.0),
            Candidate("Hello (Piano Cover)", "Adele Fans", 295.0),
        ],
        1,
        id="same title, different artist",
    ),
    pytest.param(
        Wanted("Bohemian Rhapsody - Remastered 2011", ("Queen",), 354.0),
        [
            Candidate("Queen - Bohemian Rhapsody (Live Aid 1985)", "Queen Official", 357.0),
            Candidate("Queen – Bohemian Rhapsody (Official Video Remastered)", "Queen Official", 359.0),
        ],
        1,
        id="live vs studio",
    ),
    pytest.param(
        Wanted("Levels - Radio Edit", ("Avicii",), 199.0),
        [
            Candidate("Avicii - Levels (Extended Mix)", "Avicii", 362.0),
            Candidate("Avicii - Levels", "AviciiOfficialVEVO", 202.0),
        ],
        1,
        id="radio edit vs extended",
    ),
    pytest.param(
        Wanted("Levels - Extended Mix", ("Avicii",), 362.0),
        [
            Candidate("Avicii - Levels", "AviciiOfficialVEVO", 202.0),
            Candidate("Avicii - Levels (Extended Mix)", "Avicii", 361.0),
        ],
        1,
        id="extended when Spotify asks for it",
    ),
    pytest.param(
        Wanted("Never Gonna Give You Up", ("Rick Astley",), 213.0),
        [
            Candidate("Rick Astley - Never Gonna Give You Up 10 HOURS", "Loop Channel", 36_000.0),
            Candidate("Rick Astley - Never Gonna Give You Up (Official Music Video)", "Rick Astley", 213.0),
        ],
        1,
        id="ten-hour version",
    ),
    pytest.param(
        Wanted("Heat Waves", ("Glass Animals",), 238.0),
        [
            Candidate("Glass Animals - Heat Waves (sped up)", "nightcore daily", 190.0),
            Candidate("Glass Animals - Heat Waves (8D Audio)", "8D Tunes", 238.0),
            Candidate("Glass Animals - Heat Waves (Official Video)", "Glass Animals", 239.0),
        ],
        2,
        id="sped up and 8D edits",
    ),
    pytest.param(
        Wanted("Blinding Lights - Chromatics Remix", ("The Weeknd", "Chromatics"), 263.0),
        [
            Candidate("The Weeknd - Blinding Lights (Official Audio)", "The Weeknd", 201.0),
            Candidate("The Weeknd - Blinding Lights (Chromatics Remix)", "The Weeknd", 262.0),
        ],
        1,
        id="the remix Spotify names",
    ),
    pytest.param(
        Wanted("Hallelujah", ("Leonard Cohen",), 279.0),
        [
            Candidate("Jeff Buckley - Hallelujah (Official Video)", "Jeff Buckley", 414.0),
            Candidate("Hallelujah - Leonard Cohen (cover by Pentatonix)", "PTXofficial", 280.0),
            Candidate("Leonard Cohen - Hallelujah (Official Audio)", "Leonard Cohen", 279.0),
        ],
        2,
        id="famous cover",
    ),
    pytest.param(
        Wanted("Blue Harbour (Part 5)", ("The Lanterns",), 9.0),
        [
            Candidate("Blue Harbour", "The Lanterns", 6.0),
            Candidate("Blue Harbour (Part 5)", "The Lanterns", 9.0),
        ],
        1,
        id="a sequel with the same name",
    ),
    pytest.param(
        Wanted("Yesterday", ("The Beatles",), 125.0, isrc="GBAYE0601477"),
        [
            Candidate("The Beatles - Yesterday", "Beatles Archive", 125.0, isrc="GBAYE9600001"),
            Candidate("Yesterday", "The Beatles - Topic", 126.0, isrc="GBAYE0601477"),
        ],
        1,
        id="ISRC decides between equals",
    ),
]


@pytest.mark.parametrize(("wanted", "candidates", "intended"), CASES)
def test_the_intended_upload_is_chosen(wanted: Wanted, candidates: list[Candidate], intended: int) -> None:
    assert best_match(wanted, candidates) == intended


def test_a_different_song_is_no_match_at_all() -> None:
    wanted = Wanted("Blue Harbour", ("The Lanterns",), 6.0)
    assert best_match(wanted, [Candidate("Golden Skyline", "Mira Vale", 6.0)]) is None
    assert best_match(wanted, []) is None


def test_search_words_drop_release_suffixes_but_keep_versions() -> None:
    assert search_words(Wanted("Levels - Radio Edit", ("Avicii",), None)) == "Avicii - Levels"
    assert (
        search_words(Wanted("Stay (feat. Justin Bieber)", ("The Kid LAROI",), None)) == "The Kid LAROI - Stay"
    )
    assert search_words(Wanted("Blinding Lights - Chromatics Remix", ("The Weeknd",), None)) == (
        "The Weeknd - Blinding Lights - Chromatics Remix"
    )
