"""Which search result is the Spotify track: a pure scoring function over plain data.

Spotify names the recording; a video site offers uploads of it, and of its live versions, covers,
remixes, sped-up edits and ten-hour loops. Points come from what a listener would notice: the
right length, the title's and the artist's words, and no version marker the Spotify title lacks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

DURATION_TOLERANCE_S = 5.0  # uploads differ from the release by a few seconds of silence or intro
MIN_POINTS = 45.0  # below this the best candidate is a different song, so none is chosen
TITLE_POINTS = 40.0
ARTIST_POINTS = 30.0
DURATION_POINTS = 25.0
DURATION_FLOOR = -40.0
MARKER_PENALTY = 30.0
MISSING_MARKER_PENALTY = 15.0
OFFICIAL_BONUS = 8.0
EXTRA_WORD_PENALTY = 4.0
EXTRA_WORDS_COUNTED = 5
ISRC_POINTS = 100.0

# Versions a member did not ask for unless the Spotify title names them.
_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("live", r"\blive\b"),
        ("cover", r"\bcover\b"),
        ("remix", r"\bremix\b"),
        ("sped up", r"\bsped[\s-]*up\b"),
        ("slowed", r"\bslowed\b"),
        ("8d", r"\b8d\b"),
        ("nightcore", r"\bnightcore\b"),
        ("karaoke", r"\bkaraoke\b"),
        ("instrumental", r"\binstrumental\b"),
        ("acoustic", r"\bacoustic\b"),
        ("extended", r"\bextended\b"),
        ("hours", r"\b\d+\s*(?:hours?|hrs?)\b"),
    )
)
_OFFICIAL = re.compile(r"\bofficial\b|\s-\stopic$|vevo$", re.IGNORECASE)
# Words uploads add around a title that say nothing about which song it is.
_NOISE = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "of",
        "feat",
        "ft",
        "featuring",
        "with",
        "official",
        "video",
        "audio",
        "music",
        "lyric",
        "lyrics",
        "lyrics",
        "hd",
        "hq",
        "4k",
        "remastered",
        "remaster",
        "topic",
        "vevo",
        "visualizer",
        "mv",
        "clip",
        "version",
    ]
)
# Spotify's own suffixes for the same recording: searched and compared without them.
_RELEASE_SUFFIX = re.compile(
    r"\s+(?:-\s+(?:radio edit|single version|remastered(?: \d{4})?|\d{4} remaster(?:ed)?|mono|stereo)\s*$"
    r"|[(\[](?:feat\.?|ft\.?|with)\s[^)\]]*[)\]])",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Wanted:
    """The track as Spotify describes it."""

    title: str
    artists: tuple[str, ...]
    duration_s: float | None
    isrc: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One search result as the source describes it."""

    title: str
    artist: str | None
    duration_s: float | None
    isrc: str | None = None


def search_words(wanted: Wanted) -> str:
    """What to type into the source's search: first artist, then the title without release suffixes."""
    artist = wanted.artists[0] if wanted.artists else ""
    return f"{artist} - {core_title(wanted.title)}".strip(" -")


def core_title(title: str) -> str:
    return _RELEASE_SUFFIX.sub("", title).strip()


def best_match(wanted: Wanted, candidates: Sequence[Candidate]) -> int | None:
    """The index of the candidate that is the wanted recording, or None when none is close enough."""
    best: tuple[float, int] | None = None
    for position, candidate in enumerate(candidates):
        points = score(wanted, candidate)
        if points >= MIN_POINTS and (best is None or points > best[0]):
            best = (points, position)
    return None if best is None else best[1]


def score(wanted: Wanted, candidate: Candidate) -> float:
    if wanted.isrc and candidate.isrc and wanted.isrc.upper() == candidate.isrc.upper():
        return ISRC_POINTS + DURATION_POINTS
    return (
        _title_points(wanted, candidate)
        + _artist_points(wanted, candidate)
        + _duration_points(wanted.duration_s, candidate.duration_s)
        - _marker_penalty(wanted.title, candidate.title)
        + (OFFICIAL_BONUS if _is_official(candidate) else 0.0)
    )


def _title_points(wanted: Wanted, candidate: Candidate) -> float:
    title_words = _words(core_title(wanted.title))
    if not title_words:
        return 0.0
    offered = _words(candidate.title)
    found = len(title_words & offered) / len(title_words)
    artist_words = set().union(*(_words(artist) for artist in wanted.artists)) if wanted.artists else set()
    marker_words = {"live", "cover", "remix", "sped", "up", "slowed", "8d", "hours", "extended", "10"}
    extra = offered - title_words - artist_words - _words(candidate.artist or "") - marker_words
    return TITLE_POINTS * found - EXTRA_WORD_PENALTY * min(len(extra), EXTRA_WORDS_COUNTED)


def _artist_points(wanted: Wanted, candidate: Candidate) -> float:
    offered = _words(candidate.artist or "") | _words(candidate.title)
    shares = [len(words & offered) / len(words) for artist in wanted.artists if (words := _words(artist))]
    return ARTIST_POINTS * max(shares, default=0.0)


def _duration_points(wanted_s: float | None, offered_s: float | None) -> float:
    if wanted_s is None or offered_s is None:
        return 0.0
    off_by = abs(wanted_s - offered_s)
    if off_by <= DURATION_TOLERANCE_S:
        return DURATION_POINTS
    return max(DURATION_FLOOR, DURATION_POINTS - (off_by - DURATION_TOLERANCE_S))


def _marker_penalty(wanted_title: str, offered_title: str) -> float:
    penalty = 0.0
    for _name, pattern in _MARKERS:
        asked = bool(pattern.search(wanted_title))
        offered = bool(pattern.search(offered_title))
        if offered and not asked:
            penalty += MARKER_PENALTY
        elif asked and not offered:
            penalty += MISSING_MARKER_PENALTY
    return penalty


def _is_official(candidate: Candidate) -> bool:
    return bool(_OFFICIAL.search(candidate.title) or _OFFICIAL.search(candidate.artist or ""))


def _words(text: str) -> set[str]:
    return {word for word in _WORD.findall(text.lower()) if word not in _NOISE}
