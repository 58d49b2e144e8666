"""What each server heard, who asked for it and when: /history, and what autoplay draws on.
Blocking database access: call from a worker thread, never the event loop."""

from __future__ import annotations

from dataclasses import dataclass

from musicbox.core.track import Track, TrackId
from musicbox.store import schema
from musicbox.store.sql import Connection

# A server's history is kept this long in rows: months of listening, a few hundred kB.
KEPT_PER_GUILD = 2000


@dataclass(frozen=True, slots=True)
class Played:
    track: Track
    requester_id: int
    played_at: float  # Unix time


class HistoryStore:
    def __init__(self, connection: Connection) -> None:
        schema.upgrade(connection)
        self._connection = connection
        self._lock = connection.lock

    def record(self, guild_id: int, played: Played) -> None:
        t = played.track
        with self._lock, self._connection.transaction():
            self._connection.execute(
                "INSERT INTO play_history (guild_id, played_at, requester_id, source, key, title,"
                " page_url, duration_s, artist) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    guild_id,
                    played.played_at,
                    played.requester_id,
                    t.id.source,
                    t.id.key,
                    t.title,
                    t.page_url,
                    t.duration_s,
                    t.artist,
                ),
            )
            self._connection.execute(
                "DELETE FROM play_history WHERE guild_id = ? AND rowid NOT IN (SELECT rowid FROM play_history"
                " WHERE guild_id = ? ORDER BY played_at DESC LIMIT ?)",
                (guild_id, guild_id, KEPT_PER_GUILD),
            )

    def recent(self, guild_id: int, limit: int) -> list[Played]:
        """Newest first."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT source, key, title, page_url, duration_s, artist, requester_id, played_at"
                " FROM play_history WHERE guild_id = ? ORDER BY played_at DESC, rowid DESC LIMIT ?",
                (guild_id, limit),
            ).fetchall()
        return [
            Played(Track(TrackId(source, key), title, url, duration_s=length, artist=artist), requester, at)
            for source, key, title, url, length, artist, requester, at in rows
        ]
