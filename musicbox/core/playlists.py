"""Saved playlists: what a name may be, how many songs fit, and who may change one. Pure: the bot
passes in what it knows and words the answer (bot/text.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from musicbox.core.track import Track

NAME_MAX = 50  # long enough for "Friday night, side B", short enough for a /playlist list line
# A member's playlists are theirs in every server; a server's belong to nobody in particular.
SERVER_OWNER = 0


class Scope(StrEnum):
    MINE = "mine"
    SERVER = "server"


@dataclass(frozen=True, slots=True)
class PlaylistLimits:
    max_songs: int  # songs in one playlist
    max_playlists: int  # playlists one member (or the server) keeps


@dataclass(frozen=True, slots=True)
class PlaylistSummary:
    name: str
    songs: int


def clean_name(typed: str) -> str | None:
    """The name as kept (inner whitespace collapsed), or None when nothing of it is left or it is too long.
    Names are matched without regard to case, as members type them."""
    name = " ".join(typed.split())
    if not name or len(name) > NAME_MAX:
        return None
    return name


@dataclass(frozen=True, slots=True)
class Addition:
    """Which of the songs offered go into a playlist: new ones, in order, up to its room."""

    added: tuple[Track, ...]
    already_in: int  # offered songs the playlist holds already
    over_limit: int  # songs left out for want of room


def add_to_playlist(held: Sequence[Track], offered: Sequence[Track], max_songs: int) -> Addition:
    seen = {track.id for track in held}
    room = max(0, max_songs - len(held))
    added: list[Track] = []
    already_in = over = 0
    for track in offered:
        if track.id in seen:
            already_in += 1
        elif len(added) >= room:
            over += 1
        else:
            seen.add(track.id)
            added.append(track)
    return Addition(tuple(added), already_in, over)
