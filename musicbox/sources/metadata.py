"""Resolved queries kept in SQLite, so the same link or words a second time need no yt-dlp run."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

from musicbox.core.track import Track, TrackId

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resolved_queries (
    query TEXT PRIMARY KEY,
    tracks TEXT NOT NULL,
    resolved_at REAL NOT NULL
)
"""


class MetadataCache:
    def __init__(
        self, database: sqlite3.Connection, *, ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self._database = database
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()  # the connection is shared; one thread uses it at a time
        with self._lock:
            database.execute(_SCHEMA)

    def get(self, query: str) -> list[Track] | None:
        with self._lock:
            row = self._database.execute(
                "SELECT tracks, resolved_at FROM resolved_queries WHERE query = ?", (query,)
            ).fetchone()
        if row is None or self._clock() - float(row[1]) > self._ttl_s:
            return None
        return [_track(item) for item in json.loads(row[0])]

    def put(self, query: str, tracks: Sequence[Track]) -> None:
        payload = json.dumps([_plain(track) for track in tracks])
        with self._lock:
            self._database.execute(
                "INSERT OR REPLACE INTO resolved_queries (query, tracks, resolved_at) VALUES (?, ?, ?)",
                (query, payload, self._clock()),
            )

    def count(self) -> int:
        with self._lock:
            row = self._database.execute("SELECT COUNT(*) FROM resolved_queries").fetchone()
        return int(row[0])

    def forget_older_than(self, seconds: float) -> int:
        """`musicbox cache purge`: drop what was resolved more than `seconds` ago (0: everything)."""
        with self._lock:
            cursor = self._database.execute(
                "DELETE FROM resolved_queries WHERE resolved_at <= ?", (self._clock() - seconds,)
            )
        return cursor.rowcount

    def forget_expired(self) -> int:
        with self._lock:
            cursor = self._database.execute(
                "DELETE FROM resolved_queries WHERE resolved_at < ?", (self._clock() - self._ttl_s,)
            )
        return cursor.rowcount


def _plain(track: Track) -> dict[str, object]:
    return {
        "source": track.id.source,
        "key": track.id.key,
        "title": track.title,
        "page_url": track.page_url,
        "duration_s": track.duration_s,
        "artist": track.artist,
    }


def _track(item: dict[str, object]) -> Track:
    duration = item.get("duration_s")
    artist = item.get("artist")
    return Track(
        TrackId(str(item["source"]), str(item["key"])),
        str(item["title"]),
        str(item["page_url"]),
        float(duration) if isinstance(duration, int | float) else None,
        str(artist) if isinstance(artist, str) else None,
    )
