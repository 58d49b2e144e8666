"""The index of the owner's own music: one row per audio file under the configured folders, with its
tags and the stamp (mtime, size) that tells a rescan whether to read the tags again.
Blocking database access: call from a worker thread, never the event loop."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from musicbox.core.local_music import LocalSong
from musicbox.store import schema
from musicbox.store.sql import Connection


@dataclass(frozen=True, slots=True)
class IndexedFile:
    path: str  # the file's real path (symlinks resolved), always under `folder`
    folder: str  # the configured folder it was found under, as the owner wrote it
    mtime_ns: int
    size: int
    song: LocalSong


class LocalSongStore:
    def __init__(self, connection: Connection) -> None:
        schema.upgrade(connection)
        self._connection = connection
        self._lock = connection.lock

    def stamps(self) -> dict[str, tuple[int, int]]:
        """path -> (mtime_ns, size) of every indexed file."""
        with self._lock:
            rows = self._connection.execute("SELECT path, mtime_ns, size FROM local_songs").fetchall()
        return {path: (mtime, size) for path, mtime, size in rows}

    def update(self, changed: Iterable[IndexedFile], gone: Iterable[str]) -> None:
        changed = list(changed)
        with self._lock, self._connection.transaction():
            self._connection.executemany("DELETE FROM local_songs WHERE path = ?", [(path,) for path in gone])
            # A changed file's old row goes first (its key is its path's digest, so either finds it).
            self._connection.executemany(
                "DELETE FROM local_songs WHERE key = ? OR path = ?",
                [(file.song.key, file.path) for file in changed],
            )
            self._connection.executemany(
                "INSERT INTO local_songs (key, path, folder, mtime_ns, size, title, artist, album,"
                " duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        file.song.key,
                        file.path,
                        file.folder,
                        file.mtime_ns,
                        file.size,
                        file.song.title,
                        file.song.artist,
                        file.song.album,
                        file.song.duration_s,
                    )
                    for file in changed
                ],
            )

    def songs(self) -> list[LocalSong]:
        with self._lock:
            rows = self._connection.execute(
                "SELECT key, title, artist, album, duration_s FROM local_songs ORDER BY title"
            ).fetchall()
        return [LocalSong(key, title, artist, album, length) for key, title, artist, album, length in rows]

    def path_of(self, key: str) -> tuple[str, str] | None:
        """(path, folder) of an indexed song, or None when the index no longer holds it."""
        with self._lock:
            row = self._connection.execute(
                "SELECT path, folder FROM local_songs WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]))

    def counts(self) -> dict[str, int]:
        """folder -> songs indexed under it (what `musicbox status` shows)."""
        with self._lock:
            rows = self._connection.execute(
                "SELECT folder, COUNT(*) FROM local_songs GROUP BY folder"
            ).fetchall()
        return {str(folder): int(count) for folder, count in rows}
