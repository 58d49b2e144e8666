"""Queues that survive a restart: saved when the bot shuts down, handed back on the guild's next /play."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence

from musicbox.core.queue import QueuedTrack
from musicbox.core.track import Track, TrackId

_SCHEMA = """
CREATE TABLE IF NOT EXISTS saved_queue (
    guild_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    title TEXT NOT NULL,
    page_url TEXT NOT NULL,
    duration_s REAL,
    artist TEXT,
    requester_id INTEGER NOT NULL,
    PRIMARY KEY (guild_id, position)
)
"""


class QueueStore:
    """Blocking SQLite access: call from a worker thread, never the event loop."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        connection.execute(_SCHEMA)

    def save(self, guild_id: int, entries: Sequence[QueuedTrack]) -> None:
        rows = [
            (
                guild_id,
                position,
                e.track.id.source,
                e.track.id.key,
                e.track.title,
                e.track.page_url,
                e.track.duration_s,
                e.track.artist,
                e.requester_id,
            )
            for position, e in enumerate(entries)
        ]
        with self._lock:
            self._connection.execute("BEGIN")
            try:
                self._connection.execute("DELETE FROM saved_queue WHERE guild_id = ?", (guild_id,))
                self._connection.executemany(
                    "INSERT INTO saved_queue VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def take(self, guild_id: int) -> list[QueuedTrack]:
        """The saved queue of a guild, removed from the store (it now lives in a session again)."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT source, key, title, page_url, duration_s, artist, requester_id FROM saved_queue"
                " WHERE guild_id = ? ORDER BY position",
                (guild_id,),
            ).fetchall()
            self._connection.execute("DELETE FROM saved_queue WHERE guild_id = ?", (guild_id,))
        return [
            QueuedTrack(
                Track(TrackId(source, key), title, page_url, duration_s=duration_s, artist=artist),
                requester_id=requester_id,
            )
            for source, key, title, page_url, duration_s, artist, requester_id in rows
        ]
