"""Saved playlists, kept across restarts: a server's (owner 0) and each member's (theirs in every
server). Blocking SQLite access: call from a worker thread, never the event loop."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from musicbox.core.playlists import SERVER_OWNER, PlaylistSummary
from musicbox.core.track import Track, TrackId
from musicbox.store.database import lock_of

_SCHEMA = """
CREATE TABLE IF NOT EXISTS playlists (
    id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL,
    owner_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (guild_id, owner_id, name COLLATE NOCASE)
);
CREATE TABLE IF NOT EXISTS playlist_tracks (
    playlist_id INTEGER NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    source TEXT NOT NULL,
    key TEXT NOT NULL,
    title TEXT NOT NULL,
    page_url TEXT NOT NULL,
    duration_s REAL,
    artist TEXT,
    PRIMARY KEY (playlist_id, position)
)
"""


class PlaylistExists(Exception):
    """Another playlist of the same owner already has that name."""


class PlaylistStore:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = lock_of(connection)
        connection.executescript(_SCHEMA)

    @staticmethod
    def _where(guild_id: int, owner_id: int) -> tuple[int, int]:
        # A member's playlists are theirs in every server: kept under guild 0.
        return (guild_id if owner_id == SERVER_OWNER else 0, owner_id)

    def _id(self, guild_id: int, owner_id: int, name: str) -> int | None:
        row = self._connection.execute(
            "SELECT id FROM playlists WHERE guild_id = ? AND owner_id = ? AND name = ? COLLATE NOCASE",
            (*self._where(guild_id, owner_id), name),
        ).fetchone()
        return None if row is None else int(row[0])

    def listed(self, guild_id: int, owner_id: int) -> list[PlaylistSummary]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT p.name, COUNT(t.position) FROM playlists p"
                " LEFT JOIN playlist_tracks t ON t.playlist_id = p.id"
                " WHERE p.guild_id = ? AND p.owner_id = ? GROUP BY p.id ORDER BY p.name COLLATE NOCASE",
                self._where(guild_id, owner_id),
            ).fetchall()
        return [PlaylistSummary(name, count) for name, count in rows]

    def tracks(self, guild_id: int, owner_id: int, name: str) -> list[Track] | None:
        """The playlist's songs in order; None when there is no such playlist."""
        with self._lock:
            playlist = self._id(guild_id, owner_id, name)
            if playlist is None:
                return None
            rows = self._connection.execute(
                "SELECT source, key, title, page_url, duration_s, artist FROM playlist_tracks"
                " WHERE playlist_id = ? ORDER BY position",
                (playlist,),
            ).fetchall()
        return [
            Track(TrackId(source, key), title, page_url, duration_s=duration_s, artist=artist)
            for source, key, title, page_url, duration_s, artist in rows
        ]

    def create(self, guild_id: int, owner_id: int, name: str, tracks: Sequence[Track] = ()) -> None:
        with self._lock:
            self._connection.execute("BEGIN")
            try:
                try:
                    cursor = self._connection.execute(
                        "INSERT INTO playlists (guild_id, owner_id, name) VALUES (?, ?, ?)",
                        (*self._where(guild_id, owner_id), name),
                    )
                except sqlite3.IntegrityError as taken:
                    raise PlaylistExists(name) from taken
                assert cursor.lastrowid is not None
                self._append(cursor.lastrowid, 0, tracks)
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def append(self, guild_id: int, owner_id: int, name: str, tracks: Sequence[Track]) -> bool:
        """Adds at the end; False when there is no such playlist."""
        with self._lock:
            playlist = self._id(guild_id, owner_id, name)
            if playlist is None:
                return False
            (count,) = self._connection.execute(
                "SELECT COUNT(*) FROM playlist_tracks WHERE playlist_id = ?", (playlist,)
            ).fetchone()
            self._connection.execute("BEGIN")
            try:
                self._append(playlist, int(count), tracks)
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
            return True

    def _append(self, playlist: int, start: int, tracks: Sequence[Track]) -> None:
        self._connection.executemany(
            "INSERT INTO playlist_tracks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (playlist, start + n, t.id.source, t.id.key, t.title, t.page_url, t.duration_s, t.artist)
                for n, t in enumerate(tracks)
            ],
        )

    def rename(self, guild_id: int, owner_id: int, name: str, new_name: str) -> bool:
        """False when there is no such playlist; PlaylistExists when the new name is taken."""
        with self._lock:
            playlist = self._id(guild_id, owner_id, name)
            if playlist is None:
                return False
            try:
                self._connection.execute("UPDATE playlists SET name = ? WHERE id = ?", (new_name, playlist))
            except sqlite3.IntegrityError as taken:
                raise PlaylistExists(new_name) from taken
            return True

    def delete(self, guild_id: int, owner_id: int, name: str) -> bool:
        with self._lock:
            cursor = self._connection.execute(
                "DELETE FROM playlists WHERE guild_id = ? AND owner_id = ? AND name = ? COLLATE NOCASE",
                (*self._where(guild_id, owner_id), name),
            )
            return cursor.rowcount > 0
