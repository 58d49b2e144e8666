"""A member's words quoted back: safe to show and always within one message."""

from __future__ import annotations

from musicbox.bot.text import ECHO_MAX, echo


def test_direction_overrides_and_invisible_characters_are_not_echoed() -> None:
    assert echo("\u202eevil\u202c song\u200b name\ufeff") == "evil song name"


def test_line_breaks_and_runs_of_spaces_become_one_space() -> None:
    assert echo("lofi\n\n  beats\tto study") == "lofi beats to study"


def test_a_long_query_is_clipped_with_an_ellipsis() -> None:
    shown = echo("la " * 1500)
    assert len(shown) == ECHO_MAX and shown.endswith("…")


def test_ordinary_words_and_emoji_are_kept() -> None:
    assert echo("Sigur Rós 🎵 Hoppípolla") == "Sigur Rós 🎵 Hoppípolla"
