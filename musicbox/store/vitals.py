"""The last day of samples (core/vitals.py), kept in the bot's database so the web page's graphs
survive a restart. Older rows are deleted as new ones come: at one a minute, 1440 rows at most."""

from __future__ import annotations

from musicbox.core.vitals import KEEP_S, SERIES, Sample
from musicbox.store import schema
from musicbox.store.sql import Connection

_REPLACED = ", ".join(f"{name} = excluded.{name}" for name in SERIES)


class VitalsStore:
    """Blocking database access: call from a worker thread, never the event loop."""

    def __init__(self, connection: Connection) -> None:
        schema.upgrade(connection)
        self._connection = connection
        self._lock = connection.lock  # the connection is shared: one lock for every store on it

    def record(self, sample: Sample) -> None:
        # Two statements, each its own transaction: the connection is shared with other stores
        # (lookups, Spotify matches) whose threads must not find themselves inside this one.
        with self._lock:
            self._connection.execute(
                f"INSERT INTO vitals (at, {', '.join(SERIES)}) VALUES (?{', ?' * len(SERIES)})"
                f" ON CONFLICT (at) DO UPDATE SET {_REPLACED}",
                (sample.at, *(getattr(sample, name) for name in SERIES)),
            )
            self._connection.execute("DELETE FROM vitals WHERE at < ?", (sample.at - KEEP_S,))

    def since(self, at: float) -> list[Sample]:
        with self._lock:
            rows = self._connection.execute(
                f"SELECT at, {', '.join(SERIES)} FROM vitals WHERE at >= ? ORDER BY at", (at,)
            ).fetchall()
        return [Sample(*row) for row in rows]
