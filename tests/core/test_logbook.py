"""Reading the bot's own log file: since when and how severe, tracebacks kept with their line."""

from __future__ import annotations

from datetime import datetime

import pytest

from musicbox.service.logbook import BadSince, describe_span, entries, parse_since, select

NOW = datetime(2026, 11, 24, 18, 0, 0)
WRITTEN = [
    "2026-11-24 16:00:00,001 INFO musicbox.bot: online as musicbox#0001 in 3 servers",
    "2026-11-24 17:30:00,002 WARNING musicbox.sources: resolve took 9.1 s",
    "2026-11-24 17:45:00,003 ERROR musicbox.playback: ffmpeg exited 1",
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in <module>',
    "2026-11-24 17:50:00,004 INFO musicbox.bot: /play in guild 7",
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", datetime(2026, 11, 24, 17, 50)),
        ("2h", datetime(2026, 11, 24, 16, 0)),
        ("1d", datetime(2026, 11, 23, 18, 0)),
        ("2026-11-24 17:40", datetime(2026, 11, 24, 17, 40)),
        ("2026-11-20", datetime(2026, 11, 20)),
    ],
)
def test_since_takes_spans_and_dates(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday-ish", "10 parsecs", "-5m", "2026-13-01"])
def test_a_since_we_cannot_read_says_what_we_accept(text: str) -> None:
    with pytest.raises(BadSince, match="10m, 2h, 1d"):
        parse_since(text, NOW)


def test_errors_only_keeps_the_traceback_with_its_line() -> None:
    shown = list(select(entries(WRITTEN), since=None, min_level="error"))
    assert shown == WRITTEN[2:5]


def test_since_drops_what_came_before() -> None:
    shown = list(select(entries(WRITTEN), since=datetime(2026, 11, 24, 17, 0), min_level="info"))
    assert shown == WRITTEN[1:]


def test_warning_and_above_since_a_time() -> None:
    shown = list(select(entries(WRITTEN), since=datetime(2026, 11, 24, 17, 40), min_level="warning"))
    assert shown == WRITTEN[2:5]


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (7 * 86_400 - 1e-6, "7 days"),  # "7d" measured on a float clock
        (86_400 + 12 * 3600, "1 day 12 hours"),
        (1800.4, "30 minutes"),
        (3661, "1 hour 1 minute 1 second"),
        (0.2, "0 seconds"),
    ],
)
def test_a_span_is_said_as_the_owner_would(seconds: float, said: str) -> None:
    assert describe_span(seconds) == said
