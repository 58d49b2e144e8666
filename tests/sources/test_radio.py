"""The Radio Browser directory's answers become live tracks; anything malformed is left out."""

from __future__ import annotations

from typing import Any

import pytest

from musicbox.core.track import LIVE, Track, TrackId
from musicbox.sources.radio import STATION_NAME_MAX, stations

STREAM = "http://radio.example/stream"


def _live(title: str) -> list[Track]:
    return [Track(TrackId(LIVE, STREAM), title, STREAM)]


@pytest.mark.parametrize(
    ("answer", "found"),
    [
        ([{"name": "Jazz FM", "url": "x", "url_resolved": STREAM}], _live("Jazz FM")),
        ([{"name": "Jazz FM", "url": STREAM, "url_resolved": ""}], _live("Jazz FM")),
        ([{"name": "  Two\n lines ", "url_resolved": STREAM}], _live("Two lines")),
        ([{"name": "", "url_resolved": STREAM}], _live(STREAM)),
        ([{"name": "Local", "url_resolved": "file:///etc/passwd"}], []),  # the web only
        ([{"name": "Odd", "url_resolved": "rtmp://radio.example/live"}], []),
        ([{"name": 5, "url_resolved": STREAM}], []),
        ([{"url_resolved": STREAM}], []),
        (["not a station", None, 3], []),
        ({"name": "not a list"}, []),
        (None, []),
    ],
)  # fmt: skip
def test_stations(answer: Any, found: list[Track]) -> None:
    assert stations(answer) == found


def test_a_station_name_is_kept_short() -> None:
    [station] = stations([{"name": "A" * 10_000, "url_resolved": STREAM}])
    assert len(station.title) == STATION_NAME_MAX and station.live
