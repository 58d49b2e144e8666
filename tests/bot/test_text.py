"""Untrusted text (a member's words, titles, names) shown safely: escaped, and always within one message."""

from __future__ import annotations

import pytest

from musicbox.bot import text
from musicbox.bot.text import ECHO_MAX, echo, shown
from musicbox.core.limits import Refusal
from musicbox.core.queue import LoopMode, QueuedTrack, QueuePage
from musicbox.core.track import Track, TrackId


def test_direction_overrides_and_invisible_characters_are_not_echoed() -> None:
    assert echo("\u202eevil\u202c song\u200b name\ufeff") == "evil song name"


def test_line_breaks_and_runs_of_spaces_become_one_space() -> None:
    assert echo("lofi\n\n  beats\tto study") == "lofi beats to study"


def test_a_long_query_is_clipped_with_an_ellipsis() -> None:
    shown = echo("la " * 1500)
    assert len(shown) == ECHO_MAX and shown.endswith("…")


def test_ordinary_words_and_emoji_are_kept() -> None:
    assert echo("Sigur Rós 🎵 Hoppípolla") == "Sigur Rós 🎵 Hoppípolla"


HOSTILE = (
    "@everyone **bold** <@123456789012345678> <@&234567890123456789> <#345678901234567890> __u__ ||s|| `c` \\"
)


def test_markdown_and_mentions_in_untrusted_text_are_escaped() -> None:
    assert shown(HOSTILE, 500) == (
        "@\u200beveryone \\*\\*bold\\*\\* \\<@\u200b123456789012345678> \\<@\u200b&234567890123456789> "
        "\\<#345678901234567890> \\_\\_u\\_\\_ \\|\\|s\\|\\| \\`c\\` \\\\"
    )


@pytest.mark.parametrize("limit", [2, 3, 10, 80, 120])
@pytest.mark.parametrize("title", ["*" * 3000, "\\" * 3000, "<@1" * 1000, HOSTILE * 40, "la " * 900])
def test_clipped_text_fits_its_limit_and_never_ends_in_half_an_escape(title: str, limit: int) -> None:
    clipped = shown(title, limit)
    assert len(clipped) <= limit and clipped.endswith("…")
    body = clipped[:-1]
    assert (len(body) - len(body.rstrip("\\"))) % 2 == 0  # a lone backslash would escape the ellipsis


WORST = Track(TrackId("http", "x"), ("*<@" * 1000)[:2500], "http://x/", 36_000.0)


def test_every_reply_naming_a_worst_case_title_fits_one_message() -> None:
    entries = tuple((position, QueuedTrack(WORST, requester_id=1)) for position in range(491, 501))
    page = QueuePage(entries=entries, page=49, page_count=50, total=500)
    current = QueuedTrack(WORST, requester_id=123456789012345678)
    replies = [
        text.queue_page(current, page, LoopMode.QUEUE),
        text.now_playing(current, 35_999.0, paused=True, loop=LoopMode.QUEUE, left_out_s=35_000.0),
        text.search_results(WORST.title, [WORST] * 5),
        text.playing_now(WORST),
        text.queued_one(WORST, 500),
        text.skipped(WORST),
        text.removed(WORST),
        text.moved(WORST, 500),
        *(text.refusal(reason, WORST, limit="10:00:00") for reason in Refusal),
        text.no_results(WORST.title),
        text.could_not_play(
            WORST.title, f"no upload of “{WORST.title}” by {WORST.title}", link_at_fault=True
        ),
        text.bot_lacks_permission(WORST.title[:100]),
        text.voice_connect_failed(WORST.title[:100]),
        text.not_allowed(WORST.title[:100]),
        text.unplayable(WORST, WORST.title),
        text.unplayable(WORST, None),
    ]
    assert all(len(reply) <= 2000 for reply in replies), max(map(len, replies))


@pytest.mark.parametrize(
    ("query", "link_at_fault", "advice"),
    [
        ("https://example.com/song.mp3", True, True),
        ("youtu.be/dQw4w9WgXcQ", True, True),
        ("spotify:track:4uLU6hMCjMI75M1A2tKUQC", True, True),
        ("https://example.com/song.mp3", False, False),  # the site failed: nothing to check
        ("lofi beats", True, False),  # words: there is no link to check
        ("AC/DC", True, False),
        ("", True, False),
    ],
)
def test_only_a_link_at_fault_is_worth_checking(query: str, link_at_fault: bool, advice: bool) -> None:
    said = text.could_not_play(query, "some reason", link_at_fault=link_at_fault)
    assert ("Check the link" in said) is advice


def test_a_change_from_the_web_names_the_member_with_their_name_shown_as_typed() -> None:
    said = text.from_outside("**dj** @everyone", text.PAUSED)
    assert said == "\\*\\*dj\\*\\* @\u200beveryone, from the web: Paused."
