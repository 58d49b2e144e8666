"""Which upload plays each Spotify track, kept in SQLite: a playlist played twice is matched once."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

from musicbox.core.track import Track, TrackId
from musicbox.store.database import lock_of

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spotify_mappings (
    spotify_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    title TEXT NOT NULL,
    page_url TEXT NOT NULL,
    duration_s REAL,
    artist TEXT,
    mapped_at REAL NOT NULL
)
"""


class SpotifyMappings:
    def __init__(self, database: sqlite3.Connection, *, clock: Callable[[], float] = time.time) -> None:
        self._database = database
        self._clock = clock
        self._lock = lock_of(database)  # the connection is shared: one lock for every store on it
        with self._lock:
            database.execute(_SCHEMA)

    def get(self, spotify_id: str) -> Track | None:
        with self._lock:
            row = self._database.execute(
                "SELECT source, key, title, page_url, duration_s, artist FROM spotify_mappings"
                " WHERE spotify_id = ?",
                (spotify_id,),
            ).fetchone()
        if row is None:
            return None
        source, key, title, page_url, duration_s, artist = row
        return Track(TrackId(source, key), title, page_url, duration_s, artist)

    def put(self, spotify_id: str, upload: Track) -> None:
        with self._lock:
            self._database.execute(
                "INSERT OR REPLACE INTO spotify_mappings"
                " (spotify_id, source, key, title, page_url, duration_s, artist, mapped_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    spotify_id,
                    upload.id.source,
                    upload.id.key,
                    upload.title,
                    upload.page_url,
                    upload.duration_s,
                    upload.artist,
                    self._clock(),
                ),
            )

    def forget(self, spotify_id: str) -> None:
        """The upload vanished (removed, made private): the next play matches the track afresh."""
        with self._lock:
            self._database.execute("DELETE FROM spotify_mappings WHERE spotify_id = ?", (spotify_id,))

    def count(self) -> int:
        with self._lock:
            row = self._database.execute("SELECT COUNT(*) FROM spotify_mappings").fetchone()
        return int(row[0])
