"""The owner's own music as /play sees it: which indexed songs some words find, best first.

Pure: the index (sources/local.py) reads the folders and the tags; this only ranks what it holds."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from musicbox.core.track import Track, TrackId

SOURCE = "local"  # TrackId.source of a song from the owner's folders
# What a local song's page_url is, and so the value /play's suggestion sends back: an index key, never
# a path, so a member can name only a song the index holds.
ADDRESS_PREFIX = "local:"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class LocalSong:
    key: str  # stable id of the file in the index (a digest of its path): TrackId.key
    title: str
    artist: str | None = None
    album: str | None = None
    duration_s: float | None = None

    def track(self) -> Track:
        return Track(
            TrackId(SOURCE, self.key),
            self.title,
            ADDRESS_PREFIX + self.key,
            duration_s=self.duration_s,
            artist=self.artist,
        )


@dataclass(frozen=True, slots=True)
class Searchable:
    """A song with its words split once, at indexing, not at every keystroke of a suggestion."""

    song: LocalSong
    title_words: tuple[str, ...]
    tagged_words: tuple[str, ...]  # title, artist and album


def searchable(song: LocalSong) -> Searchable:
    title = tuple(words_of(song.title))
    return Searchable(song, title, title + tuple(words_of(f"{song.artist or ''} {song.album or ''}")))


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def find_local(query: str, songs: Iterable[Searchable], *, limit: int) -> list[LocalSong]:
    """The songs whose title, artist or album hold every word of `query` (a word may be the start of
    one, as a member types it), best first: the whole title typed, then more words found in the title,
    then more words typed in full, then by title. No word in common: nothing (yt-dlp is asked then)."""
    wanted = words_of(query)
    if not wanted or limit <= 0:
        return []
    ranked: list[tuple[tuple[int, int, int, str], LocalSong]] = []
    for entry in songs:
        rank = _rank(wanted, entry)
        if rank is not None:
            ranked.append((rank, entry.song))
    ranked.sort(key=lambda pair: pair[0])
    return [song for _, song in ranked[:limit]]


def key_of_address(query: str) -> str | None:
    """The index key of a suggestion's value ("local:3f2a…"), or None for any other query."""
    text = query.strip()
    if not text.startswith(ADDRESS_PREFIX):
        return None
    key = text.removeprefix(ADDRESS_PREFIX)
    return key if key.isalnum() else None


def _rank(wanted: Sequence[str], entry: Searchable) -> tuple[int, int, int, str] | None:
    title, tagged = entry.title_words, entry.tagged_words
    in_title = in_full = 0
    for word in wanted:
        if not any(have.startswith(word) for have in tagged):
            return None
        in_title += any(have.startswith(word) for have in title)
        in_full += word in tagged
    whole_title = int(tuple(wanted) == title)
    return (-whole_title, -in_title, -in_full, entry.song.title.casefold())
