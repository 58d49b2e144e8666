"""Autoplay's choice, as a table: never the last few heard, weighted by how often, how lately and
how loved."""

from __future__ import annotations

import pytest

from musicbox.core.autoplay import HALF_LIFE_S, Heard, choose_next, weight_of
from musicbox.core.track import Track, TrackId

NOW = 1_000_000_000.0
DAY = 24 * 3600.0


def song(name: str) -> Track:
    return Track(TrackId("http", name), name, f"http://x/{name}")


def heard(*names: str, days_ago: float = 0.0) -> list[Heard]:
    """Newest first, a minute apart."""
    return [Heard(song(n), NOW - days_ago * DAY - i * 60) for i, n in enumerate(names)]


def picks(history: list[Heard], liked: list[Heard], window: int) -> set[str]:
    """Every song some draw can pick."""
    chosen = {choose_next(history, liked, now=NOW, draw=d / 100, window=window) for d in range(100)}
    return {t.title for t in chosen if t is not None}


@pytest.mark.parametrize(
    ("history", "liked", "window", "possible"),
    [
        (heard("e", "d", "c", "b", "a"), [], 3, {"b", "a"}),  # the last three are never repeated
        (heard("c", "b", "a"), [], 3, set()),  # nothing heard long enough ago: nothing to play
        (heard("b", "a"), heard("z", days_ago=2), 2, {"z"}),  # a member's favourite counts
        ([], [], 5, set()),
        (heard("a", "b", "a", "c"), [], 1, {"b", "c"}),  # the last one is out, however often heard
    ],
)
def test_autoplay_never_repeats_the_window(
    history: list[Heard], liked: list[Heard], window: int, possible: set[str]
) -> None:
    assert picks(history, liked, window) == possible


def test_often_heard_songs_come_back_more() -> None:
    history = heard("x", "often", "often", "often", "rare")  # "x" is in the window
    chosen = [choose_next(history, [], now=NOW, draw=d / 100, window=1) for d in range(100)]
    counts = {name: sum(1 for t in chosen if t is not None and t.title == name) for name in ("often", "rare")}
    assert counts["often"] == pytest.approx(75, abs=2) and counts["rare"] == pytest.approx(25, abs=2)


def test_recent_hearings_weigh_more_than_old_ones() -> None:
    history = [
        Heard(song("x"), NOW),
        Heard(song("new"), NOW - DAY),
        Heard(song("old"), NOW - 5 * HALF_LIFE_S),
    ]
    chosen = [choose_next(history, [], now=NOW, draw=d / 100, window=1) for d in range(100)]
    assert sum(1 for t in chosen if t is not None and t.title == "new") > 90


def test_a_like_outweighs_a_hearing() -> None:
    history = heard("x", "heard")
    liked = [Heard(song("liked"), NOW)]
    chosen = [choose_next(history, liked, now=NOW, draw=d / 100, window=1) for d in range(100)]
    assert sum(1 for t in chosen if t is not None and t.title == "liked") == pytest.approx(75, abs=2)


def test_the_same_draw_picks_the_same_song_whatever_the_row_order() -> None:
    history = heard("x", "a", "b", "c")
    shuffled = [history[0], *reversed(history[1:])]
    for d in range(10):
        assert choose_next(history, [], now=NOW, draw=d / 10, window=1) == choose_next(
            shuffled, [], now=NOW, draw=d / 10, window=1
        )


def test_weights_halve_every_half_life() -> None:
    assert weight_of(0) == 1.0 and weight_of(HALF_LIFE_S) == pytest.approx(0.5)
    assert weight_of(-5) == 1.0  # a clock step back does not inflate a song
