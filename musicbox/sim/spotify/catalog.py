"""The Spotify fake's catalog: Spotify track k is the media world's entry k, so a mapped track plays
tone rung k and a story can hear which song the matcher chose.

Ids are 22 base-62 characters as Spotify's are, built from the index so every process agrees."""

from __future__ import annotations

import functools
from typing import Any

from musicbox.sim.media.catalog import CATALOG_SIZE, entry

TRACKS_PER_ALBUM = 4  # the media catalog names entries 4a..4a+3 after one album
TOP_TRACKS = 10


def track_id(index: int) -> str:
    return f"trk{index:019d}"


def album_id(index: int) -> str:
    return f"alb{index:019d}"


def artist_id(name: str) -> str:
    return f"art{artist_names().index(name):019d}"


def playlist_id(index: int) -> str:
    return f"pls{index:019d}"


def index_of(spotify_id: str, prefix: str) -> int | None:
    """The catalog index behind an id of the given kind, or None when no such id exists."""
    if len(spotify_id) != 22 or not spotify_id.startswith(prefix) or not spotify_id[3:].isdigit():
        return None
    return int(spotify_id[3:])


def isrc(index: int) -> str:
    return f"QZMBX{index:07d}"


@functools.cache
def artist_names() -> tuple[str, ...]:
    names: list[str] = []
    for index in range(CATALOG_SIZE):
        name = entry(index).artist
        if name not in names:
            names.append(name)
    return tuple(names)


def artist_object(name: str) -> dict[str, Any]:
    spotify_id = artist_id(name)
    return {
        "id": spotify_id,
        "name": name,
        "type": "artist",
        "uri": f"spotify:artist:{spotify_id}",
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{spotify_id}"},
    }


def album_object(album: int, *, with_tracks: dict[str, Any] | None = None) -> dict[str, Any]:
    first = entry(album * TRACKS_PER_ALBUM)
    spotify_id = album_id(album)
    body: dict[str, Any] = {
        "id": spotify_id,
        "name": first.album,
        "type": "album",
        "album_type": "album",
        "uri": f"spotify:album:{spotify_id}",
        "artists": [artist_object(first.artist)],
        "total_tracks": TRACKS_PER_ALBUM,
        "external_urls": {"spotify": f"https://open.spotify.com/album/{spotify_id}"},
    }
    if with_tracks is not None:
        body["tracks"] = with_tracks
    return body


def track_object(index: int, *, simplified: bool = False) -> dict[str, Any]:
    """A track as Spotify serves it; album listings carry the simplified form (no album, no ISRC)."""
    song = entry(index)
    spotify_id = track_id(index)
    body: dict[str, Any] = {
        "id": spotify_id,
        "name": song.title,
        "type": "track",
        "uri": f"spotify:track:{spotify_id}",
        "duration_ms": round(song.duration_s * 1000),
        "artists": [artist_object(song.artist)],
        "track_number": index % TRACKS_PER_ALBUM + 1,
        "is_local": False,
        "external_urls": {"spotify": f"https://open.spotify.com/track/{spotify_id}"},
    }
    if not simplified:
        body["album"] = album_object(index // TRACKS_PER_ALBUM)
        body["external_ids"] = {"isrc": isrc(index)}
    return body


def album_track_indices(album: int) -> list[int]:
    first = album * TRACKS_PER_ALBUM
    return list(range(first, min(first + TRACKS_PER_ALBUM, CATALOG_SIZE)))


def top_track_indices(name: str) -> list[int]:
    found = [index for index in range(CATALOG_SIZE) if entry(index).artist == name]
    return found[:TOP_TRACKS]
