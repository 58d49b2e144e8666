"""The last day of samples (core/vitals.py), kept in the bot's database so the web page's graphs
survive a restart. Older rows are deleted as new ones come: at one a minute, 1440 rows at most."""

from __future__ import annotations

import sqlite3

from musicbox.core.vitals import KEEP_S, SERIES, Sample
from musicbox.store.database import lock_of

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vitals (
    at REAL PRIMARY KEY,
    command_p95_ms REAL,
    cache_hit_ratio REAL,
    streams INTEGER NOT NULL,
    rss_mb REAL NOT NULL,
    cpu_percent REAL NOT NULL,
    errors INTEGER NOT NULL,
    first_audio_p95_ms REAL
)
"""
# Columns a table made by an older musicbox lacks (its rows keep NULL: no figure then).
_ADDED_COLUMNS = {"first_audio_p95_ms": "REAL"}


class VitalsStore:
    """Blocking SQLite access: call from a worker thread, never the event loop."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = lock_of(connection)  # the connection is shared: one lock for every store on it
        connection.executescript(_SCHEMA)
        present = {row[1] for row in connection.execute("PRAGMA table_info(vitals)")}
        for column, declaration in _ADDED_COLUMNS.items():
            if column not in present:
                connection.execute(f"ALTER TABLE vitals ADD COLUMN {column} {declaration}")

    def record(self, sample: Sample) -> None:
        # Two statements, each its own transaction: the connection is shared with other stores
        # (lookups, Spotify matches) whose threads must not find themselves inside this one.
        with self._lock:
            self._connection.execute(
                f"INSERT OR REPLACE INTO vitals (at, {', '.join(SERIES)}) VALUES (?{', ?' * len(SERIES)})",
                (sample.at, *(getattr(sample, name) for name in SERIES)),
            )
            self._connection.execute("DELETE FROM vitals WHERE at < ?", (sample.at - KEEP_S,))

    def since(self, at: float) -> list[Sample]:
        with self._lock:
            rows = self._connection.execute(
                f"SELECT at, {', '.join(SERIES)} FROM vitals WHERE at >= ? ORDER BY at", (at,)
            ).fetchall()
        return [Sample(*row) for row in rows]
