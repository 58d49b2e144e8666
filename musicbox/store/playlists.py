"""Saved playlists, kept across restarts: a server's (owner 0) and each member's (theirs in every
server). Blocking database access: call from a worker thread, never the event loop. Names are
compared without case: lower() on both sides (SQLite's folds ASCII only, PostgreSQL's as the
database's locale says)."""

from __future__ import annotations

from collections.abc import Sequence

from musicbox.core.playlists import SERVER_OWNER, PlaylistSummary
from musicbox.core.track import Track, TrackId
from musicbox.store import schema
from musicbox.store.sql import CONFLICTS, Connection

# SQLite's NOCASE index (version 1) and PostgreSQL's unique lower(name) both answer this.
_NAMED = "guild_id = ? AND owner_id = ? AND lower(name) = lower(CAST(? AS TEXT))"


class PlaylistExists(Exception):
    """Another playlist of the same owner already has that name."""


class PlaylistStore:
    def __init__(self, connection: Connection) -> None:
        schema.upgrade(connection)
        self._connection = connection
        self._lock = connection.lock

    @staticmethod
    def _where(guild_id: int, owner_id: int) -> tuple[int, int]:
        # A member's playlists are theirs in every server: kept under guild 0.
        return (guild_id if owner_id == SERVER_OWNER else 0, owner_id)

    def _id(self, guild_id: int, owner_id: int, name: str) -> int | None:
        row = self._connection.execute(
            f"SELECT id FROM playlists WHERE {_NAMED}", (*self._where(guild_id, owner_id), name)
        ).fetchone()
        return None if row is None else int(row[0])

    def listed(self, guild_id: int, owner_id: int) -> list[PlaylistSummary]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT p.name, COUNT(t.position) FROM playlists p"
                " LEFT JOIN playlist_tracks t ON t.playlist_id = p.id"
                " WHERE p.guild_id = ? AND p.owner_id = ? GROUP BY p.id ORDER BY lower(p.name), p.id",
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
        with self._lock, self._connection.transaction():
            try:
                (playlist,) = self._connection.execute(
                    "INSERT INTO playlists (guild_id, owner_id, name) VALUES (?, ?, ?) RETURNING id",
                    (*self._where(guild_id, owner_id), name),
                ).fetchone()
            except CONFLICTS as taken:
                raise PlaylistExists(name) from taken
            self._append(int(playlist), 0, tracks)

    def append(self, guild_id: int, owner_id: int, name: str, tracks: Sequence[Track]) -> bool:
        """Adds at the end; False when there is no such playlist."""
        with self._lock:
            playlist = self._id(guild_id, owner_id, name)
            if playlist is None:
                return False
            with self._connection.transaction():
                (count,) = self._connection.execute(
                    "SELECT COUNT(*) FROM playlist_tracks WHERE playlist_id = ?", (playlist,)
                ).fetchone()
                self._append(playlist, int(count), tracks)
            return True

    def _append(self, playlist: int, start: int, tracks: Sequence[Track]) -> None:
        self._connection.executemany(
            "INSERT INTO playlist_tracks (playlist_id, position, source, key, title, page_url,"
            " duration_s, artist) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
            except CONFLICTS as taken:
                raise PlaylistExists(new_name) from taken
            return True

    def delete(self, guild_id: int, owner_id: int, name: str) -> bool:
        with self._lock:
            cursor = self._connection.execute(
                f"DELETE FROM playlists WHERE {_NAMED}", (*self._where(guild_id, owner_id), name)
            )
            return cursor.rowcount > 0
