"""The fleet's heartbeats as `musicbox status` and a forwarding process read them (schema version 4,
PostgreSQL only). Written by service/fleet.py, which alone holds the asynchronous connection that
writes them; read here through the stores' connection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from musicbox.core.fleet import Heartbeat
from musicbox.store.sql import Connection

# `connected`: the process's listening connection is still open on the server (pg_stat_activity
# shows every session's pid to every user); `now` by the server's clock, which wrote `seen_at`, so
# machines whose clocks disagree judge staleness alike.
READ_HEARTBEATS = """SELECT f.host, f.label, f.shard_ids, f.shard_count, f.pid, f.started_at, f.seen_at,
    f.guilds, f.voice_sessions, EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = f.backend_pid),
    f.stopped, extract(epoch FROM clock_timestamp())::double precision
    FROM fleet_processes f ORDER BY f.shard_count, f.shard_ids, f.host"""


def heartbeats_from(rows: Sequence[Sequence[Any]]) -> tuple[list[Heartbeat], float | None]:
    """The rows of READ_HEARTBEATS as heartbeats, and the server's clock (None: no rows)."""
    beats = [
        Heartbeat(
            host=str(row[0]),
            label=str(row[1]),
            shard_ids=tuple(int(i) for i in row[2]),
            shard_count=int(row[3]),
            pid=int(row[4]),
            started_at=float(row[5]),
            seen_at=float(row[6]),
            guilds=int(row[7]),
            voice_sessions=int(row[8]),
            connected=bool(row[9]),
            stopped=bool(row[10]),
        )
        for row in rows
    ]
    return beats, float(rows[0][11]) if rows else None


def read_heartbeats(connection: Connection) -> tuple[list[Heartbeat], float | None]:
    """Every process of the fleet that ever beat (forgotten a day after its last), and the server's now."""
    with connection.lock:
        rows = connection.execute(READ_HEARTBEATS).fetchall()
    return heartbeats_from(rows)
