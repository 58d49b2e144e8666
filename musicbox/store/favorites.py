"""Each member's favourite songs (❤ on /now, /like), theirs in every server.
Blocking database access: call from a worker thread, never the event loop."""

from __future__ import annotations

from collections.abc import Collection

from musicbox.core.track import Track, TrackId
from musicbox.store import schema
from musicbox.store.sql import Connection


class FavoriteStore:
    def __init__(self, connection: Connection) -> None:
        schema.upgrade(connection)
        self._connection = connection
        self._lock = connection.lock

    def like(self, user_id: int, track: Track, liked_at: float) -> bool:
        """False when the member liked it already."""
        with self._lock:
            cursor = self._connection.execute(
                "INSERT INTO favorites (user_id, source, key, title, page_url, duration_s, artist,"
                " liked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    user_id,
                    track.id.source,
                    track.id.key,
                    track.title,
                    track.page_url,
                    track.duration_s,
                    track.artist,
                    liked_at,
                ),
            )
            return cursor.rowcount > 0

    def liked(self, user_id: int) -> list[Track]:
        """Oldest first: the order they were liked in."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT source, key, title, page_url, duration_s, artist FROM favorites"
                " WHERE user_id = ? ORDER BY liked_at, rowid",
                (user_id,),
            ).fetchall()
        return [
            Track(TrackId(source, key), title, url, duration_s=length, artist=artist)
            for source, key, title, url, length, artist in rows
        ]

    def liked_by_any(self, user_ids: Collection[int]) -> list[tuple[Track, float]]:
        """Every favourite of these members, with when it was liked (what autoplay draws on)."""
        if not user_ids:
            return []
        marks = ", ".join("?" * len(user_ids))
        with self._lock:
            rows = self._connection.execute(
                "SELECT source, key, title, page_url, duration_s, artist, liked_at FROM favorites"
                f" WHERE user_id IN ({marks})",
                tuple(user_ids),
            ).fetchall()
        return [
            (Track(TrackId(source, key), title, url, duration_s=length, artist=artist), liked_at)
            for source, key, title, url, length, artist, liked_at in rows
        ]
