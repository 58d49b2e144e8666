"""Which upload plays each Spotify track, kept in the store: a playlist played twice is matched once."""

from __future__ import annotations

import time
from collections.abc import Callable

from musicbox.core.track import Track, TrackId
from musicbox.store import schema
from musicbox.store.sql import Connection


class SpotifyMappings:
    def __init__(self, database: Connection, *, clock: Callable[[], float] = time.time) -> None:
        schema.upgrade(database)
        self._database = database
        self._clock = clock
        self._lock = database.lock  # the connection is shared: one lock for every store on it

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
                "INSERT INTO spotify_mappings"
                " (spotify_id, source, key, title, page_url, duration_s, artist, mapped_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (spotify_id) DO UPDATE SET"
                " source = excluded.source, key = excluded.key, title = excluded.title,"
                " page_url = excluded.page_url, duration_s = excluded.duration_s,"
                " artist = excluded.artist, mapped_at = excluded.mapped_at",
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
