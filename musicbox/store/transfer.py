"""A box's stores copied from its SQLite file into a PostgreSQL server (`musicbox store migrate`):
every table of schema.TABLES in one transaction on the server, then the rows counted on both sides.
The audio cache's index and cached lookups stay behind: they belong to the box's own disk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from musicbox.store import schema
from musicbox.store.sql import POSTGRESQL, Connection, StoreError

BATCH = 500  # rows a statement carries; progress is told after each


@dataclass(frozen=True, slots=True)
class Counted:
    table: str
    source: int  # rows in the SQLite file
    target: int  # rows on the server after the copy

    @property
    def matches(self) -> bool:
        return self.source == self.target


class TargetNotEmpty(StoreError):
    def __init__(self, held: dict[str, int]) -> None:
        listed = ", ".join(f"{table} {rows}" for table, rows in held.items() if rows)
        super().__init__(f"the target already holds rows ({listed})")
        self.held = held


def counts(connection: Connection) -> dict[str, int]:
    with connection.lock:
        return {
            table.name: int(connection.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone()[0])
            for table in schema.TABLES
        }


def copy_stores(
    source: Connection,
    target: Connection,
    *,
    replace: bool,
    progress: Callable[[str, int, int], None] = lambda table, done, total: None,
) -> list[Counted]:
    """Copies every store's rows from `source` to `target` (both brought to the current schema
    first); `progress(table, rows done, rows in it)` after each batch. TargetNotEmpty when the target
    holds rows and `replace` is not given; with it, they are deleted in the same transaction."""
    schema.upgrade(source)
    schema.upgrade(target)
    held = counts(target)
    if any(held.values()) and not replace:
        raise TargetNotEmpty(held)
    copied: dict[str, int] = {}
    with target.lock, target.transaction():
        for table in reversed(schema.TABLES):  # children first: playlist_tracks refers to playlists
            target.execute(f"DELETE FROM {table.name}")
        for table in schema.TABLES:
            rows = _rows(source, table)
            copied[table.name] = len(rows)
            _insert(target, table, rows, progress)
        if target.dialect == POSTGRESQL:
            for name in schema.KEPT_IDS:  # the next id handed out comes after the copied ones
                target.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), COALESCE(MAX(id), 0) + 1, false)"
                    f" FROM {name}"
                )
    after = counts(target)
    return [Counted(table.name, copied[table.name], after[table.name]) for table in schema.TABLES]


def _rows(source: Connection, table: schema.Table) -> list[Sequence[Any]]:
    with source.lock:
        rows: list[Sequence[Any]] = source.execute(
            f"SELECT {', '.join(table.columns)} FROM {table.name} ORDER BY {table.order}"
        ).fetchall()
    return rows


def _insert(
    target: Connection,
    table: schema.Table,
    rows: list[Sequence[Any]],
    progress: Callable[[str, int, int], None],
) -> None:
    marks = ", ".join("?" * len(table.columns))
    statement = f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})"
    progress(table.name, 0, len(rows))
    for start in range(0, len(rows), BATCH):
        target.executemany(statement, rows[start : start + BATCH])
        progress(table.name, min(start + BATCH, len(rows)), len(rows))
