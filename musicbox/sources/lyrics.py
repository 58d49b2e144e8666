"""Lyrics as plain data: LRCLIB's records, which of them is the song playing, its LRC lines, and how
they fall into pages. Pure (table-tested); the HTTP shell is `lrclib.py` beside it.

LRCLIB (lrclib.net) gives a record per recording: its track, artist and album names, its length,
plain lyrics and, where someone timed them, synced lyrics in LRC (`[mm:ss.xx] words`). The record
that is the song playing is chosen by the Spotify matcher's scorer (`matching.py`): the
same title, the same artist and, above all, the same length, so a song's live version or a
namesake is not taken for it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from musicbox.core.track import Track
from musicbox.sources.matching import Candidate, Wanted, score

MIN_POINTS = 45.0  # the matcher's threshold: below it the record is another song
LINES_MAX = 2_000  # no song has more; a record with more is not one we show in full
# "[01:02.50]", "[1:02]", "[01:02:500]": minutes, seconds, an optional fraction (any digits).
_TIME_TAG = re.compile(r"\[(\d{1,3}):(\d{1,2})(?:[.:](\d{1,3}))?\]")


@dataclass(frozen=True, slots=True)
class LyricLine:
    at_s: float | None  # when it is sung (synced lyrics); None for plain lyrics
    words: str


@dataclass(frozen=True, slots=True)
class Lyrics:
    track_name: str
    artist_name: str
    lines: tuple[LyricLine, ...]

    @property
    def synced(self) -> bool:
        return any(line.at_s is not None for line in self.lines)


def wanted(track: Track) -> Wanted:
    return Wanted(track.title, (track.artist,) if track.artist else (), track.duration_s)


def lyrics_of(record: Any) -> Lyrics | None:
    """The lyrics of one LRCLIB record, synced where it has them; None when it has none (an
    instrumental) or is malformed."""
    if not isinstance(record, Mapping):
        return None
    name, artist = record.get("trackName"), record.get("artistName")
    if not isinstance(name, str) or not isinstance(artist, str):
        return None
    synced, plain = record.get("syncedLyrics"), record.get("plainLyrics")
    lines: tuple[LyricLine, ...] = ()
    if isinstance(synced, str):
        lines = parse_lrc(synced)
    if not lines and isinstance(plain, str):
        lines = tuple(LyricLine(None, words.strip()) for words in plain.splitlines())
    lines = _trimmed(lines)
    if not lines or len(lines) > LINES_MAX:
        return None
    return Lyrics(name, artist, lines)


def parse_lrc(lrc: str) -> tuple[LyricLine, ...]:
    """LRC's timed lines in the order they are sung. A line with several tags (a chorus sung at
    each) is one line per tag; ID tags (`[ar:…]`) and untimed lines are left out."""
    timed: list[LyricLine] = []
    for raw in lrc.splitlines():
        at: list[float] = []
        rest = raw.strip()
        while (tag := _TIME_TAG.match(rest)) is not None:
            minutes, seconds, fraction = tag.groups()
            part = int(fraction) / 10 ** len(fraction) if fraction else 0.0
            at.append(int(minutes) * 60 + int(seconds) + part)
            rest = rest[tag.end() :]
        timed.extend(LyricLine(when, rest.strip()) for when in at)
    return tuple(sorted(timed, key=lambda line: line.at_s or 0.0))


def _trimmed(lines: tuple[LyricLine, ...]) -> tuple[LyricLine, ...]:
    start = 0
    while start < len(lines) and not lines[start].words:
        start += 1
    end = len(lines)
    while end > start and not lines[end - 1].words:
        end -= 1
    return lines[start:end]


def best_record(track: Track, records: Sequence[Any]) -> Any | None:
    """The record that is `track` (by title, artist and length, as the Spotify matcher scores an
    upload), or None when none is close enough; records without lyrics are never chosen."""
    wanted_song = wanted(track)
    best: tuple[float, Any] | None = None
    for record in records:
        if lyrics_of(record) is None:
            continue
        points = score(wanted_song, candidate(record))
        if points >= MIN_POINTS and (best is None or points > best[0]):
            best = (points, record)
    return None if best is None else best[1]


def candidate(record: Mapping[str, Any]) -> Candidate:
    name, artist = str(record.get("trackName", "")), str(record.get("artistName", ""))
    duration = record.get("duration")
    length = float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else None
    # An upload's title often carries its artist ("Artist - Song"): the record's title is read so
    # too, so a track whose artist is only in its title still matches.
    return Candidate(f"{artist} - {name}", artist, length)


def current_line(lines: Sequence[LyricLine], position_s: float) -> int | None:
    """The index of the line being sung at `position_s` (the last one begun), or None before the
    first or for plain lyrics."""
    sung = None
    for index, line in enumerate(lines):
        if line.at_s is None or line.at_s > position_s:
            break
        sung = index
    return sung


def page_breaks(sizes: Sequence[int], *, budget: int, most_lines: int) -> list[range]:
    """Consecutive lines grouped into pages of at most `most_lines` lines and `budget` characters
    (`sizes`: each line's length as shown, plus its line break); a line over the budget alone is
    a page of its own (the caller clips lines below the budget)."""
    pages: list[range] = []
    start, used = 0, 0
    for index, size in enumerate(sizes):
        if index > start and (used + size > budget or index - start >= most_lines):
            pages.append(range(start, index))
            start, used = index, 0
        used += size
    if start < len(sizes):
        pages.append(range(start, len(sizes)))
    return pages
